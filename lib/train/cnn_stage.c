/* CNN-side stages for the training loop (cnn_stage.h). */
#include "cnn_stage.h"
#include "err.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	cords_arch a;
	cords_backend *be;
	cords_params *ps;
	cords_cnn *cnn;
	cords_inverse *inv;
	double rounds[16];
	int nrounds, per_round;
	/* inverse's evaluation: the linear RNN */
	cords_rnn_loss eval_cfg;
	int has_eval;
	cords_model *m;
	cords_rnn_trainer *t;
} cnn_ctx;

static int fits(const cnn_ctx *c, const cords_batch *b)
{
	return cords_batch_fits(b, c->a.in_ch, c->a.height, c->a.width, c->a.classes);
}

static int cnn_grad(void *ctx, const cords_batch *b, cords_step_stats *st)
{
	cnn_ctx *c = ctx;
	float *lg = malloc((size_t)b->B * c->a.classes * sizeof *lg);
	if (!lg)
		return cords_err("out of memory");
	cords_labels y = cords_batch_labels(b);
	int rc = fits(c, b) || cords_labels_check(y, b->B, c->a.classes);
	if (!rc) {
		st->loss = cords_cnn_step(c->cnn, c->ps, 1, b->B, b->x, y, 1, lg);
		st->acc = (double)cords_correct_cpu(lg, b->B, c->a.classes, y) / b->B;
	}
	free(lg);
	return rc ? -1 : 0;
}

static int cnn_eval(void *ctx, const cords_batch *b, int *correct)
{
	cnn_ctx *c = ctx;
	float *lg = malloc((size_t)b->B * c->a.classes * sizeof *lg);
	cords_labels none = {0};
	int rc = !lg || fits(c, b) || isnan(cords_cnn_step(c->cnn, c->ps, 0, b->B, b->x, none, 0, lg));
	if (!rc)
		*correct = cords_correct_cpu(lg, b->B, c->a.classes, cords_batch_labels(b));
	free(lg);
	return rc ? -1 : 0;
}

static int cnn_update(void *ctx)
{
	cnn_ctx *c = ctx;
	return cords_cnn_set_params(c->cnn, c->ps);
}

static int cnn_epoch(void *ctx, int epoch, int resumed, cords_opt *opt, char *note, size_t n)
{
	cnn_ctx *c = ctx;
	int r = epoch / c->per_round;
	if (r >= c->nrounds)
		r = c->nrounds - 1;
	opt->cfg.lr = c->rounds[r];
	snprintf(note, n, "round=%d", r);
	/* a fresh optimiser (and warm-up) per round */
	return !resumed && epoch % c->per_round == 0 ? cords_opt_reset(opt) : 0;
}

static cords_stage *stage_of(cnn_ctx *c, const char *name)
{
	cords_stage *s = calloc(1, sizeof *s);
	if (!s) {
		cords_err("out of memory");
		return NULL;
	}
	s->ctx = c;
	s->name = name;
	s->be = c->be;
	return s;
}

cords_stage *cords_cnn_stage_new(const cords_arch *a, cords_params *ps, const double *rounds, int nrounds,
				 int per_round)
{
	cnn_ctx *c = calloc(1, sizeof *c);
	if (!c || nrounds < 1 || nrounds > 16 || per_round < 1) {
		free(c);
		cords_err(c ? "1 to 16 rounds of at least one epoch" : "out of memory");
		return NULL;
	}
	c->a = *a, c->be = ps->be, c->ps = ps, c->nrounds = nrounds, c->per_round = per_round;
	memcpy(c->rounds, rounds, (size_t)nrounds * sizeof *rounds);
	cords_stage *s = NULL;
	if (!(c->cnn = cords_cnn_new(a, c->be, 0, 1)) || cords_cnn_set_params(c->cnn, ps) || !(s = stage_of(c, "cnn"))) {
		cords_cnn_free(c->cnn);
		free(c);
		return NULL;
	}
	s->extra_names[0] = NULL;
	s->grad = cnn_grad, s->eval = cnn_eval, s->update = cnn_update, s->epoch_begin = cnn_epoch;
	return s;
}

/* ---- inverse */

int cords_inverse_trained(const char *name)
{
	return !strncmp(name, "area_conv.", 10) || !strncmp(name, "conv_bias.", 10);
}

static int inv_grad(void *ctx, const cords_batch *b, cords_step_stats *st)
{
	cnn_ctx *c = ctx;
	if (fits(c, b))
		return -1;
	st->loss = cords_inverse_step(c->inv, c->ps, b->B, b->x, 1, &st->extra[0], &st->extra[1]);
	st->acc = NAN;
	return 0;
}

static int inv_eval(void *ctx, const cords_batch *b, int *correct)
{
	cnn_ctx *c = ctx;
	cords_rnn_stats r;
	if (fits(c, b) || cords_rnn_grad(c->t, c->ps, b->B, b->x, cords_batch_labels(b), 0, &r))
		return -1;
	*correct = r.correct_last;
	return 0;
}

static int inv_update(void *ctx)
{
	cnn_ctx *c = ctx;
	return c->m ? cords_model_use_params(c->m, c->ps) : 0;
}

cords_stage *cords_inverse_stage_new(const cords_arch *a, const cords_tensor_list *folded, cords_params *rnn,
				     int iterations, double eig_weight, const cords_rnn_loss *eval)
{
	cnn_ctx *c = calloc(1, sizeof *c);
	cords_stage *s = NULL;
	if (!c) {
		cords_err("out of memory");
		return NULL;
	}
	cords_backend *be = rnn->be;
	c->a = *a, c->be = be, c->ps = rnn;
	int ok = (c->inv = cords_inverse_new(a, be, folded, 1, iterations, eig_weight)) != NULL;
	if (ok && eval) {
		c->eval_cfg = *eval;
		ok = (c->m = cords_model_new(rnn->host, cords_list_find(rnn->host, "meta"), be)) &&
		     (c->t = cords_rnn_trainer_new(c->m, 1, &c->eval_cfg));
	}
	if (!ok || !(s = stage_of(c, "inverse"))) {
		cords_rnn_trainer_free(c->t);
		cords_model_free(c->m);
		cords_inverse_free(c->inv);
		free(c);
		return NULL;
	}
	s->extra_names[0] = "fit", s->extra_names[1] = "eig", s->extra_names[2] = NULL;
	s->grad = inv_grad, s->eval = eval ? inv_eval : NULL, s->update = inv_update;
	return s;
}

void cords_cnn_stage_free(cords_stage *s)
{
	if (!s)
		return;
	cnn_ctx *c = s->ctx;
	cords_cnn_free(c->cnn);
	cords_inverse_free(c->inv);
	cords_rnn_trainer_free(c->t);
	cords_model_free(c->m);
	free(c);
	free(s);
}
