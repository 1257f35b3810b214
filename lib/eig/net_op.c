/* The one-step Jacobian of CordsNet, per area and whole (see net_op.h). */
#include "net_op.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WN ".parametrizations.weight.original"

double cords_phi_deriv(cords_phi phi, double z)
{
	switch (phi.kind) {
	case CORDS_PHI_RELU: return z > 0 ? 1.0 : 0.0;
	case CORDS_PHI_IDENTITY: return 1.0;
	default: return z > 0 ? 1.0 : phi.slope;
	}
}

/* g and v of a weight-normalised parameter "base". */
static int find_gv(const cords_tensor_list *params, const char *base, cords_tensor **g, cords_tensor **v)
{
	char n0[160], n1[160];
	snprintf(n0, sizeof n0, "%s" WN "0", base);
	snprintf(n1, sizeof n1, "%s" WN "1", base);
	*g = cords_list_find(params, n0);
	*v = cords_list_find(params, n1);
	if (!*g || !*v)
		return cords_err("model has no %s", *g ? n1 : n0);
	return 0;
}

static int check_area(const cords_arch *a, int area)
{
	if (area < 0 || area >= a->depth)
		return cords_err("area %d out of range: the model (R%d) has areas 0..%d", area, a->depth, a->depth - 1);
	return 0;
}

int cords_area_conv_op(const cords_tensor_list *params, const cords_arch *a, int area, cords_conv_op *op)
{
	char base[64];
	cords_tensor *g, *v;
	memset(op, 0, sizeof *op);
	if (check_area(a, area))
		return -1;
	snprintf(base, sizeof base, "area_conv.%d", area);
	if (find_gv(params, base, &g, &v) || cords_conv_op_init(op, g, v, a->h[area], a->w[area]))
		return -1;
	if (op->c != a->c[area]) {
		cords_conv_op_free(op);
		return cords_err("%s: %d channels, the architecture says %d", v->name, op->c, a->c[area]);
	}
	return 0;
}

static double *phi_mask(cords_phi phi, const float *z, int64_t n)
{
	double *d = malloc((size_t)n * sizeof *d);
	for (int64_t k = 0; d && k < n; k++)
		d[k] = cords_phi_deriv(phi, z[k]);
	return d;
}

int cords_area_jacobian_op(const cords_tensor_list *params, const cords_arch *a, int area, double alpha,
			   cords_phi phi, const cords_eig_state *st, cords_conv_op *op)
{
	if (cords_area_conv_op(params, a, area, op))
		return -1;
	op->a = 1 - alpha;
	op->b = alpha;
	if (!(op->d = phi_mask(phi, st->z[area], st->n[area]))) {
		cords_conv_op_free(op);
		return cords_err("out of memory");
	}
	return 0;
}

void cords_net_op_free(cords_net_op *op)
{
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		cords_conv_op_free(&op->rec[i]);
		cords_dconv_free(&op->ff[i]);
		free(op->dphi[i]);
		free(op->drelu[i]);
	}
	for (int k = 0; k < 3; k++)
		cords_dconv_free(&op->skip[k]);
	memset(op, 0, sizeof *op);
}

static int init_area(cords_net_op *op, const cords_tensor_list *params, const cords_arch *a, cords_phi phi,
		     const cords_eig_state *st, int i)
{
	char base[64];
	cords_tensor *g, *v;
	const cords_feed f = op->feed[i] = cords_arch_feed(a, i);
	if (cords_area_conv_op(params, a, i, &op->rec[i]))
		return -1;
	if (f.kind != CORDS_FEED_STEM) { /* p is fixed: A_0 drops out */
		snprintf(base, sizeof base, "area_area.%d", i);
		if (find_gv(params, base, &g, &v) ||
		    cords_dconv_init(&op->ff[i], g, v, a->stride[i], 1, a->h[f.prev], a->w[f.prev]))
			return -1;
	}
	if (f.kind == CORDS_FEED_SKIP) {
		snprintf(base, sizeof base, "skip_area.%d", f.skip);
		if (find_gv(params, base, &g, &v) ||
		    cords_dconv_init(&op->skip[f.skip], g, v, 2, 0, a->h[f.side], a->w[f.side]))
			return -1;
	}
	int64_t n = op->off[i + 1] - op->off[i];
	if (st->n[i] != n)
		return cords_err("state of area %d has %lld values, want %lld", i, (long long)st->n[i], (long long)n);
	op->dphi[i] = phi_mask(phi, st->z[i], n);
	op->drelu[i] = phi_mask((cords_phi){CORDS_PHI_RELU, 0}, st->r[i], n);
	if (!op->dphi[i] || !op->drelu[i])
		return cords_err("out of memory");
	return 0;
}

int cords_net_op_init(cords_net_op *op, const cords_tensor_list *params, const cords_arch *a, double alpha,
		      cords_phi phi, const cords_eig_state *st)
{
	memset(op, 0, sizeof *op);
	op->depth = a->depth;
	op->alpha = alpha;
	for (int i = 0; i < a->depth; i++)
		op->off[i + 1] = op->off[i] + (int64_t)a->c[i] * a->h[i] * a->w[i];
	for (int i = 0; i < a->depth; i++)
		if (init_area(op, params, a, phi, st, i)) {
			cords_net_op_free(op);
			return -1;
		}
	return 0;
}

/* du_i into u (channels cin_i on area i-1's map), see net_op.h; not area 0. */
static int input_deriv(const cords_net_op *op, int i, const double *x, double *u, double *tmp)
{
	const cords_feed f = op->feed[i];
	int64_t n1 = op->off[f.prev + 1] - op->off[f.prev];
	const double *x1 = x + op->off[f.prev], *m1 = op->drelu[f.prev];
	for (int64_t k = 0; k < n1; k++)
		u[k] = m1[k] * x1[k];
	if (f.side < 0) /* inp_skip(p) is fixed */
		return 0;
	int64_t n2 = op->off[f.side + 1] - op->off[f.side];
	const double *x2 = x + op->off[f.side], *m2 = op->drelu[f.side];
	if (f.kind == CORDS_FEED_SAME) {
		for (int64_t k = 0; k < n1 && k < n2; k++)
			u[k] += m2[k] * x2[k];
		return 0;
	}
	for (int64_t k = 0; k < n2; k++)
		tmp[k] = m2[k] * x2[k];
	return cords_dconv_apply(&op->skip[f.skip], tmp, 1.0, u);
}

int cords_net_op_apply(void *ctx, const double *x, double *y)
{
	const cords_net_op *op = ctx;
	int64_t big = 0;
	for (int i = 0; i < op->depth; i++)
		big = op->off[i + 1] - op->off[i] > big ? op->off[i + 1] - op->off[i] : big;
	double *u = malloc((size_t)big * sizeof *u), *tmp = malloc((size_t)big * sizeof *tmp);
	double *t = malloc((size_t)big * sizeof *t);
	int rc = !u || !tmp || !t ? cords_err("out of memory") : 0;
	for (int i = 0; !rc && i < op->depth; i++) {
		int64_t n = op->off[i + 1] - op->off[i];
		const double *xi = x + op->off[i];
		double *yi = y + op->off[i];
		rc = cords_conv_op_apply((void *)&op->rec[i], xi, t);
		if (!rc && op->feed[i].kind != CORDS_FEED_STEM)
			rc = input_deriv(op, i, x, u, tmp) || cords_dconv_apply(&op->ff[i], u, 1.0, t);
		for (int64_t k = 0; !rc && k < n; k++)
			yi[k] = (1 - op->alpha) * xi[k] + op->alpha * op->dphi[i][k] * t[k];
	}
	free(u);
	free(tmp);
	free(t);
	return rc ? -1 : 0;
}
