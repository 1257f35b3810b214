/* Arnoldi iteration with full re-orthogonalisation (cords-analysis(7)):
 *   A V_k = V_k H_k + h_{k+1,k} v_{k+1} e_k^T,
 * V [n, k] column-major orthonormal, H [k+1, k] upper Hessenberg. The Ritz
 * values (eigenvalues of H_k, by LAPACK) approximate the outer spectrum of
 * A; for a Ritz pair (theta, y) the residual ||A V y - theta V y|| equals
 * |h_{k+1,k}| |e_k^T y| exactly, which is the convergence test.
 * If the Krylov space becomes invariant (h_{j+1,j} ~ 0) the subspace is
 * complete: H gets a zero there and the run continues from a fresh random
 * vector orthogonal to V, so k = n always yields the whole spectrum. */
#include "eig.h"
#include "err.h"
#include "rng.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void cords_arnoldi_opts_default(cords_arnoldi_opts *o)
{
	*o = (cords_arnoldi_opts){.k = 300, .seed = 1, .tol = 1e-6, .always_reorth = 1, .device = -1};
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

static int ritz(int k, const double *H, cords_arnoldi_result *r, double tol)
{
	r->re = malloc((size_t)k * sizeof(double));
	r->im = malloc((size_t)k * sizeof(double));
	r->resid = malloc((size_t)k * sizeof(double));
	if (!r->re || !r->im || !r->resid)
		return cords_err("out of memory");
	double t0 = omp_get_wtime();
	if (cords_hessenberg_eig(k, H, k + 1, r->re, r->im, r->resid))
		return -1;
	r->t_hess = omp_get_wtime() - t0;
	double beta = fabs(H[(size_t)(k - 1) * (k + 1) + k]);
	for (int i = 0; i < k; i++)
		r->resid[i] *= beta;
	cords_eig_sort(k, r->re, r->im, r->resid);
	r->tol = tol;
	r->floor = hypot(r->re[0], r->im[0]) * pow(2.220446049250313e-16, 2.0 / 3);
	r->nconv = 0;
	for (int i = 0; i < k; i++)
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
	int k = o->k < n ? o->k : (int)n;
	size_t ld = (size_t)k + 1;
	cords_basis B;
	double *v = malloc((size_t)n * sizeof *v), *w = malloc((size_t)n * sizeof *w);
	double *H = calloc(ld * (size_t)k, sizeof *H);
	int rc = -1;
	cords_rng rng;
	cords_rng_seed(&rng, o->seed);
	memset(&B, 0, sizeof B);
	if (o->device >= 0 ? cords_basis_init_cuda(&B, n, k, o->device) : cords_basis_init(&B, n, k, o->basis_f32)) {
		if (o->device < 0)
			cords_err("Arnoldi: out of memory for a %d x %lld basis (%.0f MB)", k, (long long)n,
				  (o->basis_f32 ? 4e-6 : 8e-6) * k * (double)n);
		goto out;
	}
	if (!v || !w || !H) {
		cords_err("Arnoldi: out of memory");
		goto out;
	}
	r->basis_bytes = B.bytes;
	if (fresh_vector(&B, 0, w, H, &rng) || cords_basis_get(&B, 0, v))
		goto out;
	for (int j = 0; j < k; j++) {
		double *h = H + (size_t)j * ld, t0 = omp_get_wtime();
		if (cords_linop_apply(A, v, w))
			goto out;
		double t1 = omp_get_wtime(), nav = cblas_dnrm2((int)n, w, 1);
		int passes;
		double beta = cords_cgs2(&B, j + 1, w, h, o->always_reorth, &passes);
		r->t_apply += t1 - t0;
		if (beta < 0) {
			if (!B.dev)
				cords_err("Arnoldi: out of memory");
			goto out;
		}
		r->reorth += passes == 2;
		if (!isfinite(beta)) {
			cords_err("Arnoldi: the operator produced a non-finite value at step %d", j + 1);
			goto out;
		}
		h[j + 1] = beta;
		if (j + 1 < k) {
			if (beta <= 1e-12 * nav) {
				h[j + 1] = 0; /* invariant subspace: restart orthogonally */
				r->restarts++;
				if (fresh_vector(&B, j + 1, w, v, &rng) || cords_basis_get(&B, j + 1, v))
					goto out;
			} else {
				for (int64_t i = 0; i < n; i++)
					v[i] = w[i] / beta;
				if (cords_basis_set(&B, j + 1, v))
					goto out;
			}
		}
		r->t_orth += omp_get_wtime() - t1;
	}
	r->k = k;
	rc = ritz(k, H, r, o->tol);
out:
	cords_basis_free(&B);
	free(v);
	free(w);
	free(H);
	if (rc)
		cords_arnoldi_result_free(r);
	return rc;
}
