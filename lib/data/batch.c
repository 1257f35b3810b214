/* Batches from data streams (batch.h). */
#include "batch.h"
#include "err.h"
#include "input.h"
#include "meta.h"
#include "names.h"
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
	int in_ch, height, width, classes, unlabelled; /* cords_batches_expect */
	cords_tensor *names; /* the names record before the next x, or NULL */
	cords_tensor h;  /* the header last read */
	int pending;     /* h is the next batch's x, its data not read yet */
	int64_t index;   /* batches read since the start of the file */
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
	r->pending = 0;
	r->index = 0;
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

void cords_batches_expect(cords_batches *r, int in_ch, int height, int width, int classes, int unlabelled)
{
	r->in_ch = in_ch, r->height = height, r->width = width, r->classes = classes, r->unlabelled = unlabelled;
}

const char *cords_batches_name(const cords_batches *r) { return !strcmp(r->path, "-") ? "<stdin>" : r->path; }

const cords_tensor *cords_batches_meta_record(const cords_batches *r) { return r->meta; }

static int is_meta(const cords_tensor *t) { return !strcmp(t->name, "meta") && t->dtype == CORDS_TEXT; }

char *cords_batches_meta(const cords_batches *r, const char *key)
{
	if (r->meta || !strcmp(r->path, "-"))
		return r->meta ? cords_meta_get(r->meta, key) : NULL;
	/* No batch read yet (a run resumed from a finished checkpoint): the
	 * file's leading meta record, read on its own. */
	FILE *f = fopen(r->path, "rb");
	cords_reader *rd = f ? cords_reader_new(f, r->path) : NULL;
	cords_tensor *t = NULL;
	char *v = rd && cords_read_tensor(rd, &t) > 0 && is_meta(t) ? cords_meta_get(t, key) : NULL;
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
	cords_tensor_free(b->names);
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
	cords_tensor_free(r->names);
	free(r->path);
	free(r);
}

int cords_batches_rewind(cords_batches *r)
{
	if (!strcmp(r->path, "-"))
		return cords_err("<stdin> cannot be read again (give a file, or a stream with every epoch)");
	cords_reader_free(r->rd);
	fclose(r->f);
	cords_tensor_free(r->names);
	r->names = NULL;
	r->rd = NULL;
	r->f = NULL;
	return open_file(r);
}

/* The data of the record whose header is r->h. */
static cords_tensor *read_record(cords_batches *r)
{
	cords_tensor *t = cords_tensor_new_uninit(r->h.name, r->h.dtype, r->h.ndim, r->h.shape);
	if (t && cords_read_data(r->rd, t->data, t->nbytes)) {
		cords_tensor_free(t);
		return NULL;
	}
	return t;
}

/* The next x or y header into r->h: 1, 0 at the end, -1. meta records are
 * taken on the way; other records are skipped (and verified) by the next
 * header read. */
static int next_header(cords_batches *r)
{
	for (;;) {
		int rc = r->pending ? 1 : cords_read_header(r->rd, &r->h);
		r->pending = 0;
		if (rc <= 0 || !strcmp(r->h.name, "x") || !strcmp(r->h.name, "y"))
			return rc;
		int names = r->h.dtype == CORDS_TEXT && !strcmp(r->h.name, CORDS_RECORD_NAMES);
		if (!is_meta(&r->h) && !names)
			continue;
		cords_tensor *t = read_record(r);
		if (!t)
			return -1;
		if (names) {
			cords_tensor_free(r->names);
			r->names = t;
			continue;
		}
		cords_tensor_free(r->meta);
		r->meta = t;
		char *m = cords_meta_get(t, CORDS_KEY_NORM_MEAN), *s = cords_meta_get(t, CORDS_KEY_NORM_STD);
		int bad = (m || s) && set_norm(r, m, s);
		free(m);
		free(s);
		if (bad)
			return -1;
	}
}

/* x [B,C,H,W] against the model's input: the message of both checks below. */
static int x_fits(int ndim, const int64_t *shape, int in_ch, int height, int width)
{
	if (ndim == 4 && shape[1] == in_ch && shape[2] == height && shape[3] == width)
		return 0;
	char got[160];
	cords_shape_str(ndim, shape, got, sizeof got);
	return cords_err("batch x %s does not fit the model (expects [B,%d,%d,%d])", got, in_ch, height, width);
}

/* x's header, before its data is read. */
static int check_x(const cords_batches *r)
{
	const cords_tensor *h = &r->h;
	const char *name = cords_batches_name(r);
	char got[160];
	cords_shape_str(h->ndim, h->shape, got, sizeof got);
	if (r->in_ch && x_fits(h->ndim, h->shape, r->in_ch, r->height, r->width))
		return cords_err_prefix("%s: ", name);
	if (h->ndim != 4)
		return cords_err("%s: batch x %s: expected [B,C,H,W]", name, got);
	if (h->shape[0] < 1 || h->shape[0] > 1 << 20)
		return cords_err("%s: batch x %s: bad batch size", name, got);
	if (h->dtype != CORDS_U8 && h->dtype != CORDS_F32 && h->dtype != CORDS_F64 && h->dtype != CORDS_F16 &&
	    h->dtype != CORDS_BF16)
		return cords_err("%s: batch x has dtype %s (expected u8 or a float type)", name, cords_dtype_name(h->dtype));
	return 0;
}

/* Model input: u8 normalised, float dtypes as they are (input.h). */
static int load_x(cords_batches *r, const cords_tensor *t, cords_batch *b)
{
	b->B = (int)t->shape[0], b->C = (int)t->shape[1], b->H = (int)t->shape[2], b->W = (int)t->shape[3];
	if (!(b->x = malloc((size_t)cords_tensor_numel(t) * sizeof *b->x)))
		return cords_err("out of memory");
	if (cords_input_f32(t, &r->norm, b->x))
		return cords_err_prefix("%s: batch %lld: ", cords_batches_name(r), (long long)r->index + 1);
	return 0;
}

static int y_fits(int64_t n, int classes)
{
	return n == classes ? 0 : cords_err("batch y has %lld classes but the model has %d", (long long)n, classes);
}

static int load_y(cords_batches *r, const cords_tensor *t, cords_batch *b)
{
	const char *name = cords_batches_name(r);
	long long k = (long long)r->index + 1;
	if (t->ndim < 1 || t->shape[0] != b->B)
		return cords_err("%s: batch %lld: y has %lld rows, x has %d", name, k, t->ndim ? (long long)t->shape[0] : 0LL,
				 b->B);
	if (t->ndim == 2 && t->dtype == CORDS_F32) {
		if (r->classes && y_fits(t->shape[1], r->classes))
			return cords_err_prefix("%s: batch %lld: ", name, k);
		b->N = (int)t->shape[1];
		if (!(b->soft = malloc(t->nbytes)))
			return cords_err("out of memory");
		memcpy(b->soft, t->data, t->nbytes);
		return 0;
	}
	if (t->ndim != 1 || !(t->dtype == CORDS_I64 || t->dtype == CORDS_I32 || t->dtype == CORDS_I16 ||
			      t->dtype == CORDS_I8 || t->dtype == CORDS_U8))
		return cords_err("%s: batch %lld: y must be [B] integer class indices or [B,N] f32", name, k);
	if (!(b->hard = malloc((size_t)b->B * sizeof *b->hard)))
		return cords_err("out of memory");
	for (int i = 0; i < b->B; i++)
		b->hard[i] = (int64_t)cords_get_f64(t, i);
	return 0;
}

int cords_batches_next(cords_batches *r, cords_batch *b)
{
	int rc;
	cords_batch_free(b);
	while ((rc = next_header(r)) > 0 && strcmp(r->h.name, "x"))
		; /* a y without its x */
	if (rc <= 0)
		return rc;
	cords_tensor *t = NULL;
	rc = check_x(r) || !(t = read_record(r)) || load_x(r, t, b);
	cords_tensor_free(t);
	b->names = r->names;
	r->names = NULL;
	if (!rc && b->names && cords_names_count(b->names->data, b->names->nbytes) != b->B)
		rc = cords_err("%s: batch %lld: the names record before x does not hold one name per sample",
			       cords_batches_name(r), (long long)r->index + 1);
	if (rc || (rc = next_header(r)) < 0)
		return -1;
	if (rc && !strcmp(r->h.name, "x")) /* the next batch's */
		r->pending = 1;
	else if (rc) { /* its y */
		rc = !(t = read_record(r)) || load_y(r, t, b);
		cords_tensor_free(t);
		if (rc)
			return -1;
	}
	if (!b->hard && !b->soft && !r->unlabelled)
		return cords_err("%s: batch %lld: x without y", cords_batches_name(r), (long long)r->index + 1);
	r->index++;
	return 1;
}

int cords_batch_fits(const cords_batch *b, int in_ch, int height, int width, int classes)
{
	int64_t shape[4] = {b->B, b->C, b->H, b->W};
	return x_fits(4, shape, in_ch, height, width) || (b->soft && y_fits(b->N, classes)) ? -1 : 0;
}
