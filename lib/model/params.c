/* Parameters on a backend (params.h). */
#include "params.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cords_params_all(const char *name)
{
	(void)name;
	return 1;
}

static int is_float(const cords_tensor *t)
{
	return t->dtype == CORDS_F32 || t->dtype == CORDS_F64 || t->dtype == CORDS_F16 || t->dtype == CORDS_BF16;
}

static cords_buf *alloc_like(cords_backend *be, const cords_tensor *t)
{
	int64_t s[4];
	int nd = t->ndim;
	if (nd == 4) {
		s[0] = t->shape[0], s[1] = cords_tensor_numel(t) / (t->shape[0] ? t->shape[0] : 1), nd = 2;
	} else if (nd == 3) {
		s[0] = 1, s[1] = t->shape[0], s[2] = t->shape[1], s[3] = t->shape[2], nd = 4;
	} else if (nd >= 1 && nd <= 2) {
		memcpy(s, t->shape, (size_t)nd * sizeof *s);
	} else {
		s[0] = cords_tensor_numel(t), nd = 1;
	}
	return be->alloc(be, CORDS_BUF_ACT, nd, s);
}

static int upload(cords_params *ps, int i)
{
	const cords_tensor *t = ps->t[i];
	if (t->dtype == CORDS_F32)
		return ps->be->upload(ps->be, ps->p[i], t->data);
	cords_tensor *f = cords_tensor_to_f32(t);
	int rc = f ? ps->be->upload(ps->be, ps->p[i], f->data) : -1;
	cords_tensor_free(f);
	return rc;
}

cords_params *cords_params_new(cords_backend *be, cords_tensor_list *host, int (*trained)(const char *name))
{
	cords_params *ps = calloc(1, sizeof *ps);
	size_t cap = host->n ? (size_t)host->n : 1;
	if (!ps || !(ps->t = calloc(cap, sizeof *ps->t)) || !(ps->p = calloc(cap, sizeof *ps->p)) ||
	    !(ps->g = calloc(cap, sizeof *ps->g)) || !(ps->stale = calloc(cap, 1))) {
		cords_params_free(ps);
		cords_err("out of memory");
		return NULL;
	}
	ps->be = be, ps->host = host;
	for (int i = 0; i < host->n; i++) {
		cords_tensor *t = host->items[i];
		if (!is_float(t) || !strcmp(t->name, "meta"))
			continue;
		int k = ps->n++;
		ps->t[k] = t;
		if (!(ps->p[k] = alloc_like(be, t)) || upload(ps, k) ||
		    (t->dtype == CORDS_F32 && trained && trained(t->name) && !(ps->g[k] = alloc_like(be, t)))) {
			cords_err_prefix("parameter %s on %s: ", t->name, be->name);
			cords_params_free(ps);
			return NULL;
		}
	}
	return ps;
}

void cords_params_free(cords_params *ps)
{
	if (!ps)
		return;
	for (int i = 0; i < ps->n; i++) {
		ps->be->free(ps->be, ps->p[i]);
		ps->be->free(ps->be, ps->g[i]);
	}
	free(ps->t);
	free(ps->p);
	free(ps->g);
	free(ps->stale);
	free(ps);
}

static int find(const cords_params *ps, const char *name)
{
	for (int i = 0; i < ps->n; i++)
		if (!strcmp(ps->t[i]->name, name))
			return i;
	return -1;
}

cords_buf *cords_params_buf(const cords_params *ps, const char *name)
{
	int i = find(ps, name);
	if (i < 0)
		cords_err("parameters lack float tensor %s", name);
	return i < 0 ? NULL : ps->p[i];
}

cords_buf *cords_params_grad(const cords_params *ps, const char *name)
{
	int i = find(ps, name);
	return i < 0 ? NULL : ps->g[i];
}

static void wn_names(const char *base, char *gn, char *vn, size_t n)
{
	snprintf(gn, n, "%s.parametrizations.weight.original0", base);
	snprintf(vn, n, "%s.parametrizations.weight.original1", base);
}

int cords_params_wnorm(const cords_params *ps, const char *base, cords_buf *w)
{
	char gn[CORDS_NAME_MAX + 1], vn[CORDS_NAME_MAX + 1];
	wn_names(base, gn, vn, sizeof gn);
	const cords_buf *g = cords_params_buf(ps, gn), *v = cords_params_buf(ps, vn);
	return g && v ? ps->be->wnorm(ps->be, g, v, w) : -1;
}

int cords_params_wnorm_bwd(cords_params *ps, const char *base, const cords_buf *dw)
{
	char gn[CORDS_NAME_MAX + 1], vn[CORDS_NAME_MAX + 1];
	wn_names(base, gn, vn, sizeof gn);
	const cords_buf *g = cords_params_buf(ps, gn), *v = cords_params_buf(ps, vn);
	cords_buf *dg = cords_params_grad(ps, gn), *dv = cords_params_grad(ps, vn);
	if (!g || !v)
		return -1;
	if (!dg != !dv)
		return cords_err("%s: g and v must be trained together", base);
	return dg ? ps->be->wnorm_bwd(ps->be, g, v, dw, dg, dv) : 0;
}

static int pull(cords_params *ps, int i)
{
	if (!ps->stale[i])
		return 0;
	if (ps->be->download(ps->be, ps->p[i], ps->t[i]->data))
		return cords_err_prefix("parameter %s: ", ps->t[i]->name);
	ps->stale[i] = 0;
	return 0;
}

int cords_params_changed(cords_params *ps, const char *name)
{
	int i = find(ps, name);
	if (i < 0 || ps->t[i]->dtype != CORDS_F32)
		return cords_err("parameters lack f32 tensor %s", name);
	ps->stale[i] = 1;
	return 0;
}

void cords_params_changed_trained(cords_params *ps)
{
	for (int i = 0; i < ps->n; i++)
		ps->stale[i] |= ps->g[i] != NULL;
}

int cords_params_pull(cords_params *ps)
{
	for (int i = 0; i < ps->n; i++)
		if (pull(ps, i))
			return -1;
	return 0;
}

int cords_params_push(cords_params *ps)
{
	for (int i = 0; i < ps->n; i++) {
		if (upload(ps, i))
			return cords_err_prefix("parameter %s: ", ps->t[i]->name);
		ps->stale[i] = 0;
	}
	return 0;
}
