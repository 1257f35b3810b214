/* The training loop with a stage of the test's own: one parameter vector w
 * and the gradient w - mean(x) of each batch, plain SGD, so the parameters
 * after any run are known on the host. Checked: the batches each step sees
 * and in what order (epochs, epoch sizes, step limits, stdin), the events,
 * evaluations and their accuracy, checkpoints and a resume that ends bit for
 * bit where an uninterrupted run does, a NaN loss or gradient stopping the
 * loop before it touches the parameters, and a stop signal. */
#include "arch.h"
#include "checkpoint.h"
#include "dist.h"
#include "err.h"
#include "meta.h"
#include "optset.h"
#include "stream.h"
#include "t.h"
#include "trainloop.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#define NB 4  /* batches in the file */
#define BS 2  /* images a batch */
#define NW 2  /* floats an image, and in w */
#define LR 0.25f

static char data_path[64], ckpt_path[64];
static volatile sig_atomic_t stop_flag;

/* Batch k: x = k + (j + 1) / 8 for its j-th float, labels k % 3 and 1. */
static float xval(int k, int j) { return (float)k + (float)(j + 1) / 8; }

static void write_data(void)
{
	FILE *f = fopen(data_path, "wb");
	cords_writer *w = cords_writer_new(f, data_path, 0);
	for (int k = 0; k < NB; k++) {
		int64_t sx[4] = {BS, 1, 1, NW}, sy[1] = {BS};
		cords_tensor *x = cords_tensor_new("x", CORDS_F32, 4, sx), *y = cords_tensor_new("y", CORDS_I64, 1, sy);
		for (int j = 0; j < BS * NW; j++)
			((float *)x->data)[j] = xval(k, j);
		((int64_t *)y->data)[0] = k % 3;
		((int64_t *)y->data)[1] = 1;
		cords_write_tensor(w, x);
		cords_write_tensor(w, y);
		cords_tensor_free(x);
		cords_tensor_free(y);
	}
	cords_writer_close(w);
	fclose(f);
}

typedef struct {
	cords_params *ps;
	int seen[64], nseen;      /* batch index of each gradient, from its first float */
	int epochs[16], resumed[16], nbegin;
	int updates, evals;
	int nan_at;               /* gradient call giving a NaN loss (1-based), or 0 */
	int nan_grad_at;          /* ... a NaN gradient element */
	int stop_at;              /* ... setting the stop flag, as the tools' SIGTERM handler does */
	int events, eval_events, eval_epochs[8];
	double last_eval_acc, loss_sum, acc_sum;
	int64_t last_step, images;
	double first_lr, gnorm[64], min_img_s;
} stage_ctx;

static int grad(void *p, const cords_batch *b, cords_step_stats *st)
{
	stage_ctx *c = p;
	cords_buf *g = cords_params_grad(c->ps, "w");
	if (cords_params_pull(c->ps) || !g)
		return -1;
	const float *w = cords_list_find(c->ps->host, "w")->data;
	int k = (int)b->x[0];
	c->seen[c->nseen++] = k;
	float gh[NW];
	double mean = 0;
	for (int j = 0; j < b->B * NW; j++)
		mean += b->x[j];
	mean /= b->B * NW;
	for (int j = 0; j < NW; j++)
		gh[j] = w[j] - (float)mean;
	if (c->nseen == c->nan_grad_at)
		gh[1] = NAN;
	st->loss = c->nseen == c->nan_at ? NAN : mean;
	st->acc = 0.5;
	st->extra[0] = k;
	if (c->nseen == c->stop_at)
		stop_flag = SIGTERM;
	return c->ps->be->upload(c->ps->be, g, gh);
}

/* Correct: the labels equal to 1. */
static int eval(void *p, const cords_batch *b, int *correct)
{
	stage_ctx *c = p;
	c->evals++;
	*correct = 0;
	for (int i = 0; i < b->B; i++)
		*correct += b->hard[i] == 1;
	return 0;
}

static int update(void *p)
{
	((stage_ctx *)p)->updates++;
	return 0;
}

static int epoch_begin(void *p, int epoch, int resumed, cords_opt *opt, char *note, size_t n)
{
	stage_ctx *c = p;
	c->epochs[c->nbegin] = epoch;
	c->resumed[c->nbegin++] = resumed;
	snprintf(note, n, "e%d", epoch);
	return 0;
}

static int on_event(void *p, const cords_loop_event *e)
{
	stage_ctx *c = p;
	if (e->is_eval) {
		c->eval_epochs[c->eval_events++ % 8] = e->epoch;
		c->last_eval_acc = e->eval_acc;
		return 0;
	}
	if (!c->events || e->img_s < c->min_img_s)
		c->min_img_s = e->img_s;
	if (!c->events)
		c->first_lr = e->lr;
	c->gnorm[c->events++ % 64] = e->gnorm;
	c->loss_sum += e->st.loss;
	c->acc_sum += e->st.acc;
	c->last_step = e->step;
	c->images += e->images;
	if (e->img_s <= 0 || strcmp(e->note, (char[]){'e', (char)('0' + e->epoch), 0}) || e->st.extra[0] != c->seen[c->nseen - 1])
		c->events = -1000;
	return 0;
}

typedef struct {
	cords_tensor_list host;
	cords_params *ps;
	cords_opt *opt;
	stage_ctx c;
	cords_stage s;
	cords_batches *data;
	int rc;
} run;

/* The parameters' backend: the CPU's unless a case sets one. */
static cords_backend *loop_be;
static int allreduces;

/* NCCL's sum over one rank: the buffer as it is, counted. */
static int count_allreduce(cords_backend *be, cords_buf *b)
{
	(void)be, (void)b;
	allreduces++;
	return 0;
}

static void run_open_m(run *r, const char *path, double momentum)
{
	memset(r, 0, sizeof *r);
	int64_t sw[1] = {NW};
	cords_tensor *w = cords_tensor_new("w", CORDS_F32, 1, sw);
	((float *)w->data)[0] = 1;
	((float *)w->data)[1] = -2;
	cords_tensor *meta = cords_meta_new();
	cords_meta_set(meta, "model", "test");
	/* the parameter before the meta record: a resume restores every tensor, the first too */
	cords_list_push(&r->host, w);
	cords_list_push(&r->host, meta);
	r->ps = cords_params_new(loop_be ? loop_be : t_backend("cpu"), &r->host, cords_params_all);
	cords_opt_cfg cfg = {.kind = CORDS_OPT_SGD, .lr = LR, .momentum = momentum};
	r->opt = cords_opt_new(&cfg, r->ps);
	r->c.ps = r->ps;
	r->s = (cords_stage){&r->c, "test", r->ps->be, {"batch", NULL}, grad, eval, update, epoch_begin};
	r->data = cords_batches_open(path, NULL, NULL);
}

static void run_open(run *r, const char *path) { run_open_m(r, path, 0); }

static int run_loop(run *r, const cords_loop_cfg *cfg)
{
	if (!r->ps || !r->opt || !r->data)
		return -1;
	r->rc = cords_train_loop(&r->s, &r->host, r->opt, r->data, cfg, on_event, &r->c);
	return r->rc;
}

static void run_close(run *r)
{
	cords_batches_close(r->data);
	cords_opt_free(r->opt);
	cords_params_free(r->ps);
	cords_list_free(&r->host);
}

static const float *wv(run *r) { return (const float *)cords_list_find(&r->host, "w")->data; }

/* w after SGD steps on the batches in order, from w0 = (1, -2). */
static void expect_w(const int *batches, int n, float out[NW])
{
	out[0] = 1, out[1] = -2;
	for (int s = 0; s < n; s++) {
		double mean = 0;
		for (int j = 0; j < BS * NW; j++)
			mean += xval(batches[s], j);
		mean /= BS * NW;
		for (int j = 0; j < NW; j++)
			out[j] -= LR * (out[j] - (float)mean);
	}
}

static int w_is(run *r, const int *batches, int n)
{
	float e[NW];
	expect_w(batches, n, e);
	const float *w = wv(r);
	int ok = 1;
	for (int j = 0; j < NW; j++)
		ok &= fabsf(w[j] - e[j]) <= 1e-6f * (1 + fabsf(e[j]));
	if (!ok)
		printf("    w = (%.9g, %.9g), expected (%.9g, %.9g)\n", w[0], w[1], e[0], e[1]);
	return ok;
}

static int seen_is(const stage_ctx *c, const int *want, int n)
{
	int ok = c->nseen == n;
	for (int i = 0; i < n && ok; i++)
		ok = c->seen[i] == want[i];
	if (!ok) {
		printf("    batches seen:");
		for (int i = 0; i < c->nseen; i++)
			printf(" %d", c->seen[i]);
		printf("\n");
	}
	return ok;
}

static int64_t meta_int(const char *path, const char *key)
{
	cords_tensor_list l = {0};
	int64_t v = -1;
	if (!cords_read_file(path, &l)) {
		char *s = cords_meta_get(cords_list_find(&l, "meta"), key);
		v = s ? atoll(s) : -1;
		free(s);
	}
	cords_list_free(&l);
	return v;
}

int main(void)
{
	snprintf(data_path, sizeof data_path, "/tmp/cords-loop-%d.tzst", (int)getpid());
	snprintf(ckpt_path, sizeof ckpt_path, "/tmp/cords-loop-%d.ckpt.tzst", (int)getpid());
	write_data();
	run r;
	CASE("two epochs of a file: every batch in order, each epoch, SGD on the host's numbers")
	{
		run_open(&r, data_path);
		cords_loop_cfg cfg = {.epochs = 2};
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double wall = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
		/* each step took less than the whole run: more images a second than BS / wall */
		CHECK(r.c.min_img_s >= BS / wall, "%.3g images/s, the run %.3g s", r.c.min_img_s, wall);
		const int want[] = {0, 1, 2, 3, 0, 1, 2, 3};
		CHECK(seen_is(&r.c, want, 8), "batches");
		CHECK(w_is(&r, want, 8), "parameters");
		CHECK(r.c.nbegin == 2 && r.c.epochs[0] == 0 && r.c.epochs[1] == 1 && !r.c.resumed[0] && !r.c.resumed[1],
		      "epoch starts %d", r.c.nbegin);
		CHECK(r.c.events == 8 && r.c.last_step == 8 && r.c.images == 8 * BS, "events %d, step %lld, images %lld",
		      r.c.events, (long long)r.c.last_step, (long long)r.c.images);
		CHECK(r.c.updates == 8 && r.opt->step == 8, "updates %d, optimiser steps %lld", r.c.updates,
		      (long long)r.opt->step);
		CHECK(r.c.first_lr == LR, "lr %g", r.c.first_lr);
		/* The first gradient: w0 - mean(batch 0) = (1 - 0.3125, -2 - 0.3125). */
		CHECK_CLOSE(r.c.gnorm[0], hypot(1 - 0.3125, -2 - 0.3125), 1e-6, 0);
		CHECK(r.c.eval_events == 0, "evaluated without an eval file");
		run_close(&r);
	}
	CASE("epoch_batches: each epoch starts the file again and stops after that many")
	{
		run_open(&r, data_path);
		cords_loop_cfg cfg = {.epochs = 3, .epoch_batches = 3};
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		const int want[] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
		CHECK(seen_is(&r.c, want, 9) && w_is(&r, want, 9), "batches or parameters");
		run_close(&r);
	}
	CASE("max_steps stops inside an epoch")
	{
		run_open(&r, data_path);
		cords_loop_cfg cfg = {.epochs = 5, .max_steps = 6};
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		const int want[] = {0, 1, 2, 3, 0, 1};
		CHECK(seen_is(&r.c, want, 6) && w_is(&r, want, 6), "batches or parameters");
		CHECK(r.c.nbegin == 2, "epoch starts %d", r.c.nbegin);
		run_close(&r);
	}
	CASE("max_steps at the end of an epoch: the checkpoint names the next epoch, at its start")
	{
		run_open(&r, data_path);
		cords_loop_cfg cfg = {.epochs = 3, .epoch_batches = 2, .max_steps = 2, .checkpoint = ckpt_path};
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		CHECK(meta_int(ckpt_path, "ckpt_epoch") == 1 && meta_int(ckpt_path, "ckpt_batch") == 0,
		      "checkpoint at epoch %lld, batch %lld", (long long)meta_int(ckpt_path, "ckpt_epoch"),
		      (long long)meta_int(ckpt_path, "ckpt_batch"));
		run_close(&r);
	}
	CASE("CORDS_NCCL=1 in one process: the rank's share is the whole batch, every gradient summed once a step")
	{
		cords_loop_cfg cfg = {.epochs = 2};
		run_open(&r, data_path);
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		const double loss = r.c.loss_sum;
		float w[NW];
		memcpy(w, wv(&r), sizeof w);
		run_close(&r);
		/* the CPU backend with an allreduce: the split path the ranks take (dist.h) */
		static cords_backend nccl;
		nccl = *t_backend("cpu");
		nccl.allreduce = count_allreduce;
		loop_be = &nccl;
		cords_dist_init(NULL, NULL, CORDS_NCCL_ON);
		run_open(&r, data_path);
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		CHECK(r.opt && r.opt->n == 1 && allreduces == 2 * NB, "%d gradient sums in %d steps", allreduces,
		      2 * NB);
		CHECK(r.c.events == 2 * NB && r.c.loss_sum == loss && r.c.acc_sum == 0.5 * 2 * NB &&
			      !memcmp(wv(&r), w, sizeof w),
		      "%d steps, loss %.9g (expected %.9g), accuracy %g, w (%.9g, %.9g)", r.c.events, r.c.loss_sum,
		      loss, r.c.acc_sum, wv(&r)[0], wv(&r)[1]);
		run_close(&r);
		cords_dist_init(NULL, NULL, CORDS_NCCL_AUTO);
		loop_be = NULL;
	}
	CASE("evaluation: every eval_every-th epoch and the last, eval_batches of the file")
	{
		run_open(&r, data_path);
		cords_loop_cfg cfg = {.epochs = 5, .epoch_batches = 1, .eval_path = data_path, .eval_every = 2};
		CHECK(run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		/* after epochs 2, 4 and 5 (the last); labels 1: 5 of the 8 images (k % 3 == 1 for k = 1). */
		CHECK(r.c.eval_events == 3 && r.c.evals == 3 * NB, "evaluations %d, batches %d", r.c.eval_events, r.c.evals);
		CHECK(r.c.eval_epochs[0] == 1 && r.c.eval_epochs[1] == 3 && r.c.eval_epochs[2] == 4, "after epochs %d %d %d",
		      r.c.eval_epochs[0], r.c.eval_epochs[1], r.c.eval_epochs[2]);
		CHECK_CLOSE(r.c.last_eval_acc, 5.0 / 8, 1e-12, 0);
		run_close(&r);
		run_open(&r, data_path);
		cords_loop_cfg one = {.epochs = 1, .eval_path = data_path, .eval_batches = 1};
		CHECK(run_loop(&r, &one) == 0, "%s", cords_errmsg());
		CHECK(r.c.eval_events == 1 && r.c.evals == 1, "evaluations %d, batches %d", r.c.eval_events, r.c.evals);
		CHECK_CLOSE(r.c.last_eval_acc, 0.5, 1e-12, 0);
		run_close(&r);
	}
	CASE("checkpoint every 3 steps, resume: the same parameters, bit for bit, as one run")
	{
		run_open_m(&r, data_path, 0.9);
		cords_loop_cfg all = {.epochs = 3};
		CHECK(run_loop(&r, &all) == 0, "%s", cords_errmsg());
		float whole[NW];
		memcpy(whole, wv(&r), sizeof whole);
		run_close(&r);

		run_open_m(&r, data_path, 0.9);
		cords_loop_cfg part = {.epochs = 3, .max_steps = 6, .checkpoint = ckpt_path, .every = 3};
		CHECK(run_loop(&r, &part) == 0, "%s", cords_errmsg());
		CHECK(meta_int(ckpt_path, "ckpt_step") == 6 && meta_int(ckpt_path, "ckpt_epoch") == 1 &&
			      meta_int(ckpt_path, "ckpt_batch") == 2 && meta_int(ckpt_path, "ckpt_opt_step") == 6,
		      "checkpoint at step %lld, epoch %lld, batch %lld", (long long)meta_int(ckpt_path, "ckpt_step"),
		      (long long)meta_int(ckpt_path, "ckpt_epoch"), (long long)meta_int(ckpt_path, "ckpt_batch"));
		run_close(&r);

		run_open_m(&r, data_path, 0.9);
		cords_loop_cfg rest = {.epochs = 3, .resume = ckpt_path, .checkpoint = ckpt_path};
		CHECK(run_loop(&r, &rest) == 0, "%s", cords_errmsg());
		const int want[] = {2, 3, 0, 1, 2, 3};
		CHECK(seen_is(&r.c, want, 6), "batches after the resume");
		CHECK(r.c.nbegin == 2 && r.c.epochs[0] == 1 && r.c.resumed[0] == 1 && !r.c.resumed[1], "epoch starts");
		CHECK(!memcmp(wv(&r), whole, sizeof whole), "resumed (%.9g, %.9g), whole run (%.9g, %.9g)", wv(&r)[0],
		      wv(&r)[1], whole[0], whole[1]);
		CHECK(r.c.last_step == 12 && r.opt->step == 12, "step %lld", (long long)r.c.last_step);
		CHECK(meta_int(ckpt_path, "ckpt_step") == 12 && meta_int(ckpt_path, "ckpt_batch") == 0,
		      "final checkpoint at step %lld, batch %lld", (long long)meta_int(ckpt_path, "ckpt_step"),
		      (long long)meta_int(ckpt_path, "ckpt_batch"));
		run_close(&r);
	}
	CASE("a NaN loss or gradient stops the loop before the step touches the parameters")
	{
		const int want[] = {0, 1};
		run_open(&r, data_path);
		r.c.nan_at = 3;
		cords_loop_cfg cfg = {.epochs = 2};
		CHECK(run_loop(&r, &cfg) < 0 && strstr(cords_errmsg(), "diverged at step 3") &&
			      strstr(cords_errmsg(), "the loss"), "%s", cords_errmsg());
		CHECK(w_is(&r, want, 2) && r.c.events == 2, "parameters after two steps");
		run_close(&r);
		run_open(&r, data_path);
		r.c.nan_grad_at = 3;
		CHECK(run_loop(&r, &cfg) < 0 && strstr(cords_errmsg(), "a gradient"), "%s", cords_errmsg());
		CHECK(w_is(&r, want, 2), "parameters after two steps");
		run_close(&r);
	}
	CASE("stdin: one epoch without epoch sizes, epochs of epoch_batches with them")
	{
		FILE *in = freopen(data_path, "rb", stdin);
		run_open(&r, "-");
		cords_loop_cfg cfg = {.epochs = 3};
		CHECK(in && run_loop(&r, &cfg) == 0, "%s", cords_errmsg());
		const int want[] = {0, 1, 2, 3};
		CHECK(seen_is(&r.c, want, 4) && r.c.nbegin == 1, "batches or epochs");
		run_close(&r);
		in = freopen(data_path, "rb", stdin);
		run_open(&r, "-");
		cords_loop_cfg two = {.epochs = 3, .epoch_batches = 2};
		CHECK(in && run_loop(&r, &two) == 0, "%s", cords_errmsg());
		CHECK(seen_is(&r.c, want, 4) && r.c.nbegin == 3, "batches or epochs (%d)", r.c.nbegin);
		run_close(&r);
	}
	CASE("the stop flag (SIGTERM): a checkpoint at that step, the signal returned")
	{
		run_open(&r, data_path);
		r.c.stop_at = 2;
		cords_loop_cfg cfg = {.epochs = 2, .checkpoint = ckpt_path, .stop = &stop_flag};
		CHECK(run_loop(&r, &cfg) == SIGTERM, "returned %d: %s", r.rc, cords_errmsg());
		const int want[] = {0, 1};
		CHECK(w_is(&r, want, 2) && meta_int(ckpt_path, "ckpt_step") == 2, "checkpoint at step %lld",
		      (long long)meta_int(ckpt_path, "ckpt_step"));
		run_close(&r);
	}
	unlink(data_path);
	unlink(ckpt_path);
	T_DONE();
}
