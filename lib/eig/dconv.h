/* A general 2-D convolution in double, no bias: y [O,Ho,Wo] = W * x [In,H,W],
 * k x k, stride, zero padding; weight-normalised from (g, v) like every
 * CordsNet weight. For the network Jacobian (lib/eig/net_op.h), where speed
 * matters less than for the recurrent convs (lib/eig/conv_op.h). im2col + dgemm. */
#ifndef CORDS_DCONV_H
#define CORDS_DCONV_H

#include "tensor.h"

typedef struct {
	int O, In, k, stride, pad;
	int H, W, Ho, Wo;
	double *w; /* [O][In*k*k] */
} cords_dconv;

/* g [O] (any shape with O values), v [O,In,k,k]; input map H x W. */
int cords_dconv_init(cords_dconv *c, const cords_tensor *g, const cords_tensor *v, int stride, int pad, int H, int W);
void cords_dconv_free(cords_dconv *c);
/* y = beta * y + conv(x). Returns -1 if out of memory. */
int cords_dconv_apply(const cords_dconv *c, const double *x, double beta, double *y);

#endif
