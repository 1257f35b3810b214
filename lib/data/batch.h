/* Reading batches from a data stream, the one reader of its records for
 * training, evaluation and inference:
 *   meta  text; the latest one is the stream's metadata, and its norm_mean
 *         and norm_std say how the u8 pixels of the batches after it are
 *         normalised (input.h);
 *   x     [B,C,H,W] u8 or any float dtype: a batch;
 *   y     its labels, the next y after it: [B] integer class indices or
 *         [B,N] f32 distributions;
 *   names text, before x: its samples' source names (names.h);
 * any other record is skipped. A file can be read again from the start
 * (epochs); stdin cannot. */
#ifndef CORDS_BATCH_H
#define CORDS_BATCH_H

#include "tensor.h"

#include <stdint.h>

/* Labels of a batch: exactly one of hard [B] (class indices) or soft [B,N].
 * Accuracy counts the class of a soft label as its argmax, or as truth [B]
 * when given (soft labels made from hard ones, e.g. by a teacher). */
typedef struct {
	const int64_t *hard;
	const float *soft;
	const int64_t *truth;
} cords_labels;

typedef struct {
	int B, C, H, W, N;  /* N: classes of soft labels (0 for hard) */
	float *x;           /* [B,C,H,W], owned, model input */
	int64_t *hard;      /* [B] or NULL, owned */
	float *soft;        /* [B,N] or NULL, owned */
	cords_tensor *names; /* the samples' source names (names.h) or NULL, owned */
} cords_batch;

static inline cords_labels cords_batch_labels(const cords_batch *b)
{
	return (cords_labels){b->hard, b->soft, 0};
}

typedef struct cords_batches cords_batches;

/* "-" is stdin. norm_mean/norm_std: the normalisation of u8 pixels while the
 * stream gives none (NULL: none, plain x/255). */
cords_batches *cords_batches_open(const char *path, const char *norm_mean, const char *norm_std);
/* What the reader's user takes (0: anything): x [B,in_ch,height,width],
 * checked at each x's header, before its data is read; soft labels over
 * `classes`. unlabelled: an x without y is a batch (hard = soft = NULL);
 * by default it is an error. */
void cords_batches_expect(cords_batches *r, int in_ch, int height, int width, int classes, int unlabelled);
/* The next batch into *b (its old buffers are freed). 1, 0 at the end, -1. */
int cords_batches_next(cords_batches *r, cords_batch *b);
/* Back to the start of a file; -1 with a message for stdin. */
int cords_batches_rewind(cords_batches *r);
const char *cords_batches_name(const cords_batches *r);
/* Metadata key of the stream (malloc'd) or NULL. */
char *cords_batches_meta(const cords_batches *r, const char *key);
/* The stream's metadata record so far, or NULL. */
const cords_tensor *cords_batches_meta_record(const cords_batches *r);
void cords_batches_close(cords_batches *r);
void cords_batch_free(cords_batch *b);

/* -1 with a message naming both shapes unless the batch fits the model:
 * x [B, in_channels, height, width], soft labels over `classes`. */
int cords_batch_fits(const cords_batch *b, int in_ch, int height, int width, int classes);

#endif
