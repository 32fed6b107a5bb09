/*
** attack.c: the test-only module confine_test_attack, for the specs
** that hold confine against known attacks.  tiocsti(fd, text) types
** text into a terminal's input; eventfd() and epoll() open descriptors
** of the anonymous-inode kind (as io_uring, pidfd and bpf are);
** fail_allocs(first, n) makes allocations fail one by one.
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


/* What fail_allocs puts in front of the state's allocator. */
static struct {
  lua_Alloc alloc;  /* the allocator that does the work */
  void *ud;
  long seen;        /* allocations asked for since armed */
  long first;       /* the first to refuse, counting from 1 */
  long n;           /* and how many in a row */
} failing;


static void *failing_alloc(void *ud, void *ptr, size_t osize,
                           size_t nsize) {
  size_t old = ptr != NULL ? osize : 0;  /* osize is a type tag for NULL */
  (void)ud;
  if (nsize > old && ++failing.seen >= failing.first &&
      failing.seen < failing.first + failing.n)
    return NULL;
  return failing.alloc(failing.ud, ptr, osize, nsize);
}


/*
** fail_allocs(first[, n]) -> true: from now on the state's allocations
** number first .. first + n - 1 fail (n is 2 by default: the second
** defeats Lua's retry after an emergency collection).  fail_allocs() ->
** the number asked for since; the state's own allocator is back.
*/
static int l_fail_allocs(lua_State *L) {
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  if (lua_isnoneornil(L, 1)) {
    if (f == failing_alloc)
      lua_setallocf(L, failing.alloc, failing.ud);
    lua_pushinteger(L, (lua_Integer)failing.seen);
    return 1;
  }
  if (f != failing_alloc) {
    failing.alloc = f;
    failing.ud = ud;
  }
  failing.seen = 0;
  failing.first = (long)luaL_checkinteger(L, 1);
  failing.n = (long)luaL_optinteger(L, 2, 2);
  lua_setallocf(L, failing_alloc, NULL);
  lua_pushboolean(L, 1);
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
  lua_pushcfunction(L, l_fail_allocs);
  lua_setfield(L, -2, "fail_allocs");
  return 1;
}
