/* The Krylov basis and Gram-Schmidt against it (see eig.h).
 *
 * The cost of full re-orthogonalisation is reading the basis from memory:
 * at step j, j vectors of n doubles (300 x 200,704 = 480 MB at the end), for
 * each of the four BLAS-2 sweeps of textbook CGS2 (dot, update, dot, update).
 * Here:
 *  - the basis is stored in row panels, so a sweep reads contiguous memory
 *    and each thread owns whole panels (static schedule: deterministic sums);
 *  - the first update and the second dot product are done panel by panel,
 *    the dot reading the panel the update has just brought into cache:
 *    three trips to memory per step instead of four;
 *  - with the DGKS test a step is one pass (dot, update: two trips) and a
 *    second pass only when the first cancelled.
 * Inside the OpenMP region each BLAS call is single-threaded (OpenBLAS's own
 * threads would fight ours); the previous setting is restored after. */
#include "eig.h"
#include "err.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* 512 rows x 300 columns x 8 bytes = 1.2 MB: a panel stays in cache between
 * the update and the dot product (measured best of 64..1024 on Zen 3); the
 * same bytes (1024 rows) in single precision. */
#define PANEL_BYTES (512 * 8)

int cords_basis_init(cords_basis *B, int64_t n, int k, int f32)
{
	memset(B, 0, sizeof *B);
	B->n = n;
	B->k = k;
	B->f32 = f32;
	B->esize = f32 ? sizeof(float) : sizeof(double);
	int64_t rows = PANEL_BYTES / (int64_t)B->esize;
	B->rows = (int)(n < rows ? n : rows);
	B->npanels = (int)((n + B->rows - 1) / B->rows);
	B->bytes = (size_t)B->npanels * B->rows * (size_t)k * B->esize;
	B->data = aligned_alloc(64, (B->bytes + 63) / 64 * 64);
	return B->data ? 0 : -1;
}

void cords_basis_free(cords_basis *B)
{
	if (B->dev)
		cords_cuda_basis_free(B->dev);
	free(B->data);
	memset(B, 0, sizeof *B);
}

/* Start of column col of panel p. */
static inline void *pcol(const cords_basis *B, int p, int col)
{
	return (char *)B->data + ((size_t)p * B->k + (size_t)col) * B->rows * B->esize;
}

static inline int panel_rows(const cords_basis *B, int p)
{
	int64_t left = B->n - (int64_t)p * B->rows;
	return (int)(left < B->rows ? left : B->rows);
}

int cords_basis_set(cords_basis *B, int col, const double *x)
{
	if (B->dev)
		return cords_cuda_basis_set(B->dev, col, x);
	for (int p = 0; p < B->npanels; p++) {
		const double *xp = x + (size_t)p * B->rows;
		if (B->f32)
			for (int i = 0, m = panel_rows(B, p); i < m; i++)
				((float *)pcol(B, p, col))[i] = (float)xp[i];
		else
			memcpy(pcol(B, p, col), xp, (size_t)panel_rows(B, p) * sizeof *x);
	}
	return 0;
}

int cords_basis_get(const cords_basis *B, int col, double *x)
{
	if (B->dev)
		return cords_cuda_basis_get(B->dev, col, x);
	for (int p = 0; p < B->npanels; p++) {
		double *xp = x + (size_t)p * B->rows;
		if (B->f32)
			for (int i = 0, m = panel_rows(B, p); i < m; i++)
				xp[i] = ((const float *)pcol(B, p, col))[i];
		else
			memcpy(xp, pcol(B, p, col), (size_t)panel_rows(B, p) * sizeof *x);
	}
	return 0;
}

/* Per-thread partial sums [nt][j + 1] (the last slot a squared norm), added
 * in thread order so results do not depend on timing. */
static void reduce(int nt, int j, const double *part, double *h, double *nrm2)
{
	for (int i = 0; i <= j; i++) {
		double s = 0;
		for (int t = 0; t < nt; t++)
			s += part[(size_t)t * (j + 1) + i];
		if (i < j && h)
			h[i] = s;
		else if (nrm2)
			*nrm2 = s;
	}
}

/* A thread per 16 panels at least: small bases are not worth waking threads for. */
static int threads(const cords_basis *B)
{
	int nt = omp_get_max_threads();
	return nt > B->npanels / 16 ? (B->npanels / 16 > 1 ? B->npanels / 16 : 1) : nt;
}

/* One panel in double: mode 0: my += P^T w; 1: w -= P c, then my += P^T w;
 * 2: w -= P c. */
static void panel_f64(const double *P, int ld, int m, int j, double *w, const double *c, int mode, double *my)
{
	if (mode >= 1)
		cblas_dgemv(CblasColMajor, CblasNoTrans, m, j, -1.0, P, ld, c, 1, 1.0, w, 1);
	if (mode <= 1)
		cblas_dgemv(CblasColMajor, CblasTrans, m, j, 1.0, P, ld, w, 1, 1.0, my, 1);
}

/* The same with a single-precision panel: products in float (sgemv, a
 * panel's worth of terms), w and the sums across panels in double.
 * s: scratch of ld + 2 j floats. */
static void panel_f32(const float *P, int ld, int m, int j, double *w, const double *c, int mode, double *my,
		      float *s)
{
	float *wf = s, *cf = s + ld, *hf = cf + j;
	if (mode >= 1) {
		for (int i = 0; i < j; i++)
			cf[i] = (float)c[i];
		cblas_sgemv(CblasColMajor, CblasNoTrans, m, j, 1.0f, P, ld, cf, 1, 0.0f, wf, 1);
		for (int i = 0; i < m; i++)
			w[i] -= wf[i];
	}
	if (mode <= 1) {
		for (int i = 0; i < m; i++)
			wf[i] = (float)w[i];
		cblas_sgemv(CblasColMajor, CblasTrans, m, j, 1.0f, P, ld, wf, 1, 0.0f, hf, 1);
		for (int i = 0; i < j; i++)
			my[i] += hf[i];
	}
}

/* mode 0: part = [V^T w, |w|^2]; 1: w -= V c, then part = [V^T w, |w|^2];
 * 2: w -= V c, part = [., |w|^2]. */
static int sweep(const cords_basis *B, int j, double *w, const double *c, int mode, double *part, int nt)
{
	int bad = 0;
#pragma omp parallel num_threads(nt) reduction(| : bad)
	{
		int t = omp_get_thread_num();
		double *my = part + (size_t)t * (j + 1);
		float *s = B->f32 ? malloc(((size_t)B->rows + 2 * (size_t)j) * sizeof *s) : NULL;
		memset(my, 0, (size_t)(j + 1) * sizeof *my);
		bad = B->f32 && !s;
#pragma omp for schedule(static)
		for (int p = 0; p < B->npanels; p++) {
			double *wp = w + (size_t)p * B->rows;
			int m = panel_rows(B, p);
			if (bad)
				continue;
			if (B->f32)
				panel_f32(pcol(B, p, 0), B->rows, m, j, wp, c, mode, my, s);
			else
				panel_f64(pcol(B, p, 0), B->rows, m, j, wp, c, mode, my);
			my[j] += cblas_ddot(m, wp, 1, wp, 1);
		}
		free(s);
	}
	return bad ? -1 : 0;
}

/* One classical Gram-Schmidt pass, w -= V (V^T w): h gets V^T w, the
 * return value ||w||^2 after. Two sweeps over the basis. */
static double cgs_pass(const cords_basis *B, int j, double *w, double *h, double *part, int nt)
{
	double nrm2 = 0;
	if (sweep(B, j, w, NULL, 0, part, nt))
		return -1;
	reduce(nt, j, part, h, NULL);
	if (sweep(B, j, w, h, 2, part, nt))
		return -1;
	reduce(nt, j, part, NULL, &nrm2);
	return nrm2;
}

double cords_cgs2(const cords_basis *B, int j, double *w, double *h, int always, int *passes)
{
	if (B->dev)
		return cords_cuda_cgs2(B->dev, j, w, h, always, passes);
	int nt = threads(B), blas_threads = openblas_get_num_threads(), rc = 0;
	double *part = malloc((size_t)nt * (j + 1) * sizeof *part);
	double *h2 = malloc((size_t)(j + 1) * sizeof *h2), nw2 = 0, nw12 = 0;
	*passes = 1;
	if (!part || !h2) {
		free(part);
		free(h2);
		return -1;
	}
	openblas_set_num_threads(1);
	if (j == 0) {
		rc = sweep(B, j, w, NULL, 0, part, nt);
		reduce(nt, j, part, NULL, &nw12);
	} else if (always) {
		/* dot; update fused with the second dot; update: three reads */
		rc = sweep(B, j, w, NULL, 0, part, nt);
		reduce(nt, j, part, h, NULL);
		rc |= sweep(B, j, w, h, 1, part, nt);
		reduce(nt, j, part, h2, NULL);
		rc |= sweep(B, j, w, h2, 2, part, nt);
		reduce(nt, j, part, NULL, &nw12);
		*passes = 2;
	} else {
		/* DGKS: one pass (two reads); a second only if it cancelled */
		nw2 = cblas_ddot((int)B->n, w, 1, w, 1);
		nw12 = cgs_pass(B, j, w, h, part, nt);
		if (nw12 >= 0 && nw12 <= 0.5 * nw2) {
			nw12 = cgs_pass(B, j, w, h2, part, nt);
			*passes = 2;
		}
		rc = nw12 < 0;
	}
	if (*passes == 2)
		for (int i = 0; i < j; i++)
			h[i] += h2[i];
	openblas_set_num_threads(blas_threads);
	free(part);
	free(h2);
	return rc ? -1 : sqrt(nw12);
}

/* Each panel P [rows, k]: P[:, :p] = P[:, :m] Q, in a scratch of rows x p
 * per thread (one read of the basis; a dgemm, or sgemm on an f32 basis with
 * Q rounded to single precision), then column m to column p. */
int cords_basis_restart(cords_basis *B, int m, const double *Q, int ldq, int p)
{
	if (B->dev)
		return cords_cuda_basis_restart(B->dev, m, Q, ldq, p);
	int nt = threads(B), blas_threads = openblas_get_num_threads(), bad = 0;
	float *qf = B->f32 ? malloc((size_t)m * p * sizeof *qf) : NULL;
	if (B->f32 && !qf)
		return cords_err("out of memory");
	for (int c = 0; c < p && qf; c++)
		for (int r = 0; r < m; r++)
			qf[(size_t)c * m + r] = (float)Q[(size_t)c * ldq + r];
	openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt) reduction(| : bad)
	{
		void *s = malloc((size_t)B->rows * p * B->esize);
		bad = !s;
#pragma omp for schedule(static)
		for (int i = 0; i < B->npanels; i++) {
			int rows = panel_rows(B, i);
			if (bad)
				continue;
			if (B->f32)
				cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rows, p, m, 1.0f, pcol(B, i, 0),
					    B->rows, qf, m, 0.0f, s, rows);
			else
				cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, rows, p, m, 1.0, pcol(B, i, 0),
					    B->rows, Q, ldq, 0.0, s, rows);
			for (int c = 0; c < p; c++)
				memcpy(pcol(B, i, c), (char *)s + (size_t)c * rows * B->esize, (size_t)rows * B->esize);
			memcpy(pcol(B, i, p), pcol(B, i, m), (size_t)rows * B->esize);
		}
		free(s);
	}
	openblas_set_num_threads(blas_threads);
	free(qf);
	return bad ? cords_err("out of memory") : 0;
}

/* Block panel sweeps: mode 0: my += P^T Y; 1: Y -= P C, then my += P^T Y;
 * 2: Y -= P C. my [j, s] per thread. */
static void bsweep(const cords_basis *B, int j, double *Y, int s, const double *C, int mode, double *part, int nt)
{
#pragma omp parallel num_threads(nt)
	{
		double *my = part + (size_t)omp_get_thread_num() * j * s;
		memset(my, 0, (size_t)j * s * sizeof *my);
#pragma omp for schedule(static)
		for (int p = 0; p < B->npanels; p++) {
			double *Yp = Y + (size_t)p * B->rows;
			const double *P = pcol(B, p, 0);
			int m = panel_rows(B, p);
			if (mode >= 1)
				cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, s, j, -1.0, P, B->rows, C, j,
					    1.0, Yp, (int)B->n);
			if (mode <= 1)
				cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, j, s, m, 1.0, P, B->rows, Yp,
					    (int)B->n, 1.0, my, j);
		}
	}
}

static void bsum(int nt, size_t len, const double *part, double *out)
{
	for (size_t i = 0; i < len; i++) {
		double t = 0;
		for (int th = 0; th < nt; th++)
			t += part[(size_t)th * len + i];
		out[i] = t;
	}
}

/* ||Y_c||^2 of the s columns. */
static void col_norms(int64_t n, int s, const double *Y, double *nrm)
{
	for (int c = 0; c < s; c++)
		nrm[c] = cblas_ddot((int)n, Y + (size_t)c * n, 1, Y + (size_t)c * n, 1);
}

int cords_bcgs2(const cords_basis *B, int j, double *Y, int s, double *C, int always, int *passes)
{
	*passes = 2;
	if (B->dev)
		return cords_cuda_bcgs2(B->dev, j, Y, s, C);
	if (B->f32)
		return cords_err("block Gram-Schmidt: the basis is f64 only");
	size_t len = (size_t)j * s;
	int nt = threads(B), blas_threads = openblas_get_num_threads();
	double *part = malloc((size_t)nt * len * sizeof *part), *C2 = malloc(len * sizeof *C2);
	double nb[CORDS_MAX_BLOCK + 1], na[CORDS_MAX_BLOCK + 1];
	if (!part || !C2 || s > CORDS_MAX_BLOCK + 1) {
		free(part);
		free(C2);
		return cords_err("out of memory");
	}
	openblas_set_num_threads(1);
	if (always) { /* dot; update fused with the second dot; update: three reads */
		bsweep(B, j, Y, s, NULL, 0, part, nt);
		bsum(nt, len, part, C);
		bsweep(B, j, Y, s, C, 1, part, nt);
		bsum(nt, len, part, C2);
		bsweep(B, j, Y, s, C2, 2, part, nt);
	} else { /* DGKS for each column: a second pass only if one cancelled */
		col_norms(B->n, s, Y, nb);
		bsweep(B, j, Y, s, NULL, 0, part, nt);
		bsum(nt, len, part, C);
		bsweep(B, j, Y, s, C, 2, part, nt);
		col_norms(B->n, s, Y, na);
		int again = 0;
		for (int c = 0; c < s; c++)
			again |= !(na[c] > 0.5 * nb[c]);
		memset(C2, 0, len * sizeof *C2);
		if (again) {
			bsweep(B, j, Y, s, NULL, 0, part, nt);
			bsum(nt, len, part, C2);
			bsweep(B, j, Y, s, C2, 2, part, nt);
		}
		*passes = 1 + again;
	}
	openblas_set_num_threads(blas_threads);
	for (size_t i = 0; i < len; i++)
		C[i] += C2[i];
	free(part);
	free(C2);
	return 0;
}
