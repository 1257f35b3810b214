/* The training kernels: finite differences of double-precision reference
 * forwards against the float backward kernels (cross-entropy hard and soft,
 * BatchNorm train and eval, weight norm, phi through the CPU backend's
 * leaky_bwd), and the optimisers, warm-up,
 * clipping and BatchNorm statistics against torch (testdata/train/ops.tzst). */
#include "bnorm.h"
#include "err.h"
#include "loss.h"
#include "readout.h"
#include "optim.h"
#include "optset.h"
#include "rng.h"
#include "stream.h"
#include "t.h"
#include "wnorm.h"

static cords_rng rng;
static void randn(float *x, int64_t n, double s)
{
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(s * cords_rng_normal(&rng));
}

/* Central difference of f at x[i] (x in float, perturbed in double). */
#define H 1e-4
typedef double (*scalar_fn)(const double *x, void *ctx);
static double fd(scalar_fn f, double *x, int64_t i, void *ctx)
{
	double x0 = x[i];
	x[i] = x0 + H;
	double a = f(x, ctx);
	x[i] = x0 - H;
	double b = f(x, ctx);
	x[i] = x0;
	return (a - b) / (2 * H);
}
/* max_i |grad_i - fd_i| / max(1e-3, max|fd|), the worst into *w (NULL: not kept) */
static double fd_err(t_worst *w, scalar_fn f, double *x, int64_t n, const float *grad, void *ctx)
{
	double *d = malloc((size_t)n * sizeof *d), scale = 1e-3;
	for (int64_t i = 0; i < n; i++) {
		d[i] = fd(f, x, i, ctx);
		scale = fmax(scale, fabs(d[i]));
	}
	double e = t_cmp(w, "gradient", grad, d, n, .abs = scale);
	free(d);
	return e;
}

/* ---- cross-entropy */
enum { XB = 3, XN = 5 };
static int64_t hard[XB] = {2, 0, 4};
static float soft[XB * XN];
static double ref_xent(const double *z, void *ctx)
{
	int use_soft = *(int *)ctx;
	double total = 0;
	for (int b = 0; b < XB; b++) {
		double mx = -1e300, s = 0;
		for (int n = 0; n < XN; n++)
			mx = fmax(mx, z[b * XN + n]);
		for (int n = 0; n < XN; n++)
			s += exp(z[b * XN + n] - mx);
		double lse = mx + log(s);
		for (int n = 0; n < XN; n++) {
			double t = use_soft ? soft[b * XN + n] : (n == hard[b]);
			total += t * (lse - z[b * XN + n]);
		}
	}
	return total / XB;
}

/* ---- BatchNorm: L = sum(y * r), x | gamma | beta packed in one vector */
enum { BB = 3, BC = 4, BM = 5, BX = BB * BC * BM };
static float bn_r[BX], bn_rm[BC], bn_rv[BC];
static double ref_bn(const double *p, void *ctx)
{
	int train = *(int *)ctx;
	const double *x = p, *g = p + BX, *be = p + BX + BC;
	double L = 0;
	for (int c = 0; c < BC; c++) {
		double mean = 0, var = 0;
		for (int b = 0; b < BB; b++)
			for (int m = 0; m < BM; m++)
				mean += x[(b * BC + c) * BM + m] / (BB * BM);
		for (int b = 0; b < BB; b++)
			for (int m = 0; m < BM; m++)
				var += pow(x[(b * BC + c) * BM + m] - mean, 2) / (BB * BM);
		if (!train)
			mean = bn_rm[c], var = bn_rv[c];
		for (int b = 0; b < BB; b++)
			for (int m = 0; m < BM; m++) {
				int i = (b * BC + c) * BM + m;
				L += bn_r[i] * ((x[i] - mean) / sqrt(var + 1e-5) * g[c] + be[c]);
			}
	}
	return L;
}

/* ---- weight norm: L = sum(W * r), g | v packed */
enum { WO = 3, WK = 7 };
static float wn_r[WO * WK];
static double ref_wn(const double *p, void *ctx)
{
	double L = 0;
	for (int o = 0; o < WO; o++) {
		double n = 0;
		for (int k = 0; k < WK; k++)
			n += p[WO + o * WK + k] * p[WO + o * WK + k];
		for (int k = 0; k < WK; k++)
			L += wn_r[o * WK + k] * p[o] * p[WO + o * WK + k] / sqrt(n);
	}
	return L;
}

/* ---- phi */
static float phi_r[16];
static double ref_phi(const double *z, void *ctx)
{
	double neg = *(double *)ctx, L = 0;
	for (int i = 0; i < 16; i++)
		L += phi_r[i] * (z[i] > 0 ? z[i] : (neg == 1 ? z[i] : neg * z[i]));
	return L;
}

static const cords_tensor *need(const cords_tensor_list *l, const char *n)
{
	const cords_tensor *t = cords_list_find(l, n);
	if (!t) {
		printf("FAIL: train_ops: fixture lacks %s\n", n);
		exit(1);
	}
	return t;
}
/* a against b: |a - b| <= tol max(1e-6, max |b|); the worst into *w */
static double max_rel(t_worst *w, const char *name, const float *a, const float *b, int64_t n, double tol)
{
	double s = 1e-6;
	for (int64_t i = 0; i < n; i++)
		s = fmax(s, fabs(b[i]));
	return t_cmp(w, name, a, b, n, .abs = tol * s);
}

int main(void)
{
	cords_rng_seed(&rng, 42);
	CASE("cross-entropy with hard and soft labels: value and gradient") {
		float z[XB * XN], dz[XB * XN];
		double zd[XB * XN];
		randn(z, XB * XN, 2);
		/* soft rows: 0.7 / 0.3 mixes, row 0's 0.7 / 0.2 (a mass of 0.9: the gradient is
		 * softmax * mass - t, the mass not taken as 1) */
		for (int b = 0; b < XB; b++)
			soft[b * XN + b] = 0.7f, soft[b * XN + (b + 2) % XN] = b ? 0.3f : 0.2f;
		for (int i = 0; i < XB * XN; i++)
			zd[i] = z[i];
		const float hf[XB] = {2, 0, 4};
		for (int s = 0; s < 2; s++) {
			cords_labels y = {s ? NULL : hard, s ? soft : NULL, NULL};
			float out[2 * XB];
			cords_xent_cpu(z, XB, XN, s ? NULL : hf, s ? soft : NULL, 1, dz, out);
			int correct = -1, hit[XB] = {0};
			double L = cords_xent_tally(out, XB, XN, y, &correct, hit);
			CHECK_CLOSE(L, ref_xent(zd, &s), 1e-6, 0);
			t_worst e = {0, ""};
			CHECK(fd_err(&e, ref_xent, zd, XB * XN, dz, &s) < 1e-5, "%s labels: %s", s ? "soft" : "hard", e.at);
			int want = 0;
			for (int b = 0; b < XB; b++) {
				CHECK(out[XB + b] == cords_argmax(z + b * XN, XN), "row %d: argmax %g", b, out[XB + b]);
				int ok = cords_argmax(z + b * XN, XN) == cords_label_class(y, b, XN);
				CHECK(hit[b] == ok, "row %d: hit %d, expected %d", b, hit[b], ok);
				want += ok;
			}
			CHECK(correct == want && correct == cords_correct_cpu(z, XB, XN, y), "correct %d, expected %d",
			      correct, want);
			cords_xent_cpu(z, XB, XN, s ? NULL : hf, s ? soft : NULL, 0.5f, dz, out);
			CHECK(fd_err(NULL, ref_xent, zd, XB * XN, dz, &s) > 0.1, "scale ignored");
		}
		cords_labels y = {hard, NULL, NULL};
		CHECK(cords_labels_check(y, XB, XN) == 0, "%s", cords_errmsg());
		hard[1] = 5;
		CHECK(cords_labels_check(y, XB, XN) < 0 && strstr(cords_errmsg(), "outside"), "bad label accepted");
		hard[1] = 0;
	}
	CASE("label checks: the first and the last image, each soft entry, the sum within 1e-3") {
		int64_t h[3] = {0, 1, 2};
		cords_labels y = {h, NULL, NULL};
		h[0] = -1;
		CHECK(cords_labels_check(y, 3, 3) < 0, "a bad label in the first image accepted");
		h[0] = 0, h[2] = 3;
		CHECK(cords_labels_check(y, 3, 3) < 0, "a bad label in the last image accepted");
		/* image 1's entries sit past image 0's: {NaN, 1} in the first entry, then sums of 1.00105 and 1.0009 */
		float s[4] = {0.5f, 0.5f, NAN, 1};
		y = (cords_labels){NULL, s, NULL};
		CHECK(cords_labels_check(y, 2, 2) < 0 && strstr(cords_errmsg(), "image 1 has"),
		      "a NaN entry accepted: %s", cords_errmsg());
		s[2] = 0.50105f, s[3] = 0.5f;
		CHECK(cords_labels_check(y, 2, 2) < 0 && strstr(cords_errmsg(), "image 1 sums"),
		      "a sum of 1.00105 accepted");
		s[2] = 0.5009f;
		CHECK(cords_labels_check(y, 2, 2) == 0, "a sum of 1.0009 refused: %s", cords_errmsg());
	}
	CASE("accuracy: argmax of logits against argmax of label") {
		float z[6] = {0, 1, 0, 3, 2, 1}, s[6] = {0.2f, 0.8f, 0, 0, 0.4f, 0.6f};
		int64_t h[2] = {1, 1};
		CHECK(cords_correct_cpu(z, 2, 3, (cords_labels){h, NULL, NULL}) == 1, "hard");
		CHECK(cords_correct_cpu(z, 2, 3, (cords_labels){NULL, s, NULL}) == 1, "soft");
		int64_t t[2] = {1, 0}; /* soft labels whose own classes are not their argmax */
		CHECK(cords_correct_cpu(z, 2, 3, (cords_labels){NULL, s, t}) == 2, "soft with truth");
	}
	CASE("read-out layer on the host: forward, dx, dW, db equal plain loops bit for bit (threaded and not)") {
		/* above and below the threads' threshold; whole and partial blocks of outputs; one output
		 * past a block of 8, one input past a block of 128 */
		const int sizes[5][3] = {{5, 256, 300}, {3, 16, 10}, {7, 200, 203}, {2, 129, 9}, {2, 257, 1}};
		for (int k = 0; k < 5; k++) {
			const int B = sizes[k][0], C = sizes[k][1], N = sizes[k][2];
			float *x = malloc(sizeof(float) * B * C), *W = malloc(sizeof(float) * N * C), *b = malloc(sizeof(float) * N);
			float *dy = malloc(sizeof(float) * B * N), *y = malloc(sizeof(float) * B * N), *dx = malloc(sizeof(float) * B * C);
			float *dW = malloc(sizeof(float) * N * C), *db = malloc(sizeof(float) * N);
			randn(x, B * C, 1), randn(W, N * C, 0.1), randn(b, N, 1), randn(dy, B * N, 1);
			cords_fc_forward_cpu(x, W, b, B, C, N, y);
			cords_fc_dx_cpu(dy, W, B, C, N, dx);
			cords_fc_dw_cpu(dy, x, B, C, N, dW, db);
			float *ry = malloc(sizeof(float) * B * N), *rdx = malloc(sizeof(float) * B * C);
			float *rdW = malloc(sizeof(float) * N * C), *rdb = malloc(sizeof(float) * N);
			for (int i = 0; i < B; i++)
				for (int n = 0; n < N; n++) {
					double s = b[n];
					for (int c = 0; c < C; c++)
						s += (double)x[i * C + c] * W[n * C + c];
					ry[i * N + n] = (float)s;
				}
			for (int i = 0; i < B; i++)
				for (int c = 0; c < C; c++) {
					double s = 0;
					for (int n = 0; n < N; n++)
						s += (double)dy[i * N + n] * W[n * C + c];
					rdx[i * C + c] = (float)s;
				}
			for (int n = 0; n < N; n++) {
				double sb = 0;
				for (int i = 0; i < B; i++)
					sb += dy[i * N + n];
				rdb[n] = (float)sb;
				for (int c = 0; c < C; c++) {
					double s = 0;
					for (int i = 0; i < B; i++)
						s += (double)dy[i * N + n] * x[i * C + c];
					rdW[n * C + c] = (float)s;
				}
			}
			t_worst e = {0, ""};
			t_same(&e, "y", y, ry, B * N);
			t_same(&e, "dx", dx, rdx, B * C);
			t_same(&e, "dW", dW, rdW, N * C);
			t_same(&e, "db", db, rdb, N);
			CHECK(e.err == 0, "B %d C %d N %d: the read-out differs from the plain loops: %s", B, C, N, e.at);
			free(ry), free(rdx), free(rdW), free(rdb);
			free(x), free(W), free(b), free(dy), free(y), free(dx), free(dW), free(db);
		}
	}
	CASE("read-out weights: 10^linspace(-3,0,R) / R") {
		double w[30];
		cords_time_weights(30, w);
		CHECK_CLOSE(w[0], 1e-3 / 30, 1e-12, 0);
		CHECK_CLOSE(w[29], 1.0 / 30, 1e-12, 0);
		CHECK_CLOSE(w[10], pow(10, -3 + 30.0 / 29) / 30, 1e-12, 0);
		cords_time_weights(1, w);
		CHECK_CLOSE(w[0], 1e-3, 1e-12, 0);
		cords_time_weights(2, w);
		CHECK_CLOSE(w[0], 1e-3 / 2, 1e-12, 0);
		CHECK_CLOSE(w[1], 1.0 / 2, 1e-12, 0);
	}
	CASE("BatchNorm train and eval backward against finite differences") {
		float x[BX], g[BC], be[BC], y[BX], dx[BX], dg[BC], db[BC], sm[BC], si[BC], grad[BX + 2 * BC];
		double p[BX + 2 * BC];
		randn(x, BX, 1.5);
		randn(g, BC, 1);
		randn(be, BC, 1);
		randn(bn_r, BX, 1);
		randn(bn_rm, BC, 0.5);
		for (int c = 0; c < BC; c++)
			bn_rv[c] = 0.5f + c * 0.25f;
		for (int i = 0; i < BX; i++)
			p[i] = x[i];
		for (int c = 0; c < BC; c++)
			p[BX + c] = g[c], p[BX + BC + c] = be[c];
		cords_bn cfg = {BB, BC, BM, 0.1, 1e-5, 1};
		for (int train = 0; train < 2; train++) {
			if (train) {
				cords_bn_train_forward_cpu(&cfg, x, g, be, NULL, NULL, sm, si, y);
				cords_bn_train_backward_cpu(&cfg, x, bn_r, g, sm, si, dx, dg, db);
			} else {
				cords_bn_eval_forward_cpu(&cfg, x, g, be, bn_rm, bn_rv, y);
				cords_bn_eval_backward_cpu(&cfg, x, bn_r, g, bn_rm, bn_rv, dx, dg, db);
			}
			double L = 0;
			for (int i = 0; i < BX; i++)
				L += (double)bn_r[i] * y[i];
			CHECK_CLOSE(L, ref_bn(p, &train), 1e-5, 1e-6);
			memcpy(grad, dx, sizeof dx);
			memcpy(grad + BX, dg, sizeof dg);
			memcpy(grad + BX + BC, db, sizeof db);
			t_worst e = {0, ""};
			CHECK(fd_err(&e, ref_bn, p, BX + 2 * BC, grad, &train) < 1e-4, "%s mode: %s", train ? "train" : "eval",
			      e.at);
		}
	}
	CASE("weight norm backward against finite differences") {
		float g[WO], v[WO * WK], W[WO * WK], dg[WO], dv[WO * WK], grad[WO + WO * WK];
		double p[WO + WO * WK];
		randn(g, WO, 1);
		randn(v, WO * WK, 1);
		randn(wn_r, WO * WK, 1);
		for (int i = 0; i < WO; i++)
			p[i] = g[i];
		for (int i = 0; i < WO * WK; i++)
			p[WO + i] = v[i];
		cords_wnorm_forward_cpu(g, v, WO, WK, W);
		double L = 0;
		for (int i = 0; i < WO * WK; i++)
			L += (double)wn_r[i] * W[i];
		CHECK_CLOSE(L, ref_wn(p, NULL), 1e-5, 1e-6);
		cords_wnorm_backward_cpu(g, v, wn_r, WO, WK, dg, dv);
		memcpy(grad, dg, sizeof dg);
		memcpy(grad + WO, dv, sizeof dv);
		t_worst e = {0, ""};
		CHECK(fd_err(&e, ref_wn, p, WO + WO * WK, grad, NULL) < 1e-5, "%s", e.at);
	}
	CASE("phi backward (leaky_bwd, alpha 1): ReLU, identity, PReLU against finite differences") {
		cords_backend *be = t_backend("cpu");
		const int64_t n = 16;
		float z[16], dz[16];
		double zd[16], negs[3] = {0, 1, 0.35};
		const cords_phi phis[3] = {{CORDS_PHI_RELU, 0}, {CORDS_PHI_IDENTITY, 0}, {CORDS_PHI_PRELU, 0.35f}};
		randn(phi_r, 16, 1);
		for (int i = 0; i < 16; i++) {
			z[i] = (float)((i % 2 ? 1 : -1) * (0.1 + 0.05 * i)); /* away from the kink */
			zd[i] = z[i];
		}
		cords_buf *bz = be->alloc(be, CORDS_BUF_ACT, 1, &n), *bd = be->alloc(be, CORDS_BUF_ACT, 1, &n);
		cords_buf *bdz = be->alloc(be, CORDS_BUF_ACT, 1, &n), *bdr = be->alloc(be, CORDS_BUF_ACT, 1, &n);
		for (int k = 0; k < 3; k++) {
			CHECK(!be->upload(be, bz, z) && !be->upload(be, bd, phi_r) &&
				      !be->leaky_bwd(be, 1.0f, phis[k], bz, bd, bdz, bdr, 0) && !be->download(be, bdz, dz),
			      "%s", cords_errmsg());
			t_worst e = {0, ""};
			CHECK(fd_err(&e, ref_phi, zd, 16, dz, &negs[k]) < 1e-6, "neg %g: %s", negs[k], e.at);
		}
		be->free(be, bz), be->free(be, bd), be->free(be, bdz), be->free(be, bdr);
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/train/ops.tzst", getenv("TESTDATA") ? getenv("TESTDATA") : "testdata");
	cords_tensor_list l = {0};
	if (cords_read_file(path, &l)) {
		printf("FAIL: train_ops: %s\n", cords_errmsg());
		return 1;
	}
	const float *p0 = need(&l, "p0")->data;
	const float *gs[3] = {need(&l, "g0")->data, need(&l, "g1")->data, need(&l, "g2")->data};
	CASE("AdamW: three steps equal torch.optim.AdamW(lr=1e-2)") {
		float p[37], m[37] = {0}, v[37] = {0};
		memcpy(p, p0, sizeof p);
		cords_adamw o = cords_adamw_defaults();
		o.lr = 1e-2;
		for (int k = 0; k < 3; k++) {
			char n[32];
			cords_adamw_step_cpu(&o, k + 1, p, gs[k], m, v, 37);
			snprintf(n, sizeof n, "adamw%d", k);
			t_worst e = {0, ""};
			CHECK(max_rel(&e, n, p, need(&l, n)->data, 37, 1e-6) <= 1, "step %d: %s", k + 1, e.at);
		}
	}
	CASE("SGD momentum 0.9, weight decay 1e-4, warm-up from lr/3: equal torch") {
		float p[37], buf[37];
		memcpy(p, p0, sizeof p);
		for (int k = 0; k < 3; k++) {
			char n[32];
			cords_sgd o = {.lr = cords_warmup_lr(0.1, k, 100, 1.0 / 3), .momentum = 0.9, .weight_decay = 1e-4};
			cords_sgd_step_cpu(&o, k == 0, p, gs[k], buf, 37);
			snprintf(n, sizeof n, "sgd%d", k);
			t_worst e = {0, ""};
			CHECK(max_rel(&e, n, p, need(&l, n)->data, 37, 1e-6) <= 1, "step %d: %s", k + 1, e.at);
		}
		CHECK_CLOSE(cords_warmup_lr(0.3, 100, 100, 1.0 / 3), 0.3, 1e-15, 0);
	}
	CASE("global-norm clipping (an optimiser step on the CPU backend) equals clip_grad_norm_(0.5)") {
		cords_backend *be = t_backend("cpu");
		cords_tensor_list p = {0};
		int64_t na = 15, nb = 4;
		cords_list_push(&p, cords_tensor_new("a", CORDS_F32, 1, &na));
		cords_list_push(&p, cords_tensor_new("b", CORDS_F32, 1, &nb));
		cords_params *ps = cords_params_new(be, &p, cords_params_all);
		cords_opt_cfg cfg = {.kind = CORDS_OPT_SGD, .lr = 0, .clip = 0.5};
		cords_opt *o = ps ? cords_opt_new(&cfg, ps) : NULL;
		double norm = 0, lr;
		float a[15], b[4];
		CHECK(o && !be->upload(be, cords_params_grad(ps, "a"), need(&l, "clip_in_a")->data) &&
			      !be->upload(be, cords_params_grad(ps, "b"), need(&l, "clip_in_b")->data) &&
			      !cords_opt_step(o, &norm, &lr) && !be->download(be, cords_params_grad(ps, "a"), a) &&
			      !be->download(be, cords_params_grad(ps, "b"), b),
		      "%s", cords_errmsg());
		CHECK_CLOSE(norm, *(double *)need(&l, "clip_norm")->data, 1e-6, 0);
		t_worst e = {0, ""};
		max_rel(&e, "a", a, need(&l, "clip_a")->data, 15, 1e-6);
		max_rel(&e, "b", b, need(&l, "clip_b")->data, 4, 1e-6);
		CHECK(e.err <= 1, "%s", e.at);
		CHECK(cords_clip_factor(0.1, 0.5) == 1, "small norms untouched");
		cords_opt_free(o);
		cords_params_free(ps);
		cords_list_free(&p);
	}
	CASE("BatchNorm train forward, running statistics and backward equal torch") {
		cords_bn cfg = {3, 5, 8, 0.1, 1e-5, 1};
		float y[120], dx[120], dg[5], db[5], sm[5], si[5], rm[5], rv[5];
		memcpy(rm, need(&l, "bn_rm")->data, sizeof rm);
		memcpy(rv, need(&l, "bn_rv")->data, sizeof rv);
		const float *x = need(&l, "bn_x")->data, *g = need(&l, "bn_w")->data;
		cords_bn_train_forward_cpu(&cfg, x, g, need(&l, "bn_b")->data, rm, rv, sm, si, y);
		cords_bn_train_backward_cpu(&cfg, x, need(&l, "bn_dy")->data, g, sm, si, dx, dg, db);
		t_worst e = {0, ""};
		max_rel(&e, "y", y, need(&l, "bn_y")->data, 120, 1e-5);
		max_rel(&e, "running mean", rm, need(&l, "bn_new_rm")->data, 5, 1e-6);
		max_rel(&e, "running var (unbiased)", rv, need(&l, "bn_new_rv")->data, 5, 1e-6);
		max_rel(&e, "dx", dx, need(&l, "bn_dx")->data, 120, 1e-5);
		max_rel(&e, "dgamma", dg, need(&l, "bn_dw")->data, 5, 1e-5);
		max_rel(&e, "dbeta", db, need(&l, "bn_db")->data, 5, 1e-5);
		CHECK(e.err <= 1, "%s", e.at);
	}
	cords_list_free(&l);
	T_DONE();
}
