/*
** core.h: helpers shared by the parts of confine.core.
**
** Every file of src/ registers its functions with one confine_open_*
** call (see core.c) and uses the checks below, so an id, a path or a
** capability is judged the same way everywhere.
*/

#ifndef CONFINE_CORE_H
#define CONFINE_CORE_H

#include <sys/stat.h>

#include "compat.h"

#ifndef CONFINE_VERSION
#define CONFINE_VERSION "scm"
#endif

#define CONFINE_EXPORT __attribute__((visibility("default")))

/* The largest id: (uid_t)-1 is the kernel's "unchanged". */
#define CONFINE_ID_MAX 4294967294LL

/* Capability numbers fit the kernel's 64-bit sets. */
#define CONFINE_CAP_MAX 63

#define CAPS_MT "confine.caps"
#define DIR_MT "confine.dir"


/* Checks: each raises luaL_argerror naming `what` and the bad value. */
long long check_whole(lua_State *L, int idx, int arg, const char *what,
                      long long lo, long long hi);
long long check_id(lua_State *L, int idx, int arg, const char *what);
int check_id_list(lua_State *L, int arg, const char *what);
const char *check_text(lua_State *L, int arg, const char *what,
                       int allow_empty);
const char *check_path(lua_State *L, int arg, const char *what);
int check_boolean(lua_State *L, int arg, const char *what);
int check_cap(lua_State *L, int idx, int arg, const char *what);
int lookup_cap(const char *name, size_t len);
void cap_label(int cap, char *buf, size_t size);
const char *describe_value(lua_State *L, int idx);

/* Results. */
int push_error(lua_State *L, int err, const char *call, const char *arg);
int push_missing(lua_State *L, const char *call, const char *arg,
                 const char *what);
void push_stat(lua_State *L, const struct stat *st);
void new_class(lua_State *L, const char *name, const luaL_Reg *methods);
const char *type_name(mode_t mode);
const char *fs_name(unsigned long magic);

/* Registration, one per file. */
void confine_open_ids(lua_State *L);
void confine_open_accounts(lua_State *L);
void confine_open_files(lua_State *L);
void confine_open_fds(lua_State *L);
void confine_open_caps(lua_State *L);
void confine_open_flags(lua_State *L);
void confine_open_exec(lua_State *L);
void confine_open_limits(lua_State *L);

#endif
