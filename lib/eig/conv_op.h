/* The recurrent convolution of one area as a linear operator on its
 * c x h x w map, in double (for the eigen solvers, lib/eig/eig.h):
 *   y = a x + b * d .* conv(x)
 * conv = 3x3, stride 1, zero padding 1, weight-normalised W = g v / ||v||
 * (||v|| over all axes but the first, cords-model(7)). a = 0, b = 1, d = NULL is the
 * plain area_conv; a = 1 - alpha, b = alpha, d = phi'(z*) is the linearised
 * dynamics J of the area at a fixed point. */
#ifndef CORDS_CONV_OP_H
#define CORDS_CONV_OP_H

#include "eig.h"
#include "tensor.h"

typedef struct {
	int c, h, w;
	double *wt;   /* [9][c][c]: tap t = 3 ky + kx, W[co][ci] row-major */
	double a, b;
	double *d;    /* [c*h*w] or NULL (all ones) */
	double *scratch; /* the padded input and the product, kept between calls */
	char busy;    /* scratch in use: a concurrent call allocates its own */
} cords_conv_op;

/* g [c] or [c,1,1,1], v [c,c,3,3], any float dtype. */
int cords_conv_op_init(cords_conv_op *op, const cords_tensor *g, const cords_tensor *v, int h, int w);
void cords_conv_op_free(cords_conv_op *op);
/* The cords_apply_fn: ctx is a cords_conv_op. Reentrant: a call that finds
 * the op's scratch in use allocates its own. */
int cords_conv_op_apply(void *ctx, const double *x, double *y);
static inline cords_linop cords_conv_linop(cords_conv_op *op)
{
	return (cords_linop){(int64_t)op->c * op->h * op->w, cords_conv_op_apply, op};
}

/* The same operator on CUDA device `device` (kernels/cuda_eig.cu): the
 * weights and d copied there once, the nine products by cuBLAS dgemm; each
 * apply sends x and brings y back (serialised: reentrant, not concurrent).
 * NULL with a message on error (no device, built without CUDA). */
void *cords_conv_op_cuda_new(const cords_conv_op *op, int device);
void cords_conv_op_cuda_free(void *ctx);
int cords_conv_op_cuda_apply(void *ctx, const double *x, double *y);

#endif
