/*
** caps.c: capability sets as a userdata owning a libcap cap_t, and the
** capability names.
**
** Caveats: caps_from_text refuses numeric capabilities ("12+ep"), which
** libcap's own parser would take: every name in the text must be "all"
** or a name libcap knows, so a typo is an error, not a silent number.
** Use numbers through set() instead.  cap_name() of a capability the
** kernel knows but libcap does not is libcap's decimal text ("41").
*/

#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "core.h"


typedef struct Caps {
  cap_t caps;  /* NULL until acquired and once freed */
} Caps;


/*
** The capability number of `name` (any of "net_bind_service",
** "cap_net_bind_service", "CAP_NET_BIND_SERVICE"), or -1.  Digits are
** never read as a number here, unlike libcap's cap_from_name.
*/
int lookup_cap(const char *name, size_t len) {
  char buf[64];
  size_t i, start;
  cap_value_t v;
  if (len == 0 || len > sizeof buf - 5 || strlen(name) != len)
    return -1;
  memcpy(buf, "cap_", 4);
  start = (len > 4 && (name[0] == 'c' || name[0] == 'C') &&
           (name[1] == 'a' || name[1] == 'A') &&
           (name[2] == 'p' || name[2] == 'P') && name[3] == '_') ? 4 : 0;
  if (!isalpha((unsigned char)name[start]))
    return -1;
  for (i = start; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!isalnum(c) && c != '_')
      return -1;
    buf[4 + i - start] = (char)tolower(c);
  }
  buf[4 + len - start] = '\0';
  if (cap_from_name(buf, &v) != 0 || v < 0 || v > CONFINE_CAP_MAX)
    return -1;
  return (int)v;
}


/*
** The value at `idx` as a capability number: a name (see lookup_cap) or
** a whole number in 0..63.  Anything else raises for argument `arg`.
*/
int check_cap(lua_State *L, int idx, int arg, const char *what) {
  if (lua_type(L, idx) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    int v = lookup_cap(s, len);
    if (v < 0)
      luaL_argerror(L, arg, lua_pushfstring(L,
        "%s: unknown capability %s", what, describe_value(L, idx)));
    return v;
  }
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_argerror(L, arg, lua_pushfstring(L,
      "%s: expected a capability name or number, got %s", what,
      describe_value(L, idx)));
  return (int)check_whole(L, idx, arg, what, 0, CONFINE_CAP_MAX);
}


/*
** Write libcap's name for `cap` (or its number) into buf, for messages.
*/
void cap_label(int cap, char *buf, size_t size) {
  char *name = cap_to_name((cap_value_t)cap);
  if (name != NULL) {
    snprintf(buf, size, "%s", name);
    cap_free(name);
  }
  else
    snprintf(buf, size, "%d", cap);
}


/*
** A new, empty (NULL) capability userdata on top of the stack.
*/
static Caps *new_caps(lua_State *L) {
  Caps *c = (Caps *)lua_newuserdata(L, sizeof(Caps));
  c->caps = NULL;
  compat_setmetatable(L, CAPS_MT);
  return c;
}


/*
** The live capability set at `arg`.
*/
static Caps *check_caps(lua_State *L, int arg) {
  Caps *c = (Caps *)luaL_checkudata(L, arg, CAPS_MT);
  if (c->caps == NULL)
    luaL_argerror(L, arg, "capability set is closed");
  return c;
}


/*
** The set named at `arg`: "effective", "permitted" or "inheritable".
*/
static cap_flag_t check_flag(lua_State *L, int arg) {
  const char *s = lua_type(L, arg) == LUA_TSTRING ?
    lua_tostring(L, arg) : "";
  if (strcmp(s, "effective") == 0) return CAP_EFFECTIVE;
  if (strcmp(s, "permitted") == 0) return CAP_PERMITTED;
  if (strcmp(s, "inheritable") == 0) return CAP_INHERITABLE;
  luaL_argerror(L, arg, lua_pushfstring(L, "set: expected \"effective\", "
    "\"permitted\" or \"inheritable\", got %s", describe_value(L, arg)));
  return CAP_EFFECTIVE;
}


/*
** caps_get() -> the capability sets of this thread.
*/
static int l_caps_get(lua_State *L) {
  Caps *c = new_caps(L);
  if ((c->caps = cap_get_proc()) == NULL) {
    int err = errno;
    return push_error(L, err, "caps_get", NULL);
  }
  return 1;
}


/*
** caps_new() -> an empty capability set.
*/
static int l_caps_new(lua_State *L) {
  Caps *c = new_caps(L);
  if ((c->caps = cap_init()) == NULL) {
    int err = errno;
    return push_error(L, err, "caps_new", NULL);
  }
  return 1;
}


/*
** Check every capability name in libcap's text form: clauses separated
** by spaces, each "name,name...OPS" where OPS start at = + or -.  Return
** NULL when all are known, else push and return the offending name.
*/
static const char *find_unknown_name(lua_State *L, const char *text) {
  const char *p = text;
  for (;;) {
    size_t nlen;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '\0')
      return NULL;
    for (;;) {  /* the names before the first operator */
      nlen = strcspn(p, ",=+- \t\n\r\f\v");
      if (nlen > 0 && !(nlen == 3 && strncmp(p, "all", 3) == 0)) {
        lua_pushlstring(L, p, nlen);
        if (lookup_cap(lua_tostring(L, -1), nlen) < 0)
          return lua_tostring(L, -1);
        lua_pop(L, 1);
      }
      p += nlen;
      if (*p != ',')
        break;
      p++;
    }
    p += strcspn(p, " \t\n\r\f\v");  /* the operators and flags */
  }
}


/*
** caps_from_text(text) -> set, from libcap's text form ("=", "=ep",
** "cap_chown,cap_kill+ep").  An unknown or numeric name is nil and a
** message; a syntax error is nil, a message and EINVAL.
*/
static int l_caps_from_text(lua_State *L) {
  const char *text = check_text(L, 1, "text", 0);
  const char *bad = find_unknown_name(L, text);
  Caps *c;
  if (bad != NULL) {
    lua_pushnil(L);
    lua_pushfstring(L, "caps_from_text %s: unknown capability %s", text,
                    bad);
    return 2;
  }
  c = new_caps(L);
  if ((c->caps = cap_from_text(text)) == NULL) {
    int err = errno;
    return push_error(L, err, "caps_from_text", text);
  }
  return 1;
}


/*
** caps_get_file(path) -> the file capabilities of `path`; ENODATA when
** the file has none.
*/
static int l_caps_get_file(lua_State *L) {
  const char *path = check_path(L, 1, "path");
  Caps *c = new_caps(L);
  if ((c->caps = cap_get_file(path)) == NULL) {
    int err = errno;
    return push_error(L, err, "caps_get_file", path);
  }
  return 1;
}


/*
** caps:get(set, cap) -> whether `cap` is in `set`.
*/
static int l_caps_getflag(lua_State *L) {
  Caps *c = check_caps(L, 1);
  cap_flag_t flag = check_flag(L, 2);
  int cap = check_cap(L, 3, 3, "cap");
  cap_flag_value_t v;
  if (cap_get_flag(c->caps, (cap_value_t)cap, flag, &v) != 0) {
    int err = errno;
    char label[32];
    cap_label(cap, label, sizeof label);
    return push_error(L, err, "caps:get", label);
  }
  lua_pushboolean(L, v == CAP_SET);
  return 1;
}


/*
** caps:set(set, caps, on) -> self.  `caps` is a name, a number or a
** list of them; all are checked before the set changes.
*/
static int l_caps_setflag(lua_State *L) {
  Caps *c = check_caps(L, 1);
  cap_flag_t flag = check_flag(L, 2);
  cap_value_t list[CONFINE_CAP_MAX + 1];
  int n = 0, i, on;
  if (lua_type(L, 3) == LUA_TTABLE) {
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, 3) != 0) {
      lua_pop(L, 1);
      count++;
    }
    for (i = 1; i <= count; i++) {
      char what[32];
      int cap, j;
      snprintf(what, sizeof what, "caps[%d]", i);
      lua_rawgeti(L, 3, i);
      if (lua_isnil(L, -1))
        luaL_argerror(L, 3, lua_pushfstring(L,
          "%s: missing (expected a list with keys 1..%d)", what, count));
      cap = check_cap(L, -1, 3, what);
      lua_pop(L, 1);
      for (j = 0; j < n && list[j] != cap; j++)
        ;
      if (j == n)  /* at most 64 distinct values */
        list[n++] = (cap_value_t)cap;
    }
  }
  else
    list[n++] = (cap_value_t)check_cap(L, 3, 3, "caps");
  on = check_boolean(L, 4, "on");
  for (i = 0; i < n; i++) {
    if (cap_set_flag(c->caps, flag, 1, &list[i],
                     on ? CAP_SET : CAP_CLEAR) != 0) {
      int err = errno;
      char label[32];
      cap_label(list[i], label, sizeof label);
      return push_error(L, err, "caps:set", label);
    }
  }
  lua_settop(L, 1);
  return 1;
}


/*
** caps:clear() -> self, with every set empty.
*/
static int l_caps_clear(lua_State *L) {
  Caps *c = check_caps(L, 1);
  if (cap_clear(c->caps) != 0) {
    int err = errno;
    return push_error(L, err, "caps:clear", NULL);
  }
  lua_settop(L, 1);
  return 1;
}


/*
** caps:dup() -> an independent copy.
*/
static int l_caps_dup(lua_State *L) {
  Caps *c = check_caps(L, 1);
  Caps *copy = new_caps(L);
  if ((copy->caps = cap_dup(c->caps)) == NULL) {
    int err = errno;
    return push_error(L, err, "caps:dup", NULL);
  }
  return 1;
}


/*
** Push libcap's text of `c`; returns 1, or 3 on failure.
*/
static int push_text(lua_State *L, Caps *c) {
  char *text = cap_to_text(c->caps, NULL);
  if (text == NULL) {
    int err = errno;
    return push_error(L, err, "caps:to_text", NULL);
  }
  lua_pushstring(L, text);
  cap_free(text);
  return 1;
}


/*
** caps:to_text() -> libcap's text form ("=" when empty).
*/
static int l_caps_to_text(lua_State *L) {
  return push_text(L, check_caps(L, 1));
}


/*
** caps:apply() -> true: make these the sets of this thread.
*/
static int l_caps_apply(lua_State *L) {
  Caps *c = check_caps(L, 1);
  if (cap_set_proc(c->caps) != 0) {
    int err = errno;
    return push_error(L, err, "caps:apply", NULL);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** caps:set_file(path) -> true: write these as the file capabilities.
*/
static int l_caps_set_file(lua_State *L) {
  Caps *c = check_caps(L, 1);
  const char *path = check_path(L, 2, "path");
  if (cap_set_file(path, c->caps) != 0) {
    int err = errno;
    return push_error(L, err, "caps:set_file", path);
  }
  lua_pushboolean(L, 1);
  return 1;
}


/*
** a == b: the same capabilities in all three sets.
*/
static int l_caps_eq(lua_State *L) {
  Caps *a = (Caps *)compat_testudata(L, 1, CAPS_MT);
  Caps *b = (Caps *)compat_testudata(L, 2, CAPS_MT);
  if (a == NULL || b == NULL || a->caps == NULL || b->caps == NULL)
    lua_pushboolean(L, a == b);
  else
    lua_pushboolean(L, cap_compare(a->caps, b->caps) == 0);
  return 1;
}


/*
** tostring(caps) -> the text form, or "confine.caps (closed)".
*/
static int l_caps_tostring(lua_State *L) {
  Caps *c = (Caps *)luaL_checkudata(L, 1, CAPS_MT);
  if (c->caps == NULL) {
    lua_pushliteral(L, "confine.caps (closed)");
    return 1;
  }
  if (push_text(L, c) != 1)
    return luaL_error(L, "%s", lua_tostring(L, -2));
  return 1;
}


/*
** __gc and __close: free the cap_t once.
*/
static int l_caps_free(lua_State *L) {
  Caps *c = (Caps *)luaL_checkudata(L, 1, CAPS_MT);
  if (c->caps != NULL) {
    cap_free(c->caps);
    c->caps = NULL;
  }
  return 0;
}


/*
** cap_value(name) -> number, or nil and a message for an unknown name.
*/
static int l_cap_value(lua_State *L) {
  size_t len;
  const char *name = check_text(L, 1, "name", 0);
  int v;
  len = strlen(name);
  v = lookup_cap(name, len);
  if (v < 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "cap_value %s: unknown capability", name);
    return 2;
  }
  lua_pushinteger(L, v);
  return 1;
}


/*
** cap_name(n) -> "cap_net_bind_service"; libcap's decimal text for a
** capability it does not know.
*/
static int l_cap_name(lua_State *L) {
  int cap = (int)check_whole(L, 1, 1, "cap", 0, CONFINE_CAP_MAX);
  char label[64];
  cap_label(cap, label, sizeof label);
  lua_pushstring(L, label);
  return 1;
}


/*
** cap_last() -> the highest capability the running kernel knows, found
** by asking the bounding set (no /proc needed), which can be above
** libcap's own CAP_LAST_CAP.
*/
static int l_cap_last(lua_State *L) {
  /* the running kernel's answer cannot change: ask it once */
  static int last = -1;
  int lo = 0, hi = CONFINE_CAP_MAX;  /* cap 0 exists on every kernel */

  if (last < 0) {
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (prctl(PR_CAPBSET_READ, (unsigned long)mid, 0, 0, 0) >= 0)
        lo = mid;
      else
        hi = mid - 1;
    }
    last = lo;
  }
  lua_pushinteger(L, last);
  return 1;
}


/*
** cap_bits(last) -> { [n] = bits } for each capability 0..last that has
** any bit set: 1 effective, 2 permitted, 4 inheritable (this thread's
** sets), 8 bounding, 16 ambient.  One call reads what five calls per
** capability would; the bounding and ambient bits are asked with prctl,
** so above libcap's last too.  A kernel without an ambient set (before
** 4.3) answers EINVAL there, read as "not set".
*/
static int l_cap_bits(lua_State *L) {
  static const cap_flag_t flags[3] = {
    CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE
  };
  int last = (int)check_whole(L, 1, 1, "last", 0, CONFINE_CAP_MAX);
  const char *call = "caps:get";
  cap_t caps = cap_get_proc();
  int n, i, err;
  char label[32];
  if (caps == NULL) {
    err = errno;
    return push_error(L, err, "cap_bits", "caps_get");
  }
  lua_createtable(L, last, 1);  /* 1..last in the array, 0 in the hash */
  for (n = 0; n <= last; n++) {
    int bits = 0, r;
    for (i = 0; i < 3; i++) {
      cap_flag_value_t v;
      if (cap_get_flag(caps, (cap_value_t)n, flags[i], &v) != 0)
        goto fail;
      if (v == CAP_SET)
        bits |= 1 << i;
    }
    call = "bound_get";
    if ((r = prctl(PR_CAPBSET_READ, (unsigned long)n, 0, 0, 0)) < 0)
      goto fail;
    if (r)
      bits |= 8;
    call = "ambient_get";
    r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long)n, 0,
              0);
    if (r < 0 && errno != EINVAL)
      goto fail;
    if (r > 0)
      bits |= 16;
    call = "caps:get";
    if (bits != 0) {
      lua_pushinteger(L, bits);
      lua_rawseti(L, -2, n);
    }
  }
  cap_free(caps);
  return 1;
fail:
  err = errno;
  cap_free(caps);
  cap_label(n, label, sizeof label);
  return push_error(L, err, call, label);
}


static const luaL_Reg caps_methods[] = {
  {"get", l_caps_getflag},
  {"set", l_caps_setflag},
  {"clear", l_caps_clear},
  {"dup", l_caps_dup},
  {"to_text", l_caps_to_text},
  {"apply", l_caps_apply},
  {"set_file", l_caps_set_file},
  {"__eq", l_caps_eq},
  {"__tostring", l_caps_tostring},
  {"__gc", l_caps_free},
  {"__close", l_caps_free},
  {NULL, NULL}
};


static const luaL_Reg caps_funcs[] = {
  {"caps_get", l_caps_get},
  {"caps_new", l_caps_new},
  {"caps_from_text", l_caps_from_text},
  {"caps_get_file", l_caps_get_file},
  {"cap_value", l_cap_value},
  {"cap_name", l_cap_name},
  {"cap_last", l_cap_last},
  {"cap_bits", l_cap_bits},
  {NULL, NULL}
};


/*
** Create the "confine.caps" metatable and register the functions.
*/
void confine_open_caps(lua_State *L) {
  new_class(L, CAPS_MT, caps_methods);
  compat_setfuncs(L, caps_funcs);
}
