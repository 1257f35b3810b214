/* RNN stages for the training loop (rnn_stage.h). */
#include "rnn_stage.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	cords_model *m;
	cords_tensor_list *params, *grads;
	cords_rnn_stage_cfg cfg;
	cords_rnn_trainer *t;
} rnn_ctx;

double cords_anneal_slope(const cords_rnn_stage_cfg *cfg, int epoch)
{
	return fmax(0.0, cfg->slope_start - cfg->slope_step * epoch);
}

static int grad(void *ctx, const cords_batch *b, cords_step_stats *st)
{
	rnn_ctx *c = ctx;
	cords_rnn_stats r;
	const cords_arch *a = &c->m->arch;
	if (cords_batch_fits(b, a->in_ch, a->height, a->width, a->classes) ||
	    cords_rnn_grad(c->t, c->params, b->B, b->x, cords_batch_labels(b), c->grads, &r))
		return -1;
	st->loss = r.loss;
	st->acc = (double)r.correct_last / b->B;
	st->extra[0] = (double)r.correct_any / b->B;
	st->extra[1] = r.ce_last;
	st->extra[2] = r.spont;
	return 0;
}

static int eval(void *ctx, const cords_batch *b, int *correct)
{
	rnn_ctx *c = ctx;
	cords_rnn_stats r;
	const cords_arch *a = &c->m->arch;
	if (cords_batch_fits(b, a->in_ch, a->height, a->width, a->classes) ||
	    cords_rnn_grad(c->t, c->params, b->B, b->x, cords_batch_labels(b), NULL, &r))
		return -1;
	*correct = r.correct_last;
	return 0;
}

static int update(void *ctx)
{
	rnn_ctx *c = ctx;
	return cords_model_set_params(c->m, c->params);
}

static int epoch_begin(void *ctx, int epoch, int resumed, cords_opt *opt, char *note, size_t n)
{
	rnn_ctx *c = ctx;
	if (c->cfg.anneal) {
		cords_phi phi = {CORDS_PHI_PRELU, (float)cords_anneal_slope(&c->cfg, epoch)};
		cords_rnn_trainer_set_phi(c->t, phi);
		snprintf(note, n, "slope=%g", phi.slope);
	}
	if (!resumed && c->cfg.fresh_per_epoch)
		cords_opt_reset(opt);
	return 0;
}

cords_stage *cords_rnn_stage_new(const char *name, cords_model *m, cords_tensor_list *params,
				 cords_tensor_list *grads, const cords_rnn_stage_cfg *cfg, int batch)
{
	cords_stage *s = calloc(1, sizeof *s);
	rnn_ctx *c = calloc(1, sizeof *c);
	if (!s || !c) {
		free(s);
		free(c);
		cords_err("out of memory");
		return NULL;
	}
	*c = (rnn_ctx){m, params, grads, *cfg, NULL};
	if (!(c->t = cords_rnn_trainer_new(m, batch, &cfg->loss))) {
		free(s);
		free(c);
		return NULL;
	}
	*s = (cords_stage){.ctx = c, .name = name, .extra_names = {"acc_any", "ce_last", "spont", NULL},
			   .grad = grad, .eval = eval, .update = update, .epoch_begin = epoch_begin};
	return s;
}

void cords_rnn_stage_free(cords_stage *s)
{
	if (!s)
		return;
	rnn_ctx *c = s->ctx;
	cords_rnn_trainer_free(c->t);
	free(c);
	free(s);
}
