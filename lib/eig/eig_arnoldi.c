/* Arnoldi iteration with full re-orthogonalisation (cords-analysis(7)):
 *   A V_k = V_k H_k + h_{k+1,k} v_{k+1} e_k^T,
 * V [n, k] column-major orthonormal, H [k+1, k] upper Hessenberg. The Ritz
 * values (eigenvalues of H_k, by LAPACK) approximate the outer spectrum of
 * A; for a Ritz pair (theta, y) the residual ||A V y - theta V y|| equals
 * |h_{k+1,k}| |e_k^T y| exactly, which is the convergence test.
 * If the Krylov space becomes invariant (h_{j+1,j} ~ 0) the subspace is
 * complete: H gets a zero there and the run continues from a fresh random
 * vector orthogonal to V, so k = n always yields the whole spectrum.
 *
 * Restarted (nev > 0): Krylov–Schur (G. W. Stewart, SIAM J. Matrix Anal.
 * Appl. 23, 2001), the same subspaces as ARPACK's implicit restarts with
 * exact shifts. The relation is kept as A V_m = V_m S_m + v_{m+1} s^T with S_m
 * upper Hessenberg after its first p columns. Once the basis holds m vectors,
 * S_m goes to Schur form T = Z^T S_m Z, the p Ritz values of largest modulus
 * are moved to its leading block (dtrsen), and V_p = V_m Z[:, :p], S_p =
 * T[:p, :p], s^T = s^T Z[:, :p], v_{p+1} = v_{m+1}: a Krylov–Schur relation
 * of p vectors, extended by Arnoldi steps to m again. Memory is the basis of
 * m + 1 vectors; the work per restart is m - p products. */
#include "eig.h"
#include "err.h"
#include "rng.h"

#include <cblas.h>
#include <lapacke.h>
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

typedef struct {
	const cords_linop *A;
	const cords_arnoldi_opts *o;
	cords_arnoldi_result *r;
	cords_basis B;
	double *S;  /* [m + 1, m] column-major: the Rayleigh quotient and the coupling row */
	size_t ld;
	double *v, *w; /* v: the basis column the next step starts from */
	cords_rng rng;
	int block;      /* products per block (1: one step at a time) */
	double *Y;      /* [n, block + 1]: a block's Newton basis */
	double sh_re[CORDS_MAX_BLOCK], sh_im[CORDS_MAX_BLOCK]; /* its shifts (im > 0: a pair, two products) */
	int nsh;
} run;

/* Arnoldi steps j = from .. to-1, one product at a time, from v (column
 * `from`): column j of S gets the coefficients of A v_j, column j + 1 of
 * the basis the next vector (where the basis has room: not after the last
 * step of k = n). */
static int steps(run *x, int from, int to)
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

/* The shifts of the next blocks: the first `block` of nv Ritz values in
 * Leja order (each maximises the product of its distances to those before,
 * conjugates counted), a pair taking two places. A Newton basis on points
 * spread over the spectrum stays well conditioned where the powers A^i v
 * would all turn towards the dominant eigenvector. */
static void set_shifts(run *x, int nv, const double *re, const double *im)
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
static int shifts_from_hessenberg(run *x, int j)
{
	double *H = calloc((size_t)j * j + 2 * (size_t)j, sizeof *H), *re = H + (size_t)j * j, *im = re + j;
	if (!H)
		return cords_err("out of memory");
	for (int c = 0; c < j; c++)
		for (int r = 0; r <= c + 1 && r < j; r++)
			H[(size_t)c * j + r] = x->S[(size_t)c * x->ld + r];
	lapack_int info = LAPACKE_dhseqr(LAPACK_COL_MAJOR, 'E', 'N', j, 1, j, H, j, re, im, NULL, 1);
	if (!info)
		set_shifts(x, j, re, im);
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
 * products, against two or three for each in steps()) and within itself
 * (Cholesky QR twice), Y = [V Q] Rh. With Rh's leading part X over V_j and
 * T (upper triangular) over [v_j, Q], A [v_j Q] T = [V Q] Rh Bn - A V_j X,
 * whence the new columns of S: (Rh Bn - [S_j X; 0]) T^-1. The same Krylov
 * space as s single steps: only the rounding differs. Returns 0, 1 where
 * the block is numerically rank deficient (nothing changed: the caller
 * takes single steps), -1 on error. */
static int block(run *x, int j, int s)
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
		for (int r = 0; r <= c; r++)
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
	if (cords_bcgs2(&x->B, j + 1, Y + n, s, C))
		goto out;
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

/* Arnoldi steps from .. to-1: by blocks once shifts are known, else (and
 * where a block fails) one at a time. */
static int extend(run *x, int from, int to)
{
	for (int j = from; j < to;) {
		if (!x->nsh && x->block > 1 && j >= 2 * x->block && shifts_from_hessenberg(x, j))
			return -1;
		int s = to - j < x->block ? to - j : x->block, rc = 1;
		if (x->nsh && s > 1 && j + s < x->B.k && (rc = block(x, j, s)) < 0)
			return -1;
		if (rc == 1) {
			x->r->block_fallbacks += x->nsh && s > 1 && j + s < x->B.k;
			s = x->nsh && s > 1 ? s : 1;
			if (steps(x, j, j + s))
				return -1;
		}
		j += s;
	}
	return 0;
}

/* The Ritz values of the m x m quotient, their residuals, Schur form T and
 * vectors Z (for a restart); counts how many pass the test. */
static int ritz(run *x, int m, double *T, double *Z)
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

/* How many of the nev Ritz values of largest modulus pass the test. */
static int wanted_converged(const cords_arnoldi_result *r, int m, int nev, double *mod, int *idx)
{
	for (int i = 0; i < m; i++) {
		idx[i] = i;
		mod[i] = hypot(r->re[i], r->im[i]);
	}
	int conv = 0;
	for (int i = 0; i < nev; i++) {
		int b = i;
		for (int j = i + 1; j < m; j++)
			if (mod[idx[j]] > mod[idx[b]])
				b = j;
		int t = idx[i];
		idx[i] = idx[b];
		idx[b] = t;
		conv += cords_ritz_converged(r, idx[i]);
	}
	return conv;
}

/* Krylov–Schur cycles until the top nev pass the test or max_restarts. */
static int krylov_schur(run *x, int m)
{
	const cords_arnoldi_opts *o = x->o;
	cords_arnoldi_result *r = x->r;
	int nev = o->nev, rc = -1;
	size_t mm = (size_t)m * m;
	double *T = malloc(mm * sizeof *T), *Z = malloc(mm * sizeof *Z), *row = malloc((size_t)m * sizeof *row);
	double *mod = malloc((size_t)m * sizeof *mod);
	int *idx = malloc((size_t)m * sizeof *idx);
	if (!T || !Z || !row || !mod || !idx) {
		cords_err("Krylov-Schur: out of memory");
		goto out;
	}
	for (int p = 0;;) {
		if (extend(x, p, m) || ritz(x, m, T, Z))
			goto out;
		if (x->block > 1)
			set_shifts(x, m, r->re, r->im);
		int conv = wanted_converged(r, m, nev, mod, idx);
		r->nwanted_conv = conv;
		if (conv >= nev || r->cycles >= o->max_restarts)
			break;
		/* keep the nev wanted, those converged beyond them, and half the rest
		 * (a larger kept space speeds convergence, a smaller one leaves more
		 * new directions per restart), but two fewer than m at most */
		int keep = nev + conv / 2 + (m - nev - conv / 2) / 2;
		if (keep > m - 2)
			keep = m - 2;
		double t0 = omp_get_wtime();
		int got = cords_schur_keep(m, T, Z, r->re, r->im, keep);
		if (got < 0)
			goto out;
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
	free(mod);
	free(idx);
	return rc;
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
	run x = {.A = A, .o = o, .r = r, .ld = (size_t)k + 1};
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
		rc = krylov_schur(&x, k);
	else
		rc = extend(&x, 0, k) || ritz(&x, k, T, Z) ? -1 : 0;
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
