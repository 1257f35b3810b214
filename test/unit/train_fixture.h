/* The RNN training fixtures of testdata/train/gen.py, for the tests that
 * run their steps (train_rnn.c, lanes.c, backend_cuda.c): reading one, its
 * loss settings and labels, and zero gradients shaped like the parameters. */
#ifndef CORDS_TEST_TRAIN_FIXTURE_H
#define CORDS_TEST_TRAIN_FIXTURE_H

#include "err.h"
#include "model.h"
#include "rnn_train.h"
#include "stream.h"
#include "tensor.h"

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

/* A zero gradient for every parameter but the metadata. */
static inline cords_tensor_list fx_grads(const cords_tensor_list *params)
{
	cords_tensor_list grads = {0};
	for (int i = 0; i < params->n; i++)
		if (strcmp(params->items[i]->name, "meta"))
			cords_list_push(&grads, cords_tensor_new(params->items[i]->name, CORDS_F32, params->items[i]->ndim,
								 params->items[i]->shape));
	return grads;
}

#endif
