/*
** compat.h: the one place that knows which Lua it is built against.
**
** The rest of src/ calls the compat_* names below and never tests
** LUA_VERSION_NUM itself.  Lua 5.1 and LuaJIT (both LUA_VERSION_NUM 501)
** lack luaL_setfuncs, luaL_testudata, luaL_setmetatable and lua_rawlen
** (LuaJIT 2.1 has some of them, so ours carry their own names to avoid
** clashing with its declarations).  Integers as a subtype of number exist
** from 5.3 on; before that every number is a double, and the id checks
** in core.c fall back to testing the double for an integral value.
*/

#ifndef CONFINE_COMPAT_H
#define CONFINE_COMPAT_H

#include "lua.h"
#include "lauxlib.h"


#if LUA_VERSION_NUM >= 503
#define compat_isinteger(L, i)  lua_isinteger(L, (i))
#else
#define compat_isinteger(L, i)  ((void)(L), (void)(i), 0)
#endif


#if LUA_VERSION_NUM >= 502

#define compat_setfuncs(L, l)        luaL_setfuncs(L, (l), 0)
#define compat_testudata(L, i, n)    luaL_testudata(L, (i), (n))
#define compat_setmetatable(L, n)    luaL_setmetatable(L, (n))

#else

/*
** Register the functions of `l` in the table on top of the stack.
*/
static inline void compat_setfuncs(lua_State *L, const luaL_Reg *l) {
  for (; l->name != NULL; l++) {
    lua_pushcfunction(L, l->func);
    lua_setfield(L, -2, l->name);
  }
}


/*
** The userdata at `i` when its metatable is the registry's `name`,
** else NULL.
*/
static inline void *compat_testudata(lua_State *L, int i, const char *name) {
  void *p = lua_touserdata(L, i);
  int same;
  if (p == NULL || !lua_getmetatable(L, i))
    return NULL;
  luaL_getmetatable(L, name);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? p : NULL;
}


/*
** Give the value on top of the stack the registry's metatable `name`.
*/
static inline void compat_setmetatable(lua_State *L, const char *name) {
  luaL_getmetatable(L, name);
  lua_setmetatable(L, -2);
}

#endif

/*
** The launcher program and its build-time tool (launcher.c, embed.c):
** write a function as a binary chunk, stripped of its debug information
** when `strip` is set, and load one back.  Lua 5.1 and 5.2 have no strip
** argument and keep the information; before 5.2 a binary chunk loads
** like any other.
*/
#if LUA_VERSION_NUM >= 503
#define compat_dump(L, w, d, strip)  lua_dump(L, (w), (d), (strip))
#else
#define compat_dump(L, w, d, strip) \
  ((void)(strip), lua_dump(L, (w), (d)))
#endif

#if LUA_VERSION_NUM >= 502
#define compat_loadbinary(L, b, n, name) \
  luaL_loadbufferx(L, (b), (n), (name), "b")
#else
#define compat_loadbinary(L, b, n, name) luaL_loadbuffer(L, (b), (n), (name))
#endif

#endif
