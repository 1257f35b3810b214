/* Folding the BN CNN into plain convolutions with per-unit biases (cords-training(7),
 * stage 2): g' = g gamma / sqrt(var + eps), v' = v / ||v||, per-channel bias
 * beta - mean gamma / sqrt(var + eps) broadcast to per-unit biases
 * area_bias.i (after area_area_i) and conv_bias.i (after area_conv_i); the
 * stem BN's bias is broadcast over the stem map, average-pooled (so border
 * units differ) and pushed through area_area_0 into area_bias.0 and through
 * inp_skip then area_area_1 into area_bias.1; each skip BN's bias is pushed
 * through area_area of its odd area. The folded CNN gives the BN CNN's
 * eval-mode logits. */
#ifndef CORDS_FOLD_H
#define CORDS_FOLD_H

#include "arch.h"
#include "tensor.h"

/* out receives new f32 tensors (no meta): the cords-model(7)-named convolutions and
 * out_fc, area_bias.i and conv_bias.i [c_i,h_i,w_i]. */
int cords_fold(const cords_arch *a, const cords_tensor_list *cnn, cords_tensor_list *out);

#endif
