/*
** files.c: the jail's primitives.  chroot, chdir, getcwd, stat, lstat,
** umask, readlink, read_file (for policy files), and opendir_nofollow,
** which walks an absolute path one component at a time without following
** a link, so the directory that was checked is the very one later entered
** with fchdir.
*/

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core.h"


typedef struct Dir {
  int fd;  /* -1 once closed */
} Dir;


/*
** chroot(path) -> true.  The caller changes directory afterwards.
*/
static int l_chroot(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  if (chroot(path) != 0) {
    int err = errno;
    return push_error(L, err, "chroot", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** chdir(path) -> true.
*/
static int l_chdir(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  if (chdir(path) != 0) {
    int err = errno;
    return push_error(L, err, "chdir", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** getcwd() -> path.  glibc reports ENOENT when the directory is outside
** the current root (rather than a path starting "(unreachable)").
*/
static int l_getcwd(lua_State *L) {
  size_t size = 256;
  for (;;) {
    char *buf = (char *)lua_newuserdata(L, size);
    if (getcwd(buf, size) != NULL) {
      lua_pushstring(L, buf);
      return 1;
    }
    if (errno != ERANGE || size >= 1048576) {
      int err = errno;
      return push_error(L, err, "getcwd", NULL);
    }
    lua_pop(L, 1);
    size *= 2;
  }
}


/*
** stat(path) -> { type, mode, uid, gid, dev, ino } (links followed).
*/
static int l_stat(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  struct stat st;
  if (stat(path, &st) != 0) {
    int err = errno;
    return push_error(L, err, "stat", path);
  }
  push_stat(L, &st);
  return 1;
}


/*
** lstat(path) -> the same, about a link itself.
*/
static int l_lstat(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  struct stat st;
  if (lstat(path, &st) != 0) {
    int err = errno;
    return push_error(L, err, "lstat", path);
  }
  push_stat(L, &st);
  return 1;
}


/*
** umask(mask) -> the previous mask; mask is 0..0777.
*/
static int l_umask(lua_State *L) {
  mode_t mask = (mode_t)check_whole(L, 1, 1, "mask", 0, 0777);
  lua_pushinteger(L, (lua_Integer)umask(mask));
  return 1;
}


/*
** A new, closed directory handle on top of the stack.
*/
static Dir *new_dir(lua_State *L) {
  Dir *d = (Dir *)lua_newuserdata(L, sizeof(Dir));
  d->fd = -1;
  compat_setmetatable(L, DIR_MT);
  return d;
}


/*
** The open directory handle at `arg`; a closed one is an error.
*/
static Dir *check_dir(lua_State *L, int arg) {
  Dir *d = (Dir *)luaL_checkudata(L, arg, DIR_MT);
  if (d->fd < 0)
    luaL_argerror(L, arg, "directory is closed");
  return d;
}


/*
** opendir_nofollow(path) -> dir, components.  `path` is absolute; no
** component may be "." or "..".  Each component is opened with O_PATH,
** O_DIRECTORY and O_NOFOLLOW relative to the previous one, so a link
** anywhere fails (ENOTDIR or ELOOP) instead of being followed.  The
** descriptor lives in the handle from the start, so nothing leaks if
** Lua raises on the way.
*/
static int l_opendir_nofollow(lua_State *L) {
  size_t len;
  const char *path = check_path(L, 1, "path");
  const char *p;
  char *prefix;
  Dir *d;
  struct stat st;
  int n = 0;
  len = strlen(path);
  if (path[0] != '/')
    luaL_argerror(L, 1, lua_pushfstring(L,
      "path: \"%s\" is not absolute", path));
  for (p = path; *p != '\0'; ) {  /* refuse "." and ".." components */
    size_t clen;
    while (*p == '/') p++;
    clen = strcspn(p, "/");
    if ((clen == 1 && p[0] == '.') || (clen == 2 && p[0] == '.' &&
        p[1] == '.'))
      luaL_argerror(L, 1, lua_pushfstring(L,
        "path: \"%s\" has a \".\" or \"..\" component", path));
    p += clen;
  }
  lua_settop(L, 1);
  prefix = (char *)lua_newuserdata(L, len + 1);  /* index 2 */
  d = new_dir(L);                                 /* index 3 */
  lua_newtable(L);                                /* index 4 */
  d->fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  strcpy(prefix, "/");
  for (p = path; ; ) {
    size_t clen, plen;
    if (d->fd < 0 || fstat(d->fd, &st) != 0) {
      int err = errno;
      if (d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
      }
      return push_error(L, err, "opendir_nofollow", prefix);
    }
    if (!S_ISDIR(st.st_mode)) {  /* O_DIRECTORY makes this unreachable */
      close(d->fd);
      d->fd = -1;
      return push_error(L, ENOTDIR, "opendir_nofollow", prefix);
    }
    push_stat(L, &st);
    lua_pushstring(L, prefix);
    lua_setfield(L, -2, "path");
    lua_rawseti(L, 4, ++n);
    while (*p == '/') p++;
    if (*p == '\0')
      break;
    clen = strcspn(p, "/");
    plen = strlen(prefix);
    if (plen > 1)
      prefix[plen++] = '/';
    memcpy(prefix + plen, p, clen);
    prefix[plen + clen] = '\0';
    {
      int next = openat(d->fd, prefix + plen,
                        O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int err = errno;
      close(d->fd);
      d->fd = next;
      errno = err;
    }
    p += clen;
  }
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 4);
  return 2;
}


/*
** read_file(path, max) -> text, stat.  Opens `path` without following a
** final link and without blocking on a FIFO, and judges the opened file:
** the stat returned is that of the very bytes read, so a caller that
** checks it has no gap between check and use.  Not a regular file, or
** larger than `max` bytes: nil, message, EINVAL or EFBIG.
*/
static int l_read_file(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  size_t max = (size_t)check_whole(L, 2, 2, "max", 0, 1073741824LL);
  Dir *h;
  struct stat st;
  luaL_Buffer b;
  size_t got = 0;

  lua_settop(L, 2);
  h = new_dir(L);  /* holds the descriptor, closed by __gc on a raise */
  h->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
               O_CLOEXEC);
  if (h->fd < 0 || fstat(h->fd, &st) != 0) {
    int err = errno;
    if (h->fd >= 0) {
      close(h->fd);
      h->fd = -1;
    }
    return push_error(L, err, "read_file", path);
  }

  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
    int err = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
    close(h->fd);
    h->fd = -1;
    lua_pushnil(L);
    if (err == EINVAL)
      lua_pushfstring(L, "read_file %s: not a regular file (a %s)", path,
                      type_name(st.st_mode));
    else
      lua_pushfstring(L, "read_file %s: larger than %d bytes", path,
                      (int)max);
    lua_pushinteger(L, err);
    return 3;
  }

  luaL_buffinit(L, &b);
  for (;;) {
    char *dst = luaL_prepbuffer(&b);
    size_t want = LUAL_BUFFERSIZE;
    ssize_t n;
    if (want > max - got + 1)
      want = max - got + 1;  /* one byte more shows the file grew */
    n = read(h->fd, dst, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      close(h->fd);
      h->fd = -1;
      return push_error(L, err, "read_file", path);
    }
    if (n == 0)
      break;
    luaL_addsize(&b, (size_t)n);
    got += (size_t)n;
    if (got > max) {
      close(h->fd);
      h->fd = -1;
      lua_pushnil(L);
      lua_pushfstring(L, "read_file %s: larger than %d bytes", path,
                      (int)max);
      lua_pushinteger(L, EFBIG);
      return 3;
    }
  }
  close(h->fd);
  h->fd = -1;
  luaL_pushresult(&b);
  push_stat(L, &st);
  return 2;
}


/*
** readlink(path) -> target.
*/
static int l_readlink(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  size_t size = 256;
  for (;;) {
    char *buf = (char *)lua_newuserdata(L, size);
    ssize_t n = readlink(path, buf, size);
    if (n < 0) {
      int err = errno;
      return push_error(L, err, "readlink", path);
    }
    if ((size_t)n < size) {
      lua_pushlstring(L, buf, (size_t)n);
      return 1;
    }
    if (size >= 1048576)
      return push_error(L, ENAMETOOLONG, "readlink", path);
    lua_pop(L, 1);
    size *= 2;
  }
}


/*
** dir:fchdir() -> true: make the opened directory the current one.
*/
static int l_dir_fchdir(lua_State *L) {
  Dir *d = check_dir(L, 1);
  if (fchdir(d->fd) != 0) {
    int err = errno;
    char arg[32];
    snprintf(arg, sizeof arg, "fd %d", d->fd);
    return push_error(L, err, "fchdir", arg);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** dir:stat() -> stat table of the opened directory.
*/
static int l_dir_stat(lua_State *L) {
  Dir *d = check_dir(L, 1);
  struct stat st;
  if (fstat(d->fd, &st) != 0) {
    int err = errno;
    char arg[32];
    snprintf(arg, sizeof arg, "fd %d", d->fd);
    return push_error(L, err, "fstat", arg);
  }
  push_stat(L, &st);
  return 1;
}


/*
** dir:statfs() -> { type = magic, name = "proc" | ... }: the filesystem
** the opened directory is on (name only for the kinds fs_name knows).
*/
static int l_dir_statfs(lua_State *L) {
  Dir *d = check_dir(L, 1);
  struct statfs sf;
  const char *name;
  if (fstatfs(d->fd, &sf) != 0) {
    int err = errno;
    char arg[32];
    snprintf(arg, sizeof arg, "fd %d", d->fd);
    return push_error(L, err, "fstatfs", arg);
  }
  name = fs_name((unsigned long)sf.f_type);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, (lua_Integer)((unsigned long)sf.f_type &
                                   0xffffffffUL));
  lua_setfield(L, -2, "type");
  if (name != NULL) {
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
  }
  return 1;
}


/*
** dir:fileno() -> the descriptor.
*/
static int l_dir_fileno(lua_State *L) {
  Dir *d = check_dir(L, 1);
  lua_pushinteger(L, d->fd);
  return 1;
}


/*
** dir:close() -> true; also __gc and __close.  Closing twice is
** harmless.
*/
static int l_dir_close(lua_State *L) {
  Dir *d = (Dir *)luaL_checkudata(L, 1, DIR_MT);
  if (d->fd >= 0) {
    close(d->fd);
    d->fd = -1;
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** tostring(dir) -> "confine.dir (fd N)" or "confine.dir (closed)".
*/
static int l_dir_tostring(lua_State *L) {
  Dir *d = (Dir *)luaL_checkudata(L, 1, DIR_MT);
  if (d->fd >= 0)
    lua_pushfstring(L, "confine.dir (fd %d)", d->fd);
  else
    lua_pushliteral(L, "confine.dir (closed)");
  return 1;
}


static const luaL_Reg dir_methods[] = {
  {"fchdir", l_dir_fchdir},
  {"stat", l_dir_stat},
  {"statfs", l_dir_statfs},
  {"fileno", l_dir_fileno},
  {"close", l_dir_close},
  {"__gc", l_dir_close},
  {"__close", l_dir_close},
  {"__tostring", l_dir_tostring},
  {NULL, NULL}
};


static const luaL_Reg files_funcs[] = {
  {"chroot", l_chroot},
  {"chdir", l_chdir},
  {"fchdir", l_dir_fchdir},
  {"getcwd", l_getcwd},
  {"stat", l_stat},
  {"lstat", l_lstat},
  {"umask", l_umask},
  {"opendir_nofollow", l_opendir_nofollow},
  {"read_file", l_read_file},
  {"readlink", l_readlink},
  {NULL, NULL}
};


/*
** Create the "confine.dir" metatable and register the file functions.
*/
void confine_open_files(lua_State *L) {
  new_class(L, DIR_MT, dir_methods);
  compat_setfuncs(L, files_funcs);
}
