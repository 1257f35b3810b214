/* The names record (names.h). */
#include "names.h"

#include "err.h"

#include <string.h>

void cords_names_add(cords_bytebuf *b, const char *name)
{
	for (const char *p = name; *p; p++) {
		char c = *p == '\n' || *p == '\r' ? '?' : *p;
		cords_bytebuf_put(b, &c, 1);
	}
	cords_bytebuf_put(b, "\n", 1);
}

int cords_names_write(cords_writer *w, cords_bytebuf *b)
{
	if (b->oom)
		return cords_err("out of memory");
	if (!b->n)
		return 0;
	int64_t n = (int64_t)b->n;
	int rc = cords_write_begin(w, CORDS_RECORD_NAMES, CORDS_TEXT, 1, &n) || cords_write_data(w, b->p, b->n) ||
			 cords_write_end(w)
		 ? -1
		 : 0;
	b->n = 0;
	return rc;
}

int64_t cords_names_count(const char *text, size_t n)
{
	int64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += text[i] == '\n';
	return k;
}
