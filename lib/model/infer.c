/* Inference driver: spontaneous state once, then per batch the drive, the
 * stimulus steps and the read-out; time series spooled to temporary files,
 * read-outs and mean activities handed to an observer. */
#include "infer.h"
#include "batch.h"
#include "err.h"
#include "input.h"
#include "meta.h"
#include "readout.h"
#include "spont.h"

#include <math.h>
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
	series *area[CORDS_MAX_DEPTH]; /* area i's series, or NULL */
	cords_state *s1;    /* the spontaneous state, batch 1 */
	int batch;          /* buffers below are for this batch size */
	cords_state *st, *tmp;
	cords_work *w;
	cords_buf *x, *lg;
	cords_drive d;
	float *host;        /* download scratch: batch * max per floats */
	int64_t host_n;
	float *lg_host;     /* [batch,N]: the read-out at the current step */
	int64_t lg_n;
	double mean[CORDS_MAX_DEPTH]; /* each area's mean activity at the current step */
	float *sp_lg;       /* [nsp,N]: the spontaneous read-outs, batch 1 (observer) */
	double *sp_mean;    /* [nsp,depth] */
	int nsp;
	int from_cache;
	float *xh, *xn;     /* [batch,Cin,H,W]: the image (image noise added), a frame of it */
	cords_state *noise; /* state noise, uploaded each step */
	float *nz;          /* its host side: batch * the largest area */
	float *rt_lg;       /* [batch,N]: the read-out for the reaction times */
	int64_t *rt, *rt_cls; /* [batch] */
};

static int spool(FILE *f, const float *v, int64_t n)
{
	if (fwrite(v, sizeof *v, (size_t)n, f) != (size_t)n)
		return cords_err("cannot write a temporary file (disk full?)");
	return 0;
}

static int64_t area_numel(const cords_arch *a, int i)
{
	return (int64_t)a->c[i] * a->h[i] * a->w[i];
}

/* Host scratch for a batch: the largest downloaded state and the read-out. */
static int ensure_host(cords_infer *inf, int batch)
{
	const cords_arch *a = &inf->m->arch;
	int64_t nl = (int64_t)batch * a->classes, n = nl; /* n >= nl: logits_t is unspooled through host */
	for (int i = 0; i < a->depth; i++)
		if (inf->area[i] || inf->o.observe)
			n = area_numel(a, i) * batch > n ? area_numel(a, i) * batch : n;
	if (n > inf->host_n) {
		free(inf->host);
		inf->host = malloc((size_t)n * sizeof(float));
		inf->host_n = inf->host ? n : 0;
	}
	if (nl > inf->lg_n) {
		free(inf->lg_host);
		inf->lg_host = malloc((size_t)nl * sizeof(float));
		inf->lg_n = inf->lg_host ? nl : 0;
	}
	return inf->host && inf->lg_host ? 0 : cords_err("out of memory");
}

typedef struct {
	cords_infer *inf;
	cords_work *w;
	cords_buf *lg;
	int batch, spont;
} rec_ctx;

static int put(const rec_ctx *c, series *se, const float *v)
{
	if (spool(c->spont ? se->spont : se->stim, v, se->per * c->batch))
		return -1;
	if (c->spont)
		se->nspont++;
	else
		se->nstim++;
	return 0;
}

static double mean(const float *v, int64_t n)
{
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += v[i];
	return sum / (double)n;
}

/* A spontaneous read-out is kept for the replay per batch; a stimulus one
 * goes to the observer now. */
static int observe(const rec_ctx *c, int t)
{
	cords_infer *inf = c->inf;
	int N = inf->m->arch.classes, D = inf->m->arch.depth;
	if (c->spont) {
		memcpy(inf->sp_lg + (int64_t)inf->nsp * N, inf->lg_host, (size_t)N * sizeof(float));
		memcpy(inf->sp_mean + (int64_t)inf->nsp * D, inf->mean, (size_t)D * sizeof(double));
		inf->nsp++;
		return 0;
	}
	cords_infer_obs o = {t, 0, c->batch, c->batch, inf->lg_host, inf->mean};
	return inf->o.observe(inf->o.observe_ctx, &o);
}

/* At a read-out step: the read-out and each recorded (or, for the observer,
 * every) area's state, downloaded once. */
static int on_step(void *ctx, int t, const cords_state *s)
{
	rec_ctx *c = ctx;
	cords_infer *inf = c->inf;
	const cords_model *m = inf->m;
	if (t % inf->o.every)
		return 0;
	if ((inf->o.readouts || inf->o.observe) &&
	    (cords_model_readout(m, c->w, s, c->lg) || m->be->download(m->be, c->lg, inf->lg_host)))
		return -1;
	if (inf->o.readouts && put(c, &inf->s[0], inf->lg_host))
		return -1;
	for (int i = 0; i < m->arch.depth; i++) {
		if (!inf->area[i] && !inf->o.observe)
			continue;
		if (m->be->download(m->be, s->r[i], inf->host) || (inf->area[i] && put(c, inf->area[i], inf->host)))
			return -1;
		if (inf->o.observe)
			inf->mean[i] = mean(inf->host, area_numel(&m->arch, i) * c->batch);
	}
	return inf->o.observe ? observe(c, t) : 0;
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
		inf->area[area] = se;
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
	if (!inf->ns && !inf->o.observe)
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
	if ((o->readouts || o->record || o->observe) && o->every <= 0) {
		cords_infer_free(inf);
		cords_err("time series need a step interval (every > 0)");
		return NULL;
	}
	int rc = 0, nsp = o->observe ? o->dyn.spont_steps / o->every : 0;
	if (nsp && (!(inf->sp_lg = malloc((size_t)nsp * (size_t)m->arch.classes * sizeof(float))) ||
		    !(inf->sp_mean = malloc((size_t)nsp * (size_t)m->arch.depth * sizeof(double)))))
		rc = cords_err("out of memory");
	if (o->readouts && !rc)
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
	cords_state_free(m, inf->noise);
	free(inf->xh);
	free(inf->xn);
	free(inf->nz);
	free(inf->rt_lg);
	free(inf->rt);
	free(inf->rt_cls);
	inf->xh = inf->xn = inf->nz = inf->rt_lg = NULL;
	inf->rt = inf->rt_cls = NULL;
	inf->noise = NULL;
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
	free(inf->lg_host);
	free(inf->sp_lg);
	free(inf->sp_mean);
	free(inf);
}

/* The host and backend buffers of noise and reaction times, as asked. */
static int alloc_experiments(cords_infer *inf, int batch)
{
	const cords_model *m = inf->m;
	const cords_arch *a = &m->arch;
	int64_t nx = (int64_t)batch * a->in_ch * a->height * a->width, big = 0;
	for (int i = 0; i < a->depth; i++)
		big = area_numel(a, i) > big ? area_numel(a, i) : big;
	int state = inf->o.noise.mode == CORDS_NOISE_STATE, frame = inf->o.noise.mode == CORDS_NOISE_FRAME;
	int rt = inf->o.rt > 0;
	if (!(inf->xh = malloc((size_t)nx * sizeof(float))) ||
	    (frame && !(inf->xn = malloc((size_t)nx * sizeof(float)))) ||
	    (state && !(inf->nz = malloc((size_t)(big * batch) * sizeof(float)))) ||
	    (rt && (!(inf->rt_lg = malloc((size_t)batch * (size_t)a->classes * sizeof(float))) ||
		    !(inf->rt = malloc((size_t)batch * sizeof(int64_t))) ||
		    !(inf->rt_cls = malloc((size_t)batch * sizeof(int64_t))))))
		return cords_err("out of memory");
	return state && !(inf->noise = cords_state_new(m, batch)) ? -1 : 0;
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
	    ensure_host(inf, batch) || alloc_experiments(inf, batch)) {
		free_batch(inf);
		return -1;
	}
	inf->batch = batch;
	return 0;
}

/* The spontaneous read-outs, the same for every image of the batch. */
static int replay_spont(const cords_infer *inf, int batch)
{
	int N = inf->m->arch.classes, D = inf->m->arch.depth;
	for (int k = 0; k < inf->nsp; k++) {
		cords_infer_obs o = {(k + 1) * inf->o.every, 1, batch, 1, inf->sp_lg + (int64_t)k * N,
				     inf->sp_mean + (int64_t)k * D};
		if (inf->o.observe(inf->o.observe_ctx, &o))
			return -1;
	}
	return 0;
}

int cords_infer_steps(const cords_infer_opts *o)
{
	int n = 0;
	for (int k = 0; k < o->nseg; k++)
		n += o->seg[k].steps;
	return o->nseg ? n : o->dyn.stim_steps;
}

/* The largest softmax probability of a row of logits. */
static double top_prob(const float *l, int n)
{
	return exp(l[cords_argmax(l, n)] - cords_row_lse(l, n));
}

/* After step t of a batch: the time series (if watched) and the first
 * crossings of the reaction-time threshold. */
static int after_step(void *ctx, int t, const cords_state *s)
{
	rec_ctx *c = ctx;
	cords_infer *inf = c->inf;
	const cords_model *m = inf->m;
	int N = m->arch.classes;
	if ((inf->ns || inf->o.observe) && on_step(ctx, t, s))
		return -1;
	if (!(inf->o.rt > 0))
		return 0;
	if (cords_model_readout(m, c->w, s, c->lg) || m->be->download(m->be, c->lg, inf->rt_lg))
		return -1;
	for (int b = 0; b < c->batch; b++)
		if (inf->rt[b] < 0 && top_prob(inf->rt_lg + (int64_t)b * N, N) >= inf->o.rt) {
			inf->rt[b] = t - inf->o.dyn.spont_steps;
			inf->rt_cls[b] = cords_argmax(inf->rt_lg + (int64_t)b * N, N);
		}
	return 0;
}

/* The noise of step t before it runs: a fresh frame (and its drive), or
 * the state noise of every area. */
static int step_noise(cords_infer *inf, int batch, int64_t first, int t, int stim)
{
	const cords_model *m = inf->m;
	const cords_arch *a = &m->arch;
	const cords_noise *nz = &inf->o.noise;
	if (nz->mode == CORDS_NOISE_FRAME && stim) {
		int64_t per = (int64_t)a->in_ch * a->height * a->width;
		memcpy(inf->xn, inf->xh, (size_t)(per * batch) * sizeof(float));
		for (int b = 0; b < batch; b++)
			cords_noise_add(nz->seed, CORDS_NOISE_FRAME, first + b, t, nz->sigma, inf->xn + b * per, per);
		return m->be->upload(m->be, inf->x, inf->xn) || cords_model_drive(m, inf->w, inf->x, &inf->d) ? -1 : 0;
	}
	if (nz->mode != CORDS_NOISE_STATE)
		return 0;
	for (int i = 0; i < a->depth; i++) {
		int64_t per = area_numel(a, i), plane = (int64_t)a->h[i] * a->w[i];
		memset(inf->nz, 0, (size_t)(per * batch) * sizeof(float));
		for (int b = 0; b < batch; b++) {
			float *v = inf->nz + b * per;
			cords_noise_add(nz->seed, CORDS_NOISE_STATE + 16 * (uint64_t)i, first + b, t, 1, v, per);
			for (int ch = 0; m->silent[i] && ch < a->c[i]; ch++)
				if (m->silent[i][ch])
					memset(v + ch * plane, 0, (size_t)plane * sizeof(float));
		}
		if (m->be->upload(m->be, inf->noise->r[i], inf->nz))
			return -1;
	}
	return 0;
}

int cords_infer_batch(cords_infer *inf, const float *x, int batch, int64_t first, float *logits)
{
	const cords_model *m = inf->m;
	const cords_arch *a = &m->arch;
	if (batch < 1 || alloc_batch(inf, batch))
		return batch < 1 ? cords_err("empty batch") : -1;
	for (int k = 0; k < inf->ns; k++) {
		rewind(inf->s[k].stim);
		inf->s[k].nstim = 0;
	}
	for (int b = 0; b < batch && inf->rt; b++)
		inf->rt[b] = inf->rt_cls[b] = -1;
	const cords_noise *nz = &inf->o.noise;
	int64_t per = (int64_t)a->in_ch * a->height * a->width;
	memcpy(inf->xh, x, (size_t)(per * batch) * sizeof(float));
	for (int b = 0; b < batch && nz->sigma > 0 && nz->mode == CORDS_NOISE_IMAGE; b++)
		cords_noise_add(nz->seed, CORDS_NOISE_IMAGE, first + b, 0, nz->sigma, inf->xh + b * per, per);
	cords_work_noise(inf->w, inf->noise, (float)(nz->sigma * sqrt(inf->o.dyn.alpha)));
	rec_ctx c = {inf, inf->w, inf->lg, batch, 0};
	const cords_dynamics *d = &inf->o.dyn;
	int watch = inf->ns || inf->o.observe || inf->o.rt > 0;
	if ((inf->o.observe && replay_spont(inf, batch)) || m->be->upload(m->be, inf->x, inf->xh) ||
	    cords_model_drive(m, inf->w, inf->x, &inf->d) || cords_state_copy(m, inf->st, inf->s1))
		return -1;
	cords_segment one = {1, d->stim_steps};
	const cords_segment *seg = inf->o.nseg ? inf->o.seg : &one;
	int t = d->spont_steps;
	for (int k = 0; k < (inf->o.nseg ? inf->o.nseg : 1); k++)
		for (int j = 0; j < seg[k].steps; j++, t++)
			if (step_noise(inf, batch, first, t + 1, seg[k].stim) ||
			    cords_model_run(m, d, inf->w, seg[k].stim ? &inf->d : NULL, &inf->st, &inf->tmp, 1, t,
					    watch ? after_step : NULL, &c))
				return -1;
	if (cords_model_readout(m, inf->w, inf->st, inf->lg))
		return -1;
	return m->be->download(m->be, inf->lg, logits);
}

void cords_infer_rt(const cords_infer *inf, const int64_t **rt, const int64_t **cls)
{
	*rt = inf->rt;
	*cls = inf->rt_cls;
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

cords_batches *cords_infer_batches(const cords_model *m, const char *path)
{
	cords_norm check;
	if (cords_norm_from_meta(m->meta, &check) < 0) {
		cords_err_prefix("the model's ");
		return NULL;
	}
	char *mean = cords_meta_get(m->meta, CORDS_KEY_NORM_MEAN), *std = cords_meta_get(m->meta, CORDS_KEY_NORM_STD);
	cords_batches *r = cords_batches_open(path, mean, std);
	free(mean);
	free(std);
	if (r)
		cords_batches_expect(r, m->arch.in_ch, m->arch.height, m->arch.width, m->arch.classes, 1);
	return r;
}
