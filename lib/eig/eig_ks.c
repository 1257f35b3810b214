/* Restarted Arnoldi (lib/eig/eig.h, nev > 0): Krylov–Schur (G. W. Stewart,
 * SIAM J. Matrix Anal. Appl. 23, 2001), the subspaces of ARPACK's implicit
 * restarts with exact shifts. The relation is kept as A V_m = V_m S_m + v_{m+1} s^T with S_m
 * upper Hessenberg after its first p columns. Once the basis holds m vectors,
 * S_m goes to Schur form T = Z^T S_m Z, the p Ritz values of largest modulus
 * are moved to its leading block (dtrsen), and V_p = V_m Z[:, :p], S_p =
 * T[:p, :p], s^T = s^T Z[:, :p], v_{p+1} = v_{m+1}: a Krylov–Schur relation
 * of p vectors, extended by Arnoldi steps to m again. Memory is the basis of
 * m + 1 vectors; the work per restart is m - p products. */
#include "eig_krylov.h"
#include "err.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* How many of the nev Ritz values of largest modulus pass the test; idx
 * (as cords_eig_top) leads with them. */
static int wanted_converged(const cords_arnoldi_result *r, int m, int nev, int *idx)
{
	int conv = 0;
	cords_eig_top(m, r->re, r->im, nev, idx);
	for (int i = 0; i < nev; i++)
		conv += cords_ritz_converged(r, idx[i]);
	return conv;
}

/* The wanted Ritz pairs' residuals computed instead of estimated: x = V y
 * from the basis and ||A x - theta x|| / ||x|| (a pair's real and imaginary
 * parts together). The estimates come from the Krylov relation, which after
 * many restarts holds only up to rounding; a converged value is then one the
 * operator confirms. One product a real value, two a pair. */
static int verify(cords_krylov *x, int m, const double *T, const double *Z, const int *idx, int nev)
{
	int64_t n = x->A->n;
	cords_arnoldi_result *r = x->r;
	size_t mm = (size_t)m * m;
	double *X = malloc(2 * mm * sizeof *X), *Tc = X + mm;
	double *buf = malloc(4 * (size_t)n * sizeof *buf), *xr = buf, *xi = xr + n, *ar = xi + n, *ai = ar + n;
	char *done = calloc((size_t)m, 1);
	int rc = -1;
	lapack_int got = 0;
	if (!X || !buf || !done) {
		cords_err("out of memory");
		goto out;
	}
	memcpy(X, Z, mm * sizeof *X);
	memcpy(Tc, T, mm * sizeof *X);
	if (LAPACKE_dtrevc(LAPACK_COL_MAJOR, 'R', 'B', NULL, m, Tc, m, NULL, 1, X, m, m, &got)) {
		cords_err("LAPACK dtrevc failed");
		goto out;
	}
	for (int w = 0; w < nev; w++) {
		int i = idx[w], pair = r->im[i] != 0, c0 = pair && r->im[i] < 0 ? i - 1 : i;
		if (done[c0])
			continue;
		done[c0] = 1;
		const double *yr = X + (size_t)c0 * m, *yi = pair ? yr + m : NULL;
		double a = r->re[c0], b = r->im[c0], t0 = omp_get_wtime();
		memset(xr, 0, 2 * (size_t)n * sizeof *xr);
		for (int c = 0; c < m; c++) {
			if (cords_basis_get(&x->B, c, x->w))
				goto out;
			cblas_daxpy((int)n, yr[c], x->w, 1, xr, 1);
			if (pair)
				cblas_daxpy((int)n, yi[c], x->w, 1, xi, 1);
		}
		double t1 = omp_get_wtime();
		if (cords_linop_apply(x->A, xr, ar) || (pair && cords_linop_apply(x->A, xi, ai)))
			goto out;
		r->applies += 1 + pair;
		r->t_apply += omp_get_wtime() - t1;
		double num = 0, den = 0;
		for (int64_t q = 0; q < n; q++) {
			double er = ar[q] - a * xr[q] + (pair ? b * xi[q] : 0), ei = pair ? ai[q] - a * xi[q] - b * xr[q] : 0;
			num += er * er + ei * ei;
			den += xr[q] * xr[q] + (pair ? xi[q] * xi[q] : 0);
		}
		r->resid[c0] = sqrt(num / (den > 0 ? den : 1));
		if (pair)
			r->resid[c0 + 1] = r->resid[c0];
		r->t_orth += t1 - t0;
	}
	rc = 0;
out:
	free(X);
	free(buf);
	free(done);
	return rc;
}

/* Krylov–Schur cycles until the top nev pass the test or max_restarts;
 * then their residuals verified. */
int cords_krylov_schur(cords_krylov *x, int m)
{
	const cords_arnoldi_opts *o = x->o;
	cords_arnoldi_result *r = x->r;
	int nev = o->nev, rc = -1;
	size_t mm = (size_t)m * m;
	double *T = malloc(mm * sizeof *T), *Z = malloc(mm * sizeof *Z), *row = malloc((size_t)m * sizeof *row);
	int *idx = malloc((size_t)m * sizeof *idx);
	if (!T || !Z || !row || !idx) {
		cords_err("Krylov-Schur: out of memory");
		goto out;
	}
	for (int p = 0;;) {
		if (cords_krylov_extend(x, p, m) || cords_krylov_ritz(x, m, T, Z))
			goto out;
		if (x->block > 1)
			cords_krylov_shifts(x, m, r->re, r->im);
		int conv = wanted_converged(r, m, nev, idx);
		r->nwanted_conv = conv;
		if (conv >= nev || r->cycles >= o->max_restarts) {
			if (verify(x, m, T, Z, idx, nev))
				goto out;
			r->nconv = 0;
			for (int i = 0; i < m; i++)
				r->nconv += cords_ritz_converged(r, i);
			r->unconfirmed = conv - wanted_converged(r, m, nev, idx);
			r->nwanted_conv = conv - r->unconfirmed;
			break;
		}
		/* keep the nev wanted, half as many again as have converged (as
		 * ARPACK: the converged ones would otherwise crowd out the space the
		 * rest converge in) and half of what remains (a larger kept space
		 * speeds convergence, a smaller one leaves more new directions per
		 * restart); room for a pair and a new vector at least */
		int keep = nev + conv / 2 + (m - nev - conv / 2) / 2;
		if (keep > m - 3)
			keep = m - 3 > 1 ? m - 3 : 1;
		double t0 = omp_get_wtime();
		int got = cords_schur_keep(m, T, Z, r->re, r->im, keep);
		if (got < 0)
			goto out;
		if (got >= m) {
			cords_err("Krylov-Schur: no room to restart a basis of %d vectors", m);
			goto out;
		}
		for (int c = 0; c < got; c++)
			row[c] = cblas_ddot(m, x->S + m, (int)x->ld, Z + (size_t)c * m, 1);
		r->t_hess += omp_get_wtime() - t0;
		t0 = omp_get_wtime();
		if (cords_basis_restart(&x->B, m, Z, m, got))
			goto out;
		r->t_orth += omp_get_wtime() - t0;
		memset(x->S, 0, x->ld * (size_t)m * sizeof *x->S);
		for (int c = 0; c < got; c++) {
			memcpy(x->S + (size_t)c * x->ld, T + (size_t)c * m, (size_t)got * sizeof *T);
			x->S[(size_t)c * x->ld + got] = row[c];
		}
		r->cycles++;
		p = got;
		if (cords_basis_get(&x->B, p, x->v))
			goto out;
	}
	rc = 0;
out:
	free(T);
	free(Z);
	free(row);
	free(idx);
	return rc;
}

