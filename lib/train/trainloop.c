/* The shared training loop (trainloop.h). */
#include "trainloop.h"
#include "arch.h"
#include "checkpoint.h"
#include "dist.h"
#include "err.h"
#include "meta.h"
#include "stream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cords_checkpoint_save(const char *path, const cords_tensor_list *params, const cords_opt *opt, int epoch,
			  int64_t batch, int64_t step)
{
	int cap = params->n + 2 * (opt ? opt->n : 0) + 1;
	const cords_tensor **items = calloc((size_t)cap, sizeof *items);
	/* the model's metadata, plus where the loop stands */
	cords_tensor *meta = cords_meta_copy(cords_list_find(params, "meta"));
	int rc = !items || !meta ? cords_err("out of memory") : 0;
	rc = rc || cords_meta_setf(meta, CORDS_KEY_CKPT_EPOCH, "%d", epoch) ||
	     cords_meta_setf(meta, CORDS_KEY_CKPT_BATCH, "%lld", (long long)batch) ||
	     cords_meta_setf(meta, CORDS_KEY_CKPT_STEP, "%lld", (long long)step) ||
	     cords_meta_setf(meta, CORDS_KEY_CKPT_OPT_STEP, "%lld", (long long)(opt ? opt->step : 0));
	int n = 0;
	if (!rc) {
		items[n++] = meta;
		for (int i = 0; i < params->n; i++)
			if (strcmp(params->items[i]->name, "meta"))
				items[n++] = params->items[i];
		if (opt)
			n += cords_opt_items(opt, items + n, cap - n);
		rc = cords_save_atomic(path, items, n);
	}
	cords_tensor_free(meta);
	free(items);
	return rc;
}

static int64_t meta_i64(const cords_tensor *m, const char *key)
{
	char *s = cords_meta_get(m, key);
	long long v = s ? atoll(s) : 0;
	free(s);
	return v;
}

/* Restore parameters, moments and position; the stream is re-positioned by the loop. */
static int resume(const char *path, cords_tensor_list *params, cords_opt *opt, int *epoch, int64_t *batch,
		  int64_t *step)
{
	cords_tensor_list l = {0};
	if (cords_read_file(path, &l))
		return -1;
	const cords_tensor *meta = cords_list_find(&l, "meta");
	int rc = meta ? 0 : cords_err("%s: not a checkpoint (no meta)", path);
	for (int i = 0; i < params->n && !rc; i++) {
		cords_tensor *p = params->items[i];
		if (!strcmp(p->name, "meta"))
			continue;
		const cords_tensor *s = cords_list_find(&l, p->name);
		if (!s || s->nbytes != p->nbytes || s->dtype != p->dtype)
			rc = cords_err("%s: checkpoint lacks %s or it differs in shape", path, p->name);
		else
			memcpy(p->data, s->data, s->nbytes);
	}
	if (!rc && !meta_i64(meta, CORDS_KEY_CKPT_STEP) && !cords_meta_get(meta, CORDS_KEY_CKPT_STEP))
		rc = cords_err("%s: not a checkpoint (no ckpt_step)", path);
	if (!rc) {
		*epoch = (int)meta_i64(meta, CORDS_KEY_CKPT_EPOCH);
		*batch = meta_i64(meta, CORDS_KEY_CKPT_BATCH);
		*step = meta_i64(meta, CORDS_KEY_CKPT_STEP);
		rc = cords_opt_restore(opt, &l) || cords_params_push(opt->ps);
		opt->step = meta_i64(meta, CORDS_KEY_CKPT_OPT_STEP);
	}
	cords_list_free(&l);
	return rc;
}

static int evaluate(const cords_stage *s, const cords_loop_cfg *cfg, double *acc)
{
	cords_batches *e = cords_batches_open(cfg->eval_path, NULL, NULL);
	cords_batch b = {0};
	int64_t n = 0, ok = 0, k = 0;
	int rc = e ? 0 : -1;
	while (!rc && (!cfg->eval_batches || k < cfg->eval_batches) && (rc = cords_batches_next(e, &b)) > 0) {
		int c = 0;
		rc = s->eval(s->ctx, &b, &c) ? -1 : 0;
		ok += c;
		n += b.B;
		k++;
	}
	cords_batch_free(&b);
	cords_batches_close(e);
	if (rc < 0)
		return cords_err_prefix("evaluation: ");
	*acc = n ? (double)ok / n : 0;
	return 0;
}

typedef struct {
	const cords_stage *s;
	cords_tensor_list *params;
	cords_opt *opt;
	const cords_loop_cfg *cfg;
	int epoch;
	int64_t batch, step; /* batches of this epoch done, steps in all */
} loop_state;

static int save(loop_state *L)
{
	if (!L->cfg->checkpoint || cords_dist_rank() != 0)
		return 0;
	if (cords_params_pull(L->opt->ps) || cords_opt_pull(L->opt) ||
	    cords_checkpoint_save(L->cfg->checkpoint, L->params, L->opt, L->epoch, L->batch, L->step))
		return cords_err_prefix("checkpoint: ");
	return 0;
}

/* Next batch of the epoch: 1, 0 when the epoch is over, -1. */
static int next_batch(loop_state *L, cords_batches *data, cords_batch *b)
{
	if (L->cfg->epoch_batches && L->batch >= L->cfg->epoch_batches)
		return 0;
	return cords_batches_next(data, b);
}

/* The gradient of the whole batch b. Under mpirun each rank takes its slice
 * (a view into b), and the slices' mean gradients, loss and accuracy are
 * summed with weights B_r / B, so every rank ends with the same numbers. */
static int batch_grad(loop_state *L, const cords_batch *b, cords_step_stats *st)
{
	int sums = cords_dist_sums(L->s->be);
	if (sums <= 0)
		return sums < 0 ? -1 : L->s->grad(L->s->ctx, b, st);
	int64_t lo, hi, px = (int64_t)b->C * b->H * b->W;
	cords_dist_slice(b->B, &lo, &hi);
	if (hi <= lo)
		return cords_err("batch of %d images for %d ranks: every rank needs at least one", b->B,
				 cords_dist_size());
	cords_batch part = {(int)(hi - lo), b->C, b->H, b->W, b->N, b->x + lo * px,
			    b->hard ? b->hard + lo : NULL, b->soft ? b->soft + lo * b->N : NULL, NULL};
	if (L->s->grad(L->s->ctx, &part, st))
		return -1;
	double w = (double)(hi - lo) / b->B;
	double stats[2 + CORDS_MAX_EXTRA] = {st->loss * w, st->acc * w};
	for (int i = 0; i < CORDS_MAX_EXTRA; i++)
		stats[2 + i] = st->extra[i] * w;
	cords_backend *be = L->opt->ps->be;
	for (int i = 0; i < L->opt->n; i++) {
		cords_buf *g = L->opt->ps->g[L->opt->idx[i]];
		if (be->axpby(be, (float)w, g, 0, g) || cords_dist_sum_buf(be, g))
			return -1;
	}
	if (cords_dist_sum_f64(stats, 2 + CORDS_MAX_EXTRA))
		return -1;
	st->loss = stats[0], st->acc = stats[1];
	for (int i = 0; i < CORDS_MAX_EXTRA; i++)
		st->extra[i] = stats[2 + i];
	return 0;
}

static int one_step(loop_state *L, const cords_batch *b, cords_loop_cb cb, void *cbctx, const char *note)
{
	cords_loop_event e = {.stage = L->s->name, .epoch = L->epoch, .note = note};
	double t0 = now();
	if (batch_grad(L, b, &e.st))
		return -1;
	const char *bad = !isfinite(e.st.loss) ? "the loss" : cords_opt_step(L->opt, &e.gnorm, &e.lr) ? "a gradient" : NULL;
	if (bad)
		return cords_err("training diverged at step %lld (epoch %d): %s is NaN or Inf; parameters left as "
				 "before that step%s%s",
				 (long long)L->step + 1, L->epoch, bad, L->cfg->checkpoint ? ", last good checkpoint " : "",
				 L->cfg->checkpoint ? L->cfg->checkpoint : "");
	if (L->s->update(L->s->ctx))
		return -1;
	L->batch++;
	L->step++;
	e.step = L->step;
	e.images = b->B;
	e.img_s = b->B / fmax(now() - t0, 1e-9);
	return cb ? cb(cbctx, &e) : 0;
}

static int skip_batches(cords_batches *data, int64_t n)
{
	cords_batch b = {0};
	int rc = 1;
	for (int64_t i = 0; i < n && rc > 0; i++)
		rc = cords_batches_next(data, &b);
	cords_batch_free(&b);
	return rc < 0 ? -1 : 0;
}

int cords_train_loop(const cords_stage *s, cords_tensor_list *params, cords_opt *opt, cords_batches *data,
		     const cords_loop_cfg *cfg, cords_loop_cb cb, void *cbctx)
{
	loop_state L = {s, params, opt, cfg, 0, 0, 0};
	int from_file = strcmp(cords_batches_name(data), "<stdin>") != 0, resumed = 0;
	if (cfg->resume) {
		if (resume(cfg->resume, params, opt, &L.epoch, &L.batch, &L.step) || s->update(s->ctx))
			return -1;
		resumed = 1;
	}
	cords_batch b = {0};
	char note[64] = "";
	int rc = 0;
	for (; L.epoch < cfg->epochs && !rc; L.epoch++) {
		int64_t skip = resumed ? L.batch : 0;
		if (!resumed)
			L.batch = 0;
		if (from_file && (L.epoch > 0 || resumed) && cords_batches_rewind(data))
			return -1;
		if (s->epoch_begin && s->epoch_begin(s->ctx, L.epoch, resumed, opt, note, sizeof note))
			return -1;
		if ((resumed && (from_file ? skip_batches(data, skip) : 0)))
			return -1;
		resumed = 0;
		int got = 0;
		while (!rc && (!cfg->max_steps || L.step < cfg->max_steps) && (got = next_batch(&L, data, &b)) > 0) {
			rc = one_step(&L, &b, cb, cbctx, note);
			if (!rc && cfg->every && L.step % cfg->every == 0)
				rc = save(&L);
			int sig = cfg->stop ? *cfg->stop : 0;
			if (!rc && sig) {
				cords_batch_free(&b);
				return save(&L) || cords_params_pull(opt->ps) ? -1 : sig;
			}
		}
		if (!rc && got < 0)
			rc = -1;
		const int stop = cfg->max_steps && L.step >= cfg->max_steps;
		const int one = !from_file && !cfg->epoch_batches; /* stdin without epoch sizes: the stream was the one epoch */
		const int last = stop || one || L.epoch + 1 >= cfg->epochs;
		if (!rc && s->eval && cfg->eval_path && (last || cfg->eval_every <= 1 || (L.epoch + 1) % cfg->eval_every == 0)) {
			cords_loop_event e = {.stage = s->name, .epoch = L.epoch, .is_eval = 1, .step = L.step, .note = note};
			rc = evaluate(s, cfg, &e.eval_acc) || (cb && cb(cbctx, &e)) ? -1 : 0;
		}
		if (stop && (!cfg->epoch_batches || L.batch < cfg->epoch_batches))
			break; /* stopped inside this epoch: a resume continues it */
		if (one)
			break;
	}
	cords_batch_free(&b);
	if (!rc && L.epoch >= cfg->epochs)
		L.batch = 0;
	/* the caller writes the host list: bring it up to date */
	return rc || cords_params_pull(opt->ps) ? -1 : save(&L);
}
