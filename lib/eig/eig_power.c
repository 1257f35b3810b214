/* Power iteration for the dominant eigenpair, several random starts in
 * parallel (OpenMP). Honest about what it finds:
 * - each iterate v (unit), y = A v gives lambda = v.y and the residual
 *   ||y - lambda v||; converged when that is <= tol |lambda|;
 * - the last three Krylov vectors (v_prev, A v_prev, A^2 v_prev) are fitted
 *   by a two-term recurrence A^2 u = a A u + b u, whose roots are the two
 *   outermost eigenvalues once the rest has died out: this gives the gap
 *   |lambda2/lambda1| (the convergence factor per step) and detects a
 *   dominant complex pair or a +-lambda pair, for which plain power
 *   iteration never converges; such a pair is reported with its complex
 *   eigenvector u = A v - conj(mu) v, never as a fake real one;
 * - a run that cannot meet tol within maxit at the fitted gap stops early. */
#include "eig.h"
#include "err.h"
#include "rng.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cords_power_opts_default(cords_power_opts *o)
{
	*o = (cords_power_opts){.trials = 4, .maxit = 10000, .tol = 1e-10, .seed = 1};
}

void cords_power_result_free(cords_power_result *r)
{
	free(r->vec);
	free(r->vec_im);
	memset(r, 0, sizeof *r);
}

#define RATE_SPAN 64

typedef struct {
	double *v, *y, *vp, *yp; /* [n] each: current and previous iterate and image */
	cords_power_result res;
	int failed;
	char err[256];
} trial;

/* Least squares z ~ a y + b v on the Krylov triple; returns the relative
 * residual of the fit and the two roots of x^2 - a x - b. */
static double fit2(int n, const double *v, const double *y, const double *z, double scale_z,
		   double root[4])
{
	double yy = cblas_ddot(n, y, 1, y, 1), yv = cblas_ddot(n, y, 1, v, 1);
	double vv = cblas_ddot(n, v, 1, v, 1);
	double yz = scale_z * cblas_ddot(n, y, 1, z, 1), vz = scale_z * cblas_ddot(n, v, 1, z, 1);
	double zz = scale_z * scale_z * cblas_ddot(n, z, 1, z, 1);
	double det = yy * vv - yv * yv;
	if (!(det > 1e-14 * yy * vv))
		return INFINITY; /* v and A v parallel: the one-term test decides */
	double a = (yz * vv - vz * yv) / det, b = (vz * yy - yz * yv) / det;
	/* ||z - a y - b v||^2 expanded; clamp rounding below zero. */
	double r2 = zz - 2 * a * yz - 2 * b * vz + a * a * yy + 2 * a * b * yv + b * b * vv;
	double disc = a * a + 4 * b;
	if (disc < 0) {
		root[0] = root[2] = a / 2;
		root[1] = sqrt(-disc) / 2;
		root[3] = -root[1];
	} else {
		double s = sqrt(disc), q = a >= 0 ? (a + s) / 2 : (a - s) / 2;
		root[0] = q;
		root[2] = q != 0 ? -b / q : 0;
		root[1] = root[3] = 0;
	}
	return sqrt(r2 > 0 ? r2 : 0) / sqrt(zz > 0 ? zz : 1);
}

/* The complex eigenvector u = yp - conj(mu) vp (unit, phase fixed) of a pair. */
static void pair_vector(int64_t n, trial *t, double mr, double mi)
{
	double *ur = t->res.vec, *ui = t->res.vec_im;
	for (int64_t i = 0; i < n; i++) {
		ur[i] = t->yp[i] - mr * t->vp[i];
		ui[i] = mi * t->vp[i];
	}
	double nr = hypot(cblas_dnrm2((int)n, ur, 1), cblas_dnrm2((int)n, ui, 1));
	int64_t im = 0;
	for (int64_t i = 1; i < n; i++)
		if (hypot(ur[i], ui[i]) > hypot(ur[im], ui[im]))
			im = i;
	/* multiply by conj(u_im)/|u_im| / nr: the largest entry becomes real positive */
	double pr = ur[im], pi = -ui[im], pm = hypot(pr, pi) * nr;
	for (int64_t i = 0; i < n; i++) {
		double a = ur[i], b = ui[i];
		ur[i] = (a * pr - b * pi) / pm;
		ui[i] = (a * pi + b * pr) / pm;
	}
	/* residual ||A u - mu u||: A u = |yp| y - conj(mu) yp (before scaling) */
	double s = cblas_dnrm2((int)n, t->yp, 1), rr = 0;
	for (int64_t i = 0; i < n; i++) {
		double aur = s * t->y[i] - mr * t->yp[i], aui = mi * t->yp[i];
		double uur = t->yp[i] - mr * t->vp[i], uui = mi * t->vp[i];
		double er = aur - (mr * uur - mi * uui), ei = aui - (mr * uui + mi * uur);
		rr += er * er + ei * ei;
	}
	t->res.resid = sqrt(rr) / (nr > 0 ? nr : 1);
}

static int run_trial(const cords_linop *A, const cords_power_opts *o, int id, trial *t)
{
	int64_t n = A->n;
	cords_rng rng;
	cords_rng_split(&rng, o->seed, (uint64_t)id);
	for (int64_t i = 0; i < n; i++)
		t->v[i] = cords_rng_normal(&rng);
	cblas_dscal((int)n, 1.0 / cblas_dnrm2((int)n, t->v, 1), t->v, 1);
	if (cords_linop_apply(A, t->v, t->y))
		return -1;
	cords_power_result *r = &t->res;
	double hist[RATE_SPAN]; /* relative residuals of the last iterations */
	r->gap = r->rate = NAN;
	for (int it = 1; it <= o->maxit; it++) {
		double lam = cblas_ddot((int)n, t->v, 1, t->y, 1), rr = 0;
		for (int64_t i = 0; i < n; i++)
			rr += (t->y[i] - lam * t->v[i]) * (t->y[i] - lam * t->v[i]);
		r->re = lam;
		r->im = 0;
		r->resid = sqrt(rr);
		r->iters = it;
		double rel = r->resid / (fabs(lam) > 0 ? fabs(lam) : 1);
		if (it > RATE_SPAN && hist[it % RATE_SPAN] > 0)
			r->rate = pow(rel / hist[it % RATE_SPAN], 1.0 / RATE_SPAN);
		hist[it % RATE_SPAN] = rel;
		if (r->resid <= o->tol * fabs(lam) || r->resid == 0) {
			r->converged = 1;
			break;
		}
		if (it > 1) {
			double root[4] = {0}, ny = cblas_dnrm2((int)n, t->yp, 1);
			double f = fit2((int)n, t->vp, t->yp, t->y, ny, root);
			double m1 = hypot(root[0], root[1]), m2 = hypot(root[2], root[3]);
			if (f <= o->tol && m1 > 0) {
				r->re2 = root[2];
				r->im2 = root[3];
				r->gap = m2 / m1;
				if (fabs(m1 - m2) <= 1e3 * o->tol * m1) {
					r->pair = 1;
					r->re = root[0];
					r->im = root[1];
					if (root[1] != 0)
						pair_vector(n, t, root[0], root[1]);
					else
						r->resid = NAN;
					r->converged = root[1] != 0;
					break;
				}
				/* iterations still needed at this gap */
				if (r->gap < 1 && log(o->tol) / log(r->gap) > 2.0 * (o->maxit - it) + 10)
					break;
			}
		}
		double ny = cblas_dnrm2((int)n, t->y, 1);
		if (!(ny > 0) || !isfinite(ny)) {
			r->re = 0;
			r->resid = ny;
			r->converged = ny == 0;
			break;
		}
		double *sv = t->vp, *sy = t->yp;
		t->vp = t->v;
		t->yp = t->y;
		t->v = sv;
		t->y = sy;
		for (int64_t i = 0; i < n; i++)
			t->v[i] = t->yp[i] / ny;
		if (cords_linop_apply(A, t->v, t->y))
			return -1;
	}
	if (!r->pair) {
		memcpy(r->vec, t->v, (size_t)n * sizeof(double));
		cords_vec_fix_sign(n, r->vec);
	}
	return 0;
}

static int trial_alloc(trial *t, int64_t n)
{
	size_t b = (size_t)n * sizeof(double);
	t->v = malloc(b);
	t->y = malloc(b);
	t->vp = malloc(b);
	t->yp = malloc(b);
	t->res.vec = malloc(b);
	t->res.vec_im = malloc(b);
	return t->v && t->y && t->vp && t->yp && t->res.vec && t->res.vec_im ? 0 : -1;
}

static void trial_free(trial *t)
{
	free(t->v);
	free(t->y);
	free(t->vp);
	free(t->yp);
	cords_power_result_free(&t->res);
}

static double rel_resid(const cords_power_result *r)
{
	double m = hypot(r->re, r->im);
	return isnan(r->resid) ? INFINITY : r->resid / (m > 0 ? m : 1);
}

/* Best trial: converged first, then smallest relative residual. */
static int better(const cords_power_result *a, const cords_power_result *b)
{
	if (a->converged != b->converged)
		return a->converged > b->converged;
	return rel_resid(a) < rel_resid(b);
}

int cords_power(const cords_linop *A, const cords_power_opts *o, cords_power_result *r)
{
	memset(r, 0, sizeof *r);
	if (A->n < 1 || A->n > 1 << 30 || o->trials < 1 || o->maxit < 1)
		return cords_err("power iteration: bad size or options");
	trial *t = calloc((size_t)o->trials, sizeof *t);
	if (!t)
		return cords_err("out of memory");
	int bad = 0;
	for (int i = 0; i < o->trials; i++)
		bad |= trial_alloc(&t[i], A->n);
	if (bad) {
		for (int i = 0; i < o->trials; i++)
			trial_free(&t[i]);
		free(t);
		return cords_err("power iteration: out of memory for %d trials", o->trials);
	}
#pragma omp parallel for schedule(dynamic, 1)
	for (int i = 0; i < o->trials; i++)
		if (run_trial(A, o, i, &t[i])) {
			t[i].failed = 1;
			snprintf(t[i].err, sizeof t[i].err, "%s", cords_errmsg());
		}
	int best = -1, rc = 0;
	for (int i = 0; i < o->trials; i++) {
		if (t[i].failed) {
			rc = cords_err("power iteration: %s", t[i].err);
			break;
		}
		if (best < 0 || better(&t[i].res, &t[best].res))
			best = i;
	}
	if (!rc) {
		*r = t[best].res;
		double m = hypot(r->re, r->im);
		for (int i = 0; i < o->trials; i++)
			r->trials_agree += hypot(t[i].res.re - r->re, fabs(t[i].res.im) - fabs(r->im)) <=
					   1e3 * o->tol * (m > 0 ? m : 1);
		memset(&t[best].res, 0, sizeof t[best].res);
		if (!r->pair || r->im == 0) {
			free(r->vec_im);
			r->vec_im = NULL;
		}
		if (r->pair && r->im == 0) {
			free(r->vec);
			r->vec = NULL;
		}
	}
	for (int i = 0; i < o->trials; i++)
		trial_free(&t[i]);
	free(t);
	return rc;
}
