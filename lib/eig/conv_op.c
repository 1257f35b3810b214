/* area_conv as a double-precision operator. The 3x3 convolution is nine
 * GEMMs over channels, Y[c, h*(w+2)] += W_t[c, c] X_t, where X_t is the
 * zero-padded map (c planes of (h+2)(w+2)+2) shifted by the tap offset
 * ky*(w+2)+kx: computing on rows of width w+2 makes every shifted view a
 * plain strided matrix, no im2col copy; the two extra columns per row are
 * garbage and dropped (the +2 tail keeps the last shifted view in bounds). */
#include "conv_op.h"
#include "err.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* c zero-padded planes of (h+2)(w+2)+2, then the product: c rows of h (w+2) */
static size_t scratch_len(const cords_conv_op *op)
{
	size_t W2 = (size_t)op->w + 2;
	return (size_t)op->c * ((op->h + 2) * W2 + 2) + (size_t)op->c * op->h * W2;
}

int cords_conv_op_init(cords_conv_op *op, const cords_tensor *g, const cords_tensor *v, int h, int w)
{
	memset(op, 0, sizeof *op);
	op->b = 1;
	if (v->ndim != 4 || v->shape[1] != v->shape[0] || v->shape[2] != 3 || v->shape[3] != 3)
		return cords_err("%s: shape must be [c,c,3,3]", v->name);
	int c = (int)v->shape[0];
	if (cords_tensor_numel(g) != c)
		return cords_err("%s: %lld values for %d channels", g->name, (long long)cords_tensor_numel(g), c);
	if (h < 1 || w < 1 || (int64_t)c * h * w > (1 << 30))
		return cords_err("conv operator: map %d x %d x %d out of range", c, h, w);
	op->wt = malloc((size_t)9 * c * c * sizeof *op->wt);
	if (!op->wt)
		return cords_err("out of memory");
	for (int co = 0; co < c; co++) {
		double ss = 0;
		for (int i = 0; i < c * 9; i++) {
			double x = cords_get_f64(v, (int64_t)co * c * 9 + i);
			ss += x * x;
		}
		if (!(ss > 0) || !isfinite(ss)) {
			cords_conv_op_free(op);
			return cords_err("%s: output channel %d has a zero or non-finite norm", v->name, co);
		}
		double s = cords_get_f64(g, co) / sqrt(ss);
		for (int ci = 0; ci < c; ci++)
			for (int t = 0; t < 9; t++)
				op->wt[((size_t)t * c + co) * c + ci] = s * cords_get_f64(v, ((int64_t)co * c + ci) * 9 + t);
	}
	op->c = c;
	op->h = h;
	op->w = w;
	if (!(op->scratch = calloc(scratch_len(op), sizeof *op->scratch))) {
		cords_conv_op_free(op);
		return cords_err("out of memory");
	}
	return 0;
}

void cords_conv_op_free(cords_conv_op *op)
{
	free(op->wt);
	free(op->d);
	free(op->scratch);
	memset(op, 0, sizeof *op);
}

int cords_conv_op_apply(void *ctx, const double *x, double *y)
{
	cords_conv_op *op = ctx;
	int c = op->c, h = op->h, w = op->w, W2 = w + 2;
	size_t plane = (size_t)(h + 2) * W2 + 2, N = (size_t)h * W2;
	/* the interiors are rewritten each call, the borders stay zero */
	int own = !__atomic_test_and_set(&op->busy, __ATOMIC_ACQUIRE);
	double *xp = own ? op->scratch : calloc(scratch_len(op), sizeof *xp), *yp = xp + (size_t)c * plane;
	if (!xp)
		return cords_err("conv operator: out of memory");
	for (int ch = 0; ch < c; ch++)
		for (int r = 0; r < h; r++)
			memcpy(xp + ch * plane + (size_t)(r + 1) * W2 + 1, x + ((size_t)ch * h + r) * w,
			       (size_t)w * sizeof *x);
	for (int t = 0; t < 9; t++)
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, (int)N, c, 1.0, op->wt + (size_t)t * c * c,
			    c, xp + (t / 3) * W2 + t % 3, (int)plane, t ? 1.0 : 0.0, yp, (int)N);
	size_t hw = (size_t)h * w;
	for (int ch = 0; ch < c; ch++)
		for (int r = 0; r < h; r++)
			for (int q = 0; q < w; q++) {
				size_t o = ch * hw + (size_t)r * w + q;
				double cv = yp[ch * N + (size_t)r * W2 + q];
				y[o] = op->a * x[o] + op->b * (op->d ? op->d[o] * cv : cv);
			}
	if (own)
		__atomic_clear(&op->busy, __ATOMIC_RELEASE);
	else
		free(xp);
	return 0;
}
