/*
** embed.c: a build-time tool, never installed.
**
**   confine_embed [-g] OUT.c MODULE=FILE...
**
** compiles each Lua FILE with the Lua library the confine program links
** against and writes the chunks to OUT.c as C arrays, listed by module
** name in confine_chunks[] (embedded.h).  The program then starts
** without reading or compiling any Lua source.
**
** Chunks are stripped of their debug information: loading it is a third
** of the program's start-up, and the launcher prints no position or
** traceback anyway (confine.cli reduces every message to one line).  An
** internal error then names no line or local variable; -g keeps them
** (CMake: CONFINE_PROGRAM_DEBUG), as does bin/confine, which runs the
** same code from source.  Lua 5.1 and 5.2 cannot strip: -g is all they
** do.  A chunk is named after its module ("@confine/cli.lua" for
** confine.cli), not after the build's paths.
*/

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"


/* The bytes lua_dump writes, grown as it goes. */
struct chunk {
  unsigned char *data;
  size_t size;
  size_t cap;
};


static int grow(lua_State *L, const void *p, size_t n, void *ud) {
  struct chunk *c = ud;

  (void)L;
  if (c->size + n > c->cap) {
    size_t cap = c->cap ? c->cap : 4096;
    unsigned char *data;
    while (cap < c->size + n)
      cap *= 2;
    data = realloc(c->data, cap);
    if (data == NULL)
      return 1;
    c->data = data;
    c->cap = cap;
  }
  memcpy(c->data + c->size, p, n);
  c->size += n;
  return 0;
}


/*
** Read the whole file at `path` into a new buffer; NULL with errno set
** when it cannot be read.
*/
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t cap = 0, n = 0;

  if (f == NULL)
    return NULL;
  for (;;) {
    if (n == cap) {
      char *more = realloc(buf, cap = cap ? cap * 2 : 65536);
      if (more == NULL) {
        free(buf);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      buf = more;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
  }
  if (ferror(f)) {
    free(buf);
    fclose(f);
    errno = EIO;
    return NULL;
  }
  fclose(f);
  *len = n;
  return buf;
}


/*
** Compile one MODULE=FILE argument and write its array as chunk_<i>.
** Returns 0, or 1 after a message on stderr.
*/
static int embed_one(lua_State *L, FILE *out, const char *arg, int i,
                     int strip) {
  const char *eq = strchr(arg, '=');
  char name[256];
  size_t len, j;
  char *src;
  struct chunk c = { NULL, 0, 0 };

  if (eq == NULL || eq == arg || (size_t)(eq - arg) > 200) {
    fprintf(stderr, "confine_embed: %s is not MODULE=FILE\n", arg);
    return 1;
  }

  /* "@confine/cli.lua" for confine.cli; the name goes into C code */
  name[0] = '@';
  for (j = 0; arg + j < eq; j++) {
    if (!isalnum((unsigned char)arg[j]) && arg[j] != '_' && arg[j] != '.') {
      fprintf(stderr, "confine_embed: %s: bad module name\n", arg);
      return 1;
    }
    name[j + 1] = arg[j] == '.' ? '/' : arg[j];
  }
  strcpy(name + j + 1, ".lua");

  src = slurp(eq + 1, &len);
  if (src == NULL) {
    fprintf(stderr, "confine_embed: %s: %s\n", eq + 1, strerror(errno));
    return 1;
  }
  if (luaL_loadbuffer(L, src, len, name) != 0) {
    fprintf(stderr, "confine_embed: %s\n", lua_tostring(L, -1));
    free(src);
    return 1;
  }
  free(src);
  if (compat_dump(L, grow, &c, strip) != 0 || c.size == 0) {
    fprintf(stderr, "confine_embed: %s: cannot dump the chunk\n", eq + 1);
    free(c.data);
    return 1;
  }
  lua_pop(L, 1);

  fprintf(out, "\n/* %.*s */\nstatic const unsigned char chunk_%d[] = {",
    (int)(eq - arg), arg, i);
  for (j = 0; j < c.size; j++)
    fprintf(out, "%s%u,", j % 16 ? "" : "\n  ", (unsigned)c.data[j]);
  fprintf(out, "\n};\n");
  free(c.data);
  return 0;
}


int main(int argc, char **argv) {
  lua_State *L;
  FILE *out;
  int i, failed = 0, strip = 1;

  if (argc > 1 && strcmp(argv[1], "-g") == 0) {
    strip = 0;
    argc--;
    argv++;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: confine_embed [-g] OUT.c MODULE=FILE...\n");
    return 2;
  }
  L = luaL_newstate();
  out = fopen(argv[1], "w");
  if (L == NULL || out == NULL) {
    fprintf(stderr, "confine_embed: %s: %s\n", argv[1],
      L == NULL ? "no memory for a Lua state" : strerror(errno));
    return 1;
  }

  fprintf(out, "/* Written by confine_embed (src/embed.c): the Lua "
    "modules as chunks. */\n\n#include \"embedded.h\"\n");
  for (i = 2; i < argc && !failed; i++)
    failed = embed_one(L, out, argv[i], i - 2, strip);

  fprintf(out, "\nconst struct confine_chunk confine_chunks[] = {\n");
  for (i = 2; i < argc && !failed; i++) {
    const char *eq = strchr(argv[i], '=');
    fprintf(out, "  { \"%.*s\", chunk_%d, sizeof chunk_%d },\n",
      (int)(eq - argv[i]), argv[i], i - 2, i - 2);
  }
  fprintf(out, "  { 0, 0, 0 }\n};\n");

  lua_close(L);
  if (fclose(out) != 0 && !failed) {
    fprintf(stderr, "confine_embed: %s: %s\n", argv[1], strerror(errno));
    failed = 1;
  }
  if (failed)
    remove(argv[1]);
  return failed;
}
