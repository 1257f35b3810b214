/* Weight normalisation W = g v / ||v|| (cords-model(7)) and its backward, plain CPU
 * float kernels: v [O,K] (K = everything but the first axis), g [O]. */
#ifndef CORDS_WNORM_H
#define CORDS_WNORM_H

#include <stdint.h>

void cords_wnorm_forward_cpu(const float *g, const float *v, int O, int64_t K, float *W);
/* From dW [O,K]: dg [O] = dW.v/||v||, dv = g/||v|| (dW - dg v/||v||)
 * (both overwritten). */
void cords_wnorm_backward_cpu(const float *g, const float *v, const float *dW, int O, int64_t K, float *dg,
			      float *dv);

#endif
