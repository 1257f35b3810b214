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

cords_opt *cords_opt_new(const cords_opt_cfg *cfg, cords_tensor_list *params, cords_tensor_list *grads,
			 int (*trained)(const char *name))
{
	cords_opt *o = calloc(1, sizeof *o);
	int cap = params->n;
	if (!o || !(o->p = calloc((size_t)cap, sizeof *o->p)) || !(o->g = calloc((size_t)cap, sizeof *o->g)) ||
	    !(o->m = calloc((size_t)cap, sizeof *o->m)) || !(o->v = calloc((size_t)cap, sizeof *o->v))) {
		cords_opt_free(o);
		cords_err("out of memory");
		return NULL;
	}
	o->cfg = *cfg;
	for (int i = 0; i < params->n; i++) {
		cords_tensor *p = params->items[i];
		if (p->dtype != CORDS_F32 || !strcmp(p->name, "meta") || (trained && !trained(p->name)))
			continue;
		cords_tensor *g = cords_list_find(grads, p->name);
		if (!g || g->nbytes != p->nbytes) {
			cords_opt_free(o);
			cords_err("no gradient for parameter %s", p->name);
			return NULL;
		}
		o->p[o->n] = p;
		o->g[o->n] = g;
		if (!(o->m[o->n] = like("opt.m.", p)) || !(o->v[o->n] = like("opt.v.", p))) {
			o->n++;
			cords_opt_free(o);
			return NULL;
		}
		o->n++;
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
	}
	free(o->p);
	free(o->g);
	free(o->m);
	free(o->v);
	free(o);
}

void cords_opt_reset(cords_opt *o)
{
	for (int i = 0; i < o->n; i++) {
		memset(o->m[i]->data, 0, o->m[i]->nbytes);
		memset(o->v[i]->data, 0, o->v[i]->nbytes);
	}
	o->step = 0;
}

int cords_opt_step(cords_opt *o, double *norm, double *lr)
{
	double sq = 0;
	for (int i = 0; i < o->n; i++)
		sq += cords_sumsq_cpu(o->g[i]->data, cords_tensor_numel(o->g[i]));
	*norm = sqrt(sq);
	if (!isfinite(*norm))
		return cords_err("gradient is NaN or Inf");
	float f = (float)cords_clip_factor(*norm, o->cfg.clip);
	*lr = cords_warmup_lr(o->cfg.lr, o->step, o->cfg.warmup, o->cfg.warmup_start);
	if (o->cfg.decay > 0 && o->step >= o->cfg.warmup)
		*lr = cords_cosine_lr(o->cfg.lr, o->step - o->cfg.warmup, o->cfg.decay);
	o->step++;
	for (int i = 0; i < o->n; i++) {
		int64_t n = cords_tensor_numel(o->p[i]);
		float *p = o->p[i]->data, *g = o->g[i]->data;
		cords_scale_cpu(g, n, f);
		if (o->cfg.kind == CORDS_OPT_ADAMW) {
			cords_adamw a = {*lr, o->cfg.beta1, o->cfg.beta2, o->cfg.eps, o->cfg.weight_decay};
			cords_adamw_step_cpu(&a, o->step, p, g, o->m[i]->data, o->v[i]->data, n);
		} else {
			cords_sgd s = {*lr, o->cfg.momentum, o->cfg.weight_decay};
			cords_sgd_step_cpu(&s, o->step == 1, p, g, o->m[i]->data, n);
		}
	}
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
	for (int i = 0; i < o->n; i++) {
		cords_tensor *t[2] = {o->m[i], o->v[i]};
		for (int j = 0; j < 2; j++) {
			const cords_tensor *s = cords_list_find(l, t[j]->name);
			if (!s || s->nbytes != t[j]->nbytes || s->dtype != CORDS_F32)
				return cords_err("checkpoint lacks optimiser state %s", t[j]->name);
			memcpy(t[j]->data, s->data, s->nbytes);
		}
	}
	return 0;
}
