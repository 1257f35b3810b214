/* Reading sample streams back (as cords-unpack writes them: an optional
 * `meta`, then x u8 [B,C,H,W] + y i64 [B] batches, or `jpeg`/`png` u8 [n] +
 * y i64 [1] per encoded image, each data record after the `names` of its
 * samples when the stream has them, names.h), one sample at a time, in order or shuffled:
 * the files in a random order, several open at once with samples drawn from
 * a random one of them, through a shuffle buffer (emit a random buffered
 * sample, put the new one in its place; drain in random order at the end).
 * With a buffer at least as large as the data the order is a uniform random
 * permutation. Memory: the buffer, one batch record per open file. */
#ifndef CORDS_SAMPLEIN_H
#define CORDS_SAMPLEIN_H

#include "rng.h"
#include "tensor.h"

#include <stdint.h>

enum { CORDS_ITEM_PIXELS, CORDS_ITEM_JPEG, CORDS_ITEM_PNG };

typedef struct {
	int64_t label;
	int kind, c, h, w; /* c, h, w for pixels */
	uint8_t *data;     /* owned: pixels (c*h*w) or the encoded bytes */
	size_t n;
	int64_t index;     /* position in its file, for messages */
	const char *file;  /* the file's name (owned by the reader) */
	char *name;        /* owned: its source name (names record), or NULL */
} cords_item;

void cords_item_free(cords_item *it);

typedef struct cords_samplein cords_samplein;

/* files "-" is stdin (at most once). Nothing is read yet. */
cords_samplein *cords_samplein_open(char *const *files, int n);
/* The `meta` record of files[0] (NULL if it has none), read ahead without
 * losing anything; later metas are ignored. Owned by s. */
const cords_tensor *cords_samplein_meta(cords_samplein *s);
/* shuffle: 0 = the files' order; else the files permuted, interleave of them
 * open at once and a buffer of `buffer` samples, all drawn from r. */
int cords_samplein_start(cords_samplein *s, int shuffle, int interleave, int64_t buffer, cords_rng *r);
/* 1 with *it filled (the caller owns it), 0 at the end, -1 on error. */
int cords_samplein_next(cords_samplein *s, cords_item *it);
void cords_samplein_close(cords_samplein *s);

#endif
