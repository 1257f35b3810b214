/* The model code's lanes and replays (lib/core/backend.h) on a checking backend:
 * the CPU's, wrapped so that it
 *  - keeps, from the first lane to the join, what each lane reads and
 *    writes (buffers, and batch items of views), and counts every write that
 *    meets another lane's read or write of the same items. The CPU runs
 *    everything in order, so a conflict would change nothing here; on a GPU,
 *    where lanes are streams, it would be a race;
 *  - fingerprints the calls each replayed function makes (operations,
 *    buffers, numbers) and counts a key that comes again with other calls
 *    (on a GPU, a CUDA graph replayed where the code meant something else),
 *    calls that reach the host inside one, and one that ends unjoined.
 * The cases: a deliberate conflict and mismatch, which the checker must see;
 * model steps; and RNN training steps (every state kept, BPTT checkpoints, a
 * window, and a second batch, which replays the first), whose gradients must
 * also still equal the PyTorch fixtures. */
#include "arch.h"
#include "backend.h"
#include "err.h"
#include "model.h"
#include "rnn_train.h"
#include "stream.h"
#include "t.h"
#include "train_fixture.h"

static cords_backend *in, chk;

/* A view's place in the buffer it shares memory with (items [lo, lo + n)). */
enum { MAX_VIEWS = 4096, MAX_LOG = 1 << 16 };
static struct {
	const cords_buf *view, *root;
	int64_t lo;
} views[MAX_VIEWS];
static int nviews;

typedef struct {
	const cords_buf *root;
	int64_t lo, hi;
	int lane, write;
} access;
static access log_[MAX_LOG];
static int nlog, cur;
static long conflicts, epochs, lane_calls, unmodelled, overflow;
/* replays: the fingerprint of the calls while a replayed function runs */
static int recording;
static uint64_t sig;
static long replays, mismatches, host_calls, unjoined, nested;

static void mix(const void *p, size_t n)
{
	for (size_t i = 0; recording && i < n; i++)
		sig = (sig ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
}
#define S(v) mix(&(v), sizeof(v))
/* An operation that reaches the host: inside a replayed function, a finding. */
#define HOST() (host_calls += recording)
static unsigned lanes_seen;
static char first_conflict[200];

/* A record per key, and the fingerprint of the calls that made it. */
enum { MAX_KEYS = 4096, KEY_MAX = 128 };
static struct {
	unsigned char key[KEY_MAX];
	size_t n;
	uint64_t sig;
} keys[MAX_KEYS];
static int nkeys;


static void join(void)
{
	nlog = 0;
	cur = 0;
}

static void touch(const cords_buf *b, int write, const char *op)
{
	S(b), S(write), S(op);
	if (!b || !cur)
		return;
	access a = {b, 0, cords_buf_shape(b)[0], cur, write};
	for (int i = 0; i < nviews; i++)
		if (views[i].view == b) {
			a.root = views[i].root;
			a.lo = views[i].lo;
			a.hi = a.lo + cords_buf_shape(b)[0];
		}
	for (int i = 0; i < nlog; i++) {
		const access *o = &log_[i];
		if (o->root == a.root && o->lane != a.lane && (o->write || a.write) && o->lo < a.hi && a.lo < o->hi) {
			if (!conflicts++)
				snprintf(first_conflict, sizeof first_conflict, "%s in lane %d %s a buffer lane %d %s", op,
					 a.lane, a.write ? "writes" : "reads", o->lane, o->write ? "writes" : "reads");
			break;
		}
	}
	if (nlog < MAX_LOG)
		log_[nlog++] = a;
	else
		overflow++;
}

#define R(b) touch((b), 0, __func__)
#define W(b) touch((b), 1, __func__)

static int c_replay(cords_backend *be, const void *key, size_t n, int (*fn)(void *), void *arg)
{
	(void)be;
	nested += recording;
	if (n > KEY_MAX) {
		overflow++;
		return fn(arg);
	}
	recording = 1;
	sig = 14695981039346656037ull;
	int rc = fn(arg);
	recording = 0;
	unjoined += cur != 0;
	for (int i = 0; i < nkeys; i++)
		if (keys[i].n == n && !memcmp(keys[i].key, key, n)) {
			replays++;
			mismatches += keys[i].sig != sig;
			return rc;
		}
	if (nkeys < MAX_KEYS) {
		memcpy(keys[nkeys].key, key, n);
		keys[nkeys].n = n;
		keys[nkeys++].sig = sig;
	} else
		overflow++;
	return rc;
}

static int c_lane(cords_backend *be, int k)
{
	(void)be;
	lane_calls++;
	S(k);
	if (k == 0) {
		join();
		return 0;
	}
	if (!cur)
		epochs++;
	lanes_seen |= 1u << k;
	cur = k;
	return 0;
}

/* Operations that reach the host join, as the CUDA backend's do. */
static cords_buf *c_alloc(cords_backend *be, cords_buf_kind kind, int ndim, const int64_t *shape)
{
	(void)be;
	HOST();
	join();
	return in->alloc(in, kind, ndim, shape);
}
static void c_free(cords_backend *be, cords_buf *b)
{
	(void)be;
	if (!b)
		return;
	int view = 0;
	for (int i = 0; i < nviews; i++)
		if (views[i].view == b) {
			views[i] = views[--nviews];
			view = 1;
			break;
		}
	if (!view) { /* as a GPU would: a buffer freed drops every record */
		HOST();
		join();
		nkeys = 0;
	}
	in->free(in, b);
}
static cords_buf *c_view(cords_backend *be, cords_buf *b, int64_t at, int64_t n)
{
	(void)be;
	cords_buf *v = in->view(in, b, at, n);
	if (v && nviews < MAX_VIEWS) {
		const cords_buf *root = b;
		int64_t lo = at;
		for (int i = 0; i < nviews; i++)
			if (views[i].view == b)
				root = views[i].root, lo += views[i].lo;
		views[nviews].view = v, views[nviews].root = root, views[nviews].lo = lo, nviews++;
	}
	return v;
}
static int c_upload(cords_backend *be, cords_buf *b, const float *h)
{
	(void)be;
	HOST();
	join();
	return in->upload(in, b, h);
}
static int c_download(cords_backend *be, const cords_buf *b, float *h)
{
	(void)be;
	HOST();
	join();
	return in->download(in, b, h);
}
static int c_sync(cords_backend *be)
{
	(void)be;
	HOST();
	join();
	return in->sync(in);
}
static int c_sqdiff_sum(cords_backend *be, const cords_buf *x, const cords_buf *y, double *out)
{
	(void)be;
	HOST();
	join();
	return in->sqdiff_sum(in, x, y, out);
}
static int c_fill(cords_backend *be, cords_buf *b, float v)
{
	(void)be;
	W(b), S(v);
	return in->fill(in, b, v);
}
static int c_copy(cords_backend *be, cords_buf *d, const cords_buf *s)
{
	(void)be;
	R(s), W(d);
	return in->copy(in, d, s);
}
static int c_conv2d(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *w,
		    const cords_buf *b, cords_buf *y)
{
	(void)be;
	R(x), R(w), R(b), W(y), S(*c);
	return in->conv2d(in, c, x, w, b, y);
}
static int c_avgpool(cords_backend *be, const cords_pool *p, const cords_buf *x, cords_buf *y)
{
	(void)be;
	R(x), W(y), S(*p);
	return in->avgpool(in, p, x, y);
}
static int c_leaky(cords_backend *be, float a, cords_phi phi, const cords_buf *r, cords_buf *z, const cords_buf *b,
		   cords_buf *ro)
{
	(void)be;
	R(r), R(b), W(z), W(ro), S(a), S(phi);
	return in->leaky(in, a, phi, r, z, b, ro);
}
static int c_relu_add(cords_backend *be, const cords_buf *a, const cords_buf *b, int rb, cords_buf *y)
{
	(void)be;
	R(a), R(b), W(y), S(rb);
	return in->relu_add(in, a, b, rb, y);
}
static int c_spatial_mean(cords_backend *be, const cords_buf *x, cords_buf *y)
{
	(void)be;
	R(x), W(y);
	return in->spatial_mean(in, x, y);
}
static int c_linear(cords_backend *be, const cords_buf *x, const cords_buf *w, const cords_buf *b, cords_buf *y)
{
	(void)be;
	R(x), R(w), R(b), W(y);
	return in->linear(in, x, w, b, y);
}
static int c_bwd_data(cords_backend *be, const cords_conv *c, const cords_buf *dy, const cords_buf *w, cords_buf *dx)
{
	(void)be;
	R(dy), R(w), W(dx), S(*c);
	return in->conv2d_bwd_data(in, c, dy, w, dx);
}
static int c_bwd_weights(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *dy,
			 cords_buf *dw)
{
	(void)be;
	R(x), R(dy), W(dw), S(*c);
	return in->conv2d_bwd_weights(in, c, x, dy, dw);
}
static int c_avgpool_bwd(cords_backend *be, const cords_pool *p, const cords_buf *dy, cords_buf *dx)
{
	(void)be;
	R(dy), W(dx), S(*p);
	return in->avgpool_bwd(in, p, dy, dx);
}
static int c_leaky_bwd(cords_backend *be, float a, cords_phi phi, const cords_buf *z, const cords_buf *dout,
		       cords_buf *dz, cords_buf *dr, float beta)
{
	(void)be;
	R(z), R(dout), W(dz), W(dr), S(a), S(phi), S(beta);
	return in->leaky_bwd(in, a, phi, z, dout, dz, dr, beta);
}
static int c_relu_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	(void)be;
	R(x), R(dy), W(dx);
	return in->relu_bwd_add(in, x, dy, dx);
}
static int c_readout_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	(void)be;
	R(x), R(dy), W(dx);
	return in->readout_bwd_add(in, x, dy, dx);
}
static int c_batch_sum(cords_backend *be, const cords_buf *dz, cords_buf *db, float beta)
{
	(void)be;
	R(dz), W(db), S(beta);
	return in->batch_sum(in, dz, db, beta);
}
static int c_axpby(cords_backend *be, float a, const cords_buf *x, float b, cords_buf *y)
{
	(void)be;
	R(x), W(y), S(a), S(b);
	return in->axpby(in, a, x, b, y);
}
static int c_lin_bwd_data(cords_backend *be, const cords_buf *dy, const cords_buf *w, cords_buf *dx)
{
	(void)be;
	R(dy), R(w), W(dx);
	return in->linear_bwd_data(in, dy, w, dx);
}
static int c_lin_bwd_weights(cords_backend *be, const cords_buf *dy, const cords_buf *x, cords_buf *dw, cords_buf *db)
{
	(void)be;
	R(dy), R(x), W(dw), W(db);
	return in->linear_bwd_weights(in, dy, x, dw, db);
}
static int c_xent(cords_backend *be, const cords_buf *lg, const cords_buf *h, const cords_buf *sf, float scale,
		  cords_buf *dl, cords_buf *out)
{
	(void)be;
	R(lg), R(h), R(sf), W(dl), W(out), S(scale);
	return in->xent(in, lg, h, sf, scale, dl, out);
}
static int c_wnorm(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w)
{
	(void)be;
	R(g), R(v), W(w);
	return in->wnorm(in, g, v, w);
}
static int c_wnorm_bwd(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw, cords_buf *dg,
		       cords_buf *dv)
{
	(void)be;
	R(g), R(v), R(dw), W(dg), W(dv);
	return in->wnorm_bwd(in, g, v, dw, dg, dv);
}
static int c_optim(cords_backend *be, const cords_optim *o, cords_buf *p, cords_buf *g, cords_buf *m, cords_buf *v)
{
	(void)be;
	W(p), W(g), W(m), W(v), S(o->step), S(o->scale);
	return in->optim(in, o, p, g, m, v);
}
/* BatchNorm is the CNN's, which has no lanes: inside one it is a finding. */
static int c_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *g,
		       const cords_buf *b, cords_buf *rm, cords_buf *rv, cords_buf *sm, cords_buf *si, cords_buf *y)
{
	(void)be;
	unmodelled += cur != 0;
	return in->batchnorm(in, m, x, g, b, rm, rv, sm, si, y);
}
static int c_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *dy,
			   const cords_buf *g, const cords_buf *sm, const cords_buf *si, const cords_buf *rm,
			   const cords_buf *rv, cords_buf *dx, cords_buf *dg, cords_buf *db, float beta)
{
	(void)be;
	unmodelled += cur != 0;
	return in->batchnorm_bwd(in, m, x, dy, g, sm, si, rm, rv, dx, dg, db, beta);
}

static cords_backend *checker(void)
{
	in = cords_backend_new("cpu", NULL);
	chk = *in;
	chk.name = "lane-checker";
	chk.alloc = c_alloc, chk.free = c_free, chk.view = c_view, chk.upload = c_upload, chk.download = c_download;
	chk.sync = c_sync, chk.sqdiff_sum = c_sqdiff_sum, chk.fill = c_fill, chk.copy = c_copy, chk.conv2d = c_conv2d;
	chk.avgpool = c_avgpool, chk.leaky = c_leaky, chk.relu_add = c_relu_add, chk.spatial_mean = c_spatial_mean;
	chk.linear = c_linear, chk.conv2d_bwd_data = c_bwd_data, chk.conv2d_bwd_weights = c_bwd_weights;
	chk.avgpool_bwd = c_avgpool_bwd, chk.leaky_bwd = c_leaky_bwd, chk.relu_bwd_add = c_relu_bwd_add;
	chk.readout_bwd_add = c_readout_bwd_add, chk.batch_sum = c_batch_sum, chk.axpby = c_axpby;
	chk.batchnorm = c_batchnorm, chk.batchnorm_bwd = c_batchnorm_bwd, chk.lane = c_lane, chk.replay = c_replay;
	chk.linear_bwd_data = c_lin_bwd_data, chk.linear_bwd_weights = c_lin_bwd_weights, chk.xent = c_xent;
	chk.wnorm = c_wnorm, chk.wnorm_bwd = c_wnorm_bwd, chk.optim = c_optim;
	chk.allreduce = NULL;
	return &chk;
}

static void reset(void)
{
	join();
	conflicts = epochs = lane_calls = unmodelled = overflow = 0;
	replays = mismatches = host_calls = unjoined = nested = 0;
	nkeys = 0;
	lanes_seen = 0;
	first_conflict[0] = 0;
}

static cords_tensor_list params;

/* What every case asserts of the checker's findings: lanes were used (one
 * per area), and nothing met. */
static void clean(const char *what, int depth)
{
	CHECK(epochs > 0 && lanes_seen == ((1u << (depth + 1)) - 2), "%s: lanes 1..%d not all used (%ld forks, lanes %#x)",
	      what, depth, epochs, lanes_seen);
	CHECK(conflicts == 0, "%s: %ld conflicts, the first: %s", what, conflicts, first_conflict);
	CHECK(unmodelled == 0 && overflow == 0, "%s: %ld unchecked calls in lanes, %ld past the tables", what,
	      unmodelled, overflow);
	CHECK(mismatches == 0 && host_calls == 0 && unjoined == 0 && nested == 0,
	      "%s: replays: %ld keys came again with other calls, %ld calls reached the host, %ld ended unjoined, "
	      "%ld nested", what, mismatches, host_calls, unjoined, nested);
}

static void model_step(void)
{
	cords_model *m = cords_model_new(&params, cords_list_find(&params, "meta"), &chk);
	CHECK(m != NULL, "%s", cords_errmsg());
	if (!m)
		return;
	const int B = 3, H = m->arch.height, W = m->arch.width, C = m->arch.in_ch;
	float *x = malloc((size_t)B * C * H * W * sizeof *x);
	for (int i = 0; i < B * C * H * W; i++)
		x[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
	cords_state *a = cords_state_new(m, B), *b = cords_state_new(m, B);
	cords_work *w = cords_work_new(m, B);
	cords_drive d = {0};
	cords_buf *xb = cords_model_alloc_input(m, B);
	cords_dynamics dyn = {.alpha = 0.2f, .phi = {CORDS_PHI_RELU, 0}};
	reset();
	int rc = !a || !b || !w || !xb || cords_drive_alloc(m, B, &d) || chk.upload(&chk, xb, x) ||
		 cords_model_drive(m, w, xb, &d);
	reset();
	/* 5 steps with the image and 5 without: each key (from, to, input) comes
	 * again from the third step on */
	rc = rc || cords_model_run(m, &dyn, w, &d, &a, &b, 5, 0, NULL, NULL) ||
	     cords_model_run(m, &dyn, w, NULL, &a, &b, 5, 5, NULL, NULL);
	CHECK(!rc, "%s", cords_errmsg());
	clean("10 model steps, with the image and without", m->arch.depth);
	CHECK(replays == 6, "10 steps of 4 keys: %ld replays, expected 6", replays);
	cords_drive_free(m, &d);
	chk.free(&chk, xb);
	cords_work_free(m, w);
	cords_state_free(m, a);
	cords_state_free(m, b);
	free(x);
	cords_model_free(m);
}

/* A training step of testdata/train/gen.py's fixture `file`, BPTT
 * checkpoints every k steps (0: every state kept). */
static void train_step(const char *file, int k)
{
	cords_tensor_list fx = fx_load(file);
	const cords_tensor *meta = cords_list_find(&fx, "meta"), *x = cords_list_find(&fx, "x"), *y = cords_list_find(&fx, "y");
	cords_model *m = cords_model_new(&params, cords_list_find(&params, "meta"), &chk);
	CHECK(m != NULL, "%s", cords_errmsg());
	if (!m)
		return;
	cords_rnn_loss cfg = fx_loss(meta, k);
	int B = (int)x->shape[0];
	cords_labels lab = fx_labels(y);
	cords_params *ps = cords_params_new(&chk, &params, cords_params_all);
	cords_rnn_trainer *t = cords_rnn_trainer_new(m, B, &cfg);
	cords_rnn_stats st;
	/* Two batches: the second replays the first's keys, unless a buffer was
	 * freed between them. */
	reset();
	CHECK(ps && t && cords_rnn_grad(t, ps, B, x->data, lab, 1, &st) == 0, "%s", cords_errmsg());
	long first = replays;
	CHECK(ps && t && cords_rnn_grad(t, ps, B, x->data, lab, 1, &st) == 0, "%s", cords_errmsg());
	cords_tensor_list grads = fx_grads(ps);
	clean(file, m->arch.depth);
	CHECK(replays > first && replays - first >= nkeys / 2, "%s: the second batch replayed %ld of %d keys", file,
	      replays - first, nkeys);
	/* The same answers as without lanes: the PyTorch fixture's loss and gradients. */
	CHECK_CLOSE(st.loss, *(double *)cords_list_find(&fx, "loss")->data, 2e-5, 0);
	t_worst e = {0, ""};
	CHECK(fx_grad_cmp(&grads, &fx, 1e-4, &e) <= 1, "%s k=%d: gradients against torch: %s", file, k, e.at);
	cords_rnn_trainer_free(t);
	cords_params_free(ps);
	cords_list_free(&grads);
	cords_model_free(m);
	cords_list_free(&fx);
}

static cords_buf *deliberate_a;
static float deliberate_v;
static int fill_a(void *arg)
{
	(void)arg;
	return chk.fill(&chk, deliberate_a, deliberate_v);
}
static int upload_a(void *arg)
{
	(void)arg;
	float h[32] = {0};
	return chk.upload(&chk, deliberate_a, h);
}

/* The checker itself: two lanes writing one buffer, and one writing items
 * of a view another reads, are seen; disjoint items of one buffer are not. */
static void deliberate(void)
{
	int64_t s[2] = {4, 8};
	cords_buf *a = chk.alloc(&chk, CORDS_BUF_ACT, 2, s), *b = chk.alloc(&chk, CORDS_BUF_ACT, 2, s);
	reset();
	chk.lane(&chk, 1), chk.fill(&chk, a, 1);
	chk.lane(&chk, 2), chk.copy(&chk, b, a);
	chk.lane(&chk, 0);
	CHECK(conflicts == 1, "lane 2 reading what lane 1 wrote: %ld conflicts seen", conflicts);
	reset();
	cords_buf *v0 = chk.view(&chk, a, 0, 2), *v1 = chk.view(&chk, a, 2, 2), *v01 = chk.view(&chk, a, 1, 2);
	chk.lane(&chk, 1), chk.fill(&chk, v0, 1);
	chk.lane(&chk, 2), chk.fill(&chk, v1, 2);
	CHECK(conflicts == 0, "disjoint items of one buffer: %ld conflicts seen", conflicts);
	chk.lane(&chk, 3), chk.axpby(&chk, 1, v01, 0, b);
	CHECK(conflicts == 1, "lane 3 reading items 1..2, written by lanes 1 and 2: %ld conflicts seen", conflicts);
	chk.lane(&chk, 0);
	reset();
	chk.lane(&chk, 1), chk.fill(&chk, a, 1);
	chk.lane(&chk, 0);
	chk.lane(&chk, 2), chk.fill(&chk, a, 2);
	chk.lane(&chk, 0);
	CHECK(conflicts == 0, "writes on either side of a join: %ld conflicts seen", conflicts);
	chk.free(&chk, v0), chk.free(&chk, v1), chk.free(&chk, v01);
	/* a key that comes again with other calls, and an upload inside a replay */
	reset();
	deliberate_a = a, deliberate_v = 1;
	int key = 7;
	chk.replay(&chk, &key, sizeof key, fill_a, NULL);
	chk.replay(&chk, &key, sizeof key, fill_a, NULL);
	CHECK(replays == 1 && mismatches == 0, "the same calls again: %ld replays, %ld mismatches", replays, mismatches);
	deliberate_v = 2;
	chk.replay(&chk, &key, sizeof key, fill_a, NULL);
	CHECK(mismatches == 1, "the same key with another fill value: %ld mismatches seen", mismatches);
	chk.replay(&chk, &key, sizeof key, upload_a, NULL);
	CHECK(host_calls == 1, "an upload inside a replay: %ld host calls seen", host_calls);
	reset();
	chk.replay(&chk, &key, sizeof key, fill_a, NULL);
	chk.free(&chk, b);
	chk.replay(&chk, &key, sizeof key, fill_a, NULL);
	CHECK(replays == 0, "after a buffer is freed nothing replays: %ld replays", replays);
	chk.free(&chk, a);
	reset();
}

int main(void)
{
	params = fx_load("params.tzst");
	checker();
	CASE("the checker sees lanes that meet, and replays whose calls differ or reach the host") deliberate();
	CASE("model steps: one lane per area, none meets another; keys that come again, the same calls")
	model_step();
	CASE("linear training steps, every state kept: lanes and replays clean, gradients equal torch")
	train_step("linear.tzst", 0);
	CASE("anneal training step (spont penalty), BPTT checkpoints every step") train_step("anneal.tzst", 1);
	CASE("finetune training step, BPTT checkpoints every 4 steps") train_step("finetune.tzst", 4);
	CASE("finetune with a BPTT window, checkpoints every 4 steps") train_step("finetune-window.tzst", 4);
	cords_list_free(&params);
	in->destroy(in);
	T_DONE();
}
