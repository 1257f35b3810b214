/* The training stages on the CNN side as cords_stage for the shared loop:
 * the BN CNN (cords-training(7), stage 1: SGD with momentum, rounds of epochs at
 * decreasing learning rates, each with a fresh optimiser and warm-up) and
 * inverse initialisation (stage 3: only area_conv and conv_bias). */
#ifndef CORDS_CNN_STAGE_H
#define CORDS_CNN_STAGE_H

#include "cnn_train.h"
#include "inverse.h"
#include "rnn_train.h"
#include "trainloop.h"

/* rounds: learning rates of the rounds; epochs_per_round epochs each. */
/* ps: the BN CNN's parameters on their backend, its trained ones trained. */
cords_stage *cords_cnn_stage_new(const cords_arch *a, cords_params *ps, const double *rounds, int nrounds,
				 int epochs_per_round);
/* Inverse: folded CNN -> the RNN params. eval (may be NULL): a linear-RNN
 * protocol to measure accuracy with after each epoch. */
cords_stage *cords_inverse_stage_new(const cords_arch *a, const cords_tensor_list *folded, cords_params *rnn,
				     int iterations, double eig_weight, const cords_rnn_loss *eval);
void cords_cnn_stage_free(cords_stage *s);
/* Only area_conv.* and conv_bias.* (the trained tensors of inverse). */
int cords_inverse_trained(const char *name);

#endif
