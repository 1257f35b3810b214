/* An optimiser over a set of named host parameters (SPEC §3): AdamW or SGD
 * with momentum on the trained tensors only, global-norm clipping over them,
 * a linear warm-up, and the state that goes into a checkpoint (moments as
 * `opt.m.NAME` / `opt.v.NAME` tensors, the step count in metadata). */
#ifndef CORDS_OPTSET_H
#define CORDS_OPTSET_H

#include "optim.h"
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
	int n;
	cords_tensor **p, **g; /* borrowed from the lists given */
	cords_tensor **m, **v; /* owned: named opt.m.NAME, opt.v.NAME (v unused by SGD) */
	int64_t step;          /* steps taken since the last reset */
} cords_opt;

/* Optimise the tensors of params whose name passes trained(name) (NULL:
 * all but `meta`); grads holds tensors of the same names. */
cords_opt *cords_opt_new(const cords_opt_cfg *cfg, cords_tensor_list *params, cords_tensor_list *grads,
			 int (*trained)(const char *name));
void cords_opt_free(cords_opt *o);
/* A fresh optimiser (zero moments, step 0). */
void cords_opt_reset(cords_opt *o);
/* Clip, then one step. Returns 0, or -1 if a gradient is NaN/Inf (nothing
 * changed). *norm: the global gradient norm before clipping; *lr: the rate used. */
int cords_opt_step(cords_opt *o, double *norm, double *lr);
/* Checkpoint state: append the moment tensors (borrowed) to items. */
int cords_opt_items(const cords_opt *o, const cords_tensor **items, int max);
/* Restore moments from a checkpoint's tensors (missing ones: an error). */
int cords_opt_restore(cords_opt *o, const cords_tensor_list *l);

#endif
