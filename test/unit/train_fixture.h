/* The RNN training fixtures of testdata/train/gen.py, for the tests that
 * run their steps (train_rnn.c, lanes.c, backend_cuda.c): reading one, its
 * loss settings and labels, the gradients brought to the host, and
 * how far computed gradients are from the fixture's. */
#ifndef CORDS_TEST_TRAIN_FIXTURE_H
#define CORDS_TEST_TRAIN_FIXTURE_H

#include "err.h"
#include "meta.h"
#include "model.h"
#include "params.h"
#include "rnn_train.h"
#include "stream.h"
#include "tensor.h"
#include "t.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* testdata/train/NAME (under $TESTDATA), or the test ends with a FAIL line. */
static inline cords_tensor_list fx_load(const char *name)
{
	char path[4200];
	const char *dir = getenv("TESTDATA") ? getenv("TESTDATA") : "testdata";
	cords_tensor_list l = {0};
	snprintf(path, sizeof path, "%s/train/%s", dir, name);
	if (cords_read_file(path, &l)) {
		printf("FAIL: %s: %s\n", path, cords_errmsg());
		exit(1);
	}
	return l;
}

static inline double fx_num(const cords_tensor *meta, const char *key)
{
	char *v = cords_meta_get(meta, key);
	double d = v ? atof(v) : 0;
	free(v);
	return d;
}

/* The loss and dynamics the fixture was made with; BPTT checkpoints every
 * k steps (0: chosen by the trainer). */
static inline cords_rnn_loss fx_loss(const cords_tensor *meta, int k)
{
	cords_rnn_loss cfg = {.readouts = (int)fx_num(meta, "readouts"), .blank_steps = (int)fx_num(meta, "blank_steps"),
			      .spont_window = (int)fx_num(meta, "spont_window"),
			      .spont_weight = fx_num(meta, "spont_weight"), .ckpt_every = k,
			      .bptt_window = (int)fx_num(meta, "bptt_window")};
	cfg.dyn.alpha = (float)fx_num(meta, "alpha");
	cfg.dyn.spont_steps = (int)fx_num(meta, "spont_steps");
	cfg.dyn.stim_steps = (int)fx_num(meta, "stim_steps");
	char *phi = cords_meta_get(meta, "phi");
	cords_phi_parse(phi, (float)fx_num(meta, "prelu_slope"), &cfg.dyn.phi);
	free(phi);
	return cfg;
}

/* Hard (i64) or soft (f32) labels. */
static inline cords_labels fx_labels(const cords_tensor *y)
{
	cords_labels lab = {y->dtype == CORDS_I64 ? y->data : NULL, y->dtype == CORDS_F32 ? y->data : NULL, NULL};
	return lab;
}

/* The gradients of ps's trained tensors, brought to the host under their names. */
static inline cords_tensor_list fx_grads(const cords_params *ps)
{
	cords_tensor_list grads = {0};
	for (int i = 0; i < ps->n; i++) {
		if (!ps->g[i])
			continue;
		cords_tensor *t = cords_tensor_new(ps->t[i]->name, CORDS_F32, ps->t[i]->ndim, ps->t[i]->shape);
		if (ps->be->download(ps->be, ps->g[i], t->data))
			printf("FAIL: gradient of %s: %s\n", t->name, cords_errmsg());
		cords_list_push(&grads, t);
	}
	return grads;
}

/* grads against the fixture's: |got - want| <= tol max |want| per tensor
 * (on the fixture's sample, (k n) / S, where it keeps one), and a sampled
 * tensor's full norm (gnorm.NAME) within tol of its own; the worst into *w.
 * A gradient the fixture lacks fails. */
static inline double fx_grad_cmp(const cords_tensor_list *grads, const cords_tensor_list *fx, double tol, t_worst *w)
{
	for (int t = 0; t < grads->n; t++) {
		const cords_tensor *got = grads->items[t];
		char key[300];
		snprintf(key, sizeof key, "grad.%s", got->name);
		const cords_tensor *want = cords_list_find(fx, key);
		if (!want) {
			snprintf(key, sizeof key, "%s: no gradient in the fixture", got->name);
			t_fail(w, key);
			continue;
		}
		const float *g = got->data;
		int64_t n = cords_tensor_numel(got), m = cords_tensor_numel(want);
		if (m == n) {
			t_cmp(w, got->name, g, (const float *)want->data, n, .of_max = tol);
			continue;
		}
		float *sample = malloc((size_t)m * sizeof *sample);
		for (int64_t k = 0; k < m; k++)
			sample[k] = g[k * n / m];
		snprintf(key, sizeof key, "%s (sampled)", got->name);
		t_cmp(w, key, sample, (const float *)want->data, m, .of_max = tol);
		free(sample);
		snprintf(key, sizeof key, "gnorm.%s", got->name);
		const cords_tensor *nt = cords_list_find(fx, key);
		double sq = 0;
		for (int64_t i = 0; i < n; i++)
			sq += (double)g[i] * g[i];
		sq = sqrt(sq);
		if (nt)
			t_cmp(w, key, &sq, (const double *)nt->data, 1, .rel = tol);
		else
			t_fail(w, key);
	}
	return w->err;
}

#endif
