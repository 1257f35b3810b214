/* Optimiser over named parameters (optset.h). */
#include "optset.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cords_tensor *like(const char *prefix, const cords_tensor *p)
{
	char name[CORDS_NAME_MAX + 16];
	int n = snprintf(name, sizeof name, "%s%s", prefix, p->name);
	if (n > CORDS_NAME_MAX) {
		cords_err("parameter name too long for optimiser state: %s", p->name);
		return NULL;
	}
	return cords_tensor_new(name, CORDS_F32, p->ndim, p->shape);
}

cords_opt *cords_opt_new(const cords_opt_cfg *cfg, cords_params *ps)
{
	cords_opt *o = calloc(1, sizeof *o);
	size_t cap = ps->n ? (size_t)ps->n : 1;
	if (!o || !(o->idx = calloc(cap, sizeof *o->idx)) || !(o->dm = calloc(cap, sizeof *o->dm)) ||
	    !(o->dv = calloc(cap, sizeof *o->dv)) || !(o->m = calloc(cap, sizeof *o->m)) ||
	    !(o->v = calloc(cap, sizeof *o->v))) {
		cords_opt_free(o);
		cords_err("out of memory");
		return NULL;
	}
	o->cfg = *cfg;
	o->ps = ps;
	cords_backend *be = ps->be;
	for (int i = 0; i < ps->n; i++) {
		if (!ps->g[i])
			continue;
		const cords_tensor *p = ps->t[i];
		const int k = o->n++;
		const int nd = cords_buf_ndim(ps->p[i]);
		o->idx[k] = i;
		if (!(o->m[k] = like("opt.m.", p)) || !(o->v[k] = like("opt.v.", p)) ||
		    !(o->dm[k] = be->alloc(be, CORDS_BUF_ACT, nd, cords_buf_shape(ps->p[i]))) ||
		    !(o->dv[k] = be->alloc(be, CORDS_BUF_ACT, nd, cords_buf_shape(ps->p[i])))) {
			cords_opt_free(o);
			return NULL;
		}
	}
	return o;
}

void cords_opt_free(cords_opt *o)
{
	if (!o)
		return;
	for (int i = 0; i < o->n; i++) {
		cords_tensor_free(o->m[i]);
		cords_tensor_free(o->v[i]);
		o->ps->be->free(o->ps->be, o->dm[i]);
		o->ps->be->free(o->ps->be, o->dv[i]);
	}
	free(o->idx);
	free(o->dm);
	free(o->dv);
	free(o->m);
	free(o->v);
	free(o);
}

int cords_opt_reset(cords_opt *o)
{
	cords_backend *be = o->ps->be;
	for (int i = 0; i < o->n; i++) {
		memset(o->m[i]->data, 0, o->m[i]->nbytes);
		memset(o->v[i]->data, 0, o->v[i]->nbytes);
		if (be->fill(be, o->dm[i], 0) || be->fill(be, o->dv[i], 0))
			return -1;
	}
	o->stale = 0;
	o->step = 0;
	return 0;
}

int cords_opt_step(cords_opt *o, double *norm, double *lr)
{
	cords_backend *be = o->ps->be;
	double sq = 0;
	for (int i = 0; i < o->n; i++) {
		double s;
		if (be->sqdiff_sum(be, o->ps->g[o->idx[i]], NULL, &s))
			return -1;
		sq += s;
	}
	*norm = sqrt(sq);
	if (!isfinite(*norm))
		return cords_err("gradient is NaN or Inf");
	*lr = cords_warmup_lr(o->cfg.lr, o->step, o->cfg.warmup, o->cfg.warmup_start);
	if (o->cfg.decay > 0 && o->step >= o->cfg.warmup)
		*lr = cords_cosine_lr(o->cfg.lr, o->step - o->cfg.warmup, o->cfg.decay);
	o->step++;
	const cords_optim st = {.adamw = o->cfg.kind == CORDS_OPT_ADAMW,
				.lr = *lr,
				.weight_decay = o->cfg.weight_decay,
				.beta1 = o->cfg.beta1,
				.beta2 = o->cfg.beta2,
				.eps = o->cfg.eps,
				.momentum = o->cfg.momentum,
				.step = o->step,
				.scale = (float)cords_clip_factor(*norm, o->cfg.clip)};
	for (int i = 0; i < o->n; i++) {
		int k = o->idx[i];
		if (be->optim(be, &st, o->ps->p[k], o->ps->g[k], o->dm[i], o->dv[i]))
			return -1;
	}
	cords_params_changed_trained(o->ps);
	o->stale = 1;
	return 0;
}

int cords_opt_pull(cords_opt *o)
{
	cords_backend *be = o->ps->be;
	for (int i = 0; i < o->n && o->stale; i++)
		if (be->download(be, o->dm[i], o->m[i]->data) || be->download(be, o->dv[i], o->v[i]->data))
			return -1;
	o->stale = 0;
	return 0;
}

int cords_opt_items(const cords_opt *o, const cords_tensor **items, int max)
{
	int k = 0;
	for (int i = 0; i < o->n && k + 2 <= max; i++) {
		items[k++] = o->m[i];
		items[k++] = o->v[i];
	}
	return k;
}

int cords_opt_restore(cords_opt *o, const cords_tensor_list *l)
{
	cords_backend *be = o->ps->be;
	for (int i = 0; i < o->n; i++) {
		cords_tensor *t[2] = {o->m[i], o->v[i]};
		cords_buf *d[2] = {o->dm[i], o->dv[i]};
		for (int j = 0; j < 2; j++) {
			const cords_tensor *s = cords_list_find(l, t[j]->name);
			if (!s || s->nbytes != t[j]->nbytes || s->dtype != CORDS_F32)
				return cords_err("checkpoint lacks optimiser state %s", t[j]->name);
			memcpy(t[j]->data, s->data, s->nbytes);
			if (be->upload(be, d[j], t[j]->data))
				return -1;
		}
	}
	o->stale = 0;
	return 0;
}
