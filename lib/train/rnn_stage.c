/* RNN stages for the training loop (rnn_stage.h). */
#include "rnn_stage.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	cords_model *m;
	cords_params *ps;
	cords_rnn_stage_cfg cfg;
	cords_rnn_trainer *t;
	float *tlogits, *tlabels; /* the teacher's logits and labels [B,N] */
	int tcap;                 /* their capacity in images */
} rnn_ctx;

double cords_anneal_slope(const cords_rnn_stage_cfg *cfg, int epoch)
{
	return fmax(0.0, cfg->slope_start - cfg->slope_step * epoch);
}

/* y <- the teacher's mix with y (see cords_rnn_stage_cfg). */
static int distill(rnn_ctx *c, const cords_batch *b, cords_labels *y)
{
	const int B = b->B, N = c->m->arch.classes;
	if (B > c->tcap) {
		free(c->tlogits), free(c->tlabels);
		c->tlogits = malloc(sizeof(float) * B * N), c->tlabels = malloc(sizeof(float) * B * N);
		c->tcap = c->tlogits && c->tlabels ? B : 0;
		if (!c->tcap)
			return cords_err("out of memory");
	}
	const cords_labels none = {0}; /* the teacher's logits only, not its loss */
	if (cords_labels_check(*y, B, N) ||
	    isnan(cords_cnn_step(c->cfg.teacher, c->cfg.teacher_params, 0, B, b->x, none, 0, c->tlogits)))
		return cords_err_prefix("teacher: ");
	const double mix = c->cfg.teacher_mix, temp = c->cfg.teacher_temp;
	for (int i = 0; i < B; i++) {
		const float *l = c->tlogits + (size_t)i * N;
		float *p = c->tlabels + (size_t)i * N;
		double mx = l[cords_argmax(l, N)], sum = 0;
		for (int n = 0; n < N; n++)
			sum += p[n] = (float)exp((l[n] - mx) / temp);
		for (int n = 0; n < N; n++)
			p[n] = (float)(mix * p[n] / sum);
		if (y->hard)
			p[y->hard[i]] += (float)(1 - mix);
		else
			for (int n = 0; n < N; n++)
				p[n] += (float)((1 - mix) * y->soft[(size_t)i * N + n]);
	}
	*y = (cords_labels){NULL, c->tlabels, y->hard ? y->hard : y->truth};
	return 0;
}

static int grad(void *ctx, const cords_batch *b, cords_step_stats *st)
{
	rnn_ctx *c = ctx;
	cords_rnn_stats r;
	const cords_arch *a = &c->m->arch;
	cords_labels y = cords_batch_labels(b);
	if (cords_batch_fits(b, a->in_ch, a->height, a->width, a->classes) || (c->cfg.teacher && distill(c, b, &y)) ||
	    cords_rnn_grad(c->t, c->ps, b->B, b->x, y, 1, &r))
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
	    cords_rnn_grad(c->t, c->ps, b->B, b->x, cords_batch_labels(b), 0, &r))
		return -1;
	*correct = r.correct_last;
	return 0;
}

static int update(void *ctx)
{
	rnn_ctx *c = ctx;
	return cords_model_use_params(c->m, c->ps);
}

static int epoch_begin(void *ctx, int epoch, int resumed, cords_opt *opt, char *note, size_t n)
{
	rnn_ctx *c = ctx;
	if (c->cfg.anneal) {
		cords_phi phi = {CORDS_PHI_PRELU, (float)cords_anneal_slope(&c->cfg, epoch)};
		cords_rnn_trainer_set_phi(c->t, phi);
		snprintf(note, n, "slope=%g", phi.slope);
	}
	return !resumed && c->cfg.fresh_per_epoch ? cords_opt_reset(opt) : 0;
}

cords_stage *cords_rnn_stage_new(const char *name, cords_model *m, cords_params *ps, const cords_rnn_stage_cfg *cfg,
				 int batch)
{
	cords_stage *s = calloc(1, sizeof *s);
	rnn_ctx *c = calloc(1, sizeof *c);
	if (!s || !c) {
		free(s);
		free(c);
		cords_err("out of memory");
		return NULL;
	}
	*c = (rnn_ctx){.m = m, .ps = ps, .cfg = *cfg};
	if (!(c->t = cords_rnn_trainer_new(m, batch, &cfg->loss))) {
		free(s);
		free(c);
		return NULL;
	}
	*s = (cords_stage){.ctx = c, .name = name, .be = m->be, .extra_names = {"acc_any", "ce_last", "spont", NULL},
			   .grad = grad, .eval = eval, .update = update, .epoch_begin = epoch_begin};
	return s;
}

void cords_rnn_stage_free(cords_stage *s)
{
	if (!s)
		return;
	rnn_ctx *c = s->ctx;
	cords_rnn_trainer_free(c->t);
	free(c->tlogits);
	free(c->tlabels);
	free(c);
	free(s);
}
