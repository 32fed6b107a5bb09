/*
** baseline.c: the smallest C launcher that confines itself the way
** `confine run` does, for bench/run to measure confine against.
**
** usage: baseline [-n | -v] UID GID CAP [PATH [ARG...]]
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
** With -v it also makes the other system calls confine's apply makes
** for this policy, in the same order and number: before the first change
** it looks the uid up (getpwuid), asks /dev/tty for a controlling
** terminal, reads every capability's five bits, loads the zone data,
** counts threads in /proc/self/status, and fstats, fstatfs's and
** readlinks each descriptor /proc/self/fd lists; it counts threads again,
** and reads the bounding set again before dropping from it; afterwards
** it reads every id, group, set, bounding and ambient bit and flag back,
** counts threads, asks /dev/tty, stats /, compares all with the target,
** and requires setuid(0), setgid(0), setgroups and chroot to fail.  It is
** the C twin of confine.apply: the same calls without the Lua layer.
**
** Caveats: without -v it resolves no name and reads nothing back: it is a
** floor, not a twin.
*/

#define _GNU_SOURCE  /* setresuid, setresgid */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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
** Refuse, before anything has changed, with a message and status 2.
*/
static void refuse (const char *what) {
  fprintf(stderr, "baseline: %s\n", what);
  exit(2);
}


/*
** Fail closed after the changes: the state is not what was asked.
*/
static void unverified (const char *what) {
  fprintf(stderr, "baseline: verify: %s\n", what);
  exit(EXIT_HALF);
}


/*
** The number of threads, from /proc/self/status.
*/
static int count_threads (void) {
  char line[256];
  int threads = 0;
  FILE *f = fopen("/proc/self/status", "re");
  if (f == NULL)
    fail("/proc/self/status");
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "Threads:", 8) == 0)
      threads = atoi(line + 8);
  fclose(f);
  return threads;
}


/*
** Whether /dev/tty opens: a controlling terminal is there.
*/
static int has_ctty (void) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return 0;
  close(fd);
  return 1;
}


/*
** Each capability's bits up to the last: effective, permitted and
** inheritable from one capget, bounding and ambient from prctl; the
** effective and bounding bits go to `eff` and `bound` when not NULL.
*/
static void read_caps (cap_value_t last, int *eff, int *bound) {
  static const cap_flag_t sets[] = {
    CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE };
  cap_t caps = cap_get_proc();
  cap_flag_value_t v;
  cap_value_t c;
  size_t i;
  int b;
  if (caps == NULL)
    fail("cap_get_proc");
  for (c = 0; c <= last; c++) {
    for (i = 0; i < sizeof sets / sizeof sets[0]; i++) {
      if (cap_get_flag(caps, c, sets[i], &v) != 0)
        fail("cap_get_flag");
      if (eff != NULL && sets[i] == CAP_EFFECTIVE)
        eff[c] = v == CAP_SET;
    }
    if ((b = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0)
      fail("prctl PR_CAPBSET_READ");
    if (bound != NULL)
      bound[c] = b;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) < 0)
      fail("prctl PR_CAP_AMBIENT_IS_SET");
  }
  cap_free(caps);
}


/*
** What confine learns of each open descriptor: fstat, fstatfs and the
** /proc/self/fd link.
*/
static void list_fds (void) {
  char path[64], link[256];
  struct dirent *e;
  struct stat st;
  struct statfs sf;
  DIR *d = opendir("/proc/self/fd");
  int self, fds[256], n = 0, i;
  if (d == NULL)
    fail("/proc/self/fd");
  self = dirfd(d);
  while ((e = readdir(d)) != NULL && n < 256) {
    long fd = strtol(e->d_name, NULL, 10);
    if (e->d_name[0] != '.' && fd != self && fd < INT_MAX)
      fds[n++] = (int)fd;
  }
  closedir(d);
  for (i = 0; i < n; i++) {
    if (fstat(fds[i], &st) != 0)
      continue;
    (void)fstatfs(fds[i], &sf);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
    (void)readlink(path, link, sizeof link);
  }
}


/*
** The checks and preparation confine makes before its first change
** (-v): the target's passwd entry, the terminal, the privileges each
** step needs, zone data, a single thread, the descriptors.
*/
static void check_first (uid_t uid, cap_value_t keep, cap_value_t last) {
  static const cap_value_t need[] = { CAP_SETUID, CAP_SETGID, CAP_SETPCAP };
  int eff[64], bound[64];
  size_t i;

  (void)getpwuid(uid);  /* confine keeps the name and home it finds */
  (void)has_ctty();
  read_caps(last, eff, bound);
  for (i = 0; i < sizeof need / sizeof need[0]; i++)
    if (need[i] > last || !eff[need[i]])
      refuse("a privilege a step needs is missing");
  if (keep > last || !bound[keep])
    refuse("the kept capability is not in the bounding set");
  if (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) < 0)
    fail("prctl PR_GET_SECUREBITS");

  tzset();
  if (count_threads() != 1)
    refuse("more than one thread");
  list_fds();
  (void)has_ctty();
  if (count_threads() != 1)  /* again, after the caller's log */
    refuse("more than one thread");
}


/*
** Read the state back and compare it with the target (-v), then require
** every attempt to regain root to fail.
*/
static void check_after (uid_t uid, gid_t gid, cap_value_t keep,
                         cap_value_t last) {
  static const cap_flag_t sets[] = {
    CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE };
  cap_value_t c;
  uid_t ru, eu, su;
  gid_t rg, eg, sg, g;
  char cwd[4096];
  size_t i;
  cap_t caps;
  cap_flag_value_t v;
  struct stat st;

  if (getresuid(&ru, &eu, &su) != 0 || ru != uid || eu != uid || su != uid)
    unverified("uid");
  if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid)
    unverified("gid");
  if (getgroups(0, NULL) != 0)
    unverified("groups");
  caps = cap_get_proc();
  if (caps == NULL)
    fail("cap_get_proc");
  for (c = 0; c <= last; c++) {
    for (i = 0; i < sizeof sets / sizeof sets[0]; i++)
      if (cap_get_flag(caps, c, sets[i], &v) != 0
          || (v == CAP_SET) != (c == keep))
        unverified("capability sets");
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != (c == keep))
      unverified("bounding set");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) != (c == keep))
      unverified("ambient set");
  }
  cap_free(caps);
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1
      || prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0
      || prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) < 0
      || getcwd(cwd, sizeof cwd) == NULL || stat("/", &st) != 0)
    unverified("flags");
  if (count_threads() != 1 || has_ctty())
    unverified("threads or terminal");

  g = 0;
  if (setuid(0) == 0 || setresuid(0, 0, 0) == 0
      || setresuid((uid_t)-1, 0, (uid_t)-1) == 0
      || setgid(0) == 0 || setresgid(0, 0, 0) == 0 || setgroups(1, &g) == 0
      || chroot(".") == 0)
    unverified("root can be regained");
}


/*
** Run the confinement in the order confine's apply uses (its steps 6 to
** 9, without the jail, which this policy does not ask for).
*/
static void confine_self (uid_t uid, gid_t gid, cap_value_t keep,
                          cap_value_t last, int twin) {
  int bound[64];
  cap_value_t c;
  cap_t caps;

  if (setgroups(0, NULL) != 0)
    fail("setgroups");

  /* bounding set: all but the kept one (the twin reads it first, and
     drops only the bits that are set, as confine does) */
  if (twin)
    read_caps(last, NULL, bound);
  for (c = 0; c <= last; c++)
    if (c != keep && (!twin || bound[c])
        && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
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
  int arg = 1, noop = 0, verify = 0;
  uid_t uid;
  gid_t gid;
  cap_value_t keep, last;

  if (arg < argc && strcmp(argv[arg], "-n") == 0) {
    noop = 1;
    arg++;
  }
  else if (arg < argc && strcmp(argv[arg], "-v") == 0) {
    verify = 1;
    arg++;
  }
  if (argc - arg < 3) {
    fprintf(stderr, "usage: baseline [-n | -v] UID GID CAP [PATH [ARG...]]\n");
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

  last = cap_max_bits() - 1;
  if (last >= 64)
    refuse("more capabilities than this program knows");
  if (verify)
    check_first(uid, keep, last);
  confine_self(uid, gid, keep, last, verify);
  if (verify)
    check_after(uid, gid, keep, last);
  if (argc - arg == 3)
    return 0;
  execv(argv[arg + 3], argv + arg + 3);
  fail(argv[arg + 3]);
  return EXIT_HALF;
}
