/* Fixed points of the one-step map (eig_state.h): Newton's method with
 * the linear systems solved by GMRES on the network Jacobian's products
 * (net_op.h), orthogonalised as Arnoldi's basis is (cords_cgs2). */
#include "eig.h"
#include "eig_state.h"
#include "err.h"
#include "net_op.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cords_fixed_opts_default(cords_fixed_opts *o)
{
	*o = (cords_fixed_opts){.tol = 1e-6, .maxit = 50, .krylov = 40, .maxprod = 1000};
}

/* (J - I) x, J the network Jacobian. */
typedef struct {
	cords_net_op net;
} shifted;

static int shifted_apply(void *ctx, const double *x, double *y)
{
	shifted *s = ctx;
	if (cords_net_op_apply(&s->net, x, y))
		return -1;
	cblas_daxpy((int)s->net.off[s->net.depth], -1.0, x, 1, y, 1);
	return 0;
}

/* x = A^-1 b to ||b - A x|| <= rtol ||b|| by GMRES(m) from x = 0, with at
 * most maxprod products counted in *products (then x is the best found). */
static int gmres(const cords_linop *A, const double *b, double *x, int m, int maxprod, double rtol, int *products)
{
	int64_t n = A->n;
	cords_basis B = {0};
	double *H = calloc((size_t)(m + 1) * m + 4 * (size_t)(m + 1), sizeof *H);
	double *cs = H + (size_t)(m + 1) * m, *sn = cs + m + 1, *g = sn + m + 1, *y = g + m + 1;
	double *w = malloc((size_t)n * sizeof *w), *v = malloc((size_t)n * sizeof *v);
	int rc = -1;
	if (!H || !w || !v || cords_basis_init(&B, n, m + 1, 0)) {
		cords_err("GMRES: out of memory");
		goto out;
	}
	double bn = cblas_dnrm2((int)n, b, 1);
	memset(x, 0, (size_t)n * sizeof *x);
	memcpy(w, b, (size_t)n * sizeof *w);
	double beta = bn;
	while (beta > rtol * bn && *products < maxprod) {
		memset(H, 0, (size_t)(m + 1) * m * sizeof *H);
		memset(g, 0, (size_t)(m + 1) * sizeof *g);
		g[0] = beta;
		for (int64_t i = 0; i < n; i++)
			v[i] = w[i] / beta;
		if (cords_basis_set(&B, 0, v))
			goto out;
		int j = 0;
		while (j < m && *products < maxprod) {
			double *h = H + (size_t)j * (m + 1);
			if (cords_linop_apply(A, v, w))
				goto out;
			++*products;
			int passes;
			double hn = cords_cgs2(&B, j + 1, w, h, 1, &passes);
			if (hn < 0) {
				cords_err("GMRES: out of memory");
				goto out;
			}
			if (!isfinite(hn)) {
				cords_err("GMRES: the Jacobian product is not finite");
				goto out;
			}
			h[j + 1] = hn;
			for (int i = 0; i < j; i++) { /* the rotations so far */
				double a = cs[i] * h[i] + sn[i] * h[i + 1];
				h[i + 1] = -sn[i] * h[i] + cs[i] * h[i + 1];
				h[i] = a;
			}
			double d = hypot(h[j], h[j + 1]);
			cs[j] = d > 0 ? h[j] / d : 1;
			sn[j] = d > 0 ? h[j + 1] / d : 0;
			h[j] = d;
			h[j + 1] = 0;
			g[j + 1] = -sn[j] * g[j];
			g[j] *= cs[j];
			j++;
			if (fabs(g[j]) <= rtol * bn || hn <= 1e-14 * d)
				break; /* solved (or the space is invariant: solved too) */
			for (int64_t i = 0; i < n; i++)
				v[i] = w[i] / hn;
			if (j < m && cords_basis_set(&B, j, v))
				goto out;
		}
		for (int i = j - 1; i >= 0; i--) { /* H y = g, upper triangular */
			double s = g[i];
			for (int c = i + 1; c < j; c++)
				s -= H[(size_t)c * (m + 1) + i] * y[c];
			y[i] = s / H[(size_t)i * (m + 1) + i];
		}
		for (int i = 0; i < j; i++) {
			if (cords_basis_get(&B, i, v))
				goto out;
			cblas_daxpy((int)n, y[i], v, 1, x, 1);
		}
		/* the true residual for the restart (the recurrence's drifts) */
		if (cords_linop_apply(A, x, w))
			goto out;
		++*products;
		for (int64_t i = 0; i < n; i++)
			w[i] = b[i] - w[i];
		double nb = cblas_dnrm2((int)n, w, 1);
		if (!(nb < beta)) /* no progress in a whole cycle */
			break;
		beta = nb;
	}
	rc = 0;
out:
	cords_basis_free(&B);
	free(H);
	free(w);
	free(v);
	return rc;
}

static double norm(int64_t n, const double *x)
{
	return cblas_dnrm2((int)n, x, 1);
}

/* G = F(r) - r; returns ||G|| (-1 on error). */
static double residual(cords_stepmap *f, const double *r, double *G, int *maps)
{
	if (cords_stepmap_apply(f, r, G, NULL))
		return -1;
	++*maps;
	for (int64_t k = 0; k < f->total; k++)
		G[k] -= (float)r[k]; /* the state F saw */
	return norm(f->total, G);
}

int cords_fixed_point(cords_stepmap *f, const cords_tensor_list *params, double *r, const cords_fixed_opts *o,
		      cords_fixed_result *res)
{
	int64_t n = f->total;
	const cords_model *m = f->m;
	memset(res, 0, sizeof *res);
	double *G = malloc((size_t)n * sizeof *G), *d = malloc((size_t)n * sizeof *d);
	double *r1 = malloc((size_t)n * sizeof *r1), *G1 = malloc((size_t)n * sizeof *G1);
	double *r0 = malloc((size_t)n * sizeof *r0);
	shifted J = {0};
	int rc = -1;
	if (!G || !d || !r1 || !G1 || !r0) {
		cords_err("out of memory");
		goto out;
	}
	for (int64_t k = 0; k < n; k++)
		r[k] = r0[k] = (float)r[k];
	double g = residual(f, r, G, &res->maps), rn = norm(n, r);
	if (g < 0)
		goto out;
	res->resid0 = rn > 0 ? g / rn : g;
	res->resid = res->resid0;
	while (!(res->converged = res->resid <= o->tol) && res->steps < o->maxit) {
		cords_eig_state st;
		if (cords_eig_state_at(f, r, &st))
			goto out;
		int bad = cords_net_op_init(&J.net, params, &m->arch, m->dyn.alpha, m->dyn.phi, &st);
		cords_eig_state_free(&st);
		if (bad)
			goto out;
		cords_linop A = {n, shifted_apply, &J};
		for (int64_t k = 0; k < n; k++)
			G[k] = -G[k];
		/* a solve as exact as the residual it serves: loose far from r*,
		 * tight near it (the forcing term of inexact Newton) */
		double eta = fmin(0.1, fmax(1e-6, res->resid));
		if (gmres(&A, G, d, o->krylov, res->products + o->maxprod, eta, &res->products))
			goto out;
		cords_net_op_free(&J.net);
		res->steps++;
		/* backtrack until ||G|| falls enough */
		double lam = 1, g1 = -1;
		int ok = 0;
		for (int tries = 0; tries < 12 && !ok; tries++, lam /= 2) {
			for (int64_t k = 0; k < n; k++)
				r1[k] = (float)(r[k] + lam * d[k]);
			if ((g1 = residual(f, r1, G1, &res->maps)) < 0)
				goto out;
			ok = g1 <= (1 - 1e-4 * lam) * g;
		}
		if (!ok) {
			res->stalled = 1;
			break;
		}
		memcpy(r, r1, (size_t)n * sizeof *r);
		memcpy(G, G1, (size_t)n * sizeof *G);
		g = g1;
		rn = norm(n, r);
		res->resid = rn > 0 ? g / rn : g;
	}
	res->converged = res->resid <= o->tol;
	for (int64_t k = 0; k < n; k++)
		r0[k] -= r[k];
	double n0 = norm(n, r0);
	for (int64_t k = 0; k < n; k++)
		r0[k] += r[k];
	double rn0 = norm(n, r0);
	res->dist = rn0 > 0 ? n0 / rn0 : n0;
	rc = 0;
out:
	cords_net_op_free(&J.net);
	free(G);
	free(d);
	free(r1);
	free(G1);
	free(r0);
	return rc;
}
