/*
** flags.c: the per-thread switches around capabilities: the bounding
** and ambient sets (through prctl, so capabilities above libcap's own
** CAP_LAST_CAP work when the kernel knows them), keep-caps, securebits
** and no_new_privs.
*/

#define _GNU_SOURCE
#include <errno.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <sys/prctl.h>

#include "core.h"


/*
** Push nil, "call cap_x: strerror", err.
*/
static int push_cap_error(lua_State *L, int err, const char *call,
                          int cap) {
  char label[32];
  cap_label(cap, label, sizeof label);
  return push_error(L, err, call, label);
}


/*
** Push true and return 1.
*/
static int push_true(lua_State *L) {
  lua_pushboolean(L, 1);
  return 1;
}


/*
** bound_get(cap) -> whether `cap` is in the bounding set; EINVAL for a
** capability the kernel does not know.
*/
static int l_bound_get(lua_State *L) {
  int cap = check_cap(L, 1, 1, "cap");
  int r = prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0);
  if (r < 0) {
    int err = errno;
    return push_cap_error(L, err, "bound_get", cap);
  }
  lua_pushboolean(L, r);
  return 1;
}


/*
** bound_drop(cap) -> true; needs CAP_SETPCAP, and is for good.
*/
static int l_bound_drop(lua_State *L) {
  int cap = check_cap(L, 1, 1, "cap");
  if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) != 0) {
    int err = errno;
    return push_cap_error(L, err, "bound_drop", cap);
  }
  return push_true(L);
}


/*
** ambient_get(cap) -> whether `cap` is in the ambient set.
*/
static int l_ambient_get(lua_State *L) {
  int cap = check_cap(L, 1, 1, "cap");
  int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)cap,
                0, 0);
  if (r < 0) {
    int err = errno;
    return push_cap_error(L, err, "ambient_get", cap);
  }
  lua_pushboolean(L, r);
  return 1;
}


/*
** ambient_raise(cap) -> true; the capability must already be permitted
** and inheritable (else EPERM).
*/
static int l_ambient_raise(lua_State *L) {
  int cap = check_cap(L, 1, 1, "cap");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0,
            0) != 0) {
    int err = errno;
    return push_cap_error(L, err, "ambient_raise", cap);
  }
  return push_true(L);
}


/*
** ambient_lower(cap) -> true.
*/
static int l_ambient_lower(lua_State *L) {
  int cap = check_cap(L, 1, 1, "cap");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, (unsigned long)cap, 0,
            0) != 0) {
    int err = errno;
    return push_cap_error(L, err, "ambient_lower", cap);
  }
  return push_true(L);
}


/*
** ambient_clear() -> true: empty the ambient set.
*/
static int l_ambient_clear(lua_State *L) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    int err = errno;
    return push_error(L, err, "ambient_clear", NULL);
  }
  return push_true(L);
}


/*
** get_keepcaps() -> whether permitted capabilities survive the change
** away from uid 0.
*/
static int l_get_keepcaps(lua_State *L) {
  int r = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
  if (r < 0) {
    int err = errno;
    return push_error(L, err, "get_keepcaps", NULL);
  }
  lua_pushboolean(L, r);
  return 1;
}


/*
** set_keepcaps(on) -> true; `on` must be a boolean.
*/
static int l_set_keepcaps(lua_State *L) {
  int on = check_boolean(L, 1, "on");
  if (prctl(PR_SET_KEEPCAPS, (unsigned long)on, 0, 0, 0) != 0) {
    int err = errno;
    return push_error(L, err, "set_keepcaps", on ? "true" : "false");
  }
  return push_true(L);
}


/*
** get_no_new_privs() -> whether exec can no longer grant privilege.
*/
static int l_get_no_new_privs(lua_State *L) {
  int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (r < 0) {
    int err = errno;
    return push_error(L, err, "get_no_new_privs", NULL);
  }
  lua_pushboolean(L, r);
  return 1;
}


/*
** set_no_new_privs() -> true; there is no way to unset it.
*/
static int l_set_no_new_privs(lua_State *L) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    int err = errno;
    return push_error(L, err, "set_no_new_privs", NULL);
  }
  return push_true(L);
}


/*
** get_securebits() -> the securebits as an integer.
*/
static int l_get_securebits(lua_State *L) {
  int r = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  if (r < 0) {
    int err = errno;
    return push_error(L, err, "get_securebits", NULL);
  }
  lua_pushinteger(L, r);
  return 1;
}


/*
** set_securebits(bits) -> true; bits is 0..0x7fffffff (the kernel
** refuses bits it does not know, and locked bits, with EPERM/EINVAL).
*/
static int l_set_securebits(lua_State *L) {
  long long bits = check_whole(L, 1, 1, "bits", 0, 0x7fffffff);
  if (prctl(PR_SET_SECUREBITS, (unsigned long)bits, 0, 0, 0) != 0) {
    int err = errno;
    char arg[32];
    snprintf(arg, sizeof arg, "0x%llx", bits);
    return push_error(L, err, "set_securebits", arg);
  }
  return push_true(L);
}


static const luaL_Reg flags_funcs[] = {
  {"bound_get", l_bound_get},
  {"bound_drop", l_bound_drop},
  {"ambient_get", l_ambient_get},
  {"ambient_raise", l_ambient_raise},
  {"ambient_lower", l_ambient_lower},
  {"ambient_clear", l_ambient_clear},
  {"get_keepcaps", l_get_keepcaps},
  {"set_keepcaps", l_set_keepcaps},
  {"get_no_new_privs", l_get_no_new_privs},
  {"set_no_new_privs", l_set_no_new_privs},
  {"get_securebits", l_get_securebits},
  {"set_securebits", l_set_securebits},
  {NULL, NULL}
};


static const struct {
  const char *name;
  int value;
} secbits[] = {
  {"SECBIT_NOROOT", SECBIT_NOROOT},
  {"SECBIT_NOROOT_LOCKED", SECBIT_NOROOT_LOCKED},
  {"SECBIT_NO_SETUID_FIXUP", SECBIT_NO_SETUID_FIXUP},
  {"SECBIT_NO_SETUID_FIXUP_LOCKED", SECBIT_NO_SETUID_FIXUP_LOCKED},
  {"SECBIT_KEEP_CAPS", SECBIT_KEEP_CAPS},
  {"SECBIT_KEEP_CAPS_LOCKED", SECBIT_KEEP_CAPS_LOCKED},
  {"SECBIT_NO_CAP_AMBIENT_RAISE", SECBIT_NO_CAP_AMBIENT_RAISE},
  {"SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED", SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED},
  {NULL, 0}
};


/*
** Register the flag functions and the SECBIT_* constants.
*/
void confine_open_flags(lua_State *L) {
  int i;
  compat_setfuncs(L, flags_funcs);
  for (i = 0; secbits[i].name != NULL; i++) {
    lua_pushinteger(L, secbits[i].value);
    lua_setfield(L, -2, secbits[i].name);
  }
}
