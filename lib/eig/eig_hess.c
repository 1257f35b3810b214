/* The Rayleigh quotient of Arnoldi and Krylov–Schur with LAPACK: dgees gives
 * the Schur form T = Z^T S Z, dtrevc the eigenvectors of T back-transformed
 * by Z, i.e. those of S; their products with S's last row (the coupling to
 * the next basis vector) are the Ritz residuals. dtrsen reorders the Schur
 * form for a restart. */
#include "eig.h"
#include "err.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cords_schur_ritz(int m, const double *S, int lds, double *T, double *Z, double *re, double *im, double *resid)
{
	if (m <= 0)
		return 0;
	size_t mm = (size_t)m * (size_t)m;
	double *X = malloc(mm * sizeof *X);
	int rc = -1;
	if (!X) {
		cords_err("out of memory for the %dx%d Rayleigh quotient", m, m);
		goto out;
	}
	for (int c = 0; c < m; c++)
		memcpy(T + (size_t)c * m, S + (size_t)c * lds, (size_t)m * sizeof *T);
	lapack_int sdim = 0;
	lapack_int info = LAPACKE_dgees(LAPACK_COL_MAJOR, 'V', 'N', NULL, m, T, m, &sdim, re, im, Z, m);
	if (info) {
		cords_err("LAPACK dgees failed (info %d): the QR algorithm did not converge", (int)info);
		goto out;
	}
	memcpy(X, Z, mm * sizeof *X);
	lapack_int got = 0;
	info = LAPACKE_dtrevc(LAPACK_COL_MAJOR, 'R', 'B', NULL, m, T, m, NULL, 1, X, m, m, &got);
	if (info) {
		cords_err("LAPACK dtrevc failed (info %d)", (int)info);
		goto out;
	}
	const double *row = S + m;
	for (int i = 0; i < m; i++) {
		const double *x = X + (size_t)i * m;
		double nx = cblas_dnrm2(m, x, 1), rx = cblas_ddot(m, row, lds, x, 1);
		if (im[i] == 0) {
			resid[i] = fabs(rx) / (nx > 0 ? nx : 1);
			continue;
		}
		/* a pair: columns i (real part) and i+1 (imaginary part) */
		const double *y = x + m;
		double nrm = hypot(nx, cblas_dnrm2(m, y, 1));
		resid[i] = resid[i + 1] = hypot(rx, cblas_ddot(m, row, lds, y, 1)) / (nrm > 0 ? nrm : 1);
		i++;
	}
	rc = 0;
out:
	free(X);
	return rc;
}

int cords_schur_keep(int m, double *T, double *Z, double *re, double *im, int p)
{
	lapack_logical *sel = calloc((size_t)m, sizeof *sel);
	int *idx = malloc((size_t)m * sizeof *idx);
	double *work = malloc((size_t)m * sizeof *work); /* dtrsen's for job N */
	int rc = -1;
	if (!sel || !idx || !work) {
		cords_err("out of memory");
		goto out;
	}
	/* the p of largest modulus (selecting one of a pair moves both: then p + 1 lead) */
	cords_eig_top(m, re, im, p, idx);
	for (int i = 0; i < p; i++)
		sel[idx[i]] = 1;
	lapack_int got = 0;
	/* the _work form: LAPACKE_dtrsen passes no iwork for job N, and dtrsen
	 * writes its first element anyway */
	double cond_s, cond_sep;
	lapack_int iwork[1];
	lapack_int info = LAPACKE_dtrsen_work(LAPACK_COL_MAJOR, 'N', 'V', sel, m, T, m, Z, m, re, im, &got, &cond_s,
					      &cond_sep, work, m, iwork, 1);
	/* info 1: a swap was too ill-conditioned and refused; T and Z are still an
	 * orthogonal similarity, only fewer wanted values lead: the restart keeps
	 * a valid Krylov–Schur relation either way, if the cut does not split a
	 * 2 x 2 block. */
	if (info < 0) {
		cords_err("LAPACK dtrsen failed (info %d)", (int)info);
		goto out;
	}
	if (got > 0 && got < m && T[(size_t)(got - 1) * m + got] != 0)
		got++;
	rc = (int)got;
out:
	free(sel);
	free(idx);
	free(work);
	return rc;
}
