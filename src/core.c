/*
** core.c: luaopen_confine_core and the checks every part shares.
**
** Caveats: ids are judged by value, not by Lua subtype, so 1000.0 is
** the id 1000 (Lua 5.1 and LuaJIT have no integers); anything that is
** not a whole number in range, including numeric strings, is refused.
*/

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"


/*
** Push a short human description of the value at `idx` and return it:
** numbers as written, strings quoted (cut at 40 bytes), others by type.
*/
const char *describe_value(lua_State *L, int idx) {
  char buf[64];
  switch (lua_type(L, idx)) {
    case LUA_TNUMBER: {
      if (compat_isinteger(L, idx))
        snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, idx));
      else {
        double n = (double)lua_tonumber(L, idx);
        if (isnan(n))
          snprintf(buf, sizeof buf, "nan");
        else if (isinf(n))
          snprintf(buf, sizeof buf, n > 0 ? "inf" : "-inf");
        else if (n == floor(n) && fabs(n) < 1e18)
          snprintf(buf, sizeof buf, "%.0f", n);
        else
          snprintf(buf, sizeof buf, "%.17g", n);
      }
      lua_pushstring(L, buf);
      return lua_tostring(L, -1);
    }
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      lua_pushlstring(L, s, len > 40 ? 40 : len);
      return lua_pushfstring(L, "string \"%s%s\"", lua_tostring(L, -1),
                             len > 40 ? "..." : "");
    }
    default:
      return lua_pushfstring(L, "%s", luaL_typename(L, idx));
  }
}


/*
** The value at `idx` as a whole number in lo..hi, or an argument error
** for argument `arg`.  Floats count only when integral (5.1, LuaJIT);
** strings are refused even when they look numeric.
*/
long long check_whole(lua_State *L, int idx, int arg, const char *what,
                      long long lo, long long hi) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    if (compat_isinteger(L, idx)) {
      long long v = (long long)lua_tointeger(L, idx);
      if (v >= lo && v <= hi)
        return v;
    }
    else {
      double n = (double)lua_tonumber(L, idx);
      /* NaN fails both comparisons; the range test precedes the cast */
      if (n >= (double)lo && n <= (double)hi && n == floor(n))
        return (long long)n;
    }
  }
  {
    char range[64];
    snprintf(range, sizeof range, "%lld..%lld", lo, hi);
    luaL_argerror(L, arg, lua_pushfstring(L,
      "%s: expected a whole number in %s, got %s", what, range,
      describe_value(L, idx)));
  }
  return 0;
}


/*
** The value at `idx` as a uid or gid: 0..4294967294.  -1 and 4294967295
** would read as "unchanged" to the kernel, 2^32 would wrap to 0.
*/
long long check_id(lua_State *L, int idx, int arg, const char *what) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    if (compat_isinteger(L, idx)) {
      long long v = (long long)lua_tointeger(L, idx);
      if (v >= 0 && v <= CONFINE_ID_MAX)
        return v;
    }
    else {
      double n = (double)lua_tonumber(L, idx);
      if (n >= 0 && n <= (double)CONFINE_ID_MAX && n == floor(n))
        return (long long)n;
    }
  }
  luaL_argerror(L, arg, lua_pushfstring(L,
    "%s: expected an id in 0..4294967294, got %s", what,
    describe_value(L, idx)));
  return 0;
}


/*
** Check that argument `arg` is a list (keys exactly 1..n) of ids and
** return n.  Nothing is changed before the whole list has been judged.
*/
int check_id_list(lua_State *L, int arg, const char *what) {
  int n = 0, i;
  char name[64];
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, arg) != 0) {
    lua_pop(L, 1);
    if (n == 65536)
      luaL_argerror(L, arg, "list: more than 65536 entries");
    n++;
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, arg, i);
    snprintf(name, sizeof name, "%s[%d]", what, i);
    if (lua_isnil(L, -1))
      luaL_argerror(L, arg, lua_pushfstring(L,
        "%s: missing (expected a list with keys 1..%d)", name, n));
    check_id(L, -1, arg, name);
    lua_pop(L, 1);
  }
  return n;
}


/*
** Argument `arg` as a string without NUL bytes (they would cut the
** name short in C).  Numbers are refused, not converted.
*/
const char *check_text(lua_State *L, int arg, const char *what,
                       int allow_empty) {
  size_t len;
  const char *s;
  if (lua_type(L, arg) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: expected a string, got %s",
      what, describe_value(L, arg)));
  s = lua_tolstring(L, arg, &len);
  if (strlen(s) != len)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: contains a NUL byte",
      what));
  if (len == 0 && !allow_empty)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: empty string", what));
  return s;
}


/*
** Argument `arg` as a non-empty path.
*/
const char *check_path(lua_State *L, int arg, const char *what) {
  return check_text(L, arg, what, 0);
}


/*
** Argument `arg` as a boolean; nil and numbers are refused so that a
** missing argument never means "off".
*/
int check_boolean(lua_State *L, int arg, const char *what) {
  if (lua_type(L, arg) != LUA_TBOOLEAN)
    luaL_argerror(L, arg, lua_pushfstring(L, "%s: expected a boolean, got %s",
      what, describe_value(L, arg)));
  return lua_toboolean(L, arg);
}


/*
** Push nil, "call arg: strerror(err)", err and return 3.  Callers save
** errno into `err` right after the failing call.
*/
int push_error(lua_State *L, int err, const char *call, const char *arg) {
  lua_pushnil(L);
  if (arg != NULL)
    lua_pushfstring(L, "%s %s: %s", call, arg, strerror(err));
  else
    lua_pushfstring(L, "%s: %s", call, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}


/*
** Push nil, "call arg: no such what" (an absent entry, no errno).
*/
int push_missing(lua_State *L, const char *call, const char *arg,
                 const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s %s: no such %s", call, arg, what);
  return 2;
}


/*
** The name of a file type, as stat() and fds() report it.
*/
const char *type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISREG(mode)) return "regular";
  if (S_ISLNK(mode)) return "link";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISCHR(mode)) return "char";
  if (S_ISBLK(mode)) return "block";
  return "unknown";
}


/*
** The name of a filesystem from its statfs magic number, for the kinds
** the Lua layer must recognise (pseudo-filesystems that expose the
** kernel or other processes, and a few ordinary ones); NULL for others.
*/
const char *fs_name(unsigned long magic) {
  static const struct { unsigned long magic; const char *name; } fs[] = {
    {0x9fa0UL, "proc"}, {0x62656572UL, "sysfs"},
    {0x64626720UL, "debugfs"}, {0x74726163UL, "tracefs"},
    {0x73636673UL, "securityfs"}, {0x27e0ebUL, "cgroup"},
    {0x63677270UL, "cgroup2"}, {0xcafe4a11UL, "bpf"},
    {0x62656570UL, "configfs"}, {0xde5e81e4UL, "efivarfs"},
    {0x6165676cUL, "pstore"}, {0x1cd1UL, "devpts"},
    {0x09041934UL, "anon_inode"}, {0x6e736673UL, "nsfs"},
    {0x50494446UL, "pidfs"}, {0x42494e4dUL, "binfmt_misc"},
    {0x65735543UL, "fusectl"}, {0xf97cff8cUL, "selinuxfs"},
    {0x43415d53UL, "smackfs"}, {0x5345434dUL, "secretmem"},
    {0x534f434bUL, "sockfs"}, {0x50495045UL, "pipefs"},
    {0x01021994UL, "tmpfs"}, {0x858458f6UL, "ramfs"},
    {0x19800202UL, "mqueue"}, {0xef53UL, "ext4"},
    {0x9123683eUL, "btrfs"}, {0x58465342UL, "xfs"},
    {0x794c7630UL, "overlay"}, {0x65735546UL, "fuse"},
    {0x6969UL, "nfs"}, {0x4d44UL, "vfat"}
  };
  size_t i;
  for (i = 0; i < sizeof fs / sizeof fs[0]; i++)
    if (fs[i].magic == (magic & 0xffffffffUL))
      return fs[i].name;
  return NULL;
}


/*
** Push { type, mode, uid, gid, dev, ino }; mode is the permission bits.
*/
void push_stat(lua_State *L, const struct stat *st) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, type_name(st->st_mode));
  lua_setfield(L, -2, "type");
  lua_pushinteger(L, (lua_Integer)(st->st_mode & 07777));
  lua_setfield(L, -2, "mode");
  lua_pushinteger(L, (lua_Integer)st->st_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)st->st_gid);
  lua_setfield(L, -2, "gid");
  lua_pushinteger(L, (lua_Integer)st->st_dev);
  lua_setfield(L, -2, "dev");
  lua_pushinteger(L, (lua_Integer)st->st_ino);
  lua_setfield(L, -2, "ino");
}


/*
** Create the metatable `name` for a userdata type: its methods, itself as
** __index, and __name so that type errors name the type.
*/
void new_class(lua_State *L, const char *name, const luaL_Reg *methods) {
  luaL_newmetatable(L, name);
  compat_setfuncs(L, methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}


/*
** getpid() -> pid.
*/
static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}


/*
** getsid() -> the session id of this process.
*/
static int l_getsid(lua_State *L) {
  pid_t sid = getsid(0);
  if (sid < 0) {
    int err = errno;
    return push_error(L, err, "getsid", NULL);
  }
  lua_pushinteger(L, (lua_Integer)sid);
  return 1;
}


/*
** _exit(status) ends the process at once, after flushing C's standard
** streams: no Lua code (a replaced os.exit, a finalizer) runs on the
** way, so a caller that fails closed cannot be talked out of it.
*/
static int l_exit(lua_State *L) {
  int status = (int)check_whole(L, 1, 1, "status", 0, 255);
  fflush(NULL);
  _exit(status);
  return 0;
}


/*
** tzset() -> true: load the zone data while /etc and /usr are visible.
*/
static int l_tzset(lua_State *L) {
  tzset();
  lua_pushboolean(L, 1);
  return 1;
}


static const luaL_Reg core_funcs[] = {
  {"getpid", l_getpid},
  {"getsid", l_getsid},
  {"_exit", l_exit},
  {"tzset", l_tzset},
  {NULL, NULL}
};


/*
** The module table: every part registers its functions into it.  No
** global is set.
*/
CONFINE_EXPORT int luaopen_confine_core(lua_State *L) {
  /* room for every name the parts register, so the table never grows */
  lua_createtable(L, 0, 96);
  compat_setfuncs(L, core_funcs);
  confine_open_ids(L);
  confine_open_accounts(L);
  confine_open_files(L);
  confine_open_fds(L);
  confine_open_caps(L);
  confine_open_flags(L);
  confine_open_exec(L);
  confine_open_limits(L);
  lua_pushstring(L, CONFINE_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
