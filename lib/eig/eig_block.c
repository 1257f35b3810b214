/* Arnoldi in blocks of s products (lib/eig/eig.h, opts.block): s-step
 * Arnoldi with a Newton basis (M. Hoemmen, "Communication-avoiding Krylov
 * subspace methods", 2010, ch. 3). Orthogonalising s vectors at once reads
 * the basis three times for all s; one at a time reads it two or three times
 * for each, and that reading, not the arithmetic, is what a step costs. */
#include "eig_krylov.h"
#include "err.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* The shifts of the next blocks: the first `block` of nv Ritz values in
 * Leja order (each maximises the product of its distances to those before,
 * conjugates counted), a pair taking two places. A Newton basis on points
 * spread over the spectrum stays well conditioned where the powers A^i v
 * would all turn towards the dominant eigenvector. */
void cords_krylov_shifts(cords_krylov *x, int nv, const double *re, const double *im)
{
	char used[4096] = {0};
	int cap = nv < 4096 ? nv : 4096;
	x->nsh = 0;
	for (int got = 0; got < x->block;) {
		int best = -1;
		double bl = -INFINITY;
		for (int i = 0; i < cap; i++) {
			if (used[i] || im[i] < 0)
				continue;
			double l = got ? 0 : hypot(re[i], im[i]);
			for (int t = 0; t < x->nsh && got; t++) {
				l += log(hypot(re[i] - x->sh_re[t], im[i] - x->sh_im[t]) + 1e-300);
				if (x->sh_im[t] > 0)
					l += log(hypot(re[i] - x->sh_re[t], im[i] + x->sh_im[t]) + 1e-300);
			}
			if (l > bl) {
				bl = l;
				best = i;
			}
		}
		if (best < 0)
			break;
		used[best] = 1;
		x->sh_re[x->nsh] = re[best];
		x->sh_im[x->nsh++] = im[best];
		got += im[best] > 0 ? 2 : 1;
	}
}

/* The shifts from the eigenvalues of the j x j Hessenberg quotient (the
 * first steps, before any Ritz values are at hand). */
int cords_krylov_shifts_hessenberg(cords_krylov *x, int j)
{
	double *H = calloc((size_t)j * j + 2 * (size_t)j, sizeof *H), *re = H + (size_t)j * j, *im = re + j;
	if (!H)
		return cords_err("out of memory");
	for (int c = 0; c < j; c++)
		for (int r = 0; r <= c + 1 && r < j; r++)
			H[(size_t)c * j + r] = x->S[(size_t)c * x->ld + r];
	lapack_int info = LAPACKE_dhseqr(LAPACK_COL_MAJOR, 'E', 'N', j, 1, j, H, j, re, im, NULL, 1);
	if (!info)
		cords_krylov_shifts(x, j, re, im);
	free(H);
	return 0; /* no shifts (info != 0) only means one step at a time */
}

/* Y [n, s] = Q R, Q overwriting Y, by Cholesky QR twice; 1 (Y unchanged
 * in rank) if Y is too ill-conditioned for it. G: s x s scratch. */
static int cholqr2(int64_t n, int s, double *Y, double *R, double *G)
{
	for (int pass = 0; pass < 2; pass++) {
		cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, s, (int)n, 1.0, Y, (int)n, 0.0, G, s);
		if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', s, G, s))
			return 1;
		double lo = INFINITY, hi = 0;
		for (int i = 0; i < s; i++) {
			lo = fmin(lo, fabs(G[(size_t)i * s + i]));
			hi = fmax(hi, fabs(G[(size_t)i * s + i]));
			for (int r = i + 1; r < s; r++)
				G[(size_t)i * s + r] = 0;
		}
		if (!(lo > 1e-7 * hi))
			return 1;
		cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, s, 1.0, G, s, Y,
			    (int)n);
		if (pass)
			cblas_dtrmm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, s, s, 1.0, G, s, R, s);
		else
			memcpy(R, G, (size_t)s * s * sizeof *R);
	}
	return 0;
}

/* s Arnoldi steps j .. j+s-1 as one block (s-step Arnoldi, M. Hoemmen,
 * "Communication-avoiding Krylov subspace methods", 2010, ch. 3): the
 * Newton basis y_0 = v_j, y_{c+1} = (A - sigma_c) y_c / nu_c (a pair of
 * shifts a +- ib as two real steps), so A Y_s = Y_{s+1} Bn; Y orthogonalised
 * against the basis at once (block CGS2: three reads of the basis for s
 * products, against two or three for each in cords_krylov_steps()) and within itself
 * (Cholesky QR twice), Y = [V Q] Rh. With Rh's leading part X over V_j and
 * T (upper triangular) over [v_j, Q], A [v_j Q] T = [V Q] Rh Bn - A V_j X,
 * whence the new columns of S: (Rh Bn - [S_j X; 0]) T^-1. The same Krylov
 * space as s single steps: only the rounding differs. Returns 0, 1 where
 * the block is numerically rank deficient (nothing changed: the caller
 * takes single steps), -1 on error. */
int cords_krylov_block(cords_krylov *x, int j, int s)
{
	int64_t n = x->A->n;
	int L = j + 1 + s, rc = -1, b2 = 0;
	double *Y = x->Y, a = 0, bb = 0;
	size_t need = (size_t)(s + 1) * s + (size_t)(j + 1) * s + 2 * (size_t)s * s + (size_t)L * (s + 1) + (size_t)L * s;
	double *Bn = calloc(need, sizeof *Bn), *C = Bn + (size_t)(s + 1) * s, *R = C + (size_t)(j + 1) * s;
	double *G = R + (size_t)s * s, *Rh = G + (size_t)s * s, *M = Rh + (size_t)L * (s + 1);
	if (!Bn)
		return cords_err("out of memory");
	memcpy(Y, x->v, (size_t)n * sizeof *Y);
	for (int c = 0, t = 0; c < s; c++) {
		double *y = Y + (size_t)c * n, *z = y + n, t0 = omp_get_wtime();
		if (cords_linop_apply(x->A, y, z))
			goto out;
		x->r->applies++;
		x->r->t_apply += omp_get_wtime() - t0;
		double nav = cblas_dnrm2((int)n, z, 1);
		if (b2) { /* second half of a pair */
			Bn[(size_t)c * (s + 1) + c] = a;
			Bn[(size_t)c * (s + 1) + c - 1] = -bb / Bn[(size_t)(c - 1) * (s + 1) + c];
			b2 = 0;
		} else {
			a = x->sh_re[t % x->nsh];
			bb = x->sh_im[t % x->nsh];
			t++;
			b2 = bb > 0 && c + 1 < s; /* a pair with no room for its second half: its real part */
			bb *= bb;
			Bn[(size_t)c * (s + 1) + c] = a;
		}
		for (int r = c > 0 ? c - 1 : 0; r <= c; r++) /* the shift, and a pair's coupling */
			if (Bn[(size_t)c * (s + 1) + r] != 0)
				cblas_daxpy((int)n, -Bn[(size_t)c * (s + 1) + r], Y + (size_t)r * n, 1, z, 1);
		double nu = cblas_dnrm2((int)n, z, 1);
		if (!isfinite(nu)) {
			cords_err("Arnoldi: the operator produced a non-finite value at step %d", x->r->applies);
			goto out;
		}
		if (!(nu > 1e-10 * nav)) {
			rc = 1;
			goto out;
		}
		cblas_dscal((int)n, 1 / nu, z, 1);
		Bn[(size_t)c * (s + 1) + c + 1] = nu;
	}
	double t1 = omp_get_wtime();
	int passes;
	if (cords_bcgs2(&x->B, j + 1, Y + n, s, C, x->o->always_reorth, &passes))
		goto out;
	x->r->reorth += passes == 2 ? s : 0;
	if ((rc = cholqr2(n, s, Y + n, R, G)))
		goto out;
	rc = -1;
	/* Rh [L, s+1]: column 0 is e_j (y_0 = v_j), column c >= 1 is [C; R](:, c-1) */
	Rh[j] = 1;
	for (int c = 1; c <= s; c++) {
		memcpy(Rh + (size_t)c * L, C + (size_t)(c - 1) * (j + 1), (size_t)(j + 1) * sizeof *Rh);
		memcpy(Rh + (size_t)c * L + j + 1, R + (size_t)(c - 1) * s, (size_t)s * sizeof *Rh);
	}
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, L, s, s + 1, 1.0, Rh, L, Bn, s + 1, 0.0, M, L);
	if (j > 0)
		cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, j + 1, s, j, -1.0, x->S, (int)x->ld, Rh, L, 1.0, M,
			    L);
	cblas_dtrsm(CblasColMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, L, s, 1.0, Rh + j, L, M, L);
	for (int c = 0; c < s; c++) {
		memcpy(x->S + (size_t)(j + c) * x->ld, M + (size_t)c * L, (size_t)L * sizeof *M);
		if (cords_basis_set(&x->B, j + 1 + c, Y + (size_t)(c + 1) * n))
			goto out;
	}
	memcpy(x->v, Y + (size_t)s * n, (size_t)n * sizeof *Y);
	x->r->t_orth += omp_get_wtime() - t1;
	rc = 0;
out:
	free(Bn);
	return rc;
}

