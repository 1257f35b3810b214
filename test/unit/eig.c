/* Eigen solvers (lib/eig/eig.h) and the area_conv operator (lib/eig/conv_op.h):
 * apply() against a naive convolution, Arnoldi and power iteration against
 * dense LAPACK dgeev on random convolutions and constructed operators. */
#include "conv_op.h"
#include "eig.h"
#include "err.h"
#include "rng.h"
#include "t.h"

#include <complex.h>

/* Random weight-normalised conv: g [c,1,1,1], v [c,c,3,3], uniform. */
static void rand_conv(int c, uint64_t seed, cords_tensor **g, cords_tensor **v)
{
	int64_t gs[4] = {c, 1, 1, 1}, vs[4] = {c, c, 3, 3};
	*g = cords_tensor_new("g", CORDS_F32, 4, gs);
	*v = cords_tensor_new("v", CORDS_F32, 4, vs);
	cords_rng r;
	cords_rng_seed(&r, seed);
	float *gp = (*g)->data, *vp = (*v)->data;
	for (int i = 0; i < c; i++)
		gp[i] = (float)cords_rng_range(&r, 0.5, 1.5);
	for (int64_t i = 0; i < cords_tensor_numel(*v); i++)
		vp[i] = (float)cords_rng_range(&r, -1, 1);
}

static cords_conv_op make_op(int c, int h, int w, uint64_t seed)
{
	cords_tensor *g, *v;
	cords_conv_op op;
	rand_conv(c, seed, &g, &v);
	if (cords_conv_op_init(&op, g, v, h, w))
		printf("init: %s\n", cords_errmsg());
	cords_tensor_free(g);
	cords_tensor_free(v);
	return op;
}

/* The textbook 7-loop convolution with weight normalisation done here. */
static void naive_conv(const cords_tensor *g, const cords_tensor *v, int h, int w, const double *x, double *y)
{
	int c = (int)v->shape[0];
	const float *gp = g->data, *vp = v->data;
	for (int co = 0; co < c; co++) {
		double ss = 0;
		for (int i = 0; i < c * 9; i++)
			ss += (double)vp[co * c * 9 + i] * vp[co * c * 9 + i];
		for (int r = 0; r < h; r++)
			for (int q = 0; q < w; q++) {
				double acc = 0;
				for (int ci = 0; ci < c; ci++)
					for (int ky = 0; ky < 3; ky++)
						for (int kx = 0; kx < 3; kx++) {
							int rr = r + ky - 1, qq = q + kx - 1;
							if (rr >= 0 && rr < h && qq >= 0 && qq < w)
								acc += vp[((co * c + ci) * 3 + ky) * 3 + kx] *
								       x[(ci * h + rr) * w + qq];
						}
				y[(co * h + r) * w + q] = gp[co] / sqrt(ss) * acc;
			}
	}
}

static double *rand_vec(int64_t n, uint64_t seed)
{
	cords_rng r;
	cords_rng_seed(&r, seed);
	double *x = malloc((size_t)n * sizeof *x);
	for (int64_t i = 0; i < n; i++)
		x[i] = cords_rng_normal(&r);
	return x;
}

static void check_apply(int c, int h, int w)
{
	cords_tensor *g, *v;
	cords_conv_op op;
	rand_conv(c, 7 + c + h * w, &g, &v);
	CHECK(!cords_conv_op_init(&op, g, v, h, w), "%s", cords_errmsg());
	int64_t n = (int64_t)c * h * w;
	double *x = rand_vec(n, 3), *y = calloc(n, 8), *ref = calloc(n, 8);
	naive_conv(g, v, h, w, x, ref);
	CHECK(!cords_conv_op_apply(&op, x, y), "%s", cords_errmsg());
	t_worst e = {0, ""};
	CHECK(t_cmp(&e, "y", y, ref, n, .abs = 1e-12) <= 1, "c %d %dx%d: %s", c, h, w, e.at);
	/* linearised form: y = (1-alpha) x + alpha d .* conv x */
	op.a = 0.8;
	op.b = 0.2;
	op.d = rand_vec(n, 4);
	CHECK(!cords_conv_op_apply(&op, x, y), "%s", cords_errmsg());
	for (int64_t i = 0; i < n; i++)
		ref[i] = 0.8 * x[i] + 0.2 * op.d[i] * ref[i];
	CHECK(t_cmp(&e, "y", y, ref, n, .abs = 1e-12) <= 1, "jacobian form c %d %dx%d: %s", c, h, w, e.at);
	cords_conv_op_free(&op);
	cords_tensor_free(g);
	cords_tensor_free(v);
	free(x);
	free(y);
	free(ref);
}

/* Every Ritz value Arnoldi lists among the first `top` matches a distinct
 * dense eigenvalue (greedy nearest among the first top+8) within tol: the
 * worst distance over tol into *w (a NaN or Inf Ritz value matches none). */
static double match_err(t_worst *w, const double *are, const double *aim, int top, const double *dre,
			const double *dim, int nd, double tol)
{
	int m = top + 8 < nd ? top + 8 : nd;
	char used[4096] = {0};
	double dist[4096] = {0}, zero[4096] = {0};
	for (int i = 0; i < top; i++) {
		int best = -1;
		double bd = INFINITY;
		for (int j = 0; j < m; j++) {
			double d = hypot(are[i] - dre[j], aim[i] - dim[j]);
			if (!used[j] && d < bd) {
				bd = d;
				best = j;
			}
		}
		if (best >= 0)
			used[best] = 1;
		dist[i] = bd;
	}
	return t_cmp(w, "distance of Ritz value to its dense eigenvalue", dist, zero, top, .abs = tol);
}

static void check_arnoldi_vs_dense(int c, int h, int w, int k, int top, uint64_t seed)
{
	cords_conv_op op = make_op(c, h, w, seed);
	cords_linop A = cords_conv_linop(&op);
	int64_t n = A.n;
	double *dre = malloc(n * 8), *dim = malloc(n * 8);
	CHECK(!cords_dense_eig(&A, CORDS_DENSE_MAX, dre, dim, NULL), "%s", cords_errmsg());
	cords_arnoldi_opts o;
	cords_arnoldi_opts_default(&o);
	o.k = k;
	cords_arnoldi_result r;
	CHECK(!cords_arnoldi(&A, &o, &r), "%s", cords_errmsg());
	int want = k >= n ? (int)n : top;
	if (want > n)
		want = (int)n;
	CHECK(r.k == (k < n ? k : n), "steps %d", r.k);
	if (k >= n)
		CHECK(r.nconv == n, "k >= n: %d of %lld converged", r.nconv, (long long)n);
	CHECK(r.nconv >= want, "c %d %dx%d k %d: only %d converged, want %d", c, h, w, k, r.nconv, want);
	double scale = hypot(dre[0], dim[0]);
	t_worst e = {0, ""};
	CHECK(match_err(&e, r.re, r.im, want, dre, dim, (int)n, 1e-6 * fmax(scale, 1)) <= 1,
	      "c %d %dx%d k %d: top %d (radius %g): %s", c, h, w, k, want, scale, e.at);
	/* the radius itself, by the sorted order */
	CHECK_CLOSE(hypot(r.re[0], r.im[0]), scale, 1e-8, 1e-12);
	cords_arnoldi_result_free(&r);
	cords_conv_op_free(&op);
	free(dre);
	free(dim);
}

/* A = B + s u u^T or a rotation s (u w^T - w u^T) on top of a small conv B. */
typedef struct {
	cords_conv_op *op;
	double *u, *w, s;
	int rot;
	int64_t n;
} lowrank;

static int lowrank_apply(void *ctx, const double *x, double *y)
{
	lowrank *L = ctx;
	if (cords_conv_op_apply(L->op, x, y))
		return -1;
	double ux = 0, wx = 0;
	for (int64_t i = 0; i < L->n; i++) {
		ux += L->u[i] * x[i];
		wx += L->w[i] * x[i];
	}
	for (int64_t i = 0; i < L->n; i++)
		y[i] += L->rot ? L->s * (L->u[i] * wx - L->w[i] * ux) : L->s * L->u[i] * ux;
	return 0;
}

static void unit_pair(int64_t n, double *u, double *w)
{
	double uu = 0, uw = 0, ww = 0;
	for (int64_t i = 0; i < n; i++)
		uu += u[i] * u[i];
	for (int64_t i = 0; i < n; i++)
		u[i] /= sqrt(uu);
	for (int64_t i = 0; i < n; i++)
		uw += u[i] * w[i];
	for (int64_t i = 0; i < n; i++)
		w[i] -= uw * u[i];
	for (int64_t i = 0; i < n; i++)
		ww += w[i] * w[i];
	for (int64_t i = 0; i < n; i++)
		w[i] /= sqrt(ww);
}

static int diag_apply(void *ctx, const double *x, double *y)
{
	const double *d = ctx;
	for (int i = 0; i < 6; i++)
		y[i] = d[i] * x[i];
	return 0;
}

static int diag_big_apply(void *ctx, const double *x, double *y)
{
	int64_t n = *(const int64_t *)ctx;
	for (int64_t i = 0; i < n; i++)
		y[i] = (i == 0 ? 1.0 : i == 1 ? 0.99999 : 0.5) * x[i];
	return 0;
}

/* Krylov–Schur's top nev against dense geev: each within tol * radius. */
static void check_ks_vs_dense(int c, int h, int w, int nev, int ncv, int block, uint64_t seed)
{
	cords_conv_op op = make_op(c, h, w, seed);
	cords_linop A = cords_conv_linop(&op);
	int64_t n = A.n;
	double *dre = malloc(n * 8), *dim = malloc(n * 8);
	CHECK(!cords_dense_eig(&A, CORDS_DENSE_MAX, dre, dim, NULL), "%s", cords_errmsg());
	cords_arnoldi_opts o;
	cords_arnoldi_opts_default(&o);
	o.k = ncv;
	o.nev = nev;
	o.block = block;
	o.tol = 1e-12;
	cords_arnoldi_result r;
	CHECK(!cords_arnoldi(&A, &o, &r), "%s", cords_errmsg());
	CHECK(r.nwanted_conv == nev, "c %d %dx%d ncv %d: %d of %d converged in %d restarts", c, h, w, ncv,
	      r.nwanted_conv, nev, r.cycles);
	CHECK(r.cycles > 0 && r.applies > ncv, "no restart: %d cycles, %d products", r.cycles, r.applies);
	CHECK(r.basis_bytes <= (size_t)(ncv + 1) * ((n + 511) / 512 * 512) * 8, "basis %zu bytes: more than the restart basis",
	      r.basis_bytes);
	t_worst e = {0, ""}; /* sorted alike, so compared in order */
	t_cmp(&e, "re", r.re, dre, nev, .of_max = 1e-8);
	t_cmp(&e, "im", r.im, dim, nev, .of_max = 1e-8);
	CHECK(e.err <= 1, "c %d %dx%d block %d: top %d against geev: %s", c, h, w, block, nev, e.at);
	cords_arnoldi_result_free(&r);
	cords_conv_op_free(&op);
	free(dre);
	free(dim);
}

/* diag(d_i) with d_i = 1 + (i % 20) / 10: twenty distinct eigenvalues, so
 * every Krylov space is invariant by dimension 20 and Newton blocks go rank
 * deficient. */
static int diag20_apply(void *ctx, const double *x, double *y)
{
	int64_t n = *(const int64_t *)ctx;
	for (int64_t i = 0; i < n; i++)
		y[i] = (1 + (double)(i % 20) / 10) * x[i];
	return 0;
}

int main(void)
{
	CASE("conv apply equals a naive convolution")
	{
		check_apply(8, 6, 6);
		check_apply(8, 1, 1);
		check_apply(3, 2, 3);
		check_apply(1, 6, 6);
		check_apply(5, 7, 2);
	}
	CASE("weight normalisation refuses a zero filter")
	{
		cords_tensor *g, *v;
		cords_conv_op op;
		rand_conv(2, 1, &g, &v);
		memset(v->data, 0, 9 * 2 * sizeof(float));
		CHECK(cords_conv_op_init(&op, g, v, 3, 3) == -1, "accepted");
		CHECK(strstr(cords_errmsg(), "channel 0"), "%s", cords_errmsg());
		cords_tensor_free(g);
		cords_tensor_free(v);
	}
	CASE("arnoldi with k >= n gives the whole dense spectrum")
	{
		check_arnoldi_vs_dense(8, 6, 6, 300, 0, 11);
		check_arnoldi_vs_dense(8, 1, 1, 300, 0, 12);
		check_arnoldi_vs_dense(3, 2, 3, 300, 0, 13);
		check_arnoldi_vs_dense(1, 6, 6, 300, 0, 14);
		check_arnoldi_vs_dense(1, 1, 1, 5, 0, 15);
	}
	CASE("arnoldi top 20 equal dense geev within 1e-6 (k < n)")
	{
		check_arnoldi_vs_dense(8, 6, 6, 200, 20, 21);
		check_arnoldi_vs_dense(4, 9, 7, 200, 20, 22);
		check_arnoldi_vs_dense(1, 12, 12, 120, 20, 23);
	}
	CASE("arnoldi restarts after an invariant subspace (repeated eigenvalues)")
	{
		double d[6] = {1, 1, 1, 2, 2, -3};
		cords_linop A = {6, diag_apply, d};
		cords_arnoldi_opts o;
		cords_arnoldi_opts_default(&o);
		cords_arnoldi_result r;
		CHECK(!cords_arnoldi(&A, &o, &r), "%s", cords_errmsg());
		CHECK(r.k == 6 && r.restarts >= 2, "k %d restarts %d", r.k, r.restarts);
		double want[6] = {-3, 2, 2, 1, 1, 1}, zero[6] = {0};
		t_worst e = {0, ""};
		t_cmp(&e, "re", r.re, want, r.k == 6 ? 6 : 0, .abs = 1e-12);
		t_cmp(&e, "im", r.im, zero, r.k == 6 ? 6 : 0, .abs = 0);
		CHECK(e.err <= 1, "%s", e.at);
		cords_arnoldi_result_free(&r);
	}
	CASE("dgks mode (second pass only when needed) agrees with cgs2")
	{
		cords_conv_op op = make_op(8, 6, 6, 31);
		cords_linop A = cords_conv_linop(&op);
		cords_arnoldi_opts o;
		cords_arnoldi_opts_default(&o);
		o.k = 100;
		o.block = 1;
		cords_arnoldi_result a, b;
		CHECK(!cords_arnoldi(&A, &o, &a), "%s", cords_errmsg());
		o.always_reorth = 0;
		CHECK(!cords_arnoldi(&A, &o, &b), "%s", cords_errmsg());
		CHECK(a.reorth == 100 && b.reorth <= 100, "reorth %d %d", a.reorth, b.reorth);
		t_worst e = {0, ""};
		t_cmp(&e, "re", b.re, a.re, 10, .abs = 1e-8);
		t_cmp(&e, "im", b.im, a.im, 10, .abs = 1e-8);
		CHECK(e.err <= 1, "%s", e.at);
		cords_arnoldi_result_free(&a);
		cords_arnoldi_result_free(&b);
		cords_conv_op_free(&op);
	}
	CASE("single-precision basis: top eigenvalues within 1e-5")
	{
		cords_conv_op op = make_op(8, 6, 6, 33);
		cords_linop A = cords_conv_linop(&op);
		double dre[288], dim[288];
		CHECK(!cords_dense_eig(&A, CORDS_DENSE_MAX, dre, dim, NULL), "%s", cords_errmsg());
		cords_arnoldi_opts o;
		cords_arnoldi_opts_default(&o);
		o.k = 200;
		o.basis_f32 = 1;
		o.always_reorth = 0;
		cords_arnoldi_result r;
		CHECK(!cords_arnoldi(&A, &o, &r), "%s", cords_errmsg());
		CHECK(r.basis_bytes == (size_t)201 * 288 * 4, "basis %zu bytes", r.basis_bytes);
		t_worst e = {0, ""};
		CHECK(match_err(&e, r.re, r.im, 10, dre, dim, 288, 1e-5 * hypot(dre[0], dim[0])) <= 1, "top 10: %s", e.at);
		cords_arnoldi_result_free(&r);
		cords_conv_op_free(&op);
	}
	CASE("blocks of products (s-step Arnoldi) equal one step at a time")
	{
		cords_conv_op op = make_op(8, 14, 14, 35);
		cords_linop A = cords_conv_linop(&op);
		double *dre = malloc(1568 * 8), *dim = malloc(1568 * 8);
		CHECK(!cords_dense_eig(&A, CORDS_DENSE_MAX, dre, dim, NULL), "%s", cords_errmsg());
		cords_arnoldi_opts o;
		cords_arnoldi_opts_default(&o);
		o.k = 400;
		cords_arnoldi_result a, b;
		o.block = 1;
		CHECK(!cords_arnoldi(&A, &o, &a), "%s", cords_errmsg());
		o.block = 16;
		CHECK(!cords_arnoldi(&A, &o, &b), "%s", cords_errmsg());
		CHECK(b.block_fallbacks == 0, "%d blocks fell back", b.block_fallbacks);
		t_worst e = {0, ""};
		t_cmp(&e, "re, blocks against steps", b.re, a.re, 40, .abs = 1e-10);
		t_cmp(&e, "im, blocks against steps", b.im, a.im, 40, .abs = 1e-10);
		CHECK(e.err <= 1, "top 40: %s", e.at);
		CHECK(b.nconv >= 20 && abs(a.nconv - b.nconv) <= 2, "converged %d (steps) and %d (blocks)", a.nconv, b.nconv);
		for (int i = 0; i < 20; i++)
			CHECK(cords_ritz_converged(&b, i), "#%d not converged", i);
		e = (t_worst){0, ""};
		CHECK(match_err(&e, b.re, b.im, 20, dre, dim, 1568, 1e-6 * hypot(dre[0], dim[0])) <= 1, "blocks, top 20: %s", e.at);
		cords_arnoldi_result_free(&a);
		cords_arnoldi_result_free(&b);
		cords_conv_op_free(&op);
		free(dre);
		free(dim);
	}
	CASE("rank-deficient blocks are taken one step at a time, the spectrum stays exact")
	{
		int64_t n = 2000;
		cords_linop A = {n, diag20_apply, &n};
		cords_arnoldi_opts o;
		cords_arnoldi_opts_default(&o);
		o.k = 120;
		cords_arnoldi_result r;
		CHECK(!cords_arnoldi(&A, &o, &r), "%s", cords_errmsg());
		CHECK(r.block_fallbacks > 0, "no block fell back");
		CHECK(r.k == 120 && fabs(r.re[0] - 2.9) < 1e-10, "k %d, first %.15g", r.k, r.re[0]);
		char seen[20] = {0};
		for (int i = 0; i < r.k; i++) { /* every converged Ritz value an eigenvalue, every eigenvalue found */
			if (!cords_ritz_converged(&r, i))
				continue;
			double d = 10 * (r.re[i] - 1);
			int near = (int)lround(d);
			CHECK(fabs(d - near) < 1e-9 && near >= 0 && near < 20 && r.im[i] == 0, "%d: %.15g%+gi", i, r.re[i], r.im[i]);
			if (near >= 0 && near < 20)
				seen[near] = 1;
		}
		CHECK(!memchr(seen, 0, 20), "an eigenvalue missed");
		cords_arnoldi_result_free(&r);
	}
	CASE("krylov-schur: converged top k equal dense geev within 1e-8")
	{
		check_ks_vs_dense(8, 6, 6, 6, 20, 1, 71);
		check_ks_vs_dense(8, 6, 6, 6, 20, 16, 71);
		check_ks_vs_dense(4, 9, 7, 8, 24, 8, 72);
		check_ks_vs_dense(8, 14, 14, 10, 48, 16, 73);
		check_ks_vs_dense(1, 30, 30, 5, 30, 16, 74);
	}
	CASE("krylov-schur refuses a basis without room to restart")
	{
		cords_conv_op op = make_op(8, 6, 6, 75);
		cords_linop A = cords_conv_linop(&op);
		cords_arnoldi_opts o;
		cords_arnoldi_opts_default(&o);
		o.k = 7;
		o.nev = 6;
		cords_arnoldi_result r;
		CHECK(cords_arnoldi(&A, &o, &r) == -1, "accepted a basis of 7 for 6");
		CHECK(strstr(cords_errmsg(), "2 more"), "%s", cords_errmsg());
		cords_conv_op_free(&op);
	}
	CASE("power eigenvector equals dense's up to sign when the gap is large")
	{
		cords_conv_op op = make_op(8, 6, 6, 41);
		int64_t n = 288;
		lowrank L = {&op, rand_vec(n, 5), rand_vec(n, 6), 10, 0, n};
		unit_pair(n, L.u, L.w);
		cords_linop A = {n, lowrank_apply, &L};
		double *dre = malloc(n * 8), *dim = malloc(n * 8), *dv = malloc(n * 8);
		CHECK(!cords_dense_eig(&A, 1000, dre, dim, dv), "%s", cords_errmsg());
		CHECK(dim[0] == 0 && hypot(dre[1], dim[1]) < 0.5 * dre[0], "gap: %g vs %g", dre[0], hypot(dre[1], dim[1]));
		cords_power_opts o;
		cords_power_opts_default(&o);
		cords_power_result r;
		CHECK(!cords_power(&A, &o, &r), "%s", cords_errmsg());
		CHECK(r.converged && !r.pair && r.trials_agree == o.trials, "converged %d pair %d agree %d",
		      r.converged, r.pair, r.trials_agree);
		CHECK_CLOSE(r.re, dre[0], 1e-9, 0);
		CHECK(r.resid <= 1e-10 * fabs(r.re), "resid %g", r.resid);
		t_worst e = {0, ""};
		CHECK(t_cmp(&e, "eigenvector", r.vec, dv, n, .abs = 1e-5) <= 1, "%s", e.at);
		cords_power_result_free(&r);
		free(dre);
		free(dim);
		free(dv);
		free(L.u);
		free(L.w);
		cords_conv_op_free(&op);
	}
	CASE("power detects a dominant complex pair and does not fake it")
	{
		cords_conv_op op = make_op(4, 5, 5, 51);
		int64_t n = 100;
		lowrank L = {&op, rand_vec(n, 7), rand_vec(n, 8), 10, 1, n};
		unit_pair(n, L.u, L.w);
		cords_linop A = {n, lowrank_apply, &L};
		double *dre = malloc(n * 8), *dim = malloc(n * 8);
		CHECK(!cords_dense_eig(&A, 1000, dre, dim, NULL), "%s", cords_errmsg());
		cords_power_opts o;
		cords_power_opts_default(&o);
		cords_power_result r;
		CHECK(!cords_power(&A, &o, &r), "%s", cords_errmsg());
		CHECK(r.pair && r.vec_im, "pair %d", r.pair);
		CHECK(fabs(r.re - dre[0]) < 1e-6 * 10 && fabs(r.im - fabs(dim[0])) < 1e-6 * 10,
		      "%g%+gi vs dense %g%+gi", r.re, r.im, dre[0], dim[0]);
		CHECK(r.resid < 1e-6 * 10, "complex eigenvector residual %g", r.resid);
		cords_power_result_free(&r);
		free(dre);
		free(dim);
		free(L.u);
		free(L.w);
		cords_conv_op_free(&op);
	}
	CASE("power detects +-lambda dominant and gives no eigenvector")
	{
		double d[6] = {1, -2, 0.5, 2, 0.3, 0.1};
		cords_linop A = {6, diag_apply, d};
		cords_power_opts o;
		cords_power_opts_default(&o);
		cords_power_result r;
		CHECK(!cords_power(&A, &o, &r), "%s", cords_errmsg());
		CHECK(r.pair && r.im == 0 && !r.vec && !r.converged, "pair %d im %g vec %p", r.pair, r.im, (void *)r.vec);
		CHECK(fabs(fabs(r.re) - 2) < 1e-8 && fabs(r.re + r.re2) < 1e-8, "%g and %g", r.re, r.re2);
		cords_power_result_free(&r);
	}
	CASE("power reports a gap too close to 1 instead of a false answer")
	{
		int64_t n = 50;
		cords_linop A = {n, diag_big_apply, &n};
		cords_power_opts o;
		cords_power_opts_default(&o);
		o.maxit = 2000;
		cords_power_result r;
		CHECK(!cords_power(&A, &o, &r), "%s", cords_errmsg());
		CHECK(!r.converged, "claims convergence, resid %g", r.resid);
		CHECK(fabs(r.gap - 0.99999) < 1e-5, "gap %.8f", r.gap);
		CHECK(r.iters < o.maxit, "stopped early: %d iterations", r.iters);
		cords_power_result_free(&r);
	}
	CASE("dense refuses a large operator")
	{
		cords_conv_op op = make_op(64, 9, 9, 61);
		cords_linop A = cords_conv_linop(&op);
		double re[1], im[1];
		CHECK(cords_dense_eig(&A, CORDS_DENSE_MAX, re, im, NULL) == -1, "accepted n=%lld", (long long)A.n);
		CHECK(strstr(cords_errmsg(), "limit is 4096"), "%s", cords_errmsg());
		cords_conv_op_free(&op);
	}
	CASE("sort: decreasing modulus, positive imaginary part first")
	{
		double re[5] = {0.5, 0, 0, -2, 2}, im[5] = {0, -1, 1, 0, 0};
		cords_eig_sort(5, re, im, NULL);
		CHECK(re[0] == 2 && re[1] == -2 && im[2] == 1 && im[3] == -1 && re[4] == 0.5, "%g %g %g", re[0], re[1], im[2]);
	}
	T_DONE();
}
