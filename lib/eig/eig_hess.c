/* Eigenvalues of the Arnoldi Hessenberg matrix with LAPACK: dhseqr gives the
 * Schur form T = Z^T H Z, dtrevc the eigenvectors of T back-transformed by Z,
 * i.e. those of H. Their last components give the Ritz residual estimates
 * |h_{k+1,k}| * |e_k^T y|. */
#include "eig.h"
#include "err.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double norm_or_one(int k, const double *x)
{
	double s = cblas_dnrm2(k, x, 1);
	return s > 0 ? s : 1;
}

int cords_hessenberg_eig(int k, const double *H, int ldh, double *re, double *im, double *last)
{
	if (k <= 0)
		return 0;
	size_t kk = (size_t)k * (size_t)k;
	double *T = malloc(kk * sizeof *T), *Z = malloc(kk * sizeof *Z);
	lapack_logical *sel = calloc((size_t)k, sizeof *sel);
	int rc = -1;
	if (!T || !Z || !sel) {
		cords_err("out of memory for the %dx%d Hessenberg matrix", k, k);
		goto out;
	}
	for (int c = 0; c < k; c++)
		for (int r = 0; r < k; r++)
			T[(size_t)c * k + r] = r <= c + 1 ? H[(size_t)c * ldh + r] : 0.0;
	lapack_int info = LAPACKE_dhseqr(LAPACK_COL_MAJOR, 'S', 'I', k, 1, k, T, k, re, im, Z, k);
	if (info) {
		cords_err("LAPACK dhseqr failed (info %d): the QR algorithm did not converge", (int)info);
		goto out;
	}
	lapack_int m = 0;
	info = LAPACKE_dtrevc(LAPACK_COL_MAJOR, 'R', 'B', sel, k, T, k, NULL, 1, Z, k, k, &m);
	if (info) {
		cords_err("LAPACK dtrevc failed (info %d)", (int)info);
		goto out;
	}
	for (int i = 0; i < k; i++) {
		const double *x = Z + (size_t)i * k;
		if (im[i] == 0) {
			last[i] = fabs(x[k - 1]) / norm_or_one(k, x);
			continue;
		}
		/* A pair: columns i (real part) and i+1 (imaginary part). */
		const double *y = x + k;
		double nrm = hypot(cblas_dnrm2(k, x, 1), cblas_dnrm2(k, y, 1));
		last[i] = last[i + 1] = hypot(x[k - 1], y[k - 1]) / (nrm > 0 ? nrm : 1);
		i++;
	}
	rc = 0;
out:
	free(T);
	free(Z);
	free(sel);
	return rc;
}
