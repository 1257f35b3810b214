/* An optimiser over a model's parameters on a backend (cords-training(7), params.h):
 * AdamW or SGD with momentum on the trained tensors only, global-norm
 * clipping over them, a linear warm-up, all through the backend's optim;
 * and the state that goes into a checkpoint (moments as `opt.m.NAME` /
 * `opt.v.NAME` tensors, the step count in metadata). */
#ifndef CORDS_OPTSET_H
#define CORDS_OPTSET_H

#include "optim.h"
#include "params.h"
#include "tensor.h"

typedef enum { CORDS_OPT_ADAMW = 0, CORDS_OPT_SGD = 1 } cords_opt_kind;

typedef struct {
	cords_opt_kind kind;
	double lr, weight_decay;
	double beta1, beta2, eps; /* AdamW */
	double momentum;          /* SGD */
	double clip;              /* max global norm; 0 = none */
	int64_t warmup;           /* batches of linear warm-up from warmup_start * lr */
	double warmup_start;
	int64_t decay;            /* then cosine decay to 0 over this many batches (0: constant lr) */
} cords_opt_cfg;

typedef struct {
	cords_opt_cfg cfg;
	cords_params *ps;      /* borrowed: its trained tensors are optimised */
	int n;
	int *idx;              /* their indices in ps */
	cords_buf **dm, **dv;  /* moments on the backend (dv unused by SGD) */
	cords_tensor **m, **v; /* their host copies, named opt.m.NAME, opt.v.NAME, for checkpoints */
	int stale;             /* the host copies are older than the backend's */
	int64_t step;          /* steps taken since the last reset */
} cords_opt;

/* Optimise the trained tensors of ps (their gradients in ps->g). */
cords_opt *cords_opt_new(const cords_opt_cfg *cfg, cords_params *ps);
void cords_opt_free(cords_opt *o);
/* A fresh optimiser (zero moments, step 0). */
int cords_opt_reset(cords_opt *o);
/* Clip, then one step, on the backend. Returns 0, or -1 if a gradient is
 * NaN/Inf (nothing changed). *norm: the global gradient norm before
 * clipping; *lr: the rate used. */
int cords_opt_step(cords_opt *o, double *norm, double *lr);
/* The moments' host copies brought up to date (before a checkpoint). */
int cords_opt_pull(cords_opt *o);
/* Checkpoint state: append the moment tensors (borrowed; pull first) to items. */
int cords_opt_items(const cords_opt *o, const cords_tensor **items, int max);
/* Restore moments from a checkpoint's tensors (missing ones: an error). */
int cords_opt_restore(cords_opt *o, const cords_tensor_list *l);

#endif
