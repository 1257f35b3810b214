/* Batches from data streams (batch.h). */
#include "batch.h"
#include "err.h"
#include "input.h"
#include "meta.h"
#include "stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cords_batches {
	char *path;
	FILE *f;
	cords_reader *rd;
	cords_tensor *meta;
	cords_norm norm; /* of u8 pixels */
	int64_t index; /* batches read */
};

static int set_norm(cords_batches *r, const char *mean, const char *std)
{
	return cords_norm_parse(mean, std, &r->norm) ? cords_err_prefix("%s: ", r->path) : 0;
}

static int open_file(cords_batches *r)
{
	int in = !strcmp(r->path, "-");
	r->f = in ? stdin : fopen(r->path, "rb");
	if (!r->f)
		return cords_err("%s: %s", r->path, strerror(errno));
	r->rd = cords_reader_new(r->f, in ? "<stdin>" : r->path);
	return r->rd ? 0 : -1;
}

cords_batches *cords_batches_open(const char *path, const char *norm_mean, const char *norm_std)
{
	cords_batches *r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path))) {
		free(r);
		cords_err("out of memory");
		return NULL;
	}
	if (set_norm(r, norm_mean, norm_std) || open_file(r)) {
		cords_batches_close(r);
		return NULL;
	}
	return r;
}

const char *cords_batches_name(const cords_batches *r) { return !strcmp(r->path, "-") ? "<stdin>" : r->path; }

char *cords_batches_meta(const cords_batches *r, const char *key)
{
	if (r->meta || !strcmp(r->path, "-"))
		return r->meta ? cords_meta_get(r->meta, key) : NULL;
	/* No batch read yet (a run resumed from a finished checkpoint): the
	 * file's leading meta record, read on its own. */
	FILE *f = fopen(r->path, "rb");
	cords_reader *rd = f ? cords_reader_new(f, r->path) : NULL;
	cords_tensor *t = NULL;
	char *v = rd && cords_read_tensor(rd, &t) > 0 && !strcmp(t->name, "meta") ? cords_meta_get(t, key) : NULL;
	cords_tensor_free(t);
	cords_reader_free(rd);
	if (f)
		fclose(f);
	return v;
}

void cords_batch_free(cords_batch *b)
{
	free(b->x);
	free(b->hard);
	free(b->soft);
	memset(b, 0, sizeof *b);
}

void cords_batches_close(cords_batches *r)
{
	if (!r)
		return;
	cords_reader_free(r->rd);
	if (r->f && r->f != stdin)
		fclose(r->f);
	cords_tensor_free(r->meta);
	free(r->path);
	free(r);
}

int cords_batches_rewind(cords_batches *r)
{
	if (!strcmp(r->path, "-"))
		return cords_err("<stdin> cannot be read again (give a file, or a stream with every epoch)");
	cords_reader_free(r->rd);
	fclose(r->f);
	r->rd = NULL;
	r->f = NULL;
	return open_file(r);
}

/* u8 -> /255 -> normalised; float dtypes as they are. */
static int load_x(cords_batches *r, const cords_tensor *t, cords_batch *b)
{
	if (t->ndim != 4 || t->shape[0] < 1)
		return cords_err("%s: batch %lld: x must be [B,C,H,W]", cords_batches_name(r), (long long)r->index);
	b->B = (int)t->shape[0], b->C = (int)t->shape[1], b->H = (int)t->shape[2], b->W = (int)t->shape[3];
	if (t->dtype != CORDS_U8 && t->dtype != CORDS_F32 && t->dtype != CORDS_F64 && t->dtype != CORDS_F16 &&
	    t->dtype != CORDS_BF16)
		return cords_err("%s: x has dtype %s (u8 or float expected)", cords_batches_name(r), cords_dtype_name(t->dtype));
	if (!(b->x = malloc((size_t)cords_tensor_numel(t) * sizeof *b->x)))
		return cords_err("out of memory");
	if (cords_input_f32(t, &r->norm, b->x))
		return cords_err_prefix("%s: batch %lld: ", cords_batches_name(r), (long long)r->index);
	return 0;
}

static int load_y(cords_batches *r, const cords_tensor *t, cords_batch *b)
{
	const char *name = cords_batches_name(r);
	if (t->ndim < 1 || t->shape[0] != b->B)
		return cords_err("%s: batch %lld: y has %lld rows, x has %d", name, (long long)r->index,
				 t->ndim ? (long long)t->shape[0] : 0LL, b->B);
	if (t->ndim == 2 && t->dtype == CORDS_F32) {
		b->N = (int)t->shape[1];
		if (!(b->soft = malloc(t->nbytes)))
			return cords_err("out of memory");
		memcpy(b->soft, t->data, t->nbytes);
		return 0;
	}
	if (t->ndim != 1 || t->dtype == CORDS_F32 || t->dtype == CORDS_F64 || t->dtype == CORDS_TEXT)
		return cords_err("%s: y must be [B] class indices or [B,N] f32", name);
	if (!(b->hard = malloc((size_t)b->B * sizeof *b->hard)))
		return cords_err("out of memory");
	for (int i = 0; i < b->B; i++)
		b->hard[i] = (int64_t)cords_get_f64(t, i);
	return 0;
}

int cords_batches_next(cords_batches *r, cords_batch *b)
{
	cords_tensor *t = NULL;
	int rc;
	cords_batch_free(b);
	while ((rc = cords_read_tensor(r->rd, &t)) > 0 && !strcmp(t->name, "meta")) {
		cords_tensor_free(r->meta);
		r->meta = t;
		char *m = cords_meta_get(t, "norm_mean"), *s = cords_meta_get(t, "norm_std");
		int bad = (m || s) && set_norm(r, m, s);
		free(m);
		free(s);
		if (bad)
			return -1;
	}
	if (rc <= 0)
		return rc;
	if (strcmp(t->name, "x")) {
		cords_err("%s: record %lld is '%s', expected x", cords_batches_name(r),
			  (long long)cords_reader_record_index(r->rd), t->name);
		cords_tensor_free(t);
		return -1;
	}
	rc = load_x(r, t, b);
	cords_tensor_free(t);
	if (rc)
		return -1;
	if ((rc = cords_read_tensor(r->rd, &t)) <= 0 || strcmp(t->name, "y")) {
		if (rc >= 0)
			cords_err("%s: batch %lld: x without y", cords_batches_name(r), (long long)r->index);
		cords_tensor_free(t);
		return -1;
	}
	rc = load_y(r, t, b);
	cords_tensor_free(t);
	if (rc)
		return -1;
	r->index++;
	return 1;
}

int cords_batch_fits(const cords_batch *b, int in_ch, int height, int width, int classes)
{
	if (b->C != in_ch || b->H != height || b->W != width)
		return cords_err("batch x is [%d,%d,%d,%d] but the model takes [B,%d,%d,%d]", b->B, b->C, b->H, b->W,
				 in_ch, height, width);
	if (b->soft && b->N != classes)
		return cords_err("batch y has %d classes but the model has %d", b->N, classes);
	return 0;
}
