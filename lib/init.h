/* Default initialisation of a CordsNet (SPEC §2), reproducible from a seed:
 * v uniform in +-1/sqrt(fan_in) (PyTorch's default conv/linear init), g = ||v||
 * (so W = v), conv_bias 0, out_fc.bias uniform in +-1/sqrt(fan_in). Parameter i
 * draws from its own stream (seed, i), so one parameter's values do not
 * depend on the others' sizes. */
#ifndef CORDS_INIT_H
#define CORDS_INIT_H

#include "arch.h"
#include "tensor.h"

#include <stdint.h>

int cords_init_params(const cords_arch *a, uint64_t seed, cords_tensor_list *out);

#endif
