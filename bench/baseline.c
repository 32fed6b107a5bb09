/*
** baseline.c: the smallest C launcher that confines itself the way
** `confine run` does, for bench/run to measure confine against.
**
** usage: baseline [-n] UID GID CAP [PATH [ARG...]]
**
** It sheds the supplementary groups, drops every capability but CAP from
** the bounding set up to the kernel's last one, keeps capabilities across
** the id change, switches gid then uid (real, effective and saved), sets
** CAP alone in the effective, permitted and inheritable sets with libcap,
** raises it in the ambient set, sets no_new_privs and executes PATH.
** Without PATH it exits 0 once confined; with -n it checks its arguments
** and exits 0 without confining (the reference run for instruction
** counts). Every call is checked: a failure prints the call and exits 121,
** the status confine uses for a half-confined process.
**
** Caveats: it resolves no names (ids and CAP are taken as given) and reads
** nothing back; confine does both, so it is a floor, not a twin.
*/

#define _GNU_SOURCE  /* setresuid, setresgid */

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/types.h>

#define EXIT_HALF 121


/*
** Print what failed, with errno's text, and end the process: past the
** first change there is no state worth returning to.
*/
static void fail (const char *what) {
  fprintf(stderr, "baseline: %s: %s\n", what, strerror(errno));
  exit(EXIT_HALF);
}


/*
** Parse a whole number in 0..4294967294; anything else ends the process
** before it has changed.
*/
static unsigned long parse_id (const char *s, const char *name) {
  char *end;
  unsigned long v;
  errno = 0;
  v = strtoul(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || s[0] == '-'
      || v > 4294967294UL) {
    fprintf(stderr, "baseline: %s: %s is not a valid id\n", name, s);
    exit(2);
  }
  return v;
}


/*
** Run the confinement in the order confine's apply uses (its steps 6 to
** 9, without the jail, which this policy does not ask for).
*/
static void confine_self (uid_t uid, gid_t gid, cap_value_t keep) {
  cap_value_t c, last = cap_max_bits() - 1;
  cap_t caps;

  if (setgroups(0, NULL) != 0)
    fail("setgroups");

  for (c = 0; c <= last; c++)  /* bounding set: all but the kept one */
    if (c != keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
      fail("prctl PR_CAPBSET_DROP");

  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)  /* survive setresuid */
    fail("prctl PR_SET_KEEPCAPS");
  if (setresgid(gid, gid, gid) != 0)
    fail("setresgid");
  if (setresuid(uid, uid, uid) != 0)
    fail("setresuid");

  caps = cap_init();
  if (caps == NULL)
    fail("cap_init");
  if (cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET) != 0
      || cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET) != 0
      || cap_set_flag(caps, CAP_INHERITABLE, 1, &keep, CAP_SET) != 0)
    fail("cap_set_flag");
  if (cap_set_proc(caps) != 0)
    fail("cap_set_proc");
  cap_free(caps);

  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, keep, 0, 0) != 0)
    fail("prctl PR_CAP_AMBIENT_RAISE");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)  /* no longer needed */
    fail("prctl PR_SET_KEEPCAPS");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    fail("prctl PR_SET_NO_NEW_PRIVS");
}


/*
** Parse the arguments, confine, and execute the command if one is given.
*/
int main (int argc, char **argv) {
  int arg = 1, noop = 0;
  uid_t uid;
  gid_t gid;
  cap_value_t keep;

  if (arg < argc && strcmp(argv[arg], "-n") == 0) {
    noop = 1;
    arg++;
  }
  if (argc - arg < 3) {
    fprintf(stderr, "usage: baseline [-n] UID GID CAP [PATH [ARG...]]\n");
    return 2;
  }
  uid = (uid_t)parse_id(argv[arg], "UID");
  gid = (gid_t)parse_id(argv[arg + 1], "GID");
  if (cap_from_name(argv[arg + 2], &keep) != 0) {
    fprintf(stderr, "baseline: CAP: %s is not a capability\n", argv[arg + 2]);
    return 2;
  }
  if (noop)
    return 0;

  confine_self(uid, gid, keep);
  if (argc - arg == 3)
    return 0;
  execv(argv[arg + 3], argv + arg + 3);
  fail(argv[arg + 3]);
  return EXIT_HALF;
}
