/*
** ids.c: user and group ids of this process (per thread on Linux: glibc
** broadcasts set*id calls to every thread, but the Lua layer refuses to
** run with more than one anyway).
*/

#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"


/*
** Push the three ids and return 3.
*/
static int push_three(lua_State *L, unsigned r, unsigned e, unsigned s) {
  lua_pushinteger(L, (lua_Integer)r);
  lua_pushinteger(L, (lua_Integer)e);
  lua_pushinteger(L, (lua_Integer)s);
  return 3;
}


/*
** getresuid() -> real, effective, saved uid.
*/
static int l_getresuid(lua_State *L) {
  uid_t r, e, s;
  if (getresuid(&r, &e, &s) != 0) {
    int err = errno;
    return push_error(L, err, "getresuid", NULL);
  }
  return push_three(L, r, e, s);
}


/*
** getresgid() -> real, effective, saved gid.
*/
static int l_getresgid(lua_State *L) {
  gid_t r, e, s;
  if (getresgid(&r, &e, &s) != 0) {
    int err = errno;
    return push_error(L, err, "getresgid", NULL);
  }
  return push_three(L, r, e, s);
}


/*
** Argument `arg` as an id, or (unsigned)-1 ("unchanged") when nil or
** absent.  A valid id stops at 4294967294, so -1 always means nil.
*/
static unsigned opt_id(lua_State *L, int arg, const char *what) {
  if (lua_isnoneornil(L, arg))
    return (unsigned)-1;
  return (unsigned)check_id(L, arg, arg, what);
}


/*
** "r e s" for a message about a failed call, each id or "nil" where it
** was to stay unchanged.  Made only on failure: a drop that works
** formats nothing.
*/
static void ids_text(char *buf, size_t size, unsigned r, unsigned e,
                     unsigned s) {
  unsigned v[3];
  char t[3][16];
  int i;
  v[0] = r;
  v[1] = e;
  v[2] = s;
  for (i = 0; i < 3; i++) {
    if (v[i] == (unsigned)-1)
      snprintf(t[i], sizeof t[i], "nil");
    else
      snprintf(t[i], sizeof t[i], "%u", v[i]);
  }
  snprintf(buf, size, "%s %s %s", t[0], t[1], t[2]);
}


/*
** setresuid(r, e, s) -> true: nil leaves that id unchanged.  Every id
** is checked before the call, so a bad one changes nothing.
*/
static int l_setresuid(lua_State *L) {
  uid_t r = opt_id(L, 1, "ruid");
  uid_t e = opt_id(L, 2, "euid");
  uid_t s = opt_id(L, 3, "suid");
  if (setresuid(r, e, s) != 0) {
    int err = errno;
    char args[64];
    ids_text(args, sizeof args, r, e, s);
    return push_error(L, err, "setresuid", args);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** setresgid(r, e, s) -> true: nil leaves that id unchanged.
*/
static int l_setresgid(lua_State *L) {
  gid_t r = opt_id(L, 1, "rgid");
  gid_t e = opt_id(L, 2, "egid");
  gid_t s = opt_id(L, 3, "sgid");
  if (setresgid(r, e, s) != 0) {
    int err = errno;
    char args[64];
    ids_text(args, sizeof args, r, e, s);
    return push_error(L, err, "setresgid", args);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** setuid(id) -> true.  With privilege it sets all three uids; without,
** only the effective one (verify uses it to try to regain root).
*/
static int l_setuid(lua_State *L) {
  uid_t id = (uid_t)check_id(L, 1, 1, "uid");
  if (setuid(id) != 0) {
    int err = errno;
    char arg[16];
    snprintf(arg, sizeof arg, "%u", (unsigned)id);
    return push_error(L, err, "setuid", arg);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** setgid(id) -> true.
*/
static int l_setgid(lua_State *L) {
  gid_t id = (gid_t)check_id(L, 1, 1, "gid");
  if (setgid(id) != 0) {
    int err = errno;
    char arg[16];
    snprintf(arg, sizeof arg, "%u", (unsigned)id);
    return push_error(L, err, "setgid", arg);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** getgroups() -> list of supplementary gids.  The buffer is a userdata,
** so an error while building the list leaks nothing.
*/
static int l_getgroups(lua_State *L) {
  int n, i;
  gid_t *list;
  for (;;) {
    n = getgroups(0, NULL);
    if (n < 0) {
      int err = errno;
      return push_error(L, err, "getgroups", NULL);
    }
    list = (gid_t *)lua_newuserdata(L, sizeof(gid_t) * (size_t)(n + 1));
    n = getgroups(n + 1, list);
    if (n >= 0)
      break;
    if (errno != EINVAL) {
      int err = errno;
      return push_error(L, err, "getgroups", NULL);
    }
    lua_pop(L, 1);  /* the list grew in between: ask again */
  }
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)list[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}


/*
** setgroups(list) -> true; {} clears the supplementary groups.  The
** whole list is checked before the call.
*/
static int l_setgroups(lua_State *L) {
  int n = check_id_list(L, 1, "list"), i;
  gid_t *list = (gid_t *)lua_newuserdata(L,
    sizeof(gid_t) * (size_t)(n > 0 ? n : 1));
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    list[i] = (gid_t)check_id(L, -1, 1, "list");
    lua_pop(L, 1);
  }
  if (setgroups((size_t)n, list) != 0) {
    int err = errno;
    char text[128];
    size_t used = 0;
    text[0] = '\0';
    for (i = 0; i < n && used < sizeof text - 16; i++)
      used += (size_t)snprintf(text + used, sizeof text - used, "%s%u",
                               i ? "," : "", (unsigned)list[i]);
    if (i < n)
      snprintf(text + used, sizeof text - used, ",...");
    return push_error(L, err, "setgroups", n ? text : "{}");
  }
  lua_pushboolean(L, 1);
  return 1;
}


static const luaL_Reg ids_funcs[] = {
  {"getresuid", l_getresuid},
  {"getresgid", l_getresgid},
  {"setresuid", l_setresuid},
  {"setresgid", l_setresgid},
  {"setuid", l_setuid},
  {"setgid", l_setgid},
  {"getgroups", l_getgroups},
  {"setgroups", l_setgroups},
  {NULL, NULL}
};


/*
** Register the id functions in the module table on top of the stack.
*/
void confine_open_ids(lua_State *L) {
  compat_setfuncs(L, ids_funcs);
}
