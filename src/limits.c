/*
** limits.c: bounds on what untrusted Lua code may spend while its caller
** waits: memory, through a counting allocator put in front of the
** state's own, and processor time, through a timer that ends the
** process.  The launcher arms both around a policy file: a loop in C (a
** pattern that backtracks, a string.rep of a gigabyte) runs where no
** instruction hook can stop it.
**
** Caveats: the time limit is ITIMER_PROF, one per process, and its end
** is the end of the process (nothing else is safe inside a signal
** handler); the memory limit counts from what the collector reports at
** arming, so on LuaJIT, whose count leaves some blocks out, it is
** approximate.
*/

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core.h"


/* What limit_memory puts in front of the state's allocator. */
typedef struct Limit {
  lua_Alloc alloc;  /* the allocator that does the work */
  void *ud;         /* and its user data */
  size_t used;      /* bytes in use, as far as we know */
  size_t max;       /* bytes that may be in use */
  int refused;      /* an allocation was refused */
} Limit;


/*
** Count every block and refuse one that would pass the ceiling; frees
** and shrinks always go through, so the state can always give memory
** back.
*/
static void *limited_alloc(void *ud, void *ptr, size_t osize,
                           size_t nsize) {
  Limit *l = (Limit *)ud;
  size_t old = ptr != NULL ? osize : 0;  /* osize is a type tag for NULL */
  void *p;
  if (nsize > old && (nsize - old > l->max || l->used > l->max - (nsize
      - old))) {
    l->refused = 1;
    return NULL;
  }
  p = l->alloc(l->ud, ptr, osize, nsize);
  if (p != NULL || nsize == 0)
    l->used = (l->used > old ? l->used - old : 0) + nsize;
  return p;
}


/*
** limit_memory(bytes) -> true: from now on, allocations that would take
** the state more than `bytes` above what it uses now fail (a Lua "not
** enough memory" error).  limit_memory(nil) -> whether an allocation was
** refused; the state's own allocator is back.  Arming twice is an error.
*/
static int l_limit_memory(lua_State *L) {
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  Limit *l;
  if (lua_isnoneornil(L, 1)) {
    int refused = 0;
    if (f == limited_alloc) {
      l = (Limit *)ud;
      refused = l->refused;
      lua_setallocf(L, l->alloc, l->ud);
      l->alloc(l->ud, l, sizeof *l, 0);
    }
    lua_pushboolean(L, refused);
    return 1;
  }
  {
    long long bytes = check_whole(L, 1, 1, "bytes", 1, 1LL << 40);
    if (f == limited_alloc)
      return luaL_error(L, "limit_memory: a limit is armed already");
    l = (Limit *)f(ud, NULL, 0, sizeof *l);
    if (l == NULL)
      return luaL_error(L, "limit_memory: not enough memory");
    l->alloc = f;
    l->ud = ud;
    l->used = (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024
      + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
    l->max = l->used + (size_t)bytes;
    l->refused = 0;
    lua_setallocf(L, limited_alloc, l);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** limit_memory_hit() -> whether limit_memory has refused an allocation
** since it was armed (false when it is not armed).  Lua runs a full
** collection before each refused allocation, so a caller polls this to
** stop code that catches "not enough memory" and tries again.
*/
static int l_limit_memory_hit(lua_State *L) {
  void *ud;
  lua_Alloc f = lua_getallocf(L, &ud);
  lua_pushboolean(L, f == limited_alloc && ((Limit *)ud)->refused);
  return 1;
}


/* The line limit_cpu writes, its exit status, and what it replaced. */
static char cpu_line[512];
static size_t cpu_line_len;
static int cpu_status;
static int cpu_armed;
static struct sigaction cpu_old_action;
static sigset_t cpu_old_mask;


/*
** SIGPROF: the time is up.  write and _exit only: both are safe here.
*/
static void on_cpu_limit(int sig) {
  ssize_t r;
  (void)sig;
  r = write(2, cpu_line, cpu_line_len);
  (void)r;
  _exit(cpu_status);
}


/*
** limit_cpu(seconds, status, line) -> true: after `seconds` of processor
** time the process writes `line` (and a newline) on stderr and ends
** with `status`, wherever it is, even inside C.  limit_cpu(nil) -> true
** disarms it.  EBUSY when another ITIMER_PROF runs (a profiler).  The
** timer survives exec: disarm it first.
*/
static int l_limit_cpu(lua_State *L) {
  struct itimerval t;
  struct sigaction sa;
  sigset_t prof;
  sigemptyset(&prof);
  sigaddset(&prof, SIGPROF);
  memset(&t, 0, sizeof t);
  if (lua_isnoneornil(L, 1)) {
    if (cpu_armed) {
      setitimer(ITIMER_PROF, &t, NULL);
      sigaction(SIGPROF, &cpu_old_action, NULL);
      sigprocmask(SIG_SETMASK, &cpu_old_mask, NULL);
      cpu_armed = 0;
    }
    lua_pushboolean(L, 1);
    return 1;
  }
  {
    long long seconds = check_whole(L, 1, 1, "seconds", 1, 86400);
    long long status = check_whole(L, 2, 2, "status", 0, 255);
    size_t len;
    const char *line = luaL_checklstring(L, 3, &len);
    struct itimerval now;
    if (cpu_armed)
      return luaL_error(L, "limit_cpu: a limit is armed already");
    if (getitimer(ITIMER_PROF, &now) == 0 &&
        (now.it_value.tv_sec != 0 || now.it_value.tv_usec != 0))
      return push_error(L, EBUSY, "limit_cpu", "ITIMER_PROF");
    if (len > sizeof cpu_line - 2)
      len = sizeof cpu_line - 2;
    memcpy(cpu_line, line, len);
    cpu_line[len++] = '\n';
    cpu_line_len = len;
    cpu_status = (int)status;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cpu_limit;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, &cpu_old_action) != 0) {
      int err = errno;
      return push_error(L, err, "limit_cpu", "sigaction");
    }
    sigprocmask(SIG_UNBLOCK, &prof, &cpu_old_mask);
    t.it_value.tv_sec = (time_t)seconds;
    if (setitimer(ITIMER_PROF, &t, NULL) != 0) {
      int err = errno;
      sigaction(SIGPROF, &cpu_old_action, NULL);
      sigprocmask(SIG_SETMASK, &cpu_old_mask, NULL);
      return push_error(L, err, "limit_cpu", "setitimer");
    }
    cpu_armed = 1;
  }
  lua_pushboolean(L, 1);
  return 1;
}


static const luaL_Reg limits_funcs[] = {
  {"limit_memory", l_limit_memory},
  {"limit_memory_hit", l_limit_memory_hit},
  {"limit_cpu", l_limit_cpu},
  {NULL, NULL}
};


/*
** Register limit_memory, limit_memory_hit and limit_cpu in the module table on top of the
** stack.
*/
void confine_open_limits(lua_State *L) {
  compat_setfuncs(L, limits_funcs);
}
