/* Arnoldi iteration with full re-orthogonalisation (cords-analysis(7)):
 *   A V_k = V_k H_k + h_{k+1,k} v_{k+1} e_k^T,
 * V [n, k] column-major orthonormal, H [k+1, k] upper Hessenberg. The Ritz
 * values (eigenvalues of H_k, by LAPACK) approximate the outer spectrum of
 * A; for a Ritz pair (theta, y) the residual ||A V y - theta V y|| equals
 * |h_{k+1,k}| |e_k^T y| exactly, which is the convergence test.
 * If the Krylov space becomes invariant (h_{j+1,j} ~ 0) the subspace is
 * complete: H gets a zero there and the run continues from a fresh random
 * vector orthogonal to V, so k = n always yields the whole spectrum. */

#include "eig_krylov.h"
#include "err.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void cords_arnoldi_opts_default(cords_arnoldi_opts *o)
{
	*o = (cords_arnoldi_opts){.k = 300, .seed = 1, .tol = 1e-6, .always_reorth = 1, .device = -1, .max_restarts = 1000,
				    .block = 16};
}

void cords_arnoldi_result_free(cords_arnoldi_result *r)
{
	free(r->re);
	free(r->im);
	free(r->resid);
	memset(r, 0, sizeof *r);
}

/* Column j of B: a random unit vector orthogonal to columns 0..j-1 (j < n).
 * w [n] and h [j] are scratch. */
static int fresh_vector(cords_basis *B, int j, double *w, double *h, cords_rng *rng)
{
	int64_t n = B->n;
	for (int tries = 0; tries < 5; tries++) {
		for (int64_t i = 0; i < n; i++)
			w[i] = cords_rng_normal(rng);
		double n0 = cblas_dnrm2((int)n, w, 1);
		int passes;
		double nv = cords_cgs2(B, j, w, h, 1, &passes);
		if (nv < 0)
			return B->dev ? -1 : cords_err("out of memory");
		if (nv > 1e-8 * n0) {
			cblas_dscal((int)n, 1.0 / nv, w, 1);
			return cords_basis_set(B, j, w);
		}
	}
	return cords_err("no vector orthogonal to the Krylov basis found (rank %d of %lld)", j, (long long)n);
}

int cords_ritz_converged(const cords_arnoldi_result *r, int i)
{
	double m = hypot(r->re[i], r->im[i]);
	return r->resid[i] <= r->tol * (m > r->floor ? m : r->floor);
}

/* Arnoldi steps j = from .. to-1, one product at a time, from v (column
 * `from`): column j of S gets the coefficients of A v_j, column j + 1 of
 * the basis the next vector (where the basis has room: not after the last
 * step of k = n). */
int cords_krylov_steps(cords_krylov *x, int from, int to)
{
	int64_t n = x->A->n;
	cords_basis *B = &x->B;
	cords_arnoldi_result *r = x->r;
	for (int j = from; j < to; j++) {
		double *h = x->S + (size_t)j * x->ld, t0 = omp_get_wtime();
		if (cords_linop_apply(x->A, x->v, x->w))
			return -1;
		r->applies++;
		double t1 = omp_get_wtime(), nav = cblas_dnrm2((int)n, x->w, 1);
		int passes;
		double beta = cords_cgs2(B, j + 1, x->w, h, x->o->always_reorth, &passes);
		r->t_apply += t1 - t0;
		if (beta < 0)
			return B->dev ? -1 : cords_err("Arnoldi: out of memory");
		r->reorth += passes == 2;
		if (!isfinite(beta))
			return cords_err("Arnoldi: the operator produced a non-finite value at step %d", r->applies);
		h[j + 1] = beta;
		if (j + 1 < B->k) {
			if (beta <= 1e-12 * nav) {
				h[j + 1] = 0; /* invariant subspace: restart orthogonally */
				r->restarts++;
				if (fresh_vector(B, j + 1, x->w, x->v, &x->rng) || cords_basis_get(B, j + 1, x->v))
					return -1;
			} else {
				for (int64_t i = 0; i < n; i++)
					x->v[i] = x->w[i] / beta;
				if (cords_basis_set(B, j + 1, x->v))
					return -1;
			}
		}
		r->t_orth += omp_get_wtime() - t1;
	}
	return 0;
}


/* Arnoldi steps from .. to-1: by blocks once shifts are known, else (and
 * where a block fails) one at a time. */
int cords_krylov_extend(cords_krylov *x, int from, int to)
{
	for (int j = from; j < to;) {
		if (!x->nsh && x->block > 1 && j >= 2 * x->block && cords_krylov_shifts_hessenberg(x, j))
			return -1;
		int s = to - j < x->block ? to - j : x->block, rc = 1;
		if (x->nsh && s > 1 && j + s < x->B.k && (rc = cords_krylov_block(x, j, s)) < 0)
			return -1;
		if (rc == 1) {
			x->r->block_fallbacks += x->nsh && s > 1 && j + s < x->B.k;
			s = x->nsh && s > 1 ? s : 1;
			if (cords_krylov_steps(x, j, j + s))
				return -1;
		}
		j += s;
	}
	return 0;
}


/* The Ritz values of the m x m quotient, their residuals, Schur form T and
 * vectors Z (for a restart); counts how many pass the test. */
int cords_krylov_ritz(cords_krylov *x, int m, double *T, double *Z)
{
	cords_arnoldi_result *r = x->r;
	double t0 = omp_get_wtime();
	int rc = cords_schur_ritz(m, x->S, (int)x->ld, T, Z, r->re, r->im, r->resid);
	r->t_hess += omp_get_wtime() - t0;
	if (rc)
		return -1;
	r->k = m;
	double top = 0;
	for (int i = 0; i < m; i++)
		top = fmax(top, hypot(r->re[i], r->im[i]));
	r->tol = x->o->tol;
	r->floor = top * pow(2.220446049250313e-16, 2.0 / 3);
	r->nconv = 0;
	for (int i = 0; i < m; i++)
		r->nconv += cords_ritz_converged(r, i);
	return 0;
}


int cords_arnoldi(const cords_linop *A, const cords_arnoldi_opts *o, cords_arnoldi_result *r)
{
	memset(r, 0, sizeof *r);
	int64_t n = A->n;
	if (n < 1 || n > INT_MAX)
		return cords_err("Arnoldi: operator size %lld out of range", (long long)n);
	if (o->k < 1)
		return cords_err("Arnoldi: %d steps", o->k);
	if (o->nev < 0 || (o->nev > 0 && o->nev + 2 > o->k && o->k < n))
		return cords_err("Krylov-Schur: a basis of %d vectors for %d eigenvalues (it needs 2 more at least)",
				 o->k, o->nev);
	/* a basis as large as the space: plain Arnoldi gives every eigenvalue, no restart needed */
	int k = o->k < n ? o->k : (int)n, restarted = o->nev > 0 && k < n;
	int cols = k < n ? k + 1 : k;
	cords_krylov x = {.A = A, .o = o, .r = r, .ld = (size_t)k + 1};
	/* not on an f32 basis: a block's new columns of S are divided by its
	 * triangular factor, so the error of its single-precision products would
	 * grow by that factor's condition number (1e-4 where steps keep 1e-7) */
	x.block = o->basis_f32 || o->block < 1 ? 1 : o->block < CORDS_MAX_BLOCK ? o->block : CORDS_MAX_BLOCK;
	if (x.block > 1)
		x.Y = malloc((size_t)n * (x.block + 1) * sizeof *x.Y);
	size_t kk = (size_t)k * k;
	x.v = malloc((size_t)n * sizeof *x.v);
	x.w = malloc((size_t)n * sizeof *x.w);
	x.S = calloc(x.ld * (size_t)k, sizeof *x.S);
	r->re = malloc((size_t)k * sizeof(double));
	r->im = malloc((size_t)k * sizeof(double));
	r->resid = malloc((size_t)k * sizeof(double));
	double *T = restarted ? NULL : malloc(kk * sizeof *T), *Z = restarted ? NULL : malloc(kk * sizeof *Z);
	int rc = -1;
	cords_rng_seed(&x.rng, o->seed);
	if (o->device >= 0 ? cords_basis_init_cuda(&x.B, n, cols, o->device)
			   : cords_basis_init(&x.B, n, cols, o->basis_f32)) {
		if (o->device < 0)
			cords_err("Arnoldi: out of memory for a %d x %lld basis (%.0f MB)", cols, (long long)n,
				  (o->basis_f32 ? 4e-6 : 8e-6) * cols * (double)n);
		goto out;
	}
	if (!x.v || !x.w || !x.S || (x.block > 1 && !x.Y) || !r->re || !r->im || !r->resid || (!restarted && (!T || !Z))) {
		cords_err("Arnoldi: out of memory");
		goto out;
	}
	r->basis_bytes = x.B.bytes;
	if (fresh_vector(&x.B, 0, x.w, x.S, &x.rng) || cords_basis_get(&x.B, 0, x.v))
		goto out;
	if (restarted)
		rc = cords_krylov_schur(&x, k);
	else
		rc = cords_krylov_extend(&x, 0, k) || cords_krylov_ritz(&x, k, T, Z) ? -1 : 0;
	if (!rc) {
		cords_eig_sort(r->k, r->re, r->im, r->resid);
		if (!restarted)
			r->nwanted_conv = r->nconv;
	}
out:
	cords_basis_free(&x.B);
	free(x.v);
	free(x.w);
	free(x.S);
	free(x.Y);
	free(T);
	free(Z);
	if (rc)
		cords_arnoldi_result_free(r);
	return rc;
}

