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
 * the update and the dot product (measured best of 64..1024 on Zen 3). */
#define PANEL_ROWS 512

int cords_basis_init(cords_basis *B, int64_t n, int k)
{
	memset(B, 0, sizeof *B);
	B->n = n;
	B->k = k;
	B->rows = (int)(n < PANEL_ROWS ? n : PANEL_ROWS);
	B->npanels = (int)((n + B->rows - 1) / B->rows);
	size_t bytes = (size_t)B->npanels * B->rows * (size_t)k * sizeof(double);
	B->data = aligned_alloc(64, (bytes + 63) / 64 * 64);
	return B->data ? 0 : -1;
}

void cords_basis_free(cords_basis *B)
{
	free(B->data);
	memset(B, 0, sizeof *B);
}

static inline double *panel(const cords_basis *B, int p)
{
	return B->data + (size_t)p * B->rows * B->k;
}

static inline int panel_rows(const cords_basis *B, int p)
{
	int64_t left = B->n - (int64_t)p * B->rows;
	return (int)(left < B->rows ? left : B->rows);
}

void cords_basis_set(cords_basis *B, int col, const double *x)
{
	for (int p = 0; p < B->npanels; p++)
		memcpy(panel(B, p) + (size_t)col * B->rows, x + (size_t)p * B->rows,
		       (size_t)panel_rows(B, p) * sizeof *x);
}

void cords_basis_get(const cords_basis *B, int col, double *x)
{
	for (int p = 0; p < B->npanels; p++)
		memcpy(x + (size_t)p * B->rows, panel(B, p) + (size_t)col * B->rows,
		       (size_t)panel_rows(B, p) * sizeof *x);
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

/* mode 0: part = [V^T w, |w|^2]; 1: w -= V c, then part = [V^T w, |w|^2];
 * 2: w -= V c, part = [., |w|^2]. */
static void sweep(const cords_basis *B, int j, double *w, const double *c, int mode, double *part, int nt)
{
#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();
		double *my = part + (size_t)t * (j + 1);
		memset(my, 0, (size_t)(j + 1) * sizeof *my);
#pragma omp for schedule(static)
		for (int p = 0; p < B->npanels; p++) {
			const double *P = panel(B, p);
			double *wp = w + (size_t)p * B->rows;
			int m = panel_rows(B, p);
			if (mode >= 1)
				cblas_dgemv(CblasColMajor, CblasNoTrans, m, j, -1.0, P, B->rows, c, 1, 1.0, wp, 1);
			if (mode <= 1)
				cblas_dgemv(CblasColMajor, CblasTrans, m, j, 1.0, P, B->rows, wp, 1, 1.0, my, 1);
			my[j] += cblas_ddot(m, wp, 1, wp, 1);
		}
	}
}

/* One classical Gram-Schmidt pass, w -= V (V^T w): h gets V^T w, the
 * return value ||w||^2 after. Two sweeps over the basis. */
static double cgs_pass(const cords_basis *B, int j, double *w, double *h, double *part, int nt)
{
	double nrm2 = 0;
	sweep(B, j, w, NULL, 0, part, nt);
	reduce(nt, j, part, h, NULL);
	sweep(B, j, w, h, 2, part, nt);
	reduce(nt, j, part, NULL, &nrm2);
	return nrm2;
}

double cords_cgs2(const cords_basis *B, int j, double *w, double *h, int always, int *passes)
{
	/* a thread per 16 panels at least: small bases are not worth waking threads for */
	int nt = omp_get_max_threads(), blas_threads = openblas_get_num_threads();
	if (nt > B->npanels / 16)
		nt = B->npanels / 16 > 1 ? B->npanels / 16 : 1;
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
		sweep(B, j, w, NULL, 0, part, nt);
		reduce(nt, j, part, NULL, &nw12);
	} else if (always) {
		/* dot; update fused with the second dot; update: three reads */
		sweep(B, j, w, NULL, 0, part, nt);
		reduce(nt, j, part, h, NULL);
		sweep(B, j, w, h, 1, part, nt);
		reduce(nt, j, part, h2, NULL);
		sweep(B, j, w, h2, 2, part, nt);
		reduce(nt, j, part, NULL, &nw12);
		*passes = 2;
	} else {
		/* DGKS: one pass (two reads); a second only if it cancelled */
		nw2 = cblas_ddot((int)B->n, w, 1, w, 1);
		nw12 = cgs_pass(B, j, w, h, part, nt);
		if (nw12 <= 0.5 * nw2) {
			nw12 = cgs_pass(B, j, w, h2, part, nt);
			*passes = 2;
		}
	}
	if (*passes == 2)
		for (int i = 0; i < j; i++)
			h[i] += h2[i];
	openblas_set_num_threads(blas_threads);
	free(part);
	free(h2);
	return sqrt(nw12);
}
