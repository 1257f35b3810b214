/* Growing byte buffer (bytebuf.h). */
#include "bytebuf.h"

#include <stdlib.h>
#include <string.h>

void cords_bytebuf_put(cords_bytebuf *b, const void *s, size_t k)
{
	if (b->oom)
		return;
	if (b->n + k + 1 > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 4096;
		while (cap < b->n + k + 1)
			cap *= 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, k);
	b->n += k;
}
