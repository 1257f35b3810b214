/* Sample streams read back, in order or shuffled (samplein.h). */
#include "samplein.h"

#include "err.h"
#include "names.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cords_item_free(cords_item *it)
{
	free(it->data);
	free(it->name);
	it->data = NULL;
	it->name = NULL;
}

/* One open file: the current x batch and its labels, handed out one by one. */
typedef struct {
	FILE *f;
	cords_reader *r;
	const char *name; /* the caller's path (outlives the buffered items that point to it) */
	cords_tensor *x, *y;
	cords_tensor *names;   /* the names of x's samples, or NULL */
	const char *name_at;   /* the next one's line in names */
	int64_t next, count, index;
	cords_tensor **meta; /* where the first `meta` seen goes */
	cords_tensor *pending; /* a record read ahead by a peek */
	int file;              /* index in the file list */
} src_t;

struct cords_samplein {
	char *const *files;
	int nfiles, nextfile, shuffle, interleave, nopen;
	int *order;
	src_t *open;
	cords_item *buf;
	int64_t cap, nbuf;
	int draining;
	cords_rng *r;
	cords_tensor *meta;
	src_t first; /* files[0], opened early by cords_samplein_meta */
};

static void src_close(src_t *s)
{
	cords_reader_free(s->r);
	if (s->f && s->f != stdin)
		fclose(s->f);
	cords_tensor_free(s->x);
	cords_tensor_free(s->y);
	cords_tensor_free(s->names);
	cords_tensor_free(s->pending);
	memset(s, 0, sizeof *s);
}

static int src_open(src_t *s, const char *path, cords_tensor **meta)
{
	memset(s, 0, sizeof *s);
	s->meta = meta;
	int std = !strcmp(path, "-");
	s->f = std ? stdin : fopen(path, "rb");
	s->name = std ? "<stdin>" : path;
	if (!s->f || !(s->r = cords_reader_new(s->f, s->name))) {
		int rc = cords_err("%s: cannot open", path);
		src_close(s);
		return rc;
	}
	return 0;
}

static int bad_pair(src_t *s, const char *what)
{
	return cords_err("%s: record %llu: %s", s->name, (unsigned long long)cords_reader_record_index(s->r), what);
}

/* Reads the next data record and its labels; 0 at the end of the file. */
static int src_refill(src_t *s)
{
	cords_tensor *t;
	int rc;
	if (s->x) { /* names belong to the data record after them */
		cords_tensor_free(s->names);
		s->names = NULL;
	}
	do {
		cords_tensor_free(s->x);
		s->x = s->pending;
		s->pending = NULL;
		if (!s->x && (rc = cords_read_tensor(s->r, &s->x)) <= 0)
			return rc;
		if (s->x->dtype == CORDS_TEXT && !strcmp(s->x->name, "meta") && !*s->meta) {
			*s->meta = s->x;
			s->x = NULL;
		} else if (s->x->dtype == CORDS_TEXT && !strcmp(s->x->name, CORDS_RECORD_NAMES)) {
			cords_tensor_free(s->names);
			s->names = s->x;
			s->x = NULL;
		}
	} while (!s->x || s->x->dtype == CORDS_TEXT);
	t = s->x;
	int pix = !strcmp(t->name, "x"), enc = !strcmp(t->name, "jpeg") || !strcmp(t->name, "png");
	if (t->dtype != CORDS_U8 || !((pix && t->ndim == 4) || (enc && t->ndim == 1)))
		return bad_pair(s, "expected x u8 [B,C,H,W], jpeg u8 [n] or png u8 [n]");
	cords_tensor_free(s->y);
	s->y = NULL;
	if ((rc = cords_read_tensor(s->r, &s->y)) < 0)
		return -1;
	int64_t b = pix ? t->shape[0] : 1;
	if (!rc || strcmp(s->y->name, "y") || s->y->dtype != CORDS_I64 || s->y->ndim != 1 || s->y->shape[0] != b)
		return bad_pair(s, "a data record without its labels y i64 [B]");
	if (s->names && cords_names_count(s->names->data, s->names->nbytes) != b)
		return bad_pair(s, "the names record before it does not hold one name per sample");
	s->name_at = s->names ? s->names->data : NULL;
	s->next = 0;
	s->count = b;
	return 1;
}

/* 1 with an item, 0 at the end of the file. */
static int src_next(src_t *s, cords_item *it)
{
	if (s->next == s->count) {
		int rc = src_refill(s);
		if (rc <= 0)
			return rc;
	}
	const cords_tensor *x = s->x;
	int pix = x->ndim == 4;
	memset(it, 0, sizeof *it);
	it->label = ((int64_t *)s->y->data)[s->next];
	it->kind = pix ? CORDS_ITEM_PIXELS : !strcmp(x->name, "jpeg") ? CORDS_ITEM_JPEG : CORDS_ITEM_PNG;
	if (pix)
		it->c = (int)x->shape[1], it->h = (int)x->shape[2], it->w = (int)x->shape[3];
	it->n = pix ? x->nbytes / (size_t)x->shape[0] : x->nbytes;
	it->data = malloc(it->n ? it->n : 1);
	if (!it->data)
		return cords_err("out of memory");
	memcpy(it->data, (uint8_t *)x->data + it->n * (size_t)s->next, it->n);
	if (s->name_at) {
		const char *nl = strchr(s->name_at, '\n');
		if (!(it->name = strndup(s->name_at, (size_t)(nl - s->name_at))))
			return cords_err("out of memory");
		s->name_at = nl + 1;
	}
	it->index = s->index++;
	it->file = s->name;
	s->next++;
	return 1;
}

cords_samplein *cords_samplein_open(char *const *files, int n)
{
	cords_samplein *s = calloc(1, sizeof *s);
	if (!s || !(s->order = malloc(sizeof *s->order * (size_t)n))) {
		free(s);
		return cords_err("out of memory"), NULL;
	}
	s->files = files, s->nfiles = n;
	for (int i = 0; i < n; i++)
		s->order[i] = i;
	return s;
}

const cords_tensor *cords_samplein_meta(cords_samplein *s)
{
	if (s->first.r || s->nextfile || !s->nfiles)
		return s->meta;
	if (src_open(&s->first, s->files[0], &s->meta))
		return NULL;
	cords_tensor *t = NULL;
	int rc;
	while ((rc = cords_read_tensor(s->first.r, &t)) > 0 && t->dtype == CORDS_TEXT) {
		if (!s->meta && !strcmp(t->name, "meta"))
			s->meta = t, t = NULL;
		else if (!strcmp(t->name, CORDS_RECORD_NAMES))
			cords_tensor_free(s->first.names), s->first.names = t, t = NULL;
		cords_tensor_free(t);
		t = NULL;
	}
	if (rc < 0)
		src_close(&s->first); /* the error comes back when the file is read again */
	else
		s->first.pending = t;
	return s->meta;
}

int cords_samplein_start(cords_samplein *s, int shuffle, int interleave, int64_t buffer, cords_rng *r)
{
	s->shuffle = shuffle, s->r = r;
	s->interleave = shuffle && interleave > 1 ? interleave : 1;
	s->cap = shuffle && buffer > 1 ? buffer : 0;
	s->open = calloc((size_t)s->interleave, sizeof *s->open);
	s->buf = s->cap ? malloc(sizeof *s->buf * (size_t)s->cap) : NULL;
	if (!s->open || (s->cap && !s->buf))
		return cords_err("out of memory");
	for (int i = s->nfiles - 1; shuffle && i > 0; i--) {
		int j = (int)cords_rng_below(r, (uint64_t)i + 1), t = s->order[i];
		s->order[i] = s->order[j], s->order[j] = t;
	}
	return 0;
}

/* Opens the next file of the order into a free slot (reusing an early-opened files[0]). */
static int open_next(cords_samplein *s)
{
	src_t *slot = &s->open[s->nopen];
	int f = s->order[s->nextfile++];
	if (f == 0 && s->first.r) {
		*slot = s->first;
		memset(&s->first, 0, sizeof s->first);
	} else if (src_open(slot, s->files[f], &s->meta)) {
		return -1;
	}
	s->nopen++;
	return 0;
}

/* The next sample from the open files (opening more as they end). */
static int pull(cords_samplein *s, cords_item *it)
{
	for (;;) {
		while (s->nopen < s->interleave && s->nextfile < s->nfiles)
			if (open_next(s))
				return -1;
		if (!s->nopen)
			return 0;
		int k = s->nopen > 1 ? (int)cords_rng_below(s->r, (uint64_t)s->nopen) : 0;
		int rc = src_next(&s->open[k], it);
		if (rc)
			return rc;
		src_close(&s->open[k]);
		s->open[k] = s->open[--s->nopen];
		memset(&s->open[s->nopen], 0, sizeof *s->open);
	}
}

int cords_samplein_next(cords_samplein *s, cords_item *it)
{
	if (!s->cap)
		return pull(s, it);
	while (!s->draining && s->nbuf < s->cap) {
		int rc = pull(s, &s->buf[s->nbuf]);
		if (rc < 0)
			return -1;
		if (!rc)
			s->draining = 1;
		else
			s->nbuf++;
	}
	if (!s->nbuf)
		return 0;
	int64_t j = (int64_t)cords_rng_below(s->r, (uint64_t)s->nbuf);
	*it = s->buf[j];
	int rc = s->draining ? 0 : pull(s, &s->buf[j]);
	if (rc < 0) {
		s->buf[j] = s->buf[--s->nbuf];
		cords_item_free(it);
		return -1;
	}
	if (!rc) {
		s->buf[j] = s->buf[--s->nbuf];
		s->draining = 1;
	}
	return 1;
}

void cords_samplein_close(cords_samplein *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nopen; i++)
		src_close(&s->open[i]);
	src_close(&s->first);
	for (int64_t i = 0; i < s->nbuf; i++)
		cords_item_free(&s->buf[i]);
	free(s->buf);
	free(s->open);
	free(s->order);
	cords_tensor_free(s->meta);
	free(s);
}

