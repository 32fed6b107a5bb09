-- Policy for the jailed web server example (examples/httpd/run).
--
-- busybox httpd runs as nobody:nogroup, with no supplementary group, in a
-- chroot that holds only /bin/busybox and /www.  It keeps one capability,
-- the right to bind a port below 1024; `confine run` raises it in the
-- ambient set so it survives the exec.  Everything else is the default:
-- no_new_privs on, every other capability gone from every set, including
-- the bounding set.
--
-- The setup script installs a copy of this file next to the jail, owned by
-- root, because confine refuses a policy that someone else could change.
return {
  user = "nobody",
  group = "nogroup",
  chroot = os.getenv("CONFINE_HTTPD_JAIL")
    or "/var/lib/confine-example/httpd/root",
  caps = { "net_bind_service" },
}
