/*
** exec.c: replace the process.  execv takes a path; execvp searches
** PATH (from `env` when it names one, else from this process's
** environment) for a name without "/".
**
** Caveats: unlike libc's execvp, empty PATH entries are skipped rather
** than read as the current directory, and a file the kernel cannot run
** (ENOEXEC) is not handed to /bin/sh.
*/

#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

extern char **environ;


/*
** A NULL-terminated array of the strings of the list at `arg`, in a
** userdata pushed on the stack (the strings stay in the list, which the
** caller keeps on the stack).  `is_env` requires NAME=value entries.
*/
static char **check_strings(lua_State *L, int arg, const char *what,
                            int is_env, int *count) {
  int n = 0, i;
  char **list;
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, arg) != 0) {
    lua_pop(L, 1);
    if (++n > 65536)
      luaL_argerror(L, arg, lua_pushfstring(L, "%s: more than 65536 entries",
        what));
  }
  list = (char **)lua_newuserdata(L, sizeof(char *) * (size_t)(n + 1));
  for (i = 0; i < n; i++) {
    size_t len;
    const char *s;
    lua_rawgeti(L, arg, i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, arg, lua_pushfstring(L,
        "%s[%d]: expected a string, got %s%s", what, i + 1,
        describe_value(L, -1),
        lua_isnil(L, -1) ? " (expected a list with keys 1..n)" : ""));
    s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
      luaL_argerror(L, arg, lua_pushfstring(L,
        "%s[%d]: contains a NUL byte", what, i + 1));
    if (is_env && (s[0] == '=' || strchr(s, '=') == NULL))
      luaL_argerror(L, arg, lua_pushfstring(L,
        "%s[%d]: expected \"NAME=value\", got %s", what, i + 1,
        describe_value(L, -1)));
    list[i] = (char *)s;  /* kept alive by the list at `arg` */
    lua_pop(L, 1);
  }
  list[n] = NULL;
  *count = n;
  return list;
}


/*
** Check (path, argv, env) at 1..3 and build the arrays.  argv must
** have at least argv[0]: an empty argv has fooled setuid programs.
*/
static char **check_exec_args(lua_State *L, char ***envp) {
  int n;
  char **argv;
  lua_settop(L, 3);
  argv = check_strings(L, 2, "argv", 0, &n);
  if (n == 0)
    luaL_argerror(L, 2, "argv: empty (argv[1] is the program's argv[0])");
  if (lua_isnoneornil(L, 3))
    *envp = environ;
  else
    *envp = check_strings(L, 3, "env", 1, &n);
  return argv;
}


/*
** execv(path, argv, env) -> only on failure: nil, message, errno.
*/
static int l_execv(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  char **envp;
  char **argv = check_exec_args(L, &envp);
  int err;
  execve(path, argv, envp);
  err = errno;
  return push_error(L, err, "execv", path);
}


/*
** execvp(file, argv, env) -> only on failure: nil, message, errno.  A
** name with "/" is run as is; otherwise each PATH entry is tried, and
** the error reported is EACCES if any candidate was refused, else the
** last error seen.
*/
static int l_execvp(lua_State *L) {
  const char *file = check_path(L, 1, "file");
  char **envp, **e;
  char **argv = check_exec_args(L, &envp);
  const char *path = NULL, *p;
  char *buf;
  size_t flen = strlen(file);
  int err = ENOENT, denied = 0;
  if (strchr(file, '/') != NULL) {
    execve(file, argv, envp);
    err = errno;
    return push_error(L, err, "execvp", file);
  }
  for (e = envp; *e != NULL && path == NULL; e++)
    if (strncmp(*e, "PATH=", 5) == 0)
      path = *e + 5;
  if (path == NULL)
    path = getenv("PATH");
  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin";
  buf = (char *)lua_newuserdata(L, strlen(path) + flen + 2);
  for (p = path; *p != '\0'; ) {
    size_t dlen = strcspn(p, ":");
    if (dlen > 0) {
      memcpy(buf, p, dlen);
      buf[dlen] = '/';
      memcpy(buf + dlen + 1, file, flen + 1);
      execve(buf, argv, envp);
      err = errno;
      if (err == EACCES)
        denied = 1;
      else if (err != ENOENT && err != ENOTDIR && err != ELOOP &&
               err != ENAMETOOLONG && err != ESTALE && err != ENODEV &&
               err != ETIMEDOUT)
        return push_error(L, err, "execvp", buf);
    }
    p += dlen;
    if (*p == ':')
      p++;
  }
  return push_error(L, denied ? EACCES : err, "execvp", file);
}


static const luaL_Reg exec_funcs[] = {
  {"execv", l_execv},
  {"execvp", l_execvp},
  {NULL, NULL}
};


/*
** Register the exec functions in the module table.
*/
void confine_open_exec(lua_State *L) {
  compat_setfuncs(L, exec_funcs);
}
