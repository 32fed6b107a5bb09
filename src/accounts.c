/*
** accounts.c: users and groups from the name service, resolved before
** the jail hides /etc.  An absent entry is nil and a message naming it,
** never a default id.
*/

#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "core.h"


/*
** Push { name, uid, gid, dir, shell }.
*/
static void push_passwd(lua_State *L, const struct passwd *pw) {
  lua_createtable(L, 0, 5);
  lua_pushstring(L, pw->pw_name);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)pw->pw_uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, (lua_Integer)pw->pw_gid);
  lua_setfield(L, -2, "gid");
  lua_pushstring(L, pw->pw_dir ? pw->pw_dir : "");
  lua_setfield(L, -2, "dir");
  lua_pushstring(L, pw->pw_shell ? pw->pw_shell : "");
  lua_setfield(L, -2, "shell");
}


/*
** Push { name, gid, members = { ... } }.
*/
static void push_group(lua_State *L, const struct group *gr) {
  int i;
  lua_createtable(L, 0, 3);
  lua_pushstring(L, gr->gr_name);
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, (lua_Integer)gr->gr_gid);
  lua_setfield(L, -2, "gid");
  lua_newtable(L);
  for (i = 0; gr->gr_mem != NULL && gr->gr_mem[i] != NULL; i++) {
    lua_pushstring(L, gr->gr_mem[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "members");
}


/*
** getpwnam(name) -> passwd table, or nil, "getpwnam NAME: no such user".
** errno is cleared first: 0 after a NULL means "no entry", anything
** else is a real failure (an unreadable /etc/passwd, say).
*/
static int l_getpwnam(lua_State *L) {
  const char *name = check_text(L, 1, "name", 0);
  struct passwd *pw;
  errno = 0;
  pw = getpwnam(name);
  if (pw == NULL) {
    int err = errno;
    if (err == 0)
      return push_missing(L, "getpwnam", name, "user");
    return push_error(L, err, "getpwnam", name);
  }
  push_passwd(L, pw);
  return 1;
}


/*
** getpwuid(uid) -> passwd table, or nil, "getpwuid UID: no such user".
*/
static int l_getpwuid(lua_State *L) {
  uid_t uid = (uid_t)check_id(L, 1, 1, "uid");
  struct passwd *pw;
  char arg[16];
  errno = 0;
  pw = getpwuid(uid);
  if (pw == NULL) {
    int err = errno;
    snprintf(arg, sizeof arg, "%u", (unsigned)uid);
    if (err == 0)
      return push_missing(L, "getpwuid", arg, "user");
    return push_error(L, err, "getpwuid", arg);
  }
  push_passwd(L, pw);
  return 1;
}


/*
** getgrnam(name) -> group table, or nil, "getgrnam NAME: no such group".
*/
static int l_getgrnam(lua_State *L) {
  const char *name = check_text(L, 1, "name", 0);
  struct group *gr;
  errno = 0;
  gr = getgrnam(name);
  if (gr == NULL) {
    int err = errno;
    if (err == 0)
      return push_missing(L, "getgrnam", name, "group");
    return push_error(L, err, "getgrnam", name);
  }
  push_group(L, gr);
  return 1;
}


/*
** getgrgid(gid) -> group table, or nil, "getgrgid GID: no such group".
*/
static int l_getgrgid(lua_State *L) {
  gid_t gid = (gid_t)check_id(L, 1, 1, "gid");
  struct group *gr;
  char arg[16];
  errno = 0;
  gr = getgrgid(gid);
  if (gr == NULL) {
    int err = errno;
    snprintf(arg, sizeof arg, "%u", (unsigned)gid);
    if (err == 0)
      return push_missing(L, "getgrgid", arg, "group");
    return push_error(L, err, "getgrgid", arg);
  }
  push_group(L, gr);
  return 1;
}


/*
** getgrouplist(name, gid) -> list of the groups `name` belongs to, gid
** included.  An unknown user gets just { gid }: look the user up first.
*/
static int l_getgrouplist(lua_State *L) {
  const char *name = check_text(L, 1, "name", 0);
  gid_t gid = (gid_t)check_id(L, 2, 2, "gid");
  int size = 64, n, i;
  gid_t *list;
  for (;;) {
    list = (gid_t *)lua_newuserdata(L, sizeof(gid_t) * (size_t)size);
    n = size;
    if (getgrouplist(name, gid, list, &n) >= 0)
      break;
    lua_pop(L, 1);
    if (size >= 65537)
      return push_error(L, ERANGE, "getgrouplist", name);
    size = n > size ? n : size * 2;
    if (size > 65537)
      size = 65537;
  }
  lua_createtable(L, n, 0);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, (lua_Integer)list[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}


static const luaL_Reg accounts_funcs[] = {
  {"getpwnam", l_getpwnam},
  {"getpwuid", l_getpwuid},
  {"getgrnam", l_getgrnam},
  {"getgrgid", l_getgrgid},
  {"getgrouplist", l_getgrouplist},
  {NULL, NULL}
};


/*
** Register the account functions in the module table.
*/
void confine_open_accounts(lua_State *L) {
  compat_setfuncs(L, accounts_funcs);
}
