/* The spontaneous state, computed once per model and protocol, and its cache. */
#include "spont.h"
#include "err.h"
#include "meta.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int spont_compute(const cords_model *m, const cords_dynamics *d, cords_state *out, cords_step_fn fn,
			 void *ctx)
{
	cords_work *w = cords_work_new(m, 1);
	cords_state *tmp = cords_state_new(m, 1);
	cords_state *s = out;
	int rc = !w || !tmp || cords_state_zero(m, s) ||
		 cords_model_run(m, d, w, NULL, &s, &tmp, d->spont_steps, 0, fn, ctx);
	/* After an odd number of steps the result sits in tmp's buffers. */
	if (!rc && s != out)
		rc = cords_state_copy(m, out, s);
	cords_state_free(m, s == out ? tmp : s);
	cords_work_free(m, w);
	return rc ? -1 : 0;
}

/* The metadata that says which model and protocol a cache belongs to. */
static cords_tensor *cache_meta(const cords_model *m, const cords_dynamics *d)
{
	cords_tensor *meta = cords_meta_new();
	if (!meta)
		return NULL;
	if (cords_meta_set(meta, CORDS_KEY_FORMAT, "cords-spont") ||
	    cords_meta_setf(meta, CORDS_KEY_MODEL_HASH, "%016llx", (unsigned long long)m->hash) ||
	    cords_meta_setf(meta, CORDS_KEY_DEPTH, "%d", m->arch.depth) ||
	    cords_meta_setf(meta, CORDS_KEY_ALPHA, "%.9g", d->alpha) ||
	    cords_meta_setf(meta, CORDS_KEY_PHI, "%s", cords_phi_name(d->phi.kind)) ||
	    cords_meta_setf(meta, CORDS_KEY_PRELU_SLOPE, "%.9g", d->phi.slope) ||
	    cords_meta_setf(meta, CORDS_KEY_SPONT_STEPS, "%d", d->spont_steps) ||
	    /* A state computed in bf16 is no fp32 run's (fp32 caches keep their key). */
	    (m->be->precision != CORDS_PREC_FP32 &&
	     cords_meta_set(meta, CORDS_KEY_PRECISION, m->be->precision == CORDS_PREC_BF16 ? "bf16" : "tf32"))) {
		cords_tensor_free(meta);
		return NULL;
	}
	return meta;
}

static int buf_to_list(const cords_model *m, const cords_buf *b, const char *name, cords_tensor_list *l)
{
	cords_tensor *t = cords_tensor_new(name, CORDS_F32, cords_buf_ndim(b), cords_buf_shape(b));
	if (!t || m->be->download(m->be, b, t->data) || cords_list_push(l, t)) {
		cords_tensor_free(t);
		return -1;
	}
	return 0;
}

static int cache_write(const cords_model *m, const cords_dynamics *d, const char *path, const cords_state *s)
{
	cords_tensor_list l = {0};
	char name[16], tmp[4096];
	cords_tensor *meta = cache_meta(m, d);
	int rc = !meta || cords_list_push(&l, meta);
	for (int i = 0; i < s->depth && !rc; i++) {
		snprintf(name, sizeof name, "r%d", i);
		rc = buf_to_list(m, s->r[i], name, &l);
		snprintf(name, sizeof name, "z%d", i);
		rc = rc || buf_to_list(m, s->z[i], name, &l);
	}
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = rc ? NULL : fopen(tmp, "wb");
	cords_writer *wr = f ? cords_writer_new(f, tmp, 0) : NULL;
	if (!rc && !wr)
		rc = f ? -1 : cords_err("%s: cannot create the spontaneous-state cache", path);
	for (int i = 0; i < l.n && !rc; i++)
		rc = cords_write_tensor(wr, l.items[i]);
	if (wr && (cords_writer_close(wr) || rc))
		rc = -1;
	if (f && (fclose(f) || rc || rename(tmp, path))) {
		remove(tmp);
		rc = rc ? rc : cords_err("%s: cannot write the spontaneous-state cache", path);
	}
	cords_list_free(&l);
	return rc ? -1 : 0;
}

/* 1 if the file holds the state for this model and protocol (loaded into s),
 * 0 if it does not (missing or stale), -1 on a broken file. */
static int cache_read(const cords_model *m, const cords_dynamics *d, const char *path, cords_state *s)
{
	if (access(path, F_OK))
		return 0;
	cords_tensor_list l = {0};
	if (cords_read_file(path, &l))
		return cords_err_prefix("spontaneous-state cache %s: ", path);
	cords_tensor *want = cache_meta(m, d), *have = cords_list_find(&l, "meta");
	int ok = want && have && have->nbytes == want->nbytes && !memcmp(have->data, want->data, want->nbytes);
	char name[16];
	for (int i = 0; i < s->depth && ok; i++)
		for (int k = 0; k < 2 && ok; k++) {
			snprintf(name, sizeof name, "%c%d", k ? 'z' : 'r', i);
			cords_buf *b = k ? s->z[i] : s->r[i];
			const cords_tensor *t = cords_list_find(&l, name);
			ok = t && t->dtype == CORDS_F32 && t->nbytes == (size_t)cords_buf_numel(b) * 4 &&
			     !m->be->upload(m->be, b, t->data);
		}
	cords_tensor_free(want);
	cords_list_free(&l);
	return ok;
}

int cords_spont(const cords_model *m, const cords_dynamics *d, const char *cache, cords_state *out,
		int *from_cache, cords_step_fn fn, void *ctx)
{
	int got = cache && !fn ? cache_read(m, d, cache, out) : 0;
	if (from_cache)
		*from_cache = got > 0;
	if (got)
		return got < 0 ? -1 : 0;
	if (spont_compute(m, d, out, fn, ctx))
		return -1;
	return cache ? cache_write(m, d, cache, out) : 0;
}
