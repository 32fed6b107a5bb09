/*
** fds.c: open descriptors, the controlling terminal and the thread
** count: what the Lua layer must know about the process before it
** enters the jail.
**
** Caveats: fds() and the close_fds() fallback learn the highest open
** descriptor from /proc/self/fd when it is there; without /proc they
** look up to the RLIMIT_NOFILE soft limit, capped at FD_SCAN_MAX.
** has_ctty() asks /dev/tty; where it cannot be opened (a jail without
** /dev) it asks each open descriptor that is not a pseudo-terminal
** master with TIOCGSID, so a controlling
** terminal that no descriptor refers to is not seen there (XXX: nor can
** the process reach it without opening a terminal device).
*/

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core.h"

#define FD_SCAN_MAX 65536
#define FD_LIST_MAX 256


/*
** One past the highest descriptor that may be open.  /proc/self/fd is
** exact; without it the soft descriptor limit bounds what open() could
** have returned (XXX: unless the limit was lowered after a descriptor
** above it was opened, or is above FD_SCAN_MAX).
*/
static int fd_bound(void) {
  DIR *dir = opendir("/proc/self/fd");
  struct rlimit rl;
  if (dir != NULL) {
    struct dirent *e;
    int self = dirfd(dir), top = -1;
    while ((e = readdir(dir)) != NULL) {
      char *end;
      long fd = strtol(e->d_name, &end, 10);
      if (*end == '\0' && end != e->d_name && fd != self && fd > top &&
          fd < INT_MAX)
        top = (int)fd;
    }
    closedir(dir);
    return top + 1;
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur > FD_SCAN_MAX)
    return FD_SCAN_MAX;
  return (int)rl.rlim_cur;
}


/*
** The kind of a descriptor, from fstat.
*/
static const char *fd_kind(mode_t mode) {
  if (S_ISFIFO(mode)) return "pipe";
  if (S_ISDIR(mode) || S_ISREG(mode) || S_ISLNK(mode) || S_ISSOCK(mode) ||
      S_ISCHR(mode) || S_ISBLK(mode))
    return type_name(mode);
  return "unknown";
}


/*
** Set field "name" of the table on top to what /proc/self/fd/N links to
** ("anon_inode:[eventfd]", "/dev/sda"), when /proc is there.
*/
static void set_fd_name(lua_State *L, int fd) {
  char path[32] = "/proc/self/fd/", digits[12], buf[256];
  size_t at = sizeof "/proc/self/fd/" - 1, k = 0;
  unsigned v = (unsigned)fd;
  ssize_t len;
  /* the number by hand: snprintf costs more than the readlink itself,
     once per open descriptor */
  do {
    digits[k++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (k > 0)
    path[at++] = digits[--k];
  path[at] = '\0';
  len = readlink(path, buf, sizeof buf);
  if (len <= 0)
    return;
  lua_pushlstring(L, buf, (size_t)len);
  lua_setfield(L, -2, "name");
}


/*
** The open descriptors, lowest first, as /proc/self/fd lists them, in
** `list` (room for FD_LIST_MAX): their number, or -1 when /proc/self/fd
** cannot be read or lists more (the caller then asks every number below
** fd_bound()).  Asking only these spares a failing fstat for each number
** below the highest open descriptor, which a service may hold at 1000.
*/
static int list_fds(int *list) {
  DIR *dir = opendir("/proc/self/fd");
  struct dirent *e;
  int self, n = 0;

  if (dir == NULL)
    return -1;
  self = dirfd(dir);
  while ((e = readdir(dir)) != NULL) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    int i;
    if (*end != '\0' || end == e->d_name || fd == self || fd < 0 ||
        fd >= INT_MAX)
      continue;
    if (n == FD_LIST_MAX) {
      n = -1;
      break;
    }
    /* insertion sort: the kernel lists them in order, so this is short */
    for (i = n++; i > 0 && list[i - 1] > (int)fd; i--)
      list[i] = list[i - 1];
    list[i] = (int)fd;
  }
  closedir(dir);
  return n;
}


/*
** fds() -> list of { fd = n, kind = "directory" | "regular" | "socket" |
** "pipe" | "char" | "block" | "link" | "unknown", fs, fstype, major,
** minor, name }, lowest first.  fstype is the statfs magic number and fs
** its name where known ("proc", "anon_inode", ...); major and minor are
** there for devices; name is the /proc/self/fd link when /proc is there.
*/
static int l_fds(lua_State *L) {
  int list[FD_LIST_MAX];
  int listed = list_fds(list);
  int bound = listed >= 0 ? listed : fd_bound();
  int i, n = 0;

  lua_newtable(L);
  for (i = 0; i < bound; i++) {
    int fd = listed >= 0 ? list[i] : i;
    struct stat st;
    struct statfs sf;
    if (fstat(fd, &st) != 0)
      continue;  /* EBADF: not open (or closed since it was listed) */
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, fd);
    lua_setfield(L, -2, "fd");
    lua_pushstring(L, fd_kind(st.st_mode));
    lua_setfield(L, -2, "kind");
    if (fstatfs(fd, &sf) == 0) {
      const char *name = fs_name((unsigned long)sf.f_type);
      lua_pushinteger(L, (lua_Integer)((unsigned long)sf.f_type &
                                       0xffffffffUL));
      lua_setfield(L, -2, "fstype");
      if (name != NULL) {
        lua_pushstring(L, name);
        lua_setfield(L, -2, "fs");
      }
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      lua_pushinteger(L, (lua_Integer)major(st.st_rdev));
      lua_setfield(L, -2, "major");
      lua_pushinteger(L, (lua_Integer)minor(st.st_rdev));
      lua_setfield(L, -2, "minor");
    }
    set_fd_name(L, fd);
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}


/*
** Whether descriptor fd is a pseudo-terminal master: the /dev/ptmx clone
** (5:2, also through /dev/pts/ptmx) or a BSD master (major 2).
*/
static int is_pty_master(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode))
    return 0;
  return major(st.st_rdev) == 2
    || (major(st.st_rdev) == 5 && minor(st.st_rdev) == 2);
}


/*
** A descriptor to this process's controlling terminal, to be closed by
** the caller when *opened is set; -1 when there is none.  /dev/tty
** answers ENXIO when there is none; without /dev/tty each open
** descriptor is asked with TIOCGSID.  Of a terminal's slave side, only
** the controlling terminal answers; a master answers with the session
** of its slave, whoever's that is, so masters are skipped, and the
** answer must be this process's own session.
*/
static int ctty_fd(int *opened) {
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  int bound, i;
  *opened = 0;
  if (fd >= 0) {
    *opened = 1;
    return fd;
  }
  if (errno == ENXIO)
    return -1;
  bound = fd_bound();
  for (i = 0; i < bound; i++) {
    pid_t sid;
    if (isatty(i) && !is_pty_master(i) && ioctl(i, TIOCGSID, &sid) == 0
        && sid == getsid(0))
      return i;
  }
  return -1;
}


/*
** has_ctty() -> whether this process has a controlling terminal (one
** into which TIOCSTI could type commands for its shell).
*/
static int l_has_ctty(lua_State *L) {
  int opened, fd = ctty_fd(&opened);
  if (opened)
    close(fd);
  lua_pushboolean(L, fd >= 0);
  return 1;
}


/*
** detach_tty() -> true: give up the controlling terminal (TIOCNOTTY), so
** that TIOCSTI on an inherited terminal descriptor fails.  The process
** stays in its process group, so the terminal's ^C still reaches it.
** A session leader is refused (EPERM): for it TIOCNOTTY hangs up the
** terminal's foreground process group.  Nothing to do without one.
*/
static int l_detach_tty(lua_State *L) {
  int opened, fd = ctty_fd(&opened), err = 0;
  if (fd < 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (getsid(0) == getpid())
    err = EPERM;
  else if (ioctl(fd, TIOCNOTTY) != 0)
    err = errno;
  if (opened)
    close(fd);
  if (err == EPERM && getsid(0) == getpid()) {
    lua_pushnil(L);
    lua_pushliteral(L, "detach_tty: this process leads the session of its "
      "controlling terminal (detaching would hang up the terminal)");
    lua_pushinteger(L, EPERM);
    return 3;
  }
  if (err != 0)
    return push_error(L, err, "detach_tty", "TIOCNOTTY");
  lua_pushboolean(L, 1);
  return 1;
}


/*
** Close every descriptor in lo..hi (hi may be INT_MAX): close_range
** where the kernel has it, else one close() per descriptor up to the
** bound.  Returns 0 or an errno value.
*/
static int close_between(int lo, int hi, int *bound) {
  int fd;
#ifdef SYS_close_range
  if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0u) == 0)
    return 0;
  if (errno != ENOSYS)
    return errno;
#endif
  if (*bound < 0)
    *bound = fd_bound();
  for (fd = lo; fd <= hi && fd < *bound; fd++)
    close(fd);
  return 0;
}


/*
** close_fds(keep) -> true: close every descriptor >= 3 that is not in
** the list `keep` (nil is an empty list).
*/
static int l_close_fds(lua_State *L) {
  int n = 0, i, j, lo = 3, bound = -1, err;
  int *keep;
  lua_settop(L, 1);
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
      lua_pop(L, 1);
      if (++n > 65536)
        luaL_argerror(L, 1, "keep: more than 65536 entries");
    }
  }
  keep = (int *)lua_newuserdata(L, sizeof(int) * (size_t)(n + 1));
  for (i = 0; i < n; i++) {
    char what[32];
    snprintf(what, sizeof what, "keep[%d]", i + 1);
    lua_rawgeti(L, 1, i + 1);
    if (lua_isnil(L, -1))
      luaL_argerror(L, 1, lua_pushfstring(L,
        "%s: missing (expected a list with keys 1..%d)", what, n));
    keep[i] = (int)check_whole(L, -1, 1, what, 0, INT_MAX - 1);
    lua_pop(L, 1);
  }
  for (i = 1; i < n; i++) {  /* insertion sort: the list is short */
    int v = keep[i];
    for (j = i; j > 0 && keep[j - 1] > v; j--)
      keep[j] = keep[j - 1];
    keep[j] = v;
  }
  for (i = 0; i < n; i++) {
    if (keep[i] < lo)
      continue;
    if (keep[i] > lo && (err = close_between(lo, keep[i] - 1, &bound)) != 0)
      return push_error(L, err, "close_fds", NULL);
    lo = keep[i] + 1;
  }
  if ((err = close_between(lo, INT_MAX, &bound)) != 0)
    return push_error(L, err, "close_fds", NULL);
  lua_pushboolean(L, 1);
  return 1;
}


/*
** thread_count() -> the "Threads:" line of /proc/self/status, or nil
** and a message when /proc is not mounted (inside a jail, say).
*/
static int l_thread_count(lua_State *L) {
  char buf[8192];
  size_t used = 0;
  ssize_t got;
  const char *p;
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return push_error(L, err, "thread_count", "/proc/self/status");
  }
  while (used < sizeof buf - 1 &&
         (got = read(fd, buf + used, sizeof buf - 1 - used)) != 0) {
    if (got < 0) {
      int err = errno;
      if (err == EINTR)
        continue;
      close(fd);
      return push_error(L, err, "thread_count", "/proc/self/status");
    }
    used += (size_t)got;
  }
  close(fd);
  buf[used] = '\0';
  p = strstr(buf, "\nThreads:");
  if (p == NULL) {
    lua_pushnil(L);
    lua_pushliteral(L, "thread_count /proc/self/status: no Threads line");
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)strtol(p + 9, NULL, 10));
  return 1;
}


static const luaL_Reg fds_funcs[] = {
  {"fds", l_fds},
  {"close_fds", l_close_fds},
  {"thread_count", l_thread_count},
  {"has_ctty", l_has_ctty},
  {"detach_tty", l_detach_tty},
  {NULL, NULL}
};


/*
** Register the descriptor functions in the module table.
*/
void confine_open_fds(lua_State *L) {
  compat_setfuncs(L, fds_funcs);
}
