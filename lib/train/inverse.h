/* Inverse initialisation (cords-training(7), stage 3): fit the RNN's recurrent convs
 * so that three fixed-point iterations s <- area_conv_i(s) + conv_bias_i + f_i
 * (from s = conv_bias_i + f_i) reproduce the folded CNN's pre-ReLU activity
 * t_i = cnn_area_conv_i(f_i + area_bias_i) + cnn_conv_bias_i, where
 * f_i = area_area_i(u_i) with u_i made from the CNN's own activities; plus
 * the stability term e_i = mean((area_conv_i^3 (conv_bias_i + f_i))^2):
 *   loss = mean_i mse(t_i, s_i) + eig_weight * mean_i e_i.
 * Only area_conv.i (g, v) and conv_bias.i are trained. */
#ifndef CORDS_INVERSE_H
#define CORDS_INVERSE_H

#include "arch.h"
#include "backend.h"
#include "params.h"
#include "tensor.h"

typedef struct cords_inverse cords_inverse;

/* folded: the folded CNN (cords_fold's tensors). */
cords_inverse *cords_inverse_new(const cords_arch *a, cords_backend *be, const cords_tensor_list *folded, int batch,
				 int iterations, double eig_weight);
void cords_inverse_free(cords_inverse *v);
/* Loss (NaN with a message on error) for a batch x (host, normalised) and,
 * with grads, the gradients of rnn's area_conv.i g/v and conv_bias.i (those
 * it trains; params.h). */
double cords_inverse_step(cords_inverse *v, cords_params *rnn, int B, const float *x, int grads, double *fit,
			  double *eig);

#endif
