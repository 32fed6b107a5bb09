/*
** attack.c: the test-only module confine_test_attack, for the specs
** that hold confine against known attacks.  tiocsti(fd, text) types
** text into a terminal's input; eventfd() and epoll() open descriptors
** of the anonymous-inode kind (as io_uring, pidfd and bpf are).
*/

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lua.h"
#include "lauxlib.h"


/*
** Push nil, "call: strerror", errno.
*/
static int fail(lua_State *L, const char *call, int err) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", call, strerror(err));
  lua_pushinteger(L, err);
  return 3;
}


/*
** tiocsti(fd, text) -> true, or nil, message, errno at the first byte
** the kernel refuses.
*/
static int l_tiocsti(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t len, i;
  const char *text = luaL_checklstring(L, 2, &len);
  for (i = 0; i < len; i++)
    if (ioctl(fd, TIOCSTI, text + i) != 0)
      return fail(L, "ioctl TIOCSTI", errno);
  lua_pushboolean(L, 1);
  return 1;
}


/*
** eventfd() -> descriptor (without close-on-exec).
*/
static int l_eventfd(lua_State *L) {
  int fd = eventfd(0, 0);
  if (fd < 0)
    return fail(L, "eventfd", errno);
  lua_pushinteger(L, fd);
  return 1;
}


/*
** epoll() -> descriptor (without close-on-exec).
*/
static int l_epoll(lua_State *L) {
  int fd = epoll_create1(0);
  if (fd < 0)
    return fail(L, "epoll_create1", errno);
  lua_pushinteger(L, fd);
  return 1;
}


/*
** The module table; no global is set.
*/
__attribute__((visibility("default")))
int luaopen_confine_test_attack(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_tiocsti);
  lua_setfield(L, -2, "tiocsti");
  lua_pushcfunction(L, l_eventfd);
  lua_setfield(L, -2, "eventfd");
  lua_pushcfunction(L, l_epoll);
  lua_setfield(L, -2, "epoll");
  return 1;
}
