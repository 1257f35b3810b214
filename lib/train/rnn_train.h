/* Training the RNN (cords-training(7), stages 4-6): the time-weighted loss over the
 * protocol and its gradient by backpropagation through time, written once
 * against the backend interface.
 *
 * Protocol of one batch: `spont_steps` blank steps from zero, batch 1,
 * without gradient (the base state b, the same for every image); then
 * `stim_steps` steps with the image, the last `readouts` of them read out
 * (loss = sum_t w_t CE_t, w = 10^linspace(-3,0,R) / R); then `blank_steps`
 * blank steps with gradient whose last `spont_window` give
 * spont = sum_{t, areas j} mean((r_j - b_j)^2) / (window D), added with
 * `spont_weight`. BPTT keeps the states of every `ckpt_every`-th step and
 * recomputes the others segment by segment, so memory holds
 * (steps/k + k) states instead of all of them. With `bptt_window` W, the
 * backward goes through the last W steps only (truncated BPTT): the states
 * before them are constants, and are not kept (steps = W above). */
#ifndef CORDS_RNN_TRAIN_H
#define CORDS_RNN_TRAIN_H

#include "loss.h"
#include "model.h"

typedef struct {
	cords_dynamics dyn; /* alpha, phi, spont_steps, stim_steps */
	int readouts;       /* R, 1..stim_steps */
	int blank_steps;
	int spont_window;   /* 1..blank_steps (ignored without blank steps) */
	double spont_weight;
	int ckpt_every;     /* k; 0 = automatic */
	int bptt_window;    /* back through the last this many steps only; 0 = all */
} cords_rnn_loss;

typedef struct {
	double loss, ce_last, spont; /* total loss, CE of the last read-out, spont (unweighted) */
	int correct_last, correct_any; /* right at the last read-out / at any read-out */
	int ckpt_every;                /* the k used */
	int states_kept;               /* states held for the backward: checkpoints and one segment */
} cords_rnn_stats;

typedef struct cords_rnn_trainer cords_rnn_trainer;

/* For batches of up to `batch` images of model m (its weights on m->be). */
cords_rnn_trainer *cords_rnn_trainer_new(cords_model *m, int batch, const cords_rnn_loss *cfg);
void cords_rnn_trainer_free(cords_rnn_trainer *t);
/* Change phi (the annealing schedule sets the PReLU slope per epoch). */
void cords_rnn_trainer_set_phi(cords_rnn_trainer *t, cords_phi phi);
/* Loss and gradients for one batch x [B,Cin,H,W] (host, normalised) with
 * labels y. ps: the parameters m's weights were resolved from (cords-model(7) names,
 * f32, on m's backend); grads: overwrite the gradients of its trained
 * tensors (0: forward only, for evaluation). */
int cords_rnn_grad(cords_rnn_trainer *t, cords_params *ps, int B, const float *x, cords_labels y, int grads,
		   cords_rnn_stats *st);

#endif
