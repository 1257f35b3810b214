/* A growing byte buffer for writers that build a file's header or index in
 * memory (pickle, JSON). Appends after a failed allocation are ignored and
 * leave oom set, so a writer checks once at the end. One byte beyond n is
 * always allocated, so the content can be NUL-terminated in place. */
#ifndef CORDS_BYTEBUF_H
#define CORDS_BYTEBUF_H

#include <stddef.h>

typedef struct {
	unsigned char *p;
	size_t n, cap;
	int oom;
} cords_bytebuf;

void cords_bytebuf_put(cords_bytebuf *b, const void *s, size_t k);

#endif
