/* Default-initialised CordsNet parameters. */
#include "init.h"
#include "err.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* v: uniform +-1/sqrt(fan_in); fan_in is everything but the first axis. */
static void init_uniform(cords_tensor *t, int64_t fan, cords_rng *r)
{
	float *d = t->data, bound = (float)(1.0 / sqrt((double)fan));
	for (int64_t i = 0; i < cords_tensor_numel(t); i++)
		d[i] = (float)cords_rng_range(r, -bound, bound);
}

/* g[o] = ||v[o,:]|| for the v just made. */
static void init_g(cords_tensor *g, const cords_tensor *v)
{
	int64_t out = v->shape[0], fan = cords_tensor_numel(v) / out;
	const float *vd = v->data;
	float *gd = g->data;
	for (int64_t o = 0; o < out; o++) {
		double s = 0;
		for (int64_t i = 0; i < fan; i++)
			s += (double)vd[o * fan + i] * vd[o * fan + i];
		gd[o] = (float)sqrt(s);
	}
}

int cords_init_params(const cords_arch *a, uint64_t seed, cords_tensor_list *out)
{
	char name[CORDS_NAME_MAX + 1];
	int64_t shape[CORDS_MAX_DIMS];
	int nd, n = cords_arch_nparams(a);
	cords_tensor *t[64] = {0};
	for (int i = 0; i < n; i++) {
		cords_arch_param(a, i, name, sizeof name, &nd, shape);
		if (!(t[i] = cords_tensor_new(name, CORDS_F32, nd, shape)))
			goto fail;
	}
	/* v before g: g = ||v||. The parameters come in checkpoint order: g, v pairs
	 * (original0 then original1), conv_bias and out_fc.bias on their own. */
	for (int i = 0; i < n; i++) {
		cords_rng r;
		cords_rng_split(&r, seed, (uint64_t)i);
		size_t len = strlen(t[i]->name);
		if (len > 10 && !strcmp(t[i]->name + len - 10, ".original1")) {
			init_uniform(t[i], cords_tensor_numel(t[i]) / t[i]->shape[0], &r);
			init_g(t[i - 1], t[i]);
		} else if (!strcmp(t[i]->name, "out_fc.bias")) {
			init_uniform(t[i], a->c[a->depth - 1], &r);
		}
	}
	for (int i = 0; i < n; i++) {
		if (cords_list_push(out, t[i]))
			goto fail;
		t[i] = NULL;
	}
	return 0;
fail:
	for (int i = 0; i < n; i++)
		cords_tensor_free(t[i]);
	return -1;
}
