/* The dynamics of cords-model(7) against the backend: stem drive, the synchronous
 * time step, the read-out, and a loop of steps. */
#include "model.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct cords_work {
	int batch;
	cords_buf *stem;                /* [B,64,stem_h,stem_w] */
	cords_buf *u[CORDS_MAX_DEPTH];  /* input of area i >= 1 (u_0 is p) */
	cords_buf *q[CORDS_MAX_DEPTH];  /* relu(r_i) where a skip or blank u_1 needs it */
	cords_buf *sum, *feat;          /* read-out: [B,c,h,w], [B,c] */
	const cords_state *noise;       /* state noise (cords_work_noise), or NULL */
	float noise_scale;
};

static cords_buf *act4(const cords_model *m, int64_t b, int64_t c, int64_t h, int64_t w)
{
	cords_backend *be = m->be;
	int64_t s[4] = {b, c, h, w};
	return CALL(alloc, CORDS_BUF_ACT, 4, s);
}

cords_state *cords_state_new(const cords_model *m, int batch)
{
	const cords_arch *a = &m->arch;
	cords_state *s = calloc(1, sizeof *s);
	if (!s) {
		cords_err("out of memory");
		return NULL;
	}
	s->batch = batch;
	s->depth = a->depth;
	for (int i = 0; i < a->depth; i++)
		if (!(s->r[i] = act4(m, batch, a->c[i], a->h[i], a->w[i])) ||
		    !(s->z[i] = act4(m, batch, a->c[i], a->h[i], a->w[i]))) {
			cords_state_free(m, s);
			return NULL;
		}
	return s;
}

void cords_state_free(const cords_model *m, cords_state *s)
{
	cords_backend *be = m->be;
	if (!s)
		return;
	for (int i = 0; i < s->depth; i++) {
		CALL(free, s->r[i]);
		CALL(free, s->z[i]);
	}
	free(s);
}

int cords_state_zero(const cords_model *m, cords_state *s)
{
	cords_backend *be = m->be;
	for (int i = 0; i < s->depth; i++)
		if (CALL(fill, s->r[i], 0) || CALL(fill, s->z[i], 0))
			return -1;
	return 0;
}

int cords_state_copy(const cords_model *m, cords_state *dst, const cords_state *src)
{
	cords_backend *be = m->be;
	for (int i = 0; i < src->depth; i++)
		if (CALL(copy, dst->r[i], src->r[i]) || CALL(copy, dst->z[i], src->z[i]))
			return -1;
	return 0;
}

cords_work *cords_work_new(const cords_model *m, int batch)
{
	cords_backend *be = m->be;
	const cords_arch *a = &m->arch;
	const int D = a->depth;
	cords_work *w = calloc(1, sizeof *w);
	if (!w) {
		cords_err("out of memory");
		return NULL;
	}
	w->batch = batch;
	int64_t fs[2] = {batch, a->c[D - 1]};
	int ok = (w->stem = act4(m, batch, 64, a->stem_h, a->stem_w)) &&
		 (w->sum = act4(m, batch, a->c[D - 1], a->h[D - 1], a->w[D - 1])) &&
		 (w->feat = CALL(alloc, CORDS_BUF_ACT, 2, fs));
	for (int i = 0; i < D && ok; i++) {
		/* u_i has the channels and size area i reads: those of area i-1 (or p). */
		int j = i ? i - 1 : 0;
		ok = (w->u[i] = act4(m, batch, a->cin[i], a->h[j], a->w[j])) &&
		     (w->q[i] = act4(m, batch, a->c[i], a->h[i], a->w[i]));
	}
	if (!ok) {
		cords_work_free(m, w);
		return NULL;
	}
	return w;
}

void cords_work_free(const cords_model *m, cords_work *w)
{
	cords_backend *be = m->be;
	if (!w)
		return;
	CALL(free, w->stem);
	CALL(free, w->sum);
	CALL(free, w->feat);
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		CALL(free, w->u[i]);
		CALL(free, w->q[i]);
	}
	free(w);
}

cords_buf *cords_model_alloc_input(const cords_model *m, int batch)
{
	return act4(m, batch, m->arch.in_ch, m->arch.height, m->arch.width);
}

int cords_drive_alloc(const cords_model *m, int batch, cords_drive *d)
{
	d->p = act4(m, batch, 64, m->arch.h[0], m->arch.w[0]);
	d->skip = act4(m, batch, 64, m->arch.h[0], m->arch.w[0]);
	d->f0 = act4(m, batch, m->arch.c[0], m->arch.h[0], m->arch.w[0]);
	if (d->p && d->skip && d->f0)
		return 0;
	cords_drive_free(m, d);
	return -1;
}

void cords_drive_free(const cords_model *m, cords_drive *d)
{
	cords_backend *be = m->be;
	CALL(free, d->p);
	CALL(free, d->skip);
	CALL(free, d->f0);
	d->p = d->skip = d->f0 = NULL;
}

cords_buf *cords_model_alloc_logits(const cords_model *m, int batch)
{
	cords_backend *be = m->be;
	int64_t s[2] = {batch, m->arch.classes};
	return CALL(alloc, CORDS_BUF_ACT, 2, s);
}

int cords_model_drive(const cords_model *m, cords_work *w, const cords_buf *x, cords_drive *d)
{
	cords_backend *be = m->be;
	const cords_conv stem = {.stride = 2, .pad = 3}, skip = {.stride = 1, .pad = 1};
	const cords_conv ff0 = {.stride = m->arch.stride[0], .pad = 1};
	const cords_pool pool = {.k = 3, .stride = 2, .pad = 1};
	return CALL(conv2d, &stem, x, m->inp_conv, NULL, w->stem) || CALL(avgpool, &pool, w->stem, d->p) ||
	       CALL(conv2d, &skip, d->p, m->inp_skip, NULL, d->skip) ||
	       CALL(conv2d, &ff0, d->p, m->area_area[0], NULL, d->f0) ? -1 : 0;
}

/* u_i of cords-model(7) from the state s into w->u[i] (u_0 is p itself). *u is the
 * buffer to feed area_area_i, NULL when it is zero (blank input, area 0). */
static int area_input(const cords_model *m, cords_work *w, const cords_drive *d, const cords_state *s, int i,
		      const cords_buf **u)
{
	cords_backend *be = m->be;
	const cords_conv c1 = {.stride = 2, .pad = 0};
	const cords_feed f = cords_arch_feed(&m->arch, i);
	*u = w->u[i];
	switch (f.kind) {
	case CORDS_FEED_STEM:
		*u = d ? d->p : NULL;
		return 0;
	case CORDS_FEED_STEM_SKIP:
		return CALL(relu_add, s->r[f.prev], d ? d->skip : NULL, 0, w->u[i]);
	case CORDS_FEED_SAME:
		return CALL(relu_add, s->r[f.prev], s->r[f.side], 1, w->u[i]);
	case CORDS_FEED_SKIP:
		return CALL(relu_add, s->r[f.side], NULL, 0, w->q[f.side]) ||
		       CALL(conv2d, &c1, w->q[f.side], m->skip[f.skip], NULL, w->u[i]) ||
		       CALL(relu_add, s->r[f.prev], w->u[i], 0, w->u[i]) ? -1 : 0;
	}
	return cords_err("area %d: no feed", i);
}

/* z = area_conv_i(r_i) + area_area_i(u_i) (the bias comes with the update). */
static int area_drive(const cords_model *m, cords_work *w, const cords_drive *d, const cords_state *s, int i,
		      cords_buf *z)
{
	cords_backend *be = m->be;
	const cords_buf *u;
	const cords_conv rec = {.stride = 1, .pad = 1};
	const cords_conv ff = {.stride = m->arch.stride[i], .pad = 1, .beta = 1};
	if (i == 0 && d) { /* area_area_0(p) is the drive's f0 */
		const cords_conv acc = {.stride = 1, .pad = 1, .beta = 1};
		return CALL(copy, z, d->f0) || CALL(conv2d, &acc, s->r[0], m->area_conv[0], NULL, z) ? -1 : 0;
	}
	if (area_input(m, w, d, s, i, &u) || CALL(conv2d, &rec, s->r[i], m->area_conv[i], NULL, z))
		return -1;
	return u ? CALL(conv2d, &ff, u, m->area_area[i], NULL, z) : 0;
}

typedef struct {
	const cords_model *m;
	const cords_dynamics *dyn;
	cords_work *w;
	const cords_drive *d;
	const cords_state *in;
	cords_state *out;
} step_args;

void cords_work_noise(cords_work *w, const cords_state *noise, float scale)
{
	w->noise = noise;
	w->noise_scale = noise ? scale : 0;
}

/* The areas of a step depend only on the state before it: each in a lane
 * of its own (area i writes its z, r, u_i and, for odd i, q[i-2]). State
 * noise is added here, after the update, so every backend gets it. */
static int step_areas(void *arg)
{
	const step_args *a = arg;
	const cords_model *m = a->m;
	const cords_work *w = a->w;
	cords_backend *be = m->be;
	for (int i = 0; i < m->arch.depth; i++)
		if (cords_be_lane(be, i + 1) || area_drive(m, a->w, a->d, a->in, i, a->out->z[i]) ||
		    CALL(leaky, a->dyn->alpha, a->dyn->phi, a->in->r[i], a->out->z[i], m->conv_bias[i], a->out->r[i]) ||
		    (w->noise && CALL(axpby, w->noise_scale, w->noise->r[i], 1, a->out->r[i])))
			return -1;
	return cords_be_lane(be, 0);
}

int cords_model_step(const cords_model *m, const cords_dynamics *dyn, cords_work *w, const cords_drive *d,
		     const cords_state *in, cords_state *out)
{
	if (in == out)
		return cords_err("model step: the input and output states must differ");
	step_args a = {m, dyn, w, d, in, out};
	/* What the step's calls depend on (cords_be_replay): the buffers, by
	 * the structs that own them, and the dynamics' numbers. */
	struct {
		const void *what, *m, *w, *d, *in, *out, *noise;
		float alpha, slope, noise_scale;
		int phi;
	} key;
	memset(&key, 0, sizeof key); /* the padding too: the key is compared as bytes */
	static const char tag; /* this function's keys, apart from other callers' */
	key.what = &tag, key.m = m, key.w = w, key.d = d, key.in = in, key.out = out;
	key.alpha = dyn->alpha, key.slope = dyn->phi.slope, key.phi = (int)dyn->phi.kind;
	key.noise = w->noise, key.noise_scale = w->noise_scale;
	return cords_be_replay(m->be, &key, sizeof key, step_areas, &a);
}

int cords_model_readout(const cords_model *m, cords_work *w, const cords_state *s, cords_buf *logits)
{
	cords_backend *be = m->be;
	const int D = m->arch.depth;
	return CALL(relu_add, s->r[D - 1], s->r[D - 2], 1, w->sum) || CALL(spatial_mean, w->sum, w->feat) ||
	       CALL(linear, w->feat, m->fc_w, m->fc_b, logits) ? -1 : 0;
}

int cords_model_run(const cords_model *m, const cords_dynamics *dyn, cords_work *w, const cords_drive *d,
		    cords_state **s, cords_state **tmp, int steps, int t0, cords_step_fn fn, void *ctx)
{
	for (int t = 1; t <= steps; t++) {
		if (cords_model_step(m, dyn, w, d, *s, *tmp))
			return -1;
		cords_state *x = *s;
		*s = *tmp;
		*tmp = x;
		if (fn && fn(ctx, t0 + t, *s))
			return -1;
	}
	return 0;
}
