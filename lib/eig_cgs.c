/* Gram-Schmidt of one vector against an orthonormal basis, with BLAS:
 * classical Gram-Schmidt twice (CGS2), or the second pass only when the
 * first cancelled (the DGKS test, ||w'|| < ||w|| / sqrt(2)).
 *
 * The basis is large (k vectors of n doubles, hundreds of MB), so the cost is
 * reading it from memory. A plain CGS2 reads V four times per step (dot,
 * update, dot, update). Here the first update and the second dot run block
 * by block over rows: the block of V the update brings into cache is reused
 * at once by the dot, so V is read three times (twice when DGKS skips the
 * second update). */
#include "eig.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows per block: a block of a 300-vector basis is 4096 * 300 * 8 = 9.8 MB,
 * small enough to stay in a shared last-level cache between the two calls. */
#define CGS_ROWS 4096

double cords_cgs2(int64_t n, int j, const double *V, double *w, double *h, int always, int *passes)
{
	*passes = 1;
	if (j <= 0)
		return cblas_dnrm2((int)n, w, 1);
	double h2s[512], *h2 = j <= 512 ? h2s : malloc((size_t)j * sizeof *h2);
	if (!h2)
		return -1;
	double nw = cblas_dnrm2((int)n, w, 1), nw1sq = 0;
	cblas_dgemv(CblasColMajor, CblasTrans, (int)n, j, 1.0, V, (int)n, w, 1, 0.0, h, 1);
	memset(h2, 0, (size_t)j * sizeof *h2);
	for (int64_t b = 0; b < n; b += CGS_ROWS) {
		int m = (int)(n - b < CGS_ROWS ? n - b : CGS_ROWS);
		cblas_dgemv(CblasColMajor, CblasNoTrans, m, j, -1.0, V + b, (int)n, h, 1, 1.0, w + b, 1);
		cblas_dgemv(CblasColMajor, CblasTrans, m, j, 1.0, V + b, (int)n, w + b, 1, 1.0, h2, 1);
		nw1sq += cblas_ddot(m, w + b, 1, w + b, 1);
	}
	double nw1 = sqrt(nw1sq);
	if (!always && nw1 > nw * M_SQRT1_2) {
		if (h2 != h2s)
			free(h2);
		return nw1;
	}
	cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, j, -1.0, V, (int)n, h2, 1, 1.0, w, 1);
	for (int i = 0; i < j; i++)
		h[i] += h2[i];
	*passes = 2;
	if (h2 != h2s)
		free(h2);
	return cblas_dnrm2((int)n, w, 1);
}
