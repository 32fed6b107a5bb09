# Shell functions shared by the examples' run scripts (sourced, not run).
#
# Each example starts a daemon under confine, then looks at it from the
# outside, through /proc/PID/status and /proc/PID/root, the way an
# administrator would, and fails loudly when anything is not as promised.

# The lines of /proc/PID/status that describe a confinement.
STATUS_FIELDS='Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs'

# cap_net_bind_service (10) alone, as /proc/PID/status prints a set.
NET_BIND_SERVICE=0000000000000400

die() {
  echo "$EXAMPLE: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "run me as root (sudo $0)"
}

# True when something listens on TCP port $1 on any local address.
port_in_use() {
  awk -v p="$(printf ':%04X' "$1")" '
    FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { hit = 1 }
    END { exit !hit }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# Fail clearly unless $1 is a port below 1024 that nothing listens on.
check_port() {
  case $1 in
    ''|*[!0-9]*) die "port: '$1' is not a number" ;;
  esac
  [ "$1" -ge 1 ] && [ "$1" -le 1023 ] \
    || die "port: $1 is not below 1024 (the example shows a kept capability)"
  if port_in_use "$1"; then
    die "port: something already listens on port $1; pass another one" \
      "(for example: $0 $2 $(( $1 + 1 )))"
  fi
}

# True when process $1 itself holds a socket that listens on TCP port $2
# (another process on the same port does not count): the socket inodes
# of /proc/net/tcp{,6} against the links in /proc/$1/fd.
listens() {
  inodes=$(awk -v p="$(printf ':%04X' "$2")" '
    FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }
    ' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  [ -n "$inodes" ] || return 1
  for fd in /proc/"$1"/fd/*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    for ino in $inodes; do
      [ "$link" = "socket:[$ino]" ] && return 0
    done
  done
  return 1
}

# Wait up to 10 s for process $1 to listen on 127.0.0.1:$2.
wait_listening() {
  i=0
  while [ $i -lt 100 ]; do
    kill -0 "$1" 2>/dev/null || return 1
    listens "$1" "$2" && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# Make $1 a root-owned directory that no one else may write.
root_dir() {
  mkdir -p "$1"
  chown root:root "$1"
  chmod 0755 "$1"
}

# The canonical form of directory $1.
canonical() {
  (cd "$1" && pwd -P)
}

# Print process $1's confinement lines and root directory.
show_process() {
  grep -E "^($STATUS_FIELDS):" "/proc/$1/status" \
    || die "process $1 is gone"
  printf 'Root:\t%s\n' "$(readlink "/proc/$1/root")"
}

# Compare one field of /proc/$1/status with $3 (tabs and spaces squeezed);
# on a mismatch print it and count it in $bad.
expect() {
  got=$(sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" \
    | tr -s ' \t' '  ' | sed 's/ $//')
  if [ "$got" != "$3" ]; then
    echo "$EXAMPLE: $2 is '$got', expected '$3'" >&2
    bad=$((bad + 1))
  fi
}

# Check that process $1 runs as uid $2 and gid $3 with no supplementary
# group, in root directory $4, with capability sets: inheritable $5,
# permitted and effective $6, bounding $7, ambient $8, and no_new_privs.
expect_confined() {
  bad=0
  expect "$1" Uid "$2 $2 $2 $2"
  expect "$1" Gid "$3 $3 $3 $3"
  expect "$1" Groups ""
  expect "$1" CapInh "$5"
  expect "$1" CapPrm "$6"
  expect "$1" CapEff "$6"
  expect "$1" CapBnd "$7"
  expect "$1" CapAmb "$8"
  expect "$1" NoNewPrivs 1
  root=$(readlink "/proc/$1/root")
  if [ "$root" != "$4" ]; then
    echo "$EXAMPLE: root is '$root', expected '$4'" >&2
    bad=$((bad + 1))
  fi
  [ "$bad" -eq 0 ]
}
