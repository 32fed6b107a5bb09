/*
** embedded.h: the Lua modules the confine program carries, as chunks
** compiled at build time (embed.c writes the array, launcher.c reads it).
*/

#ifndef CONFINE_EMBEDDED_H
#define CONFINE_EMBEDDED_H

#include <stddef.h>

struct confine_chunk {
  const char *module;          /* "confine.cli"; NULL ends the list */
  const unsigned char *code;   /* a binary chunk, debug information kept */
  size_t size;
};

extern const struct confine_chunk confine_chunks[];

#endif
