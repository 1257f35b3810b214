/* The CUDA backend against the CPU backend: every operation on random inputs
 * (odd sizes, strides 1 and 2, padding, bias, accumulation, broadcast,
 * aliasing), the training operations likewise (the read-out's backward and
 * cross-entropy included), RNN training steps' loss and
 * gradients against the PyTorch fixtures (testdata/train; three passes, so
 * the steps run as they are, captured as CUDA graphs and replayed), then whole
 * models (testdata/model R2 and R4, every phi) against the CPU backend and
 * the PyTorch fixtures. Within 1e-4 relative (to the
 * element, with an absolute floor of 1e-5 of the largest reference value).
 * Then cords-eig's device side (double): area_conv as an operator, and
 * Arnoldi with its basis on the device, against the host's; and the
 * all-reduce (NCCL) over this one process, whose sum is the array itself.
 * Without a GPU, or built without CUDA, every case prints a SKIP line saying
 * why; build/test/backend_cuda_emu runs all of it on the CPU, on the
 * emulated CUDA of test/cuda_emu/. */
#include "t.h"
#include "train_fixture.h"

#include "backend.h"
#include "conv_op.h"
#include "eig.h"
#include "err.h"
#include "model.h"
#include "rng.h"
#include "rnn_train.h"
#include "stream.h"

static cords_backend *cpu, *gpu;
static cords_rng rng;

/* Defined by the emulation (build/test/backend_cuda_emu, test/cuda_emu/):
 * graphs launched, and captures that failed (which on a GPU turn graphs off
 * for the run, with one line on stderr, and nothing else shows it). */
int cords_cuda_emu_graph_launches(void) __attribute__((weak));
int cords_cuda_emu_failed_captures(void) __attribute__((weak));

/* A buffer pair (same contents on both backends) and its host copy. */
typedef struct {
	cords_buf *c, *g;
	float *h;
	int64_t n;
} pair;

static pair mk(cords_buf_kind kind, int ndim, int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t s[4] = {a, b, c, d};
	pair p = {cpu->alloc(cpu, kind, ndim, s), gpu->alloc(gpu, kind, ndim, s), NULL, 1};
	for (int i = 0; i < ndim; i++)
		p.n *= s[i];
	p.h = malloc((size_t)p.n * sizeof *p.h);
	for (int64_t i = 0; i < p.n; i++)
		p.h[i] = (float)cords_rng_range(&rng, -1, 1);
	cpu->upload(cpu, p.c, p.h);
	gpu->upload(gpu, p.g, p.h);
	return p;
}

static pair act(int ndim, int64_t a, int64_t b, int64_t c, int64_t d)
{
	return mk(CORDS_BUF_ACT, ndim, a, b, c, d);
}

static void drop(pair *p)
{
	cpu->free(cpu, p->c);
	gpu->free(gpu, p->g);
	free(p->h);
}

/* > 0 while the GPU side computes in bf16: |g - c| within this much of
 * max |c| passes; else |g - c| <= 1e-4 |c| + 1e-5 max |c|. */
static double bf16_tol;

static double cmp(t_worst *w, const char *what, const float *g, const float *c, int64_t n)
{
	if (bf16_tol > 0)
		return t_cmp(w, what, g, c, n, .of_max = bf16_tol);
	return t_cmp(w, what, g, c, n, .rel = 1e-4, .of_max = 1e-5);
}

/* Download both sides of p and compare: the GPU's side is `got`. */
static void same(const pair *p, const char *what)
{
	float *c = malloc((size_t)p->n * sizeof *c), *g = malloc((size_t)p->n * sizeof *g);
	t_worst w = {0, ""};
	if (cpu->download(cpu, p->c, c) || gpu->download(gpu, p->g, g))
		t_fail(&w, cords_errmsg());
	else
		cmp(&w, what, g, c, p->n);
	CHECK(w.err <= 1, "%s", w.at);
	free(c);
	free(g);
}

#define SAME(p, what) same(&(p), what)

/* The same call with each backend's buffer of every pair: X(p) picks it. */
#define RUN(op, ...) \
	do { \
		int rc_ = 0; \
		for (int side_ = 0; side_ < 2 && !rc_; side_++) { \
			cords_backend *be_ = side_ ? gpu : cpu; \
			rc_ = be_->op(be_, __VA_ARGS__); \
		} \
		CHECK(!rc_, #op ": %s", cords_errmsg()); \
	} while (0)
#define X(p) (side_ ? (p).g : (p).c)

static void buffers(void)
{
	pair a = act(4, 3, 5, 7, 9), b = act(4, 3, 5, 7, 9), one = act(4, 1, 5, 7, 9);
	SAME(a, "upload/download");
	RUN(copy, X(b), X(a));
	SAME(b, "copy");
	RUN(copy, X(b), X(one));
	SAME(b, "copy broadcast [1,...] -> [3,...]");
	RUN(fill, X(b), 0.375f);
	SAME(b, "fill");
	/* free memory: a 64 MiB buffer takes at least that much; the CPU has no limit to report */
	size_t before = 0, after = 0;
	int64_t big = (int64_t)16 << 20;
	CHECK(!cpu->mem_free && gpu->mem_free && !gpu->mem_free(gpu, &before), "mem_free: %s", cords_errmsg());
	cords_buf *mb = gpu->alloc(gpu, CORDS_BUF_ACT, 1, &big);
	CHECK(mb && !gpu->mem_free(gpu, &after) && before >= after + ((size_t)64 << 20),
	      "mem_free: %zu bytes before a 64 MiB buffer, %zu after", before, after);
	gpu->free(gpu, mb);
	/* a view of items 1..2 of a, written through: a changes there only */
	cords_buf *vc = cpu->view(cpu, a.c, 1, 2), *vg = gpu->view(gpu, a.g, 1, 2);
	CHECK(vc && vg, "view: %s", cords_errmsg());
	if (vc && vg) {
		cpu->fill(cpu, vc, -2.0f), gpu->fill(gpu, vg, -2.0f);
		SAME(a, "fill through a view of items 1..2");
		CHECK(!gpu->view(gpu, a.g, 2, 2), "view past the batch refused");
	}
	cpu->free(cpu, vc), gpu->free(gpu, vg);
	SAME(a, "the buffer after its view is freed");
	int64_t s[4] = {2, 5, 7, 9};
	cords_buf *bad = gpu->alloc(gpu, CORDS_BUF_ACT, 4, s);
	CHECK(gpu->copy(gpu, a.g, bad) == -1, "copy [2,...] -> [3,...] refused");
	gpu->free(gpu, bad);
	gpu->free(gpu, NULL);
	CHECK(!gpu->sync(gpu), "sync: %s", cords_errmsg());
	drop(&a);
	drop(&b);
	drop(&one);
}

typedef struct {
	int B, I, H, W, O, k, stride, pad, bias;
	float beta;
} conv_case;

static void conv(conv_case t)
{
	int64_t oh = (t.H + 2 * t.pad - t.k) / t.stride + 1, ow = (t.W + 2 * t.pad - t.k) / t.stride + 1;
	pair x = act(4, t.B, t.I, t.H, t.W), w = mk(CORDS_BUF_WEIGHT, 4, t.O, t.I, t.k, t.k);
	pair b = act(1, t.O, 1, 1, 1), y = act(4, t.B, t.O, oh, ow);
	cords_conv cv = {.stride = t.stride, .pad = t.pad, .beta = t.beta};
	RUN(conv2d, &cv, X(x), X(w), t.bias ? X(b) : NULL, X(y));
	char what[128];
	snprintf(what, sizeof what, "conv %dx%dx%dx%d * %dx%d k%d s%d p%d bias %d beta %g", t.B, t.I, t.H, t.W, t.O,
		 t.I, t.k, t.stride, t.pad, t.bias, t.beta);
	SAME(y, what);
	/* Again: the cached plan gives the same answer. */
	RUN(conv2d, &cv, X(x), X(w), t.bias ? X(b) : NULL, X(y));
	SAME(y, what);
	drop(&x);
	drop(&w);
	drop(&b);
	drop(&y);
}

static void pool(int B, int C, int H, int W, int k, int stride, int pad)
{
	pair x = act(4, B, C, H, W);
	pair y = act(4, B, C, (H + 2 * pad - k) / stride + 1, (W + 2 * pad - k) / stride + 1);
	cords_pool pp = {.k = k, .stride = stride, .pad = pad};
	RUN(avgpool, &pp, X(x), X(y));
	SAME(y, "avgpool");
	drop(&x);
	drop(&y);
}

static void leaky(cords_phi phi, int with_bias, int in_place)
{
	pair r = act(4, 3, 8, 5, 7), z = act(4, 3, 8, 5, 7), bias = act(4, 1, 8, 5, 7), out = act(4, 3, 8, 5, 7);
	pair *o = in_place ? &r : &out;
	RUN(leaky, 0.2f, phi, X(r), X(z), with_bias ? X(bias) : NULL, X(*o));
	SAME(z, "leaky: z");
	SAME(*o, "leaky: r_out");
	drop(&r);
	drop(&z);
	drop(&bias);
	drop(&out);
}

static void relu_add(void)
{
	for (int mode = 0; mode < 5; mode++) {
		pair a = act(4, 2, 6, 5, 3), b = act(4, 2, 6, 5, 3), y = act(4, 2, 6, 5, 3);
		/* 0: b NULL; 1: b; 2: relu(b); 3: y is a; 4: y is b */
		pair *out = mode == 3 ? &a : mode == 4 ? &b : &y;
		RUN(relu_add, X(a), mode ? X(b) : NULL, mode == 2 || mode == 4, X(*out));
		SAME(*out, "relu_add");
		drop(&a);
		drop(&b);
		drop(&y);
	}
}

static void reductions(void)
{
	pair x = act(4, 3, 16, 13, 11), m = act(2, 3, 16, 1, 1);
	RUN(spatial_mean, X(x), X(m));
	SAME(m, "spatial_mean");
	for (int with_bias = 0; with_bias < 2; with_bias++) {
		pair f = act(2, 5, 37, 1, 1), w = act(2, 10, 37, 1, 1), b = act(1, 10, 1, 1, 1), y = act(2, 5, 10, 1, 1);
		RUN(linear, X(f), X(w), with_bias ? X(b) : NULL, X(y));
		SAME(y, "linear");
		drop(&f);
		drop(&w);
		drop(&b);
		drop(&y);
	}
	drop(&x);
	drop(&m);
}

/* ---- Training operations ---- */

static void conv_bwd(conv_case t)
{
	int64_t oh = (t.H + 2 * t.pad - t.k) / t.stride + 1, ow = (t.W + 2 * t.pad - t.k) / t.stride + 1;
	pair x = act(4, t.B, t.I, t.H, t.W), w = mk(CORDS_BUF_WEIGHT, 4, t.O, t.I, t.k, t.k);
	pair dy = act(4, t.B, t.O, oh, ow), dw = mk(CORDS_BUF_WEIGHT, 4, t.O, t.I, t.k, t.k);
	cords_conv cv = {.stride = t.stride, .pad = t.pad, .beta = t.beta};
	char what[128];
	snprintf(what, sizeof what, "conv backward %dx%dx%dx%d * %dx%d k%d s%d p%d beta %g", t.B, t.I, t.H, t.W, t.O,
		 t.I, t.k, t.stride, t.pad, t.beta);
	RUN(conv2d_bwd_data, &cv, X(dy), X(w), X(x));
	SAME(x, what);
	RUN(conv2d_bwd_weights, &cv, X(x), X(dy), X(dw));
	SAME(dw, what);
	drop(&x);
	drop(&w);
	drop(&dy);
	drop(&dw);
}

static void pool_bwd(int B, int C, int H, int W, int k, int stride, int pad)
{
	pair dx = act(4, B, C, H, W);
	pair dy = act(4, B, C, (H + 2 * pad - k) / stride + 1, (W + 2 * pad - k) / stride + 1);
	cords_pool pp = {.k = k, .stride = stride, .pad = pad};
	RUN(avgpool_bwd, &pp, X(dy), X(dx));
	SAME(dx, "avgpool_bwd");
	drop(&dx);
	drop(&dy);
}

static void eltwise_bwd(void)
{
	const cords_phi phis[] = {{CORDS_PHI_RELU, 0}, {CORDS_PHI_IDENTITY, 0}, {CORDS_PHI_PRELU, 0.25f}};
	for (int k = 0; k < 6; k++) {
		pair z = act(4, 3, 8, 5, 7), d = act(4, 3, 8, 5, 7), dz = act(4, 3, 8, 5, 7), dr = act(4, 3, 8, 5, 7);
		RUN(leaky_bwd, 0.2f, phis[k % 3], X(z), X(d), X(dz), X(dr), (float)(k / 3));
		SAME(dz, "leaky_bwd: dz");
		SAME(dr, "leaky_bwd: dr");
		RUN(relu_bwd_add, X(z), X(d), X(dr));
		SAME(dr, "relu_bwd_add");
		drop(&z);
		drop(&d);
		drop(&dz);
		drop(&dr);
	}
	pair x = act(4, 3, 16, 7, 5), dy = act(2, 3, 16, 1, 1), dx = act(4, 3, 16, 7, 5);
	RUN(readout_bwd_add, X(x), X(dy), X(dx));
	SAME(dx, "readout_bwd_add");
	pair one = act(4, 1, 16, 7, 5);
	for (int beta = 0; beta < 2; beta++) {
		RUN(batch_sum, X(dx), X(one), (float)beta);
		SAME(one, "batch_sum");
		RUN(axpby, 0.5f, X(x), (float)beta, X(dx));
		SAME(dx, "axpby");
		RUN(axpby, -2.0f, X(one), 0.25f * beta, X(dx));
		SAME(dx, "axpby broadcast");
	}
	for (int mode = 0; mode < 3; mode++) {
		double sc = 0, sg = 0;
		const cords_buf *yc = mode == 0 ? dx.c : mode == 1 ? one.c : NULL;
		const cords_buf *yg = mode == 0 ? dx.g : mode == 1 ? one.g : NULL;
		CHECK(!cpu->sqdiff_sum(cpu, x.c, yc, &sc) && !gpu->sqdiff_sum(gpu, x.g, yg, &sg), "sqdiff_sum: %s",
		      cords_errmsg());
		CHECK_CLOSE(sg, sc, 1e-6, 0);
	}
	drop(&x);
	drop(&dy);
	drop(&dx);
	drop(&one);
}

/* Weight norm into a weight buffer (and a convolution through it after),
 * its backward, and AdamW and SGD steps with clipping's scale. */
static void params_ops(void)
{
	pair g = act(1, 16, 0, 0, 0), v = act(2, 16, 8 * 9, 0, 0), w = mk(CORDS_BUF_WEIGHT, 4, 16, 8, 3, 3);
	pair x = act(4, 2, 8, 6, 5), y = act(4, 2, 16, 6, 5), dg = act(1, 16, 0, 0, 0), dv = act(2, 16, 8 * 9, 0, 0);
	const cords_conv c3 = {.stride = 1, .pad = 1};
	RUN(wnorm, X(g), X(v), X(w));
	SAME(w, "wnorm");
	RUN(conv2d, &c3, X(x), X(w), NULL, X(y));
	SAME(y, "conv2d after wnorm");
	RUN(wnorm_bwd, X(g), X(v), X(w), X(dg), X(dv));
	SAME(dg, "wnorm_bwd: dg");
	SAME(dv, "wnorm_bwd: dv");
	for (int adamw = 0; adamw < 2; adamw++) {
		pair p = act(1, 1000, 0, 0, 0), gr = act(1, 1000, 0, 0, 0), m = act(1, 1000, 0, 0, 0), s = act(1, 1000, 0, 0, 0);
		RUN(fill, X(s), 0.5f);
		for (int step = 1; step <= 3; step++) {
			cords_optim o = {.adamw = adamw, .lr = 1e-2, .weight_decay = 0.01, .beta1 = 0.9, .beta2 = 0.999,
					 .eps = 1e-8, .momentum = 0.9, .step = step, .scale = step == 2 ? 0.5f : 1.0f};
			RUN(optim, &o, X(p), X(gr), X(m), X(s));
			SAME(p, adamw ? "AdamW: parameter" : "SGD: parameter");
			SAME(m, adamw ? "AdamW: first moment" : "SGD: momentum");
			SAME(gr, "optim: gradient scaled");
		}
		drop(&p), drop(&gr), drop(&m), drop(&s);
	}
	drop(&g), drop(&v), drop(&w), drop(&x), drop(&y), drop(&dg), drop(&dv);
}

/* p's contents set to h on both sides. */
static void set(pair *p, const float *h)
{
	memcpy(p->h, h, (size_t)p->n * sizeof *h);
	cpu->upload(cpu, p->c, p->h);
	gpu->upload(gpu, p->g, p->h);
}

/* The read-out's backward (cuBLAS) and its cross-entropy, at ImageNet's
 * 1000 classes and 512 features, 3 read-outs of batch 8 as rows. */
static void readout_ops(void)
{
	enum { B = 24, K = 512, N = 1000 };
	pair x = act(2, B, K, 0, 0), w = act(2, N, K, 0, 0), dy = act(2, B, N, 0, 0), dx = act(2, B, K, 0, 0);
	pair dw = act(2, N, K, 0, 0), db = act(1, N, 0, 0, 0), lg = act(2, B, N, 0, 0), dl = act(2, B, N, 0, 0);
	pair hard = act(1, B, 0, 0, 0), soft = act(2, B, N, 0, 0), out = act(2, 2, B, 0, 0);
	RUN(linear_bwd_data, X(dy), X(w), X(dx));
	SAME(dx, "linear_bwd_data");
	RUN(linear_bwd_weights, X(dy), X(x), X(dw), X(db));
	SAME(dw, "linear_bwd_weights: dw");
	SAME(db, "linear_bwd_weights: db");
	RUN(linear_bwd_weights, X(dy), X(x), X(dw), NULL);
	SAME(dw, "linear_bwd_weights without db");
	float *h = malloc((size_t)B * N * sizeof *h);
	for (int b = 0; b < B; b++)
		h[b] = (float)((b * 397) % N);
	set(&hard, h);
	for (int b = 0; b < B; b++) { /* a distribution per row */
		double t = 0;
		for (int n = 0; n < N; n++)
			t += h[b * N + n] = (float)cords_rng_range(&rng, 0, 1);
		for (int n = 0; n < N; n++)
			h[b * N + n] = (float)(h[b * N + n] / t);
	}
	set(&soft, h);
	for (int i = 0; i < B * N; i++) /* logits of a trained net's spread */
		h[i] = 8 * lg.h[i];
	set(&lg, h);
	RUN(xent, X(lg), X(hard), NULL, 0.25f, X(dl), X(out));
	SAME(dl, "xent hard: dlogits");
	SAME(out, "xent hard: CE and argmax");
	RUN(xent, X(lg), NULL, X(soft), 1.0f, X(dl), X(out));
	SAME(dl, "xent soft: dlogits");
	SAME(out, "xent soft: CE and argmax");
	RUN(xent, X(lg), X(hard), NULL, 1.0f, NULL, X(out));
	SAME(out, "xent without dlogits");
	free(h);
	pair *all[] = {&x, &w, &dy, &dx, &dw, &db, &lg, &dl, &hard, &soft, &out};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		drop(all[i]);
}

/* x [B,C,H,W]: planes of H W smaller than a block, and larger, not a multiple of it. */
static void batchnorm(int train, int running, int B, int C, int H, int W)
{
	pair x = act(4, B, C, H, W), y = act(4, B, C, H, W), g = act(1, C, 1, 1, 1), b = act(1, C, 1, 1, 1);
	pair rm = act(1, C, 1, 1, 1), rv = act(1, C, 1, 1, 1), sm = act(1, C, 1, 1, 1), si = act(1, C, 1, 1, 1);
	pair dy = act(4, B, C, H, W), dx = act(4, B, C, H, W), dg = act(1, C, 1, 1, 1), db = act(1, C, 1, 1, 1);
	RUN(fill, X(rv), 0.7f);
	cords_bn_mode m = {.train = train, .momentum = 0.1f, .eps = 1e-5f};
	RUN(batchnorm, &m, X(x), X(g), X(b), running ? X(rm) : NULL, running ? X(rv) : NULL, X(sm), X(si), X(y));
	SAME(y, "batchnorm: y");
	if (train) {
		SAME(sm, "batchnorm: save_mean");
		SAME(si, "batchnorm: save_invstd");
	}
	SAME(rm, "batchnorm: running mean");
	SAME(rv, "batchnorm: running var");
	for (int beta = 0; beta < 2; beta++) {
		RUN(batchnorm_bwd, &m, X(x), X(dy), X(g), X(sm), X(si), X(rm), X(rv), X(dx), X(dg), X(db), (float)beta);
		SAME(dx, "batchnorm_bwd: dx");
		SAME(dg, "batchnorm_bwd: dgamma");
		SAME(db, "batchnorm_bwd: dbeta");
	}
	pair *all[] = {&x, &y, &g, &b, &rm, &rv, &sm, &si, &dy, &dx, &dg, &db};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++)
		drop(all[i]);
}

/* The full protocol (spontaneous from zero, then the stimulus) on one backend. */
static int run_model(const char *model, const char *cas, cords_backend *be, cords_tensor_list *c, float **logits)
{
	char path[1024];
	const char *dir = getenv("TESTDATA") ? getenv("TESTDATA") : "testdata";
	snprintf(path, sizeof path, "%s/model/%s.model.tzst", dir, model);
	cords_model *m = cords_model_load(path, be);
	snprintf(path, sizeof path, "%s/model/%s-%s.case.tzst", dir, model, cas);
	cords_dynamics d;
	if (!m || (!c->n && cords_read_file(path, c)) || cords_dynamics_from_meta(cords_list_find(c, "meta"), &d)) {
		cords_model_free(m);
		return -1;
	}
	int B = (int)cords_list_find(c, "x")->shape[0], N = m->arch.classes;
	cords_work *w = cords_work_new(m, B);
	cords_state *s = cords_state_new(m, B), *tmp = cords_state_new(m, B);
	cords_buf *x = cords_model_alloc_input(m, B), *lg = cords_model_alloc_logits(m, B);
	cords_drive p = {0};
	*logits = malloc((size_t)B * N * sizeof **logits);
	int rc = !w || !s || !tmp || !x || !lg || cords_drive_alloc(m, B, &p) ||
		 be->upload(be, x, cords_list_find(c, "x")->data) ||
		 cords_model_run(m, &d, w, NULL, &s, &tmp, d.spont_steps, 0, NULL, NULL) ||
		 cords_model_drive(m, w, x, &p) || cords_model_run(m, &d, w, &p, &s, &tmp, d.stim_steps, 0, NULL, NULL) ||
		 cords_model_readout(m, w, s, lg) || be->download(be, lg, *logits);
	be->free(be, lg);
	be->free(be, x);
	cords_drive_free(m, &p);
	cords_state_free(m, s);
	cords_state_free(m, tmp);
	cords_work_free(m, w);
	cords_model_free(m);
	return rc ? -1 : 0;
}

static void whole_model(const char *model, const char *phi)
{
	cords_tensor_list c = {0};
	float *lc = NULL, *lg = NULL;
	CHECK(!run_model(model, phi, cpu, &c, &lc), "%s-%s on cpu: %s", model, phi, cords_errmsg());
	CHECK(!run_model(model, phi, gpu, &c, &lg), "%s-%s on cuda: %s", model, phi, cords_errmsg());
	const cords_tensor *want = cords_list_find(&c, "logits");
	if (lc && lg && want) {
		int64_t n = cords_tensor_numel(want);
		t_worst e = {0, ""};
		CHECK(cmp(&e, "logits", lg, lc, n) <= 1, "%s-%s: off the CPU's: %s", model, phi, e.at);
		e = (t_worst){0, ""};
		CHECK(cmp(&e, "logits", lg, want->data, n) <= 1, "%s-%s: off PyTorch's: %s", model, phi, e.at);
	}
	free(lc);
	free(lg);
	cords_list_free(&c);
}

/* One RNN training step (lib/train/rnn_train.h) on the GPU against the PyTorch
 * fixtures of testdata/train, which the CPU backend matches: the loss, and
 * every parameter's gradient within 1e-4 of its largest entry (a sample for
 * large tensors, as the fixture keeps). */
static void train_step(const char *file)
{
	char path[1024];
	const char *dir = getenv("TESTDATA") ? getenv("TESTDATA") : "testdata";
	cords_tensor_list params = {0}, fx = {0}, grads = {0};
	snprintf(path, sizeof path, "%s/train/params.tzst", dir);
	int rc = cords_read_file(path, &params);
	snprintf(path, sizeof path, "%s/train/%s", dir, file);
	rc = rc || cords_read_file(path, &fx);
	CHECK(!rc, "%s", cords_errmsg());
	const cords_tensor *meta = cords_list_find(&fx, "meta"), *x = cords_list_find(&fx, "x"), *y = cords_list_find(&fx, "y");
	cords_model *m = rc ? NULL : cords_model_new(&params, cords_list_find(&params, "meta"), gpu);
	CHECK(m != NULL, "%s", cords_errmsg());
	if (m) {
		cords_rnn_loss cfg = fx_loss(meta, 0);
		int B = (int)x->shape[0];
		cords_labels lab = fx_labels(y);
		cords_params *ps = cords_params_new(gpu, &params, cords_params_all);
		cords_rnn_trainer *t = ps ? cords_rnn_trainer_new(m, B, &cfg) : NULL;
		/* Three passes: the steps as they are, then captured as CUDA graphs,
		 * then replayed (cuda_graph.cu): each equals torch, and the later
		 * ones the first, bit for bit. */
		float *first = NULL;
		size_t total = 0;
		for (int pass = 0; pass < 3 && t; pass++) {
			cords_rnn_stats st;
			CHECK(cords_rnn_grad(t, ps, B, x->data, lab, 1, &st) == 0, "%s", cords_errmsg());
			cords_list_free(&grads);
			grads = fx_grads(ps);
			total = 0;
			for (int i = 0; i < grads.n; i++)
				total += (size_t)cords_tensor_numel(grads.items[i]);
			CHECK_CLOSE(st.loss, *(double *)cords_list_find(&fx, "loss")->data, 2e-5, 0);
			t_worst e = {0, ""};
			CHECK(fx_grad_cmp(&grads, &fx, 1e-4, &e) <= 1, "%s pass %d: gradients: %s", file, pass + 1, e.at);
			float *all = malloc(total * sizeof *all), *at = all;
			for (int i = 0; i < grads.n; i++) {
				size_t n = (size_t)cords_tensor_numel(grads.items[i]);
				memcpy(at, grads.items[i]->data, n * sizeof *at);
				at += n;
			}
			if (!first)
				first = all;
			else {
				CHECK(!memcmp(first, all, total * sizeof *all), "%s: pass %d's gradients differ from the first's",
				      file, pass + 1);
				free(all);
			}
		}
		free(first);
		cords_rnn_trainer_free(t);
		cords_params_free(ps);
	}
	cords_model_free(m);
	cords_list_free(&grads);
	cords_list_free(&fx);
	cords_list_free(&params);
}

/* A random area_conv operator (c channels on h x w), optionally in the
 * Jacobian's form a x + b d .* conv(x). */
static cords_conv_op eig_op(int c, int h, int w, int jacobian)
{
	int64_t gs[4] = {c, 1, 1, 1}, vs[4] = {c, c, 3, 3};
	cords_tensor *g = cords_tensor_new("g", CORDS_F32, 4, gs), *v = cords_tensor_new("v", CORDS_F32, 4, vs);
	float *gp = g->data, *vp = v->data;
	for (int i = 0; i < c; i++)
		gp[i] = (float)cords_rng_range(&rng, 0.5, 1.5);
	for (int64_t i = 0; i < cords_tensor_numel(v); i++)
		vp[i] = (float)cords_rng_range(&rng, -1, 1);
	cords_conv_op op;
	CHECK(!cords_conv_op_init(&op, g, v, h, w), "%s", cords_errmsg());
	if (jacobian) {
		op.a = 0.8, op.b = 0.2;
		op.d = malloc((size_t)c * h * w * sizeof *op.d);
		for (int64_t i = 0; i < (int64_t)c * h * w; i++)
			op.d[i] = cords_rng_range(&rng, 0, 1) < 0.3 ? 0 : 1;
	}
	cords_tensor_free(g);
	cords_tensor_free(v);
	return op;
}

static void eig_device(int c, int h, int w, int jacobian, int always_reorth)
{
	cords_conv_op op = eig_op(c, h, w, jacobian);
	int64_t n = (int64_t)c * h * w;
	void *dev = cords_conv_op_cuda_new(&op, 0);
	CHECK(dev, "device operator: %s", cords_errmsg());
	if (!dev)
		return;
	double *x = malloc((size_t)n * sizeof *x), *yh = malloc((size_t)n * sizeof *yh), *yd = malloc((size_t)n * sizeof *yd);
	for (int64_t i = 0; i < n; i++)
		x[i] = cords_rng_range(&rng, -1, 1);
	CHECK(!cords_conv_op_apply(&op, x, yh) && !cords_conv_op_cuda_apply(dev, x, yd), "apply: %s", cords_errmsg());
	t_worst e = {0, ""};
	CHECK(t_cmp(&e, "y", yd, yh, n, .of_max = 1e-12) <= 1, "%d x %d x %d: device conv: %s", c, h, w, e.at);

	cords_linop host = cords_conv_linop(&op), gpu_op = {n, cords_conv_op_cuda_apply, dev};
	cords_arnoldi_opts o;
	cords_arnoldi_opts_default(&o);
	o.k = 60;
	o.always_reorth = always_reorth;
	cords_arnoldi_result rh, rd;
	CHECK(!cords_arnoldi(&host, &o, &rh), "host arnoldi: %s", cords_errmsg());
	o.device = 0;
	CHECK(!cords_arnoldi(&gpu_op, &o, &rd), "device arnoldi: %s", cords_errmsg());
	/* 60 steps on a random operator converge nothing (nconv 0 on the host for
	 * these sizes): the device must take the same steps and see the same Ritz
	 * values, converged or not. */
	CHECK(rd.k == rh.k && rd.nconv == rh.nconv, "steps %d / %d, converged %d / %d", rd.k, rh.k, rd.nconv, rh.nconv);
	double radius = hypot(rh.re[0], rh.im[0]);
	int top = rd.k < 5 ? rd.k : 5;
	e = (t_worst){0, ""};
	t_cmp(&e, "re", rd.re, rh.re, top, .abs = 1e-8 * radius);
	t_cmp(&e, "im", rd.im, rh.im, top, .abs = 1e-8 * radius);
	CHECK(rd.k >= 5 && e.err <= 1, "top 5 Ritz values (radius %g): %s", radius, e.at);
	cords_arnoldi_result_free(&rh);
	cords_arnoldi_result_free(&rd);
	cords_conv_op_cuda_free(dev);
	cords_conv_op_free(&op);
	free(x);
	free(yh);
	free(yd);
}

/* One rank: the sum is the buffer, bit for bit, in place. */
static void allreduce(void)
{
	const int64_t sizes[] = {10, 300000, 1000};
	for (int k = 0; k < 3; k++) {
		pair p = act(1, sizes[k], 0, 0, 0);
		CHECK(!gpu->allreduce(gpu, p.g), "allreduce of %lld floats: %s", (long long)sizes[k], cords_errmsg());
		float *g = malloc((size_t)p.n * sizeof *g);
		t_worst e = {0, ""};
		CHECK(!gpu->download(gpu, p.g, g) && !t_same(&e, "sum", g, p.h, p.n),
		      "allreduce of %lld floats over one rank changed them: %s", (long long)sizes[k], e.at);
		free(g);
		drop(&p);
	}
}

int main(void)
{
	cpu = t_backend("cpu");
	gpu = t_backend("cuda");
	static char why[600];
	if (!gpu) {
		snprintf(why, sizeof why, "%s (%s)", strstr(cords_errmsg(), "built without CUDA") ? "built without CUDA" : "no GPU",
			 cords_errmsg());
		t_skip = why;
	}
	cords_rng_seed(&rng, 7);
	CASE("buffers: upload, download, copy, broadcast, fill, free memory, view") buffers();
	CASE("conv2d: odd sizes, strides 1 and 2, padding, bias, accumulation")
	{
		const conv_case cs[] = {
			{2, 3, 17, 15, 8, 7, 2, 3, 0, 0}, /* the stem */
			{3, 8, 9, 11, 16, 3, 1, 1, 1, 0},  {3, 8, 9, 11, 16, 3, 1, 1, 0, 1},
			{2, 16, 13, 13, 32, 3, 2, 1, 1, 1}, {2, 16, 13, 13, 32, 1, 2, 0, 0, 0},
			{1, 5, 6, 7, 3, 3, 1, 0, 1, 1},    {4, 64, 14, 14, 64, 3, 1, 1, 0, 1},
		};
		for (size_t i = 0; i < sizeof cs / sizeof *cs; i++)
			conv(cs[i]);
	}
	CASE("avgpool: count_include_pad, odd sizes")
	{
		pool(2, 8, 17, 15, 3, 2, 1);
		pool(1, 3, 8, 8, 2, 2, 0);
		pool(3, 5, 9, 6, 3, 1, 1);
	}
	CASE("leaky: relu, identity, prelu; bias broadcast; in place")
	{
		const cords_phi phis[] = {{CORDS_PHI_RELU, 0}, {CORDS_PHI_IDENTITY, 0}, {CORDS_PHI_PRELU, 0.25f}};
		for (int k = 0; k < 3; k++)
			for (int v = 0; v < 4; v++)
				leaky(phis[k], v & 1, v >> 1);
	}
	CASE("relu_add: without b, with b, relu(b), in place") relu_add();
	CASE("spatial_mean and linear (cuBLAS)") reductions();
	CASE("errors: bad shapes are refused")
	{
		pair x = act(4, 2, 3, 8, 8), w = mk(CORDS_BUF_WEIGHT, 4, 4, 3, 3, 3), y = act(4, 2, 4, 7, 7);
		cords_conv cv = {.stride = 1, .pad = 1};
		CHECK(gpu->conv2d(gpu, &cv, x.g, w.g, NULL, y.g) == -1 && strstr(cords_errmsg(), "conv2d"),
		      "conv shape mismatch: %s", cords_errmsg());
		CHECK(gpu->leaky(gpu, 0.2f, (cords_phi){CORDS_PHI_RELU, 0}, x.g, y.g, NULL, x.g) == -1, "leaky shapes");
		drop(&x);
		drop(&w);
		drop(&y);
	}
	CASE("stride 0 refused at the seam on both backends, before either divides by it")
	{
		pair x = act(4, 2, 8, 5, 5), w = mk(CORDS_BUF_WEIGHT, 4, 8, 8, 3, 3), y = act(4, 2, 8, 5, 5);
		const cords_conv c0 = {.stride = 0, .pad = 1};
		const cords_pool p0 = {.k = 3, .stride = 0, .pad = 1};
		for (int side_ = 0; side_ < 2; side_++) {
			cords_backend *b = side_ ? gpu : cpu;
			CHECK(b->conv2d(b, &c0, X(x), X(w), NULL, X(y)) == -1 && strstr(cords_errmsg(), "stride 0"),
			      "%s conv2d: %s", b->name, cords_errmsg());
			CHECK(b->conv2d_bwd_data(b, &c0, X(y), X(w), X(x)) == -1 && strstr(cords_errmsg(), "stride 0"),
			      "%s conv2d_bwd_data: %s", b->name, cords_errmsg());
			CHECK(b->conv2d_bwd_weights(b, &c0, X(x), X(y), X(w)) == -1 && strstr(cords_errmsg(), "stride 0"),
			      "%s conv2d_bwd_weights: %s", b->name, cords_errmsg());
			CHECK(b->avgpool(b, &p0, X(x), X(y)) == -1 && strstr(cords_errmsg(), "stride 0"),
			      "%s avgpool: %s", b->name, cords_errmsg());
			CHECK(b->avgpool_bwd(b, &p0, X(y), X(x)) == -1 && strstr(cords_errmsg(), "stride 0"),
			      "%s avgpool_bwd: %s", b->name, cords_errmsg());
		}
		drop(&x);
		drop(&w);
		drop(&y);
	}
	CASE("conv2d backward data and weights (deterministic cuDNN algorithms), beta 0 and 1")
	{
		const conv_case cs[] = {
			{2, 3, 17, 15, 8, 7, 2, 3, 0, 0}, {3, 8, 9, 11, 16, 3, 1, 1, 0, 1}, {2, 16, 13, 13, 32, 3, 2, 1, 0, 0},
			{2, 16, 13, 13, 32, 1, 2, 0, 0, 1}, {1, 5, 6, 7, 3, 3, 1, 0, 0, 0}, {4, 64, 14, 14, 64, 3, 1, 1, 0, 1},
		};
		for (size_t i = 0; i < sizeof cs / sizeof *cs; i++)
			conv_bwd(cs[i]);
	}
	/* bf16: a second backend on the same device, its convolutions against
	 * the CPU's f32 ones. */
	cords_backend_opts bf16 = cords_backend_defaults;
	bf16.precision = CORDS_PREC_BF16;
	cords_backend *half = gpu ? cords_backend_new(gpu->name, &bf16) : NULL;
	CASE("bf16 convolutions, forward and backward: within 2e-2 of the largest f32 output")
	{
		const conv_case cs[] = {
			{2, 3, 17, 15, 8, 7, 2, 3, 1, 0}, {3, 8, 9, 11, 16, 3, 1, 1, 0, 1}, {2, 16, 13, 13, 32, 3, 2, 1, 1, 1},
			{2, 16, 13, 13, 32, 1, 2, 0, 0, 0}, {1, 5, 6, 7, 3, 3, 1, 0, 1, 1}, {4, 64, 14, 14, 64, 3, 1, 1, 0, 1},
		};
		CHECK(half != NULL, "a bf16 backend: %s", cords_errmsg());
		cords_backend *f32 = gpu;
		gpu = half ? half : gpu;
		bf16_tol = 2e-2;
		for (size_t i = 0; half && i < sizeof cs / sizeof *cs; i++) {
			conv(cs[i]);
			conv_bwd(cs[i]);
		}
		bf16_tol = 0;
		gpu = f32;
	}
	if (half)
		half->destroy(half);
	CASE("avgpool backward")
	{
		pool_bwd(2, 8, 17, 15, 3, 2, 1);
		pool_bwd(1, 3, 8, 8, 2, 2, 0);
		pool_bwd(3, 5, 9, 6, 3, 1, 1);
	}
	CASE("leaky_bwd, relu_bwd_add, readout_bwd_add, batch_sum, axpby, sqdiff_sum") eltwise_bwd();
	CASE("wnorm (and a convolution through its weights), wnorm_bwd, AdamW and SGD steps") params_ops();
	CASE("read-out: linear_bwd_data, linear_bwd_weights (cuBLAS), xent with hard and soft labels") readout_ops();
	CASE("batchnorm train (with and without running statistics) and eval, forward and backward")
	{
		for (int k = 0; k < 2; k++) {
			const int sz[2][4] = {{4, 6, 5, 3}, {3, 5, 37, 29}};
			batchnorm(1, 1, sz[k][0], sz[k][1], sz[k][2], sz[k][3]);
			batchnorm(1, 0, sz[k][0], sz[k][1], sz[k][2], sz[k][3]);
			batchnorm(0, 1, sz[k][0], sz[k][1], sz[k][2], sz[k][3]);
		}
	}
	CASE("training steps on the GPU (as they are, captured, replayed): loss and gradients equal torch's")
	{
		train_step("linear.tzst");
		train_step("anneal.tzst");
		train_step("finetune.tzst");
		if (cords_cuda_emu_graph_launches)
			CHECK(cords_cuda_emu_graph_launches() > 0 && !cords_cuda_emu_failed_captures(),
			      "emulated: %d graphs launched, %d captures failed", cords_cuda_emu_graph_launches(),
			      cords_cuda_emu_failed_captures());
	}
	const char *phis[] = {"relu", "identity", "prelu"};
	for (int k = 0; k < 3; k++) {
		CASE("whole model R2 28x28: CUDA = CPU = PyTorch") whole_model("r2", phis[k]);
		CASE("whole model R4 20x24: CUDA = CPU = PyTorch") whole_model("r4", phis[k]);
	}
	/* A machine without libnccl.so.2 skips this case; any other failure fails it. */
	int64_t one = 1;
	float probe = 1;
	int rc = -1;
	if (gpu) {
		cords_buf *pb = gpu->alloc(gpu, CORDS_BUF_ACT, 1, &one);
		rc = pb && !gpu->upload(gpu, pb, &probe) && gpu->allreduce ? gpu->allreduce(gpu, pb) : -1;
		rc = rc || gpu->download(gpu, pb, &probe);
		gpu->free(gpu, pb);
		if (rc && gpu->allreduce && strstr(cords_errmsg(), "cannot load libnccl")) {
			snprintf(why, sizeof why, "%s", cords_errmsg());
			t_skip = why;
		}
	}
	CASE("allreduce (NCCL) over one rank: the buffer itself, in place")
	{
		CHECK(!rc && probe == 1, "allreduce of one float: %s", rc ? cords_errmsg() : "changed");
		allreduce();
	}
	if (gpu)
		t_skip = NULL;
	CASE("cords-eig on the device: area_conv and Arnoldi (CGS2, DGKS) equal the host's")
	{
		eig_device(16, 9, 7, 0, 1);
		eig_device(16, 9, 7, 1, 0);
		eig_device(64, 14, 14, 0, 0);
	}
	T_DONE();
}
