/* The compatible CNN of cords-training(7), stage 1 on the backend: the RNN's
 * convolutions as a feed-forward net with BatchNorm after every conv
 * (train and eval mode, gradients of every parameter), and the same net
 * folded (BatchNorm replaced by per-unit biases: `area_bias.i` after
 * area_area_i, `conv_bias.i` after area_conv_i), forward only.
 *
 * Tensor names of the BN CNN (besides the cords-model(7) names of the convolutions
 * and out_fc; no conv_bias): for each BatchNorm NAME in bn_inp,
 * bn_area_area.{i}, bn_area_conv.{i}, bn_skip_area.{k}:
 * NAME.weight, NAME.bias, NAME.running_mean, NAME.running_var, all [c]. */
#ifndef CORDS_CNN_TRAIN_H
#define CORDS_CNN_TRAIN_H

#include "arch.h"
#include "backend.h"
#include "loss.h"
#include "params.h"

typedef struct cords_cnn cords_cnn;

/* folded: the folded net (area_bias/conv_bias) instead of the BN one. */
cords_cnn *cords_cnn_new(const cords_arch *a, cords_backend *be, int folded, int batch);
void cords_cnn_free(cords_cnn *c);
/* Resolve the parameters (on c's backend, the names above) into the net. */
int cords_cnn_set_params(cords_cnn *c, cords_params *ps);
/* Forward (train: batch statistics, running ones updated in ps) and, with
 * grads, the backward of the batch-mean cross-entropy into the gradients of
 * ps's trained tensors (overwritten). logits [B,N] host (may be NULL).
 * Returns the loss, 0 without labels (y all NULL), NaN on error with a
 * message. */
double cords_cnn_step(cords_cnn *c, cords_params *ps, int train, int B, const float *x, cords_labels y, int grads,
		      float *logits);

/* Forward only (eval mode / the folded net) for a batch, keeping the
 * activities: then cords_cnn_ff(i) = area_area_i(u_i) (before any bias or
 * BN) and cords_cnn_pre(i) = the pre-ReLU activity of area i. */
int cords_cnn_forward(cords_cnn *c, cords_params *ps, int B, const float *x);
const cords_buf *cords_cnn_ff(const cords_cnn *c, int i);
const cords_buf *cords_cnn_pre(const cords_cnn *c, int i);

/* What the BN CNN trains: everything but BatchNorm's running statistics
 * (buffers, not parameters: no weight decay) and an RNN's conv_bias it
 * started from (the BN CNN has none). */
int cords_cnn_trained(const char *name);
/* The BN tensors of a fresh CNN (weight 1, bias 0, mean 0, var 1) appended
 * to l for those missing; names as above. */
int cords_cnn_add_bn(const cords_arch *a, cords_tensor_list *l);
/* The name of BatchNorm j (0 .. cords_cnn_nbn - 1) and its channels. */
int cords_cnn_nbn(const cords_arch *a);
int cords_cnn_bn_name(const cords_arch *a, int j, char *name, size_t n, int *channels);

/* Default initialisation of the RNN parameters (cords-model(7): v uniform in
 * +-1/sqrt(fan_in), g = ||v||, conv_bias 0, fc bias uniform), from seed:
 * one stream, drawn parameter by parameter (cords-init(1)). */
int cords_init_params(const cords_arch *a, uint64_t seed, cords_tensor_list *l);

#endif
