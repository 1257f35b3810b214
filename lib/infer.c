/* Inference driver: spontaneous state once, then per batch the drive, the
 * stimulus steps and the read-out; time series spooled to temporary files. */
#include "infer.h"
#include "err.h"
#include "spont.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One time series: per-item shape, the batch-1 spontaneous part (recorded
 * once) and the current batch's stimulus part, both in temporary files. */
typedef struct {
	char name[16];
	int area;        /* -1 for logits_t */
	int ndim;        /* of one item */
	int64_t shape[3];
	int64_t per;     /* floats per item */
	FILE *spont, *stim;
	int nspont, nstim;
} series;

struct cords_infer {
	const cords_model *m;
	cords_infer_opts o;
	series s[1 + CORDS_MAX_DEPTH];
	int ns;
	cords_state *s1;    /* the spontaneous state, batch 1 */
	int batch;          /* buffers below are for this batch size */
	cords_state *st, *tmp;
	cords_work *w;
	cords_buf *x, *lg;
	cords_drive d;
	float *host;        /* download scratch: batch * max per floats */
	int64_t host_n;
	int from_cache;
};

static int spool(FILE *f, const float *v, int64_t n)
{
	if (fwrite(v, sizeof *v, (size_t)n, f) != (size_t)n)
		return cords_err("cannot write a temporary file (disk full?)");
	return 0;
}

/* Download series k of state s (batch b) into inf->host. */
static int fetch(cords_infer *inf, const series *se, cords_work *w, const cords_state *s, cords_buf *lg)
{
	const cords_model *m = inf->m;
	if (se->area >= 0)
		return m->be->download(m->be, s->r[se->area], inf->host);
	return cords_model_readout(m, w, s, lg) || m->be->download(m->be, lg, inf->host) ? -1 : 0;
}

static int ensure_host(cords_infer *inf, int batch)
{
	int64_t n = 0;
	for (int k = 0; k < inf->ns; k++)
		n = inf->s[k].per * batch > n ? inf->s[k].per * batch : n;
	n = n > (int64_t)batch * inf->m->arch.classes ? n : (int64_t)batch * inf->m->arch.classes;
	if (n <= inf->host_n)
		return 0;
	free(inf->host);
	inf->host = malloc((size_t)n * sizeof(float));
	inf->host_n = inf->host ? n : 0;
	return inf->host ? 0 : cords_err("out of memory");
}

typedef struct {
	cords_infer *inf;
	cords_work *w;
	cords_buf *lg;
	int batch, spont;
} rec_ctx;

static int on_step(void *ctx, int t, const cords_state *s)
{
	rec_ctx *c = ctx;
	cords_infer *inf = c->inf;
	if (t % inf->o.every)
		return 0;
	for (int k = 0; k < inf->ns; k++) {
		series *se = &inf->s[k];
		if (fetch(inf, se, c->w, s, c->lg) || spool(c->spont ? se->spont : se->stim, inf->host, se->per * c->batch))
			return -1;
		if (c->spont)
			se->nspont++;
		else
			se->nstim++;
	}
	return 0;
}

static int add_series(cords_infer *inf, int area)
{
	const cords_arch *a = &inf->m->arch;
	series *se = &inf->s[inf->ns++];
	se->area = area;
	if (area < 0) {
		snprintf(se->name, sizeof se->name, "logits_t");
		se->ndim = 1;
		se->shape[0] = se->per = a->classes;
	} else {
		snprintf(se->name, sizeof se->name, "r%d", area);
		se->ndim = 3;
		se->shape[0] = a->c[area];
		se->shape[1] = a->h[area];
		se->shape[2] = a->w[area];
		se->per = se->shape[0] * se->shape[1] * se->shape[2];
	}
	se->spont = tmpfile();
	se->stim = tmpfile();
	return se->spont && se->stim ? 0 : cords_err("cannot create a temporary file");
}

/* The spontaneous phase, recording its batch-1 trajectory if series are asked. */
static int run_spont(cords_infer *inf)
{
	const cords_model *m = inf->m;
	if (!(inf->s1 = cords_state_new(m, 1)))
		return -1;
	if (!inf->ns)
		return cords_spont(m, &inf->o.dyn, inf->o.spont_cache, inf->s1, &inf->from_cache, NULL, NULL);
	rec_ctx c = {inf, cords_work_new(m, 1), cords_model_alloc_logits(m, 1), 1, 1};
	int rc = !c.w || !c.lg || ensure_host(inf, 1) ||
		 cords_spont(m, &inf->o.dyn, inf->o.spont_cache, inf->s1, &inf->from_cache, on_step, &c);
	cords_work_free(m, c.w);
	m->be->free(m->be, c.lg);
	return rc ? -1 : 0;
}

cords_infer *cords_infer_new(const cords_model *m, const cords_infer_opts *o)
{
	cords_infer *inf = calloc(1, sizeof *inf);
	if (!inf) {
		cords_err("out of memory");
		return NULL;
	}
	inf->m = m;
	inf->o = *o;
	if (o->record && o->every <= 0) {
		cords_infer_free(inf);
		cords_err("recording states needs a step interval (every > 0)");
		return NULL;
	}
	int rc = 0;
	if (o->every > 0)
		rc = add_series(inf, -1);
	for (int i = 0; i < m->arch.depth && !rc; i++)
		if (o->record >> i & 1)
			rc = add_series(inf, i);
	if (rc || run_spont(inf)) {
		cords_infer_free(inf);
		return NULL;
	}
	return inf;
}

static void free_batch(cords_infer *inf)
{
	const cords_model *m = inf->m;
	cords_state_free(m, inf->st);
	cords_state_free(m, inf->tmp);
	cords_work_free(m, inf->w);
	m->be->free(m->be, inf->x);
	m->be->free(m->be, inf->lg);
	cords_drive_free(m, &inf->d);
	inf->st = inf->tmp = NULL;
	inf->w = NULL;
	inf->x = inf->lg = NULL;
	inf->batch = 0;
}

void cords_infer_free(cords_infer *inf)
{
	if (!inf)
		return;
	free_batch(inf);
	cords_state_free(inf->m, inf->s1);
	for (int k = 0; k < inf->ns; k++) {
		if (inf->s[k].spont)
			fclose(inf->s[k].spont);
		if (inf->s[k].stim)
			fclose(inf->s[k].stim);
	}
	free(inf->host);
	free(inf);
}

static int alloc_batch(cords_infer *inf, int batch)
{
	const cords_model *m = inf->m;
	if (inf->batch == batch)
		return 0;
	free_batch(inf);
	if (!(inf->st = cords_state_new(m, batch)) || !(inf->tmp = cords_state_new(m, batch)) ||
	    !(inf->w = cords_work_new(m, batch)) || !(inf->x = cords_model_alloc_input(m, batch)) ||
	    cords_drive_alloc(m, batch, &inf->d) || !(inf->lg = cords_model_alloc_logits(m, batch)) ||
	    ensure_host(inf, batch)) {
		free_batch(inf);
		return -1;
	}
	inf->batch = batch;
	return 0;
}

int cords_infer_batch(cords_infer *inf, const float *x, int batch, float *logits)
{
	const cords_model *m = inf->m;
	if (batch < 1 || alloc_batch(inf, batch))
		return batch < 1 ? cords_err("empty batch") : -1;
	for (int k = 0; k < inf->ns; k++) {
		rewind(inf->s[k].stim);
		inf->s[k].nstim = 0;
	}
	rec_ctx c = {inf, inf->w, inf->lg, batch, 0};
	const cords_dynamics *d = &inf->o.dyn;
	if (m->be->upload(m->be, inf->x, x) || cords_model_drive(m, inf->w, inf->x, &inf->d) ||
	    cords_state_copy(m, inf->st, inf->s1) ||
	    cords_model_run(m, d, inf->w, &inf->d, &inf->st, &inf->tmp, d->stim_steps, d->spont_steps,
			    inf->ns ? on_step : NULL, &c) ||
	    cords_model_readout(m, inf->w, inf->st, inf->lg))
		return -1;
	return m->be->download(m->be, inf->lg, logits);
}

/* Copy n floats from a spool file to the record being written. */
static int unspool(FILE *f, cords_writer *w, float *buf, int64_t bufn, int64_t n)
{
	while (n > 0) {
		int64_t k = n < bufn ? n : bufn;
		if (fread(buf, sizeof *buf, (size_t)k, f) != (size_t)k)
			return cords_err("cannot read back a temporary file");
		if (cords_write_data(w, buf, (size_t)k * sizeof *buf))
			return -1;
		n -= k;
	}
	return 0;
}

static int write_one(cords_infer *inf, series *se, cords_writer *w)
{
	int B = inf->batch;
	int64_t shape[5] = {se->nspont + se->nstim, B, se->shape[0], se->shape[1], se->shape[2]};
	if (fflush(se->stim) || cords_write_begin(w, se->name, CORDS_F32, se->ndim + 2, shape))
		return -1;
	rewind(se->spont);
	for (int t = 0; t < se->nspont; t++) {
		/* The spontaneous step is the same for every image: read once, write B times. */
		if (fread(inf->host, sizeof(float), (size_t)se->per, se->spont) != (size_t)se->per)
			return cords_err("cannot read back a temporary file");
		for (int b = 0; b < B; b++)
			if (cords_write_data(w, inf->host, (size_t)se->per * sizeof(float)))
				return -1;
	}
	rewind(se->stim);
	if (unspool(se->stim, w, inf->host, inf->host_n, se->per * B * se->nstim))
		return -1;
	return cords_write_end(w);
}

int cords_infer_write_series(cords_infer *inf, cords_writer *w)
{
	for (int k = 0; k < inf->ns; k++)
		if (write_one(inf, &inf->s[k], w))
			return -1;
	return 0;
}

int cords_infer_spont_cached(const cords_infer *inf)
{
	return inf->from_cache;
}
