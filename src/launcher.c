/*
** launcher.c: the confine program, the launcher CMake installs.
**
** It runs the same code as bin/confine, confine.cli's main, in a Lua
** state of its own, with all of confine built in: confine.core linked in,
** and the Lua modules as chunks compiled at build time (embed.c).  So it
** neither searches for nor compiles any module when it starts, and
** nothing on disk or in the environment decides which code it runs:
**
**   - confine's modules are package.preload entries, found before any
**     file;
**   - LUA_INIT is never run, and LUA_PATH and LUA_CPATH are not read:
**     package.path and package.cpath are the defaults of the Lua library
**     (as it was built, which its headers need not tell: LuaJIT's do
**     not), without their relative entries (./?.lua names the caller's
**     working directory), and serve only a policy's preload modules.
*/

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "compat.h"
#include "embedded.h"
#include "lualib.h"

int luaopen_confine_core(lua_State *L);


/* What the package library of some Lua reads to replace its defaults. */
static const char *const path_vars[] = {
  "LUA_PATH", "LUA_CPATH", "LUA_PATH_5_2", "LUA_CPATH_5_2",
  "LUA_PATH_5_3", "LUA_CPATH_5_3", "LUA_PATH_5_4", "LUA_CPATH_5_4", NULL
};


/*
** Keep only the absolute entries of package[field], in order.  Expects
** the package table on top of the stack.
*/
static void keep_absolute(lua_State *L, const char *field) {
  luaL_Buffer b;
  const char *p;
  int first = 1;

  lua_getfield(L, -1, field);
  p = lua_tostring(L, -1);
  if (p == NULL)
    luaL_error(L, "package.%s is not a string", field);
  luaL_buffinit(L, &b);
  while (*p != '\0') {
    const char *end = p;
    while (*end != '\0' && *end != ';')
      end++;
    if (*p == '/') {
      if (!first)
        luaL_addchar(&b, ';');
      luaL_addlstring(&b, p, (size_t)(end - p));
      first = 0;
    }
    p = *end == ';' ? end + 1 : end;
  }
  luaL_pushresult(&b);
  lua_setfield(L, -3, field);
  lua_pop(L, 1);
}


/*
** The program's body, run protected: open the libraries, set the paths,
** make confine's modules preloads, and hand the arguments to
** confine.cli's main, which ends the process.
*/
static int start(lua_State *L) {
  char **argv = (char **)lua_touserdata(L, 1);
  int argc = (int)lua_tointeger(L, 2);
  const struct confine_chunk *c;
  const char *const *var;
  int i;

  /* Lua 5.2 and later: the package library reads no variable. */
  lua_pushboolean(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");

  /* Lua 5.1 reads them whatever LUA_NOENV says; no command the launcher
     runs inherits them (confine.cli gives it an environment of its own) */
  for (var = path_vars; *var != NULL; var++)
    unsetenv(*var);
  luaL_openlibs(L);

  lua_getglobal(L, "package");
  keep_absolute(L, "path");
  keep_absolute(L, "cpath");

  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_confine_core);
  lua_setfield(L, -2, "confine.core");
  for (c = confine_chunks; c->module != NULL; c++) {
    if (compat_loadbinary(L, (const char *)c->code, c->size, c->module))
      return lua_error(L);
    lua_setfield(L, -2, c->module);
  }
  lua_pop(L, 2);

  lua_getglobal(L, "require");
  lua_pushstring(L, "confine.cli");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc > 1 ? argc - 1 : 0, 0);
  for (i = 1; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i);
  }
  lua_call(L, 1, 0);
  return 0;
}


/*
** Write `msg` on stderr as one line, every control and non-ASCII byte
** escaped as \ddd, as confine.cli writes its own messages.
*/
static void say(const char *msg) {
  const unsigned char *p = (const unsigned char *)msg;

  fputs("confine: internal error: ", stderr);
  for (; *p != '\0'; p++) {
    if (*p < 0x20 || *p >= 0x7f)
      fprintf(stderr, "\\%03u", (unsigned)*p);
    else
      fputc(*p, stderr);
  }
  fputc('\n', stderr);
}


/*
** An error outside any protected call (out of memory before start()
** runs): one line and status 1, not Lua's abort.  Nothing has changed.
*/
static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);

  say(msg != NULL ? msg : "an error outside a protected call");
  fflush(stderr);
  _exit(1);
  return 0;
}


int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();

  if (L == NULL) {
    say("no memory for a Lua state");
    return 1;
  }
  lua_atpanic(L, panic);

  /* main ends the process itself; getting here is an error. */
  lua_pushcfunction(L, start);
  lua_pushlightuserdata(L, argv);
  lua_pushinteger(L, argc);
  if (lua_pcall(L, 2, 0, 0) != 0) {
    const char *msg = lua_tostring(L, -1);
    say(msg != NULL ? msg : "(an error that is not a string)");
  } else {
    say("confine.cli's main returned");
  }
  lua_close(L);
  return 1;
}
