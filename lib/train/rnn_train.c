/* BPTT for the RNN stages (rnn_train.h). The forward is the model's own step
 * (lib/model/step.c); the backward of one step mirrors it area by area:
 *   dz_i = alpha phi'(z_i) dr_i',   dr_i += (1 - alpha) dr_i'
 *   d conv_bias_i += sum_b dz_i,    d area_conv_i += dz_i (x) r_i,  dr_i += area_conv_i^T dz_i
 *   d area_area_i += dz_i (x) u_i,  du_i = area_area_i^T dz_i, then through u_i's sum of
 *   relu(r_{i-1}), relu(r_{i-2}) or skip(relu(r_{i-2})), inp_skip(p), p.
 * The stem drive p is the same at every stimulus step, so its gradient is
 * summed over the steps and pushed through the pool and the stem conv once.
 * The read-outs and their loss run on the backend too; the host sees their
 * losses and argmaxes once per batch. */
#include "rnn_train.h"
#include "err.h"
#include "loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A weight-normalised conv or the read-out: device weights and gradient. */
typedef struct {
	char base[48];
	const cords_buf *w; /* the model's resolved weights (NULL for out_fc) */
	cords_buf *dw;      /* [O,I,k,k] gradient of W (kind WEIGHT) */
} wconv;

enum { GROUP_MAX = 8 };

struct cords_rnn_trainer {
	cords_model *m;
	cords_rnn_loss cfg;
	/* The backward goes through steps (t0, total]: t0 is 0, or where a
	 * --bptt-window starts. Checkpoints hold the states t0, t0 + k, ...;
	 * tl starts the last segment, whose states the forward keeps. */
	int batch, k, nckpt, total, t0, tl;
	cords_work *work;
	cords_state **ckpt;            /* states at t0, t0 + k, t0 + 2k, ... */
	cords_state **seg;             /* states a+1 .. a+k of the segment (a, a+k] being replayed */
	cords_state *base, *tmp1;      /* the spontaneous state (batch 1) and scratch */
	cords_state *base_next;        /* the spontaneous phase's next state, and its work (batch 1), */
	cords_work *base_work;         /* kept: a buffer freed would drop the backend's replays */
	cords_drive drive; /* the image's drive; p aliases drive.p */
	cords_buf *x, *p, *dp, *dskip, *dstem, *stem; /* dskip: gradient of inp_skip(p), summed over steps */
	cords_buf *dz0; /* area 0's dz summed over the stimulus steps: its input p is constant there */
	cords_buf *dr[CORDS_MAX_DEPTH], *dprev[CORDS_MAX_DEPTH];
	cords_buf *du[CORDS_MAX_DEPTH], *q[CORDS_MAX_DEPTH], *dq[CORDS_MAX_DEPTH];
	/* The weight gradients of the convolutions into each area (and its
	 * bias gradient) wait for G steps and are then computed in one call on
	 * G*B items, which runs far faster than G calls on B. Per area, stacked
	 * [G*B,...]: the state before the step (gx), dz (gz) and u (gu, from
	 * area 1 on); v* are each step's views into them; ng steps are in. */
	int G, ng;
	cords_buf *gx[CORDS_MAX_DEPTH], *gz[CORDS_MAX_DEPTH], *gu[CORDS_MAX_DEPTH];
	cords_buf *vx[CORDS_MAX_DEPTH][GROUP_MAX], *vz[CORDS_MAX_DEPTH][GROUP_MAX], *vu[CORDS_MAX_DEPTH][GROUP_MAX];
	cords_buf *sum, *dfeat;
	cords_buf *dbias[CORDS_MAX_DEPTH]; /* [1,c,h,w] */
	wconv inp, skip0, ac[CORDS_MAX_DEPTH], aa[CORDS_MAX_DEPTH], sk[3];
	/* The R read-outs: features and dlogits stacked [R*B,C] and [R*B,N]
	 * (dW is one call on all of them) and xent's answers [2R,B] (one
	 * download), with each read-out's views into them; its logits [B,N]; the
	 * batch's labels (one of yh, ys set); the answers on the host. */
	cords_buf *featv, *dlog, *xout, *logits, *hard, *soft;
	cords_buf **vfeat, **vdlog, **vout;
	const cords_buf *yh, *ys;
	float *xout_host;
	cords_buf *fcdw; /* the read-out's dW [N,C], for weight norm's backward */
	double *ramp;
};

static cords_buf *act(cords_backend *be, int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t s[4] = {a, b, c, d};
	return be->alloc(be, CORDS_BUF_ACT, d ? 4 : 2, s);
}

static void free_batch_bufs(cords_rnn_trainer *t)
{
	const cords_model *m = t->m;
	cords_backend *be = m->be;
	for (int i = 0; i < t->nckpt; i++)
		cords_state_free(m, t->ckpt[i]);
	for (int i = 0; t->seg && i < t->k; i++)
		cords_state_free(m, t->seg[i]);
	free(t->ckpt);
	free(t->seg);
	t->ckpt = t->seg = NULL;
	t->nckpt = 0;
	cords_state_free(m, t->tmp1);
	t->tmp1 = NULL;
	cords_work_free(m, t->work);
	t->work = NULL;
	cords_drive_free(m, &t->drive);
	t->p = NULL;
	for (int j = 0; t->vfeat && j < t->cfg.readouts; j++)
		CALL(free, t->vfeat[j]), CALL(free, t->vdlog[j]), CALL(free, t->vout[j]);
	free(t->vfeat), free(t->vdlog), free(t->vout);
	t->vfeat = t->vdlog = t->vout = NULL;
	cords_buf **all[] = {&t->x,   &t->dp,    &t->dskip,  &t->dz0,    &t->dstem, &t->stem, &t->sum, &t->dfeat,
			     &t->featv, &t->dlog, &t->xout, &t->logits, &t->hard, &t->soft};
	for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
		CALL(free, *all[i]);
		*all[i] = NULL;
	}
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		for (int g = 0; g < GROUP_MAX; g++) {
			CALL(free, t->vx[i][g]), CALL(free, t->vz[i][g]), CALL(free, t->vu[i][g]);
			t->vx[i][g] = t->vz[i][g] = t->vu[i][g] = NULL;
		}
		cords_buf **b[] = {&t->dr[i], &t->dprev[i], &t->gx[i], &t->gz[i], &t->gu[i], &t->du[i], &t->q[i], &t->dq[i]};
		for (int j = 0; j < 8; j++) {
			CALL(free, *b[j]);
			*b[j] = NULL;
		}
	}
	free(t->xout_host);
	t->xout_host = NULL;
	t->batch = 0;
}

/* Bytes of one state (r and z) at batch B. */
static double state_bytes(const cords_arch *a, int B)
{
	double n = 0;
	for (int i = 0; i < a->depth; i++)
		n += 2.0 * B * a->c[i] * a->h[i] * a->w[i] * sizeof(float);
	return n;
}

/* k: every state the backward reads if they fit in 1 GiB, or on a device
 * in half its free memory (no recomputed steps: a quarter fewer
 * convolutions), else about sqrt(steps). Only the steps after t0 count:
 * those before a window are run and dropped. */
static int choose_k(const cords_rnn_trainer *t, int B)
{
	const int L = t->total - t->t0;
	if (t->cfg.ckpt_every > 0)
		return t->cfg.ckpt_every < L ? t->cfg.ckpt_every : L;
	cords_backend *be = t->m->be;
	double budget = 1073741824.0;
	size_t avail;
	if (be->mem_free && !be->mem_free(be, &avail) && avail / 2.0 > budget)
		budget = avail / 2.0;
	if (state_bytes(&t->m->arch, B) * L <= budget)
		return L;
	int k = (int)ceil(sqrt((double)L));
	return k < 1 ? 1 : k;
}

/* G: up to GROUP_MAX steps, within 256 MiB of stacked buffers, or on a
 * device within a sixteenth of its free memory if that is more: there the
 * larger weight-gradient convolutions keep more of a GPU busy. */
static int choose_group(const cords_rnn_trainer *t, int B)
{
	const cords_arch *a = &t->m->arch;
	double n = 0;
	for (int i = 0; i < a->depth; i++) {
		int j = i ? i - 1 : 0;
		n += (2.0 * a->c[i] * a->h[i] * a->w[i] + (i ? (double)a->cin[i] * a->h[j] * a->w[j] : 0)) * B * sizeof(float);
	}
	double cap = 268435456.0;
	size_t avail;
	cords_backend *be = t->m->be;
	if (be->mem_free && !be->mem_free(be, &avail) && avail / 16.0 > cap)
		cap = avail / 16.0;
	int G = GROUP_MAX;
	while (G > 1 && G * n > cap)
		G--;
	return G < t->total - t->t0 ? G : t->total - t->t0;
}

static int alloc_batch_bufs(cords_rnn_trainer *t, int B)
{
	const cords_model *m = t->m;
	const cords_arch *a = &m->arch;
	cords_backend *be = m->be;
	const int D = a->depth, N = a->classes, C = a->c[D - 1];
	t->batch = B;
	t->k = choose_k(t, B);
	t->G = choose_group(t, B);
	t->ng = 0;
	t->tl = t->t0 + (t->total - t->t0 - 1) / t->k * t->k;
	t->nckpt = (t->tl - t->t0) / t->k + 1;
	t->ckpt = calloc((size_t)t->nckpt, sizeof *t->ckpt);
	t->seg = calloc((size_t)t->k, sizeof *t->seg);
	int ok = t->ckpt && t->seg && (t->work = cords_work_new(m, B)) && (t->tmp1 = cords_state_new(m, B));
	for (int i = 0; ok && i < t->nckpt; i++)
		ok = (t->ckpt[i] = cords_state_new(m, B)) != NULL;
	for (int i = 0; ok && i < t->k; i++)
		ok = (t->seg[i] = cords_state_new(m, B)) != NULL;
	ok = ok && (t->x = cords_model_alloc_input(m, B)) && !cords_drive_alloc(m, B, &t->drive) &&
	     (t->p = t->drive.p) && (t->dp = act(be, B, 64, a->h[0], a->w[0])) &&
	     (t->dskip = act(be, B, 64, a->h[0], a->w[0])) && (t->dz0 = act(be, B, a->c[0], a->h[0], a->w[0])) &&
	     (t->stem = act(be, B, 64, a->stem_h, a->stem_w)) &&
	     (t->dstem = act(be, B, 64, a->stem_h, a->stem_w)) && (t->sum = act(be, B, C, a->h[D - 1], a->w[D - 1])) &&
	     (t->dfeat = act(be, B, C, 0, 0));
	for (int i = 0; ok && i < D; i++) {
		int j = i ? i - 1 : 0;
		ok = (t->dr[i] = act(be, B, a->c[i], a->h[i], a->w[i])) &&
		     (t->dprev[i] = act(be, B, a->c[i], a->h[i], a->w[i])) &&
		     (t->gx[i] = act(be, (int64_t)t->G * B, a->c[i], a->h[i], a->w[i])) &&
		     (t->gz[i] = act(be, (int64_t)t->G * B, a->c[i], a->h[i], a->w[i])) &&
		     (!i || (t->gu[i] = act(be, (int64_t)t->G * B, a->cin[i], a->h[j], a->w[j]))) &&
		     (t->du[i] = act(be, B, a->cin[i], a->h[j], a->w[j])) &&
		     (t->q[i] = act(be, B, a->c[i], a->h[i], a->w[i])) &&
		     (t->dq[i] = act(be, B, a->c[i], a->h[i], a->w[i]));
		for (int g = 0; ok && g < t->G; g++)
			ok = (t->vx[i][g] = be->view(be, t->gx[i], (int64_t)g * B, B)) &&
			     (t->vz[i][g] = be->view(be, t->gz[i], (int64_t)g * B, B)) &&
			     (!i || (t->vu[i][g] = be->view(be, t->gu[i], (int64_t)g * B, B)));
	}
	const int R = t->cfg.readouts;
	ok = ok && (t->featv = act(be, (int64_t)R * B, C, 0, 0)) && (t->dlog = act(be, (int64_t)R * B, N, 0, 0)) &&
	     (t->xout = act(be, 2 * R, B, 0, 0)) && (t->logits = act(be, B, N, 0, 0)) &&
	     (t->hard = be->alloc(be, CORDS_BUF_ACT, 1, (int64_t[]){B})) && (t->soft = act(be, B, N, 0, 0)) &&
	     (t->xout_host = malloc((size_t)2 * R * B * sizeof(float))) &&
	     (t->vfeat = calloc((size_t)R, sizeof *t->vfeat)) && (t->vdlog = calloc((size_t)R, sizeof *t->vdlog)) &&
	     (t->vout = calloc((size_t)R, sizeof *t->vout));
	for (int j = 0; ok && j < R; j++)
		ok = (t->vfeat[j] = be->view(be, t->featv, (int64_t)j * B, B)) &&
		     (t->vdlog[j] = be->view(be, t->dlog, (int64_t)j * B, B)) &&
		     (t->vout[j] = be->view(be, t->xout, 2 * j, 2));
	if (!ok) {
		free_batch_bufs(t);
		return cords_err_prefix("training buffers for batch %d: ", B);
	}
	return 0;
}

static cords_buf *weight_like(cords_backend *be, const cords_buf *w)
{
	return be->alloc(be, CORDS_BUF_WEIGHT, 4, cords_buf_shape(w));
}

static int init_wconv(cords_backend *be, wconv *c, const char *base, const cords_buf *w)
{
	snprintf(c->base, sizeof c->base, "%s", base);
	c->w = w;
	return (c->dw = weight_like(be, w)) ? 0 : -1;
}

static int check_cfg(const cords_rnn_loss *c)
{
	if (c->dyn.stim_steps < 1 || c->readouts < 1 || c->readouts > c->dyn.stim_steps)
		return cords_err("read-outs (%d) must be 1..stimulus steps (%d)", c->readouts, c->dyn.stim_steps);
	if (c->blank_steps < 0 || c->dyn.spont_steps < 0)
		return cords_err("negative step counts");
	if (c->blank_steps && (c->spont_window < 1 || c->spont_window > c->blank_steps))
		return cords_err("spont window (%d) must be 1..blank steps (%d)", c->spont_window, c->blank_steps);
	return 0;
}

cords_rnn_trainer *cords_rnn_trainer_new(cords_model *m, int batch, const cords_rnn_loss *cfg)
{
	if (check_cfg(cfg))
		return NULL;
	if (!m->be->conv2d_bwd_data || !m->be->leaky_bwd || !m->be->batch_sum) {
		cords_err("backend %s has no training operations", m->be->name);
		return NULL;
	}
	cords_rnn_trainer *t = calloc(1, sizeof *t);
	if (!t) {
		cords_err("out of memory");
		return NULL;
	}
	const cords_arch *a = &m->arch;
	cords_backend *be = m->be;
	char base[48];
	t->m = m;
	t->cfg = *cfg;
	t->total = cfg->dyn.stim_steps + cfg->blank_steps;
	t->t0 = cfg->bptt_window > 0 && cfg->bptt_window < t->total ? t->total - cfg->bptt_window : 0;
	int ok = !init_wconv(be, &t->inp, "inp_conv", m->inp_conv) && !init_wconv(be, &t->skip0, "inp_skip", m->inp_skip);
	for (int i = 0; ok && i < a->depth; i++) {
		snprintf(base, sizeof base, "area_conv.%d", i);
		ok = !init_wconv(be, &t->ac[i], base, m->area_conv[i]);
		snprintf(base, sizeof base, "area_area.%d", i);
		ok = ok && !init_wconv(be, &t->aa[i], base, m->area_area[i]);
		ok = ok && (t->dbias[i] = act(be, 1, a->c[i], a->h[i], a->w[i]));
	}
	for (int k = 0; ok && k < a->nskip; k++) {
		snprintf(base, sizeof base, "skip_area.%d", k);
		ok = !init_wconv(be, &t->sk[k], base, m->skip[k]);
	}
	int R = cfg->readouts;
	ok = ok && (t->base = cords_state_new(m, 1)) && (t->base_next = cords_state_new(m, 1)) &&
	     (t->base_work = cords_work_new(m, 1)) && (t->ramp = malloc((size_t)R * sizeof *t->ramp)) &&
	     (t->fcdw = act(be, a->classes, a->c[a->depth - 1], 0, 0));
	if (!ok || alloc_batch_bufs(t, batch)) {
		cords_rnn_trainer_free(t);
		return NULL;
	}
	cords_time_weights(R, t->ramp);
	return t;
}

void cords_rnn_trainer_set_phi(cords_rnn_trainer *t, cords_phi phi) { t->cfg.dyn.phi = phi; }

void cords_rnn_trainer_free(cords_rnn_trainer *t)
{
	if (!t)
		return;
	cords_backend *be = t->m->be;
	free_batch_bufs(t);
	cords_state_free(t->m, t->base);
	cords_state_free(t->m, t->base_next);
	cords_work_free(t->m, t->base_work);
	wconv *all[] = {&t->inp, &t->skip0};
	for (int i = 0; i < 2; i++)
		CALL(free, all[i]->dw);
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		CALL(free, t->ac[i].dw);
		CALL(free, t->aa[i].dw);
		CALL(free, t->dbias[i]);
	}
	for (int k = 0; k < 3; k++)
		CALL(free, t->sk[k].dw);
	free(t->ramp);
	CALL(free, t->fcdw);
	free(t);
}

/* ---- forward pieces */

/* The spontaneous state (batch 1, no gradient) into t->base. */
static int spontaneous(cords_rnn_trainer *t)
{
	const cords_model *m = t->m;
	cords_state *s = t->base, *o = t->base_next;
	int rc = cords_state_zero(m, s);
	for (int k = 0; !rc && k < t->cfg.dyn.spont_steps; k++)
		rc = cords_model_step(m, &t->cfg.dyn, t->base_work, NULL, s, o) || cords_state_copy(m, s, o);
	return rc ? -1 : 0;
}

/* Read-out j at state s: features, logits, CE, its gradient and argmax,
 * on the backend (the host tallies them after the forward: tally). */
static int readout(cords_rnn_trainer *t, const cords_state *s, int j)
{
	const cords_model *m = t->m;
	cords_backend *be = m->be;
	const int D = m->arch.depth;
	return CALL(relu_add, s->r[D - 1], s->r[D - 2], 1, t->sum) || CALL(spatial_mean, t->sum, t->vfeat[j]) ||
			       CALL(linear, t->vfeat[j], m->fc_w, m->fc_b, t->logits) ||
			       CALL(xent, t->logits, t->yh, t->ys, (float)t->ramp[j], t->vdlog[j], t->vout[j])
		       ? -1
		       : 0;
}

/* The read-outs' losses and hits, from xent's answers, and the loss with
 * the spontaneous term (forward's st->spont). Called after the backward is
 * queued: the device need not wait for the host in between. */
static int tally(cords_rnn_trainer *t, cords_labels y, cords_rnn_stats *st)
{
	cords_backend *be = t->m->be;
	const int B = t->batch, N = t->m->arch.classes, R = t->cfg.readouts;
	int *hit = calloc((size_t)B, sizeof *hit);
	if (!hit)
		return cords_err("out of memory");
	int rc = CALL(download, t->xout, t->xout_host);
	for (int j = 0; j < R && !rc; j++) {
		int correct;
		double ce = cords_xent_tally(t->xout_host + (size_t)2 * j * B, B, N, y, &correct, hit);
		st->loss += t->ramp[j] * ce;
		if (j == R - 1)
			st->ce_last = ce, st->correct_last = correct;
	}
	for (int b = 0; b < B; b++)
		st->correct_any += hit[b];
	st->loss += t->cfg.spont_weight * st->spont;
	free(hit);
	return rc ? -1 : 0;
}

/* What the loss reads at step t (1-based over stimulus + blank). */
static int readout_index(const cords_rnn_trainer *t, int step)
{
	int S = t->cfg.dyn.stim_steps, R = t->cfg.readouts;
	return step > S - R && step <= S ? step - (S - R) - 1 : -1;
}
static int in_window(const cords_rnn_trainer *t, int step)
{
	int T = t->total;
	return t->cfg.blank_steps && step > T - t->cfg.spont_window && step <= T;
}
static double spont_scale(const cords_rnn_trainer *t)
{
	return 1.0 / ((double)t->cfg.spont_window * t->m->arch.depth);
}

static int spont_term(cords_rnn_trainer *t, const cords_state *s, double *acc)
{
	cords_backend *be = t->m->be;
	for (int j = 0; j < t->m->arch.depth; j++) {
		double sq;
		if (CALL(sqdiff_sum, s->r[j], t->base->r[j], &sq))
			return -1;
		*acc += sq / (double)cords_buf_numel(s->r[j]) * spont_scale(t);
	}
	return 0;
}

/* One forward step t (1-based) from `in` to `out`, and what the loss reads there. */
static int fwd_step(cords_rnn_trainer *t, int step, const cords_state *in, cords_state *out)
{
	const cords_drive *d = step <= t->cfg.dyn.stim_steps ? &t->drive : NULL;
	return cords_model_step(t->m, &t->cfg.dyn, t->work, d, in, out);
}

/* ---- backward pieces */

/* u_i (i >= 1) of a step recomputed from the previous state into u (and
 * relu(r_{i-2}) into t->q[i-2] for a skip). */
static int area_input(cords_rnn_trainer *t, const cords_buf *p, const cords_state *s, int i, cords_buf *u)
{
	cords_backend *be = t->m->be;
	const cords_conv c1 = {.stride = 2, .pad = 0};
	const cords_feed f = cords_arch_feed(&t->m->arch, i);
	switch (f.kind) {
	case CORDS_FEED_STEM:
		break;
	case CORDS_FEED_STEM_SKIP: /* inp_skip(p) is the drive's, computed once per batch */
		return CALL(relu_add, s->r[f.prev], p ? t->drive.skip : NULL, 0, u);
	case CORDS_FEED_SAME:
		return CALL(relu_add, s->r[f.prev], s->r[f.side], 1, u);
	case CORDS_FEED_SKIP:
		return CALL(relu_add, s->r[f.side], NULL, 0, t->q[f.side]) ||
				       CALL(conv2d, &c1, t->q[f.side], t->m->skip[f.skip], NULL, u) ||
				       CALL(relu_add, s->r[f.prev], u, 0, u)
			       ? -1
			       : 0;
	}
	return cords_err("area %d: no input to recompute", i);
}

/* du_i (in t->du[i]) into the gradients of what made u_i, in two parts.
 * The area's own (in its lane): the skip convolution's weight gradient and
 * its input gradient into t->dq[i-2]. The rest adds into other areas'
 * gradients, after the join. */
static int input_bwd_own(cords_rnn_trainer *t, int i)
{
	cords_backend *be = t->m->be;
	const cords_conv c1 = {.stride = 2, .pad = 0, .beta = 1}, c1d = {.stride = 2, .pad = 0};
	const cords_feed f = cords_arch_feed(&t->m->arch, i);
	if (f.kind != CORDS_FEED_SKIP)
		return 0;
	wconv *sk = &t->sk[f.skip];
	return CALL(conv2d_bwd_weights, &c1, t->q[f.side], t->du[i], sk->dw) ||
			       CALL(conv2d_bwd_data, &c1d, t->du[i], sk->w, t->dq[f.side])
		       ? -1
		       : 0;
}

static int input_bwd_join(cords_rnn_trainer *t, const cords_buf *p, const cords_state *s, int i)
{
	cords_backend *be = t->m->be;
	const cords_buf *du = t->du[i];
	const cords_feed f = cords_arch_feed(&t->m->arch, i);
	switch (f.kind) {
	case CORDS_FEED_STEM:
		break;
	case CORDS_FEED_STEM_SKIP: /* inp_skip(p) is the same at every step: its gradient is summed, pushed back once */
		return CALL(relu_bwd_add, s->r[f.prev], du, t->dprev[f.prev]) || (p && CALL(axpby, 1, du, 1, t->dskip))
			       ? -1
			       : 0;
	case CORDS_FEED_SAME:
		return CALL(relu_bwd_add, s->r[f.prev], du, t->dprev[f.prev]) ||
		       CALL(relu_bwd_add, s->r[f.side], du, t->dprev[f.side]) ? -1 : 0;
	case CORDS_FEED_SKIP:
		return CALL(relu_bwd_add, s->r[f.prev], du, t->dprev[f.prev]) ||
		       CALL(relu_bwd_add, s->r[f.side], t->dq[f.side], t->dprev[f.side]) ? -1 : 0;
	}
	return cords_err("area %d: no input gradient", i);
}

/* Loss gradients that attach to the state after step t. */
static int loss_bwd(cords_rnn_trainer *t, int step, const cords_state *s)
{
	cords_backend *be = t->m->be;
	const int D = t->m->arch.depth;
	int j = readout_index(t, step);
	if (j >= 0 && (CALL(linear_bwd_data, t->vdlog[j], t->m->fc_w, t->dfeat) ||
		       CALL(readout_bwd_add, s->r[D - 1], t->dfeat, t->dr[D - 1]) ||
		       CALL(readout_bwd_add, s->r[D - 2], t->dfeat, t->dr[D - 2])))
		return -1;
	if (in_window(t, step) && t->cfg.spont_weight != 0)
		for (int a = 0; a < D; a++) { /* d/dr of w mean((r - b)^2) / (W D) */
			float c = (float)(2 * t->cfg.spont_weight * spont_scale(t) / (double)cords_buf_numel(s->r[a]));
			if (CALL(axpby, c, s->r[a], 1, t->dr[a]) || CALL(axpby, -c, t->base->r[a], 1, t->dr[a]))
				return -1;
		}
	return 0;
}

/* The group's weight and bias gradients (see G): one call per convolution
 * on the ng steps stacked so far. */
static int flush_group(cords_rnn_trainer *t)
{
	const cords_model *m = t->m;
	cords_backend *be = m->be;
	const int n = t->ng, B = t->batch;
	const cords_conv rec = {.stride = 1, .pad = 1, .beta = 1};
	int rc = 0;
	t->ng = 0;
	for (int i = 0; i < m->arch.depth && n && !rc; i++) { /* views of the group's n steps, an area a lane */
		const cords_conv ff = {.stride = m->arch.stride[i], .pad = 1, .beta = 1};
		const int64_t items = (int64_t)n * B;
		cords_buf *x = be->view(be, t->gx[i], 0, items), *z = be->view(be, t->gz[i], 0, items);
		cords_buf *u = i ? be->view(be, t->gu[i], 0, items) : NULL;
		rc = !x || !z || (i && !u) || cords_be_lane(be, i + 1) || CALL(batch_sum, z, t->dbias[i], 1) ||
		     CALL(conv2d_bwd_weights, &rec, x, z, t->ac[i].dw) || (i && CALL(conv2d_bwd_weights, &ff, u, z, t->aa[i].dw));
		CALL(free, x), CALL(free, z), CALL(free, u);
	}
	return rc || cords_be_lane(be, 0) ? -1 : 0;
}

typedef struct {
	cords_rnn_trainer *t;
	const cords_buf *p;
	const cords_state *prev, *cur;
} bwd_args;

/* The device's part of going back through a step (bwd_step). Each area's
 * own work runs in a lane of its own (it writes its dz, its dprev, du, the
 * skip's dq and weight gradient); what an area's input adds into the
 * gradients of the areas below it waits for the join, and is added in the
 * same order as a one-lane run, so the answers do not depend on the lanes. */
static int bwd_areas(void *arg)
{
	const bwd_args *a = arg;
	cords_rnn_trainer *t = a->t;
	const cords_model *m = t->m;
	cords_backend *be = m->be;
	const cords_conv recd = {.stride = 1, .pad = 1, .beta = 1};
	const int g = t->ng;
	for (int i = 0; i < m->arch.depth; i++) {
		const cords_conv ffd = {.stride = m->arch.stride[i], .pad = 1};
		cords_buf *dz = t->vz[i][g];
		if (cords_be_lane(be, i + 1) ||
		    CALL(leaky_bwd, t->cfg.dyn.alpha, t->cfg.dyn.phi, a->cur->z[i], t->dr[i], dz, t->dprev[i], 0) ||
		    CALL(copy, t->vx[i][g], a->prev->r[i]) ||
		    CALL(conv2d_bwd_data, &recd, dz, m->area_conv[i], t->dprev[i]))
			return -1;
		if (i == 0) { /* u_0 = p: both convolutions are linear in dz, done once per batch on the sum */
			if (a->p && CALL(axpby, 1, dz, 1, t->dz0))
				return -1;
			continue;
		}
		if (area_input(t, a->p, a->prev, i, t->vu[i][g]) ||
		    CALL(conv2d_bwd_data, &ffd, dz, m->area_area[i], t->du[i]) || input_bwd_own(t, i))
			return -1;
	}
	if (cords_be_lane(be, 0))
		return -1;
	for (int i = 1; i < m->arch.depth; i++)
		if (input_bwd_join(t, a->p, a->prev, i))
			return -1;
	return 0;
}

/* Back through step t: dr holds dL/d(state after t); leaves dL/d(state before t) in dr. */
static int bwd_step(cords_rnn_trainer *t, int step, const cords_state *prev, const cords_state *cur)
{
	bwd_args a = {t, step <= t->cfg.dyn.stim_steps ? t->p : NULL, prev, cur};
	/* What bwd_areas' calls depend on (cords_be_replay): the states, the
	 * input, the group slot, which of each dr/dprev pair holds dr (they
	 * swap together), and the dynamics' numbers. */
	struct {
		const void *what, *t, *p, *prev, *cur, *dr;
		int g, phi;
		float alpha, slope;
	} key;
	static const char tag;
	memset(&key, 0, sizeof key);
	key.what = &tag, key.t = t, key.p = a.p, key.prev = prev, key.cur = cur, key.dr = t->dr[0];
	key.g = t->ng, key.phi = (int)t->cfg.dyn.phi.kind, key.alpha = t->cfg.dyn.alpha, key.slope = t->cfg.dyn.phi.slope;
	if (cords_be_replay(t->m->be, &key, sizeof key, bwd_areas, &a))
		return -1;
	for (int i = 0; i < t->m->arch.depth; i++) {
		cords_buf *x = t->dr[i];
		t->dr[i] = t->dprev[i];
		t->dprev[i] = x;
	}
	return ++t->ng == t->G ? flush_group(t) : 0;
}

/* Segment (a, b]: recompute its states from the checkpoint of state a
 * (unless the forward kept them: the last segment), then go back through it. */
static int segment_bwd(cords_rnn_trainer *t, int a, int b)
{
	const cords_state *start = t->ckpt[(a - t->t0) / t->k], *prev = start;
	for (int s = a + 1; s <= b && a != t->tl; s++) {
		if (fwd_step(t, s, prev, t->seg[s - a - 1]))
			return -1;
		prev = t->seg[s - a - 1];
	}
	for (int s = b; s > a; s--) {
		const cords_state *cur = t->seg[s - a - 1];
		const cords_state *before = s - 1 == a ? start : t->seg[s - a - 2];
		if (loss_bwd(t, s, cur) || bwd_step(t, s, before, cur))
			return -1;
	}
	return 0;
}

/* ---- the gradients, through weight norm, into the parameters' (params.h) */

static int param_grads(cords_rnn_trainer *t, cords_params *ps)
{
	const cords_arch *a = &t->m->arch;
	cords_backend *be = t->m->be;
	const int D = a->depth;
	int rc = cords_params_wnorm_bwd(ps, t->inp.base, t->inp.dw) ||
		 cords_params_wnorm_bwd(ps, t->skip0.base, t->skip0.dw);
	for (int i = 0; i < D && !rc; i++) {
		char name[32];
		snprintf(name, sizeof name, "conv_bias.%d", i);
		cords_buf *db = cords_params_grad(ps, name);
		rc = cords_params_wnorm_bwd(ps, t->ac[i].base, t->ac[i].dw) ||
		     cords_params_wnorm_bwd(ps, t->aa[i].base, t->aa[i].dw) ||
		     (db && CALL(copy, db, t->dbias[i]));
	}
	for (int k = 0; k < a->nskip && !rc; k++)
		rc = cords_params_wnorm_bwd(ps, t->sk[k].base, t->sk[k].dw);
	/* the read-out: dW = sum_j dlogits_j^T feat_j, db = sum_j sum_b dlogits_j (the R read-outs as rows) */
	return rc || CALL(linear_bwd_weights, t->dlog, t->featv, t->fcdw, cords_params_grad(ps, "out_fc.bias")) ||
			       cords_params_wnorm_bwd(ps, "out_fc", t->fcdw)
		       ? -1
		       : 0;
}

static int zero_grads(cords_rnn_trainer *t)
{
	cords_backend *be = t->m->be;
	int rc = CALL(fill, t->inp.dw, 0) || CALL(fill, t->skip0.dw, 0) || CALL(fill, t->dp, 0) ||
		 CALL(fill, t->dskip, 0) || CALL(fill, t->dz0, 0);
	t->ng = 0;
	for (int i = 0; i < t->m->arch.depth && !rc; i++)
		rc = CALL(fill, t->ac[i].dw, 0) || CALL(fill, t->aa[i].dw, 0) || CALL(fill, t->dbias[i], 0) ||
		     CALL(fill, t->dr[i], 0);
	for (int k = 0; k < t->m->arch.nskip && !rc; k++)
		rc = CALL(fill, t->sk[k].dw, 0);
	return rc ? -1 : 0;
}

static int forward(cords_rnn_trainer *t, cords_labels y, cords_rnn_stats *st)
{
	const cords_model *m = t->m;
	if (cords_labels_upload(m->be, y, t->hard, t->soft, &t->yh, &t->ys))
		return -1;
	double spont = 0;
	/* the states before t0 are dropped: tmp1 and seg[0] in turn (the last
	 * segment, which uses seg, starts at t0 or later) */
	cords_state *prev = t->t0 ? t->tmp1 : t->ckpt[0];
	int rc = cords_state_copy(m, prev, t->base);
	for (int s = 1; s <= t->total && !rc; s++) {
		cords_state *out = s > t->tl ? t->seg[s - t->tl - 1]
				   : s >= t->t0 && (s - t->t0) % t->k == 0 ? t->ckpt[(s - t->t0) / t->k]
				   : prev == t->tmp1 ? t->seg[0] : t->tmp1;
		int j = readout_index(t, s);
		rc = fwd_step(t, s, prev, out) || (j >= 0 && readout(t, out, j)) ||
		     (in_window(t, s) && spont_term(t, out, &spont));
		prev = out;
	}
	st->spont = spont;
	return rc;
}

int cords_rnn_grad(cords_rnn_trainer *t, cords_params *ps, int B, const float *x, cords_labels y, int grads,
		   cords_rnn_stats *st)
{
	const cords_model *m = t->m;
	cords_backend *be = m->be;
	memset(st, 0, sizeof *st);
	if (B != t->batch && (free_batch_bufs(t), alloc_batch_bufs(t, B)))
		return -1;
	st->ckpt_every = t->k;
	st->states_kept = t->nckpt + t->k;
	if (cords_labels_check(y, B, m->arch.classes) || spontaneous(t) || CALL(upload, t->x, x) ||
	    cords_model_drive(m, t->work, t->x, &t->drive) || forward(t, y, st))
		return -1;
	if (!grads)
		return tally(t, y, st);
	if (zero_grads(t))
		return -1;
	for (int b = t->total; b > t->t0;) {
		int a = t->t0 + (b - 1 - t->t0) / t->k * t->k;
		if (segment_bwd(t, a, b))
			return -1;
		b = a;
	}
	if (flush_group(t))
		return -1;
	/* the drive: skip = inp_skip(p), p = avgpool(conv_inp(x)); gradients summed over the steps */
	const cords_pool pool = {.k = 3, .stride = 2, .pad = 1};
	const cords_conv stem = {.stride = 2, .pad = 3, .beta = 1}, c3 = {.stride = 1, .pad = 1, .beta = 1},
			 ff0 = {.stride = m->arch.stride[0], .pad = 1, .beta = 1};
	if (CALL(conv2d_bwd_weights, &ff0, t->p, t->dz0, t->aa[0].dw) ||
	    CALL(conv2d_bwd_data, &ff0, t->dz0, m->area_area[0], t->dp) ||
	    CALL(conv2d_bwd_weights, &c3, t->p, t->dskip, t->skip0.dw) ||
	    CALL(conv2d_bwd_data, &c3, t->dskip, t->m->inp_skip, t->dp) || CALL(avgpool_bwd, &pool, t->dp, t->dstem) ||
	    CALL(conv2d_bwd_weights, &stem, t->x, t->dstem, t->inp.dw))
		return -1;
	return param_grads(t, ps) || tally(t, y, st) ? -1 : 0;
}
