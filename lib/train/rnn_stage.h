/* The RNN stages (cords-training(7): linear, anneal, finetune) as a cords_stage for
 * the shared training loop: BPTT gradients of every RNN parameter, the
 * PReLU slope schedule of annealing (slope = max(0, start - step * epoch),
 * a fresh optimiser each epoch), evaluation at the last read-out. */
#ifndef CORDS_RNN_STAGE_H
#define CORDS_RNN_STAGE_H

#include "cnn_train.h"
#include "rnn_train.h"
#include "trainloop.h"

typedef struct {
	cords_rnn_loss loss;
	int anneal;               /* PReLU slope per epoch */
	double slope_start, slope_step;
	int fresh_per_epoch;      /* a fresh optimiser at every epoch start */
	/* Distillation (optional): a BN CNN of the same architecture (eval mode)
	 * gives each training image the label mix * softmax(logits / temp) +
	 * (1 - mix) * its own label; accuracy still counts its own class. */
	cords_cnn *teacher;
	cords_params *teacher_params;
	double teacher_mix, teacher_temp;
} cords_rnn_stage_cfg;

/* The stage trains the trained tensors of ps (f32, cords-model(7) names, on m's
 * backend), model m's parameters. Freed with cords_rnn_stage_free. */
cords_stage *cords_rnn_stage_new(const char *name, cords_model *m, cords_params *ps, const cords_rnn_stage_cfg *cfg,
				 int batch);
void cords_rnn_stage_free(cords_stage *s);
/* The slope of epoch e under cfg. */
double cords_anneal_slope(const cords_rnn_stage_cfg *cfg, int epoch);

#endif
