/* The pieces the eigen solvers are made of, each against what it promises:
 * the sort order (with ties within 1e-12 on both sides of the threshold and
 * the companion array), the sign of a vector, the Hessenberg eigen-step and
 * its residual estimates (against LAPACK dgeev's eigenvectors), the Krylov
 * basis in panels (double and single precision, short last panel) and
 * Gram-Schmidt against it, dense eigenvectors, Arnoldi's options, error
 * bounds, convergence test and timings, what power iteration reports, and
 * the convolution operators' arguments. */
#include "conv_op.h"
#include "dconv.h"
#include "eig.h"
#include "err.h"
#include "rng.h"
#include "t.h"

#include <lapacke.h>
#include <omp.h>

static int diag_apply(void *ctx, const double *x, double *y)
{
	const double *d = ctx;
	for (int i = 0; i < (int)d[0]; i++)
		y[i] = d[i + 1] * x[i];
	return 0;
}

/* A dense matrix (column-major, n = M[0]) as an operator. */
static int mat_apply(void *ctx, const double *x, double *y)
{
	const double *M = ctx;
	int n = (int)M[0];
	for (int i = 0; i < n; i++) {
		y[i] = 0;
		for (int j = 0; j < n; j++)
			y[i] += M[1 + (size_t)j * n + i] * x[j];
	}
	return 0;
}

static void sort_case(void)
{
	/* Expected order: 4 | 3, -3 (a +-lambda pair: larger real first) |
	 * 1+2i, 1-2i | -1.5 (1.05e-12 larger than 1.5: not a tie), 1.5, and
	 * 1.2 before -1.2 (0.95e-12 larger: a tie, real part decides) | 0.5 | 0. */
	double re[11] = {1.5, -3, 0, 1, 0.5, 4, 1.2, 1, 3, -1.5 * (1 + 1.05e-12), -1.2 * (1 + 0.95e-12)};
	double im[11] = {0, 0, 0, -2, 0, 0, 0, 2, 0, 0, 0};
	double other[11];
	for (int i = 0; i < 11; i++)
		other[i] = 100 + i;
	const double want_re[11] = {4, 3, -3, 1, 1, -1.5 * (1 + 1.05e-12), 1.5, 1.2, -1.2 * (1 + 0.95e-12), 0.5, 0};
	const double want_im[11] = {0, 0, 0, 2, -2, 0, 0, 0, 0, 0, 0};
	const double want_other[11] = {105, 108, 101, 107, 103, 109, 100, 106, 110, 104, 102};
	cords_eig_sort(11, re, im, other);
	int ok = 1;
	for (int i = 0; i < 11; i++)
		ok &= re[i] == want_re[i] && im[i] == want_im[i] && other[i] == want_other[i];
	CHECK(ok, "order: %g%+gi (%g), %g%+gi (%g), %g, %g, %g, %g, %g, %g, %g, %g, %g", re[0], im[0], other[0], re[1],
	      im[1], other[1], re[2], re[3], re[4], re[5], re[6], re[7], re[8], re[9], re[10]);
	double one[1] = {-2}, none[1] = {0};
	cords_eig_sort(1, one, none, NULL);
	cords_eig_sort(0, one, none, NULL);
	CHECK(one[0] == -2 && none[0] == 0, "one value");
}

static void sign_case(void)
{
	double a[3] = {1, -3, 2}, b[4] = {1, 2, 0.5, -3}, c[2] = {3, -3}, d[2] = {-3, 3}, e[1] = {-2}, f[3] = {2, -1, 1};
	cords_vec_fix_sign(3, a);
	cords_vec_fix_sign(4, b);
	cords_vec_fix_sign(2, c);
	cords_vec_fix_sign(2, d);
	cords_vec_fix_sign(1, e);
	cords_vec_fix_sign(3, f);
	cords_vec_fix_sign(0, e);
	CHECK(a[0] == -1 && a[1] == 3 && a[2] == -2, "largest in the middle: %g %g %g", a[0], a[1], a[2]);
	CHECK(b[0] == -1 && b[1] == -2 && b[2] == -0.5 && b[3] == 3, "largest last: %g %g %g %g", b[0], b[1], b[2],
	      b[3]);
	CHECK(c[0] == 3 && c[1] == -3 && d[0] == 3 && d[1] == -3, "a tie: the first decides");
	CHECK(e[0] == 2 && f[0] == 2 && f[1] == -1 && f[2] == 1, "one entry; already positive");
}

/* S ((k + 1) x k Arnoldi quotient: upper Hessenberg with the coupling h in
 * row k, stored with leading dimension k + 2 and junk in the spare row;
 * zeros below the subdiagonal, as a restart's quotient is not Hessenberg and
 * is read whole): cords_schur_ritz's eigenvalues and Ritz residuals
 * |h x_{k-1}| / |x| against dgeev on the clean k x k matrix. */
static void hess_case(int k, uint64_t seed)
{
	int ld = k + 2;
	double *H = malloc((size_t)ld * k * sizeof *H), *A = malloc((size_t)k * k * sizeof *A);
	double *re = malloc(k * sizeof *re), *im = malloc(k * sizeof *im), *last = malloc(k * sizeof *last);
	double *wre = malloc(k * sizeof *wre), *wim = malloc(k * sizeof *wim), *wlast = malloc(k * sizeof *wlast);
	double *VR = malloc((size_t)k * k * sizeof *VR);
	double *T = malloc((size_t)k * k * sizeof *T), *Z = malloc((size_t)k * k * sizeof *Z);
	cords_rng r;
	cords_rng_seed(&r, seed);
	for (int c = 0; c < k; c++)
		for (int i = 0; i < ld; i++) {
			double v = cords_rng_normal(&r);
			H[(size_t)c * ld + i] = i <= c + 1 ? v : i <= k ? 0 : 1e3 + i;
			if (i < k)
				A[(size_t)c * k + i] = i <= c + 1 ? v : 0;
		}
	CHECK(cords_schur_ritz(k, H, ld, T, Z, re, im, last) == 0, "%s", cords_errmsg());
	double h = fabs(H[(size_t)(k - 1) * ld + k]);
	LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'V', k, A, k, wre, wim, NULL, 1, VR, k);
	int pairs = 0;
	for (int i = 0; i < k; i++) {
		const double *x = VR + (size_t)i * k;
		if (wim[i] == 0 || i + 1 >= k) {
			wlast[i] = h * fabs(x[k - 1]);
			continue;
		}
		wlast[i] = wlast[i + 1] = h * hypot(x[k - 1], x[2 * k - 1]); /* dgeev's pair is unit in norm */
		i++;
		pairs++;
	}
	cords_eig_sort(k, re, im, last);
	cords_eig_sort(k, wre, wim, wlast);
	t_worst e = {0, ""};
	t_cmp(&e, "re", re, wre, k, .abs = 1e-10);
	t_cmp(&e, "im", im, wim, k, .abs = 1e-10);
	t_cmp(&e, "last", last, wlast, k, .abs = 1e-10);
	CHECK(e.err <= 1, "k %d: %s", k, e.at);
	CHECK(k < 4 || pairs > 0, "k %d: no complex pair to check", k);
	free(H), free(A), free(re), free(im), free(last), free(wre), free(wim), free(wlast), free(VR), free(T), free(Z);
}

/* Column c of a basis of n (f32 or not): set, get back; and Gram-Schmidt
 * of w against j columns: h = V^T w, w - V h orthogonal to V, its norm. */
static void basis_case(int64_t n, int f32, int j)
{
	cords_basis B;
	CHECK(cords_basis_init(&B, n, j + 1, f32) == 0, "init");
	int rows = f32 ? 1024 : 512;
	CHECK(B.rows == (n < rows ? n : rows) && B.npanels == (n + B.rows - 1) / B.rows &&
		      B.bytes == (size_t)B.npanels * B.rows * (j + 1) * (f32 ? 4 : 8),
	      "n %lld: %d rows, %d panels, %zu bytes", (long long)n, B.rows, B.npanels, B.bytes);
	cords_rng r;
	cords_rng_seed(&r, (uint64_t)n + j);
	double *V = malloc((size_t)n * j * sizeof *V), *x = malloc((size_t)n * sizeof *x);
	/* against no columns: ||w||, one pass, w unchanged */
	double ss = 0, h0[1];
	int p0 = 0;
	for (int64_t i = 0; i < n; i++)
		x[i] = cords_rng_normal(&r), ss += x[i] * x[i];
	double nx = cords_cgs2(&B, 0, x, h0, 1, &p0);
	CHECK(fabs(nx - sqrt(ss)) <= 1e-12 * sqrt(ss) && p0 == 1, "j 0: %.17g of %.17g, %d passes", nx, sqrt(ss), p0);
	/* Orthonormal columns by Gram-Schmidt here, stored, read back as stored. */
	for (int c = 0; c < j; c++) {
		double *v = V + (size_t)c * n;
		for (int64_t i = 0; i < n; i++)
			v[i] = cords_rng_normal(&r);
		for (int pass = 0; pass < 2; pass++)
			for (int q = 0; q < c; q++) {
				double d = 0;
				for (int64_t i = 0; i < n; i++)
					d += v[i] * V[(size_t)q * n + i];
				for (int64_t i = 0; i < n; i++)
					v[i] -= d * V[(size_t)q * n + i];
			}
		double s = 0;
		for (int64_t i = 0; i < n; i++)
			s += v[i] * v[i];
		for (int64_t i = 0; i < n; i++)
			v[i] /= sqrt(s);
		cords_basis_set(&B, c, v);
		cords_basis_get(&B, c, x);
		t_worst e = {0, ""};
		t_cmp(&e, "column", x, v, n, .rel = f32 ? 1e-7 : 0);
		CHECK(e.err <= 1 && x[n - 1] == (f32 ? (float)v[n - 1] : v[n - 1]), "column %d read back: %s", c, e.at);
		memcpy(v, x, (size_t)n * sizeof *x); /* the stored basis, rounded or not */
	}
	for (int always = 0; always < 2; always++)
		for (int near = 0; near < 2; near++) {
			/* w: random, or nearly in the span (the DGKS test's second pass). */
			double *w = malloc((size_t)n * sizeof *w), *w0 = malloc((size_t)n * sizeof *w0);
			double *h = malloc((size_t)(j + 1) * sizeof *h), *hw = calloc((size_t)j, sizeof *hw);
			for (int64_t i = 0; i < n; i++) {
				w[i] = cords_rng_normal(&r) * (near ? 1e-5 : 1);
				for (int c = 0; near && c < j; c++)
					w[i] += V[(size_t)c * n + i] * (c + 1);
			}
			memcpy(w0, w, (size_t)n * sizeof *w);
			for (int c = 0; c < j; c++)
				for (int64_t i = 0; i < n; i++)
					hw[c] += V[(size_t)c * n + i] * w0[i];
			double n0 = 0, first = 0;
			for (int64_t i = 0; i < n; i++)
				n0 += w0[i] * w0[i];
			for (int c = 0; c < j; c++)
				first += hw[c] * hw[c];
			int passes = 0;
			double nv = cords_cgs2(&B, j, w, h, always, &passes);
			/* The DGKS test: a second pass when the first left <= half of ||w||^2. */
			int want_passes = always || n0 - first <= 0.5 * n0 ? 2 : 1;
			double tol = f32 ? 1e-6 * sqrt(n0) : 1e-12 * (1 + sqrt(n0));
			/* The remainder w0 - V h, recomputed, and its overlap with V. */
			double *rem = malloc((size_t)n * sizeof *rem), *dots = calloc((size_t)j, sizeof *dots), res = 0;
			for (int64_t i = 0; i < n; i++) {
				rem[i] = w0[i];
				for (int c = 0; c < j; c++)
					rem[i] -= V[(size_t)c * n + i] * h[c];
				res += rem[i] * rem[i];
			}
			for (int c = 0; c < j; c++)
				for (int64_t i = 0; i < n; i++)
					dots[c] += V[(size_t)c * n + i] * w[i];
			double zero[8] = {0}, sres = sqrt(res);
			t_worst e = {0, ""};
			t_cmp(&e, "remainder", w, rem, n, .abs = tol);
			t_cmp(&e, "norm", &nv, &sres, 1, .abs = tol);
			t_cmp(&e, "V^T remainder", dots, zero, j, .abs = tol);
			t_cmp(&e, "h", h, hw, j, .abs = tol);
			CHECK(passes == want_passes, "n %lld f32 %d always %d near %d: %d passes", (long long)n, f32, always,
			      near, passes);
			CHECK(e.err <= 1, "n %lld f32 %d always %d near %d: %s", (long long)n, f32, always, near, e.at);
			double ov = t_cmp(NULL, "overlap", dots, zero, j, .abs = 1); /* max |V^T w|, Inf for NaN */
			/* a second pass leaves the remainder orthogonal to its own size, not w's */
			CHECK(passes == 1 || ov <= (f32 ? 1e-5 : 1e-12) * sqrt(res), "n %lld f32 %d: overlap %.3g of %.3g after two passes",
			      (long long)n, f32, ov, sqrt(res));
			free(w), free(w0), free(h), free(hw), free(rem), free(dots);
		}
	cords_basis_free(&B);
	free(V), free(x);
}

/* The dense eigenvector: the dominant eigenvalue at every position in
 * dgeev's order, and a complex pair (its real part). */
static void dense_vec_case(void)
{
	for (int at = 0; at < 3; at++) {
		double d[4] = {3, 1, -2, 0.5}, re[3], im[3], vec[3];
		d[1 + at] = -5;
		cords_linop A = {3, diag_apply, d};
		CHECK(cords_dense_eig(&A, 3, re, im, vec) == 0, "%s", cords_errmsg());
		CHECK(re[0] == -5 && vec[at] == 1 && vec[(at + 1) % 3] == 0 && vec[(at + 2) % 3] == 0,
		      "dominant at %d: %g, vector (%g, %g, %g)", at, re[0], vec[0], vec[1], vec[2]);
	}
	/* 0.1 (+) [[1, -2], [0.5, 1]]: 1 +- i, eigenvector (1, -i/2), real part (1, 0). */
	double M[10] = {3, 0.1, 0, 0, 0, 1, 0.5, 0, -2, 1}, re[3], im[3], vec[3];
	cords_linop A = {3, mat_apply, M};
	CHECK(cords_dense_eig(&A, 3, re, im, vec) == 0, "%s", cords_errmsg());
	CHECK(fabs(re[0] - 1) < 1e-12 && fabs(im[0] - 1) < 1e-12 && fabs(im[1] + 1) < 1e-12, "pair %g%+gi", re[0],
	      im[0]);
	CHECK(fabs(vec[0]) < 1e-12 && fabs(vec[1] - 1) < 1e-12 && fabs(vec[2]) < 1e-12, "vector (%g, %g, %g)", vec[0],
	      vec[1], vec[2]);
	CHECK(cords_dense_eig(&A, 2, re, im, NULL) < 0 && strstr(cords_errmsg(), "limit is 2"), "3 > 2 accepted");
	cords_linop E = {0, mat_apply, M};
	CHECK(cords_dense_eig(&E, 3, re, im, NULL) < 0, "empty operator accepted");
}

static void arnoldi_case(void)
{
	cords_arnoldi_opts o, def;
	cords_arnoldi_opts_default(&def);
	CHECK(def.k == 300 && def.seed == 1 && def.tol == 1e-6 && def.always_reorth == 1 && def.basis_f32 == 0 &&
		      def.device == -1,
	      "defaults");
	/* A diagonal operator with eigenvalues i^2 / n^2 scaled by `scale`. */
	const int n = 200;
	double *d = malloc((n + 1) * sizeof *d);
	d[0] = n;
	cords_linop A = {n, diag_apply, d};
	for (int s = 0; s < 2; s++) {
		double scale = s ? 1e-9 : 1;
		for (int i = 0; i < n; i++)
			d[i + 1] = scale * (i < n - 4 ? 1 + (double)i / n : 100.0 * (i - n + 6));
		o = def;
		o.k = 25;
		cords_arnoldi_result r;
		double t0 = omp_get_wtime();
		CHECK(cords_arnoldi(&A, &o, &r) == 0, "%s", cords_errmsg());
		double wall = omp_get_wtime() - t0;
		CHECK(r.k == 25 && r.restarts == 0 && r.reorth == 25, "k %d, restarts %d, second passes %d", r.k,
		      r.restarts, r.reorth);
		CHECK(r.t_apply >= 0 && r.t_orth >= 0 && r.t_hess >= 0 && r.t_apply + r.t_orth + r.t_hess <= wall,
		      "times %g %g %g of %g s", r.t_apply, r.t_orth, r.t_hess, wall);
		CHECK(r.basis_bytes == (size_t)n * (25 + 1) * 8, "%zu basis bytes", r.basis_bytes);
		/* Symmetric: an eigenvalue lies within each Ritz value's residual. */
		int bad = 0, conv = 0;
		for (int i = 0; i < r.k; i++) {
			double best = INFINITY;
			for (int j = 0; j < n; j++)
				best = fmin(best, fabs(r.re[i] - d[j + 1]));
			bad += !(best <= r.resid[i] * (1 + 1e-6) + 1e-12 * d[n]);
			conv += r.resid[i] <= 1e-6 * fmax(fabs(r.re[i]), r.floor);
		}
		CHECK(!bad, "scale %g: %d Ritz values farther from the spectrum than their residual", scale, bad);
		CHECK(r.nconv == conv && conv > 0 && conv < r.k, "%d converged, %d by the residuals", r.nconv, conv);
		CHECK(fabs(r.floor - fabs(r.re[0]) * pow(2.220446049250313e-16, 2.0 / 3)) <= 1e-15 * fabs(r.re[0]),
		      "floor %g", r.floor);
		CHECK(fabs(r.re[0] - d[n]) <= 1e-10 * scale, "largest %.17g of %.17g", r.re[0], d[n]);
		cords_arnoldi_result_free(&r);
	}
	/* The convergence test: resid <= tol max(|theta|, floor), at the boundary. */
	double re[3] = {2, 0.001, 0}, im[3] = {0, 0, 0.5}, resid[3] = {2e-6, 1e-6, 0.5e-6};
	cords_arnoldi_result t = {.k = 3, .re = re, .im = im, .resid = resid, .tol = 1e-6, .floor = 1};
	CHECK(cords_ritz_converged(&t, 0) && cords_ritz_converged(&t, 1) && cords_ritz_converged(&t, 2), "at the limit");
	resid[0] = 2.01e-6, resid[1] = 1.01e-6;
	CHECK(!cords_ritz_converged(&t, 0) && !cords_ritz_converged(&t, 1), "past the limit");
	/* k capped at n; k = 1; k < 1 refused. */
	for (int i = 0; i < n; i++)
		d[i + 1] = 1 + i;
	o = def;
	cords_arnoldi_result r;
	o.k = 1;
	CHECK(cords_arnoldi(&A, &o, &r) == 0 && r.k == 1, "k 1: %s", cords_errmsg());
	cords_arnoldi_result_free(&r);
	o.k = 0;
	CHECK(cords_arnoldi(&A, &o, &r) < 0 && strstr(cords_errmsg(), "0 steps"), "k 0 accepted");
	d[0] = 6;
	A.n = 6;
	o.k = 6;
	CHECK(cords_arnoldi(&A, &o, &r) == 0 && r.k == 6 && r.nconv == 6 && fabs(r.re[5] - 1) < 1e-12, "k = n");
	cords_arnoldi_result_free(&r);
	o.k = 7;
	CHECK(cords_arnoldi(&A, &o, &r) == 0 && r.k == 6, "k past n");
	cords_arnoldi_result_free(&r);
	free(d);
}

/* Power iteration: the gap and second eigenvalue of a negative dominant
 * one, the rate left NaN when it converges in fewer than 64 steps, trials
 * that agree at a large scale, the zero operator, a complex pair's
 * eigenvector checked here against A, and an operator that gives NaN. */
static void power_case(void)
{
	cords_power_opts o;
	cords_power_opts_default(&o);
	CHECK(o.trials == 4 && o.maxit == 10000 && o.tol == 1e-10 && o.seed == 1, "defaults");
	double d[7] = {6, -3, 1.5, 0.5, 0.25, -0.1, 0.05};
	cords_linop A = {6, diag_apply, d};
	cords_power_result r;
	CHECK(cords_power(&A, &o, &r) == 0 && r.converged && fabs(r.re + 3) < 1e-9 && !r.pair, "%s: %g", cords_errmsg(),
	      r.re);
	CHECK(fabs(r.gap - 0.5) < 1e-6 && fabs(r.re2 - 1.5) < 1e-6 && r.im2 == 0, "gap %.9g, second %.9g", r.gap, r.re2);
	CHECK(r.iters < 64 && isnan(r.rate) && r.trials_agree == 4, "%d iterations, rate %g, %d agree", r.iters, r.rate,
	      r.trials_agree);
	CHECK(r.vec && fabs(r.vec[0] - 1) < 1e-6 && fabs(r.resid) <= 1e-10 * 3, "vector %g, resid %g",
	      r.vec ? r.vec[0] : NAN, r.resid);
	cords_power_result_free(&r);
	for (int i = 1; i <= 6; i++)
		d[i] *= 1e4;
	o.tol = 1e-4; /* the trials then differ by ~1e-8 of lambda: they agree within 1e3 tol |lambda| */
	CHECK(cords_power(&A, &o, &r) == 0 && r.trials_agree == 4 && fabs(r.re + 3e4) < 1, "scale 1e4: %d agree",
	      r.trials_agree);
	o.tol = 1e-10;
	cords_power_result_free(&r);
	for (int i = 1; i <= 6; i++)
		d[i] = 0;
	CHECK(cords_power(&A, &o, &r) == 0 && r.converged && r.re == 0 && r.resid == 0, "zero operator: %g %d", r.re,
	      r.converged);
	cords_power_result_free(&r);
	d[1] = NAN; /* an operator that gives NaN: no answer, not a fake one */
	CHECK(cords_power(&A, &o, &r) == 0 && !r.converged && r.re == 0 && isnan(r.resid), "NaN operator: %g %d %g",
	      r.re, r.converged, r.resid);
	cords_power_result_free(&r);
	/* [[1, -2], [0.5, 1]] (+) 0.3 (+) 0.2: the pair 1 +- i dominates; eigenvector (1, -i/2, 0, 0). */
	double M[17] = {4, 1, 0.5, 0, 0, -2, 1, 0, 0, 0, 0, 0.3, 0, 0, 0, 0, 0.2};
	cords_linop P = {4, mat_apply, M};
	CHECK(cords_power(&P, &o, &r) == 0 && r.pair && r.converged && fabs(r.re - 1) < 1e-8 && fabs(r.im - 1) < 1e-8,
	      "pair %g%+gi (%d, %d)", r.re, r.im, r.pair, r.converged);
	if (r.vec && r.vec_im) {
		double au_r[4], au_i[4], nrm = 0, res = 0, big = 0;
		int at = 0;
		mat_apply(M, r.vec, au_r);
		mat_apply(M, r.vec_im, au_i);
		for (int i = 0; i < 4; i++) {
			double er = au_r[i] - (r.re * r.vec[i] - r.im * r.vec_im[i]);
			double ei = au_i[i] - (r.re * r.vec_im[i] + r.im * r.vec[i]);
			res += er * er + ei * ei;
			nrm += r.vec[i] * r.vec[i] + r.vec_im[i] * r.vec_im[i];
			if (hypot(r.vec[i], r.vec_im[i]) > big)
				big = hypot(r.vec[i], r.vec_im[i]), at = i;
		}
		CHECK(fabs(nrm - 1) < 1e-9 && sqrt(res) < 1e-6 && fabs(sqrt(res) - r.resid) < 1e-9 + 1e-3 * sqrt(res),
		      "eigenvector: norm %.9g, residual %.3g, reported %.3g", nrm, sqrt(res), r.resid);
		CHECK(at == 0 && r.vec[at] > 0 && r.vec_im[at] == 0, "largest entry %d: %g%+gi", at, r.vec[at],
		      r.vec_im[at]);
	} else
		CHECK(0, "no complex eigenvector");
	cords_power_result_free(&r);
}

/* The operators' arguments: shapes, sizes and norms refused; the output
 * does not depend on what y held. */
static void operator_args_case(void)
{
	int64_t gs[1] = {2}, vs[4] = {2, 2, 3, 3}, vb[4] = {2, 3, 3, 3}, v3[3] = {2, 2, 9}, vk[4] = {2, 2, 3, 2};
	cords_tensor *g = cords_tensor_new("g", CORDS_F64, 1, gs), *v = cords_tensor_new("v", CORDS_F64, 4, vs);
	for (int i = 0; i < 2; i++)
		((double *)g->data)[i] = 1 + i;
	for (int64_t i = 0; i < cords_tensor_numel(v); i++)
		((double *)v->data)[i] = sin(1.0 + (double)i);
	cords_conv_op op;
	cords_dconv dc;
	CHECK(cords_conv_op_init(&op, g, v, 3, 4) == 0, "%s", cords_errmsg());
	double x[24], y1[24], y2[24];
	for (int i = 0; i < 24; i++)
		x[i] = cos(0.3 * i), y1[i] = 0, y2[i] = NAN;
	cords_conv_op_apply(&op, x, y1);
	cords_conv_op_apply(&op, x, y2);
	CHECK(!memcmp(y1, y2, sizeof y1), "the output depends on y's old values");
	cords_conv_op_free(&op);
	CHECK(cords_conv_op_init(&op, g, v, 0, 4) < 0 && cords_conv_op_init(&op, g, v, 3, 0) < 0 &&
		      cords_conv_op_init(&op, g, v, 1, (1 << 29) + 1) < 0,
	      "empty or huge maps accepted");
	cords_tensor *b = cords_tensor_new("b", CORDS_F64, 4, vb), *t3 = cords_tensor_new("t3", CORDS_F64, 3, v3);
	cords_tensor *k2 = cords_tensor_new("k2", CORDS_F64, 4, vk);
	CHECK(cords_conv_op_init(&op, g, b, 3, 4) < 0 && strstr(cords_errmsg(), "[c,c,3,3]"), "[2,3,3,3] accepted");
	CHECK(cords_dconv_init(&dc, g, t3, 1, 1, 3, 4) < 0 && cords_dconv_init(&dc, g, k2, 1, 1, 3, 4) < 0,
	      "bad kernels accepted");
	CHECK(cords_dconv_init(&dc, g, v, 1, 0, 2, 5) < 0 && cords_dconv_init(&dc, g, v, 1, 0, 5, 2) < 0,
	      "a map smaller than the kernel accepted");
	CHECK(cords_dconv_init(&dc, g, v, 2, 1, 3, 4) == 0 && dc.Ho == 2 && dc.Wo == 2, "%s", cords_errmsg());
	cords_dconv_free(&dc);
	for (int z = 0; z < 2; z++) {
		for (int64_t i = 0; i < 18; i++)
			((double *)v->data)[18 + i] = z ? (i ? 0 : INFINITY) : 0;
		CHECK(cords_conv_op_init(&op, g, v, 3, 4) < 0 && cords_dconv_init(&dc, g, v, 1, 1, 3, 4) < 0 &&
			      strstr(cords_errmsg(), "channel 1"),
		      "a %s filter accepted", z ? "non-finite" : "zero");
	}
	cords_tensor_free(g), cords_tensor_free(v), cords_tensor_free(b), cords_tensor_free(t3), cords_tensor_free(k2);
}

int main(void)
{
	CASE("sort: modulus, ties within 1e-12 by the real part, then +im first; the companion array follows")
	sort_case();
	CASE("sign of a vector: its largest entry positive, the first of a tie") sign_case();
	CASE("the Rayleigh quotient's eigenvalues and Ritz residuals equal dgeev's (the spare row ignored)")
	{
		hess_case(1, 1);
		hess_case(6, 2);
		hess_case(17, 3);
	}
	CASE("Krylov basis in panels, set/get and Gram-Schmidt (CGS2 and DGKS), double and single precision")
	{
		basis_case(7, 0, 3);
		basis_case(1300, 0, 5);
		basis_case(2100, 1, 4);
	}
	CASE("dense eigenvector: of the dominant eigenvalue wherever dgeev puts it, the real part of a pair")
	dense_vec_case();
	CASE("Arnoldi: defaults, residuals bound the error, convergence test, floor, timings, k limits")
	arnoldi_case();
	CASE("power iteration: gap, rate, agreement, the zero operator, a complex pair's eigenvector") power_case();
	CASE("convolution operators: arguments refused, the output independent of y's old values") operator_args_case();
	T_DONE();
}
