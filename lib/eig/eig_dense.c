/* The ground truth for small operators: the n x n matrix, column i = A e_i,
 * and LAPACK dgeev. O(n^2) memory and O(n^3) time, hence the limit. */
#include "eig.h"
#include "err.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int build_matrix(const cords_linop *A, double *M)
{
	int64_t n = A->n;
	double *e = calloc((size_t)n, sizeof *e);
	if (!e)
		return cords_err("out of memory");
	for (int64_t i = 0; i < n; i++) {
		e[i] = 1;
		if (cords_linop_apply(A, e, M + (size_t)i * n)) {
			free(e);
			return -1;
		}
		e[i] = 0;
	}
	free(e);
	return 0;
}

int cords_dense_eig(const cords_linop *A, int64_t max_n, double *re, double *im, double *vec)
{
	int64_t n = A->n;
	if (n < 1)
		return cords_err("dense eigenvalues: empty operator");
	if (n > max_n)
		return cords_err("dense eigenvalues of a %lld-unknown operator refused: the limit is %lld "
				 "(an n x n matrix and O(n^3) work); use the Arnoldi method",
				 (long long)n, (long long)max_n);
	size_t nn = (size_t)n * (size_t)n;
	double *M = malloc(nn * sizeof *M), *VR = vec ? malloc(nn * sizeof *VR) : NULL;
	double *idx = malloc((size_t)n * sizeof *idx);
	int rc = -1;
	if (!M || !idx || (vec && !VR)) {
		cords_err("dense eigenvalues: out of memory for a %lld x %lld matrix", (long long)n, (long long)n);
		goto out;
	}
	if (build_matrix(A, M))
		goto out;
	lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', vec ? 'V' : 'N', (lapack_int)n, M, (lapack_int)n,
					re, im, NULL, 1, VR, (lapack_int)n);
	if (info) {
		cords_err("LAPACK dgeev failed (info %d)", (int)info);
		goto out;
	}
	for (int64_t i = 0; i < n; i++)
		idx[i] = (double)i;
	cords_eig_sort((int)n, re, im, idx);
	if (vec) {
		/* for a pair, geev stores re in column j and im in j+1 (j the one with im > 0) */
		int64_t j = (int64_t)idx[0];
		if (im[0] < 0)
			j--;
		memcpy(vec, VR + (size_t)j * n, (size_t)n * sizeof *vec);
		double s = cblas_dnrm2((int)n, vec, 1);
		if (s > 0)
			cblas_dscal((int)n, 1.0 / s, vec, 1);
		cords_vec_fix_sign(n, vec);
	}
	rc = 0;
out:
	free(M);
	free(VR);
	free(idx);
	return rc;
}
