/*
** thread.c: the test-only module confine_test_thread.  start() starts a
** second thread that sleeps until the process ends, so specs can show
** that the Lua layer refuses a multi-threaded process.
*/

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"


/*
** The second thread: sleep for good.
*/
static void *sleep_forever(void *arg) {
  (void)arg;
  for (;;)
    pause();
  return NULL;
}


/*
** start() -> true, or nil and a message.
*/
static int l_start(lua_State *L) {
  pthread_t t;
  int err = pthread_create(&t, NULL, sleep_forever, NULL);
  if (err != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "pthread_create: %s", strerror(err));
    lua_pushinteger(L, err);
    return 3;
  }
  pthread_detach(t);
  lua_pushboolean(L, 1);
  return 1;
}


/*
** The module table { start = ... }; no global is set.
*/
__attribute__((visibility("default")))
int luaopen_confine_test_thread(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_start);
  lua_setfield(L, -2, "start");
  return 1;
}
