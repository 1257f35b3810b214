/* The training loop every stage shares: epochs of batches from a stream,
 * gradient -> clip -> optimiser step, metrics per step through a callback,
 * evaluation after each epoch, checkpoints every N steps and when asked to
 * stop (the tools ask on SIGINT/SIGTERM), resumption from a checkpoint (the same result, bit for bit, as an
 * uninterrupted run with the same inputs and thread count), and a stop with
 * an error when the loss or a gradient becomes NaN/Inf, before it touches the
 * parameters (so the last checkpoint stays good).
 *
 * A stage plugs in through cords_stage: its gradient, its evaluation, what
 * to redo after the parameters change, and what to do at an epoch start.
 * Epochs: a file is read again from the start for every epoch; a stream on
 * stdin is read on (it carries every epoch), `epoch_batches` per epoch. */
#ifndef CORDS_TRAINLOOP_H
#define CORDS_TRAINLOOP_H

#include "backend.h"
#include "batch.h"
#include "optset.h"
#include "tensor.h"

#include <signal.h>

#define CORDS_MAX_EXTRA 4

typedef struct {
	double loss, acc;                /* batch loss, accuracy (fraction) */
	double extra[CORDS_MAX_EXTRA];   /* stage metrics, named by the stage */
} cords_step_stats;

typedef struct {
	void *ctx;
	const char *name;                            /* "linear", ... */
	cords_backend *be;                           /* where grad runs: its allreduce sums across ranks */
	const char *extra_names[CORDS_MAX_EXTRA];    /* NULL-terminated */
	int (*grad)(void *ctx, const cords_batch *b, cords_step_stats *st);
	int (*eval)(void *ctx, const cords_batch *b, int *correct); /* NULL: no evaluation */
	int (*update)(void *ctx);                    /* parameters changed */
	/* At an epoch's start; resumed: continuing inside it (keep the optimiser). */
	int (*epoch_begin)(void *ctx, int epoch, int resumed, cords_opt *opt, char *note, size_t note_size);
} cords_stage;

typedef struct {
	int epochs;
	int64_t epoch_batches; /* 0: the whole file (stdin: the whole stream is one epoch) */
	int64_t max_steps;     /* stop after this many steps in all (0: no limit) */
	const char *checkpoint;
	int64_t every;         /* checkpoint every N steps (0: only at the end/on signals) */
	const char *resume;
	const char *eval_path;
	int64_t eval_batches;  /* 0: all */
	int eval_every;        /* evaluate after every eval_every-th epoch and the last; 0: each */
	/* Polled after every step (NULL: never): once not 0, the loop saves a
	 * checkpoint and returns its value (the tools' signal handler sets it
	 * to the signal number). */
	const volatile sig_atomic_t *stop;
} cords_loop_cfg;

typedef struct {
	const char *stage;
	int epoch, is_eval;
	int64_t step, images;
	double lr, gnorm, img_s, eval_acc;
	cords_step_stats st;
	const char *note; /* epoch_begin's note (e.g. the slope), or "" */
} cords_loop_event;

typedef int (*cords_loop_cb)(void *ctx, const cords_loop_event *e);

/* params: meta record first, then the tensors: the host list of opt->ps,
 * whose trained tensors opt steps on the backend; it is brought up to date
 * for each checkpoint and when the loop returns. Returns 0 when done, -1 on
 * error, or *cfg->stop after saving a checkpoint when it was set. */
int cords_train_loop(const cords_stage *s, cords_tensor_list *params, cords_opt *opt, cords_batches *data,
		     const cords_loop_cfg *cfg, cords_loop_cb cb, void *cbctx);

/* Write params (+ optimiser and loop state) as a checkpoint. */
int cords_checkpoint_save(const char *path, const cords_tensor_list *params, const cords_opt *opt, int epoch,
			  int64_t batch, int64_t step);

#endif
