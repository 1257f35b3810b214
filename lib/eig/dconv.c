/* General double-precision convolution: im2col [In*k*k, Ho*Wo], then one dgemm. */
#include "dconv.h"
#include "err.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cords_dconv_init(cords_dconv *c, const cords_tensor *g, const cords_tensor *v, int stride, int pad, int H, int W)
{
	memset(c, 0, sizeof *c);
	if (v->ndim != 4 || v->shape[2] != v->shape[3])
		return cords_err("%s: shape must be [O,In,k,k]", v->name);
	int O = (int)v->shape[0], In = (int)v->shape[1], k = (int)v->shape[2];
	int64_t fan = (int64_t)In * k * k;
	if (cords_tensor_numel(g) != O)
		return cords_err("%s: %lld values for %d channels", g->name, (long long)cords_tensor_numel(g), O);
	*c = (cords_dconv){O, In, k, stride, pad, H, W, (H + 2 * pad - k) / stride + 1, (W + 2 * pad - k) / stride + 1, NULL};
	if (c->Ho < 1 || c->Wo < 1)
		return cords_err("%s: a %dx%d map is too small", v->name, H, W);
	if (!(c->w = malloc((size_t)(O * fan) * sizeof *c->w)))
		return cords_err("out of memory");
	for (int o = 0; o < O; o++) {
		double ss = 0;
		for (int64_t i = 0; i < fan; i++)
			ss += cords_get_f64(v, o * fan + i) * cords_get_f64(v, o * fan + i);
		if (!(ss > 0) || !isfinite(ss)) {
			cords_dconv_free(c);
			return cords_err("%s: output channel %d has a zero or non-finite norm", v->name, o);
		}
		double s = cords_get_f64(g, o) / sqrt(ss);
		for (int64_t i = 0; i < fan; i++)
			c->w[o * fan + i] = s * cords_get_f64(v, o * fan + i);
	}
	return 0;
}

void cords_dconv_free(cords_dconv *c)
{
	free(c->w);
	memset(c, 0, sizeof *c);
}

int cords_dconv_apply(const cords_dconv *c, const double *x, double beta, double *y)
{
	int kk = c->k * c->k, N = c->Ho * c->Wo;
	double *col = malloc((size_t)c->In * kk * N * sizeof *col);
	if (!col)
		return cords_err("out of memory");
	for (int i = 0; i < c->In; i++)
		for (int t = 0; t < kk; t++) {
			double *row = col + ((size_t)i * kk + t) * N;
			int ky = t / c->k, kx = t % c->k;
			for (int oy = 0; oy < c->Ho; oy++)
				for (int ox = 0; ox < c->Wo; ox++) {
					int yy = oy * c->stride + ky - c->pad, xx = ox * c->stride + kx - c->pad;
					row[oy * c->Wo + ox] = yy >= 0 && yy < c->H && xx >= 0 && xx < c->W
								       ? x[((size_t)i * c->H + yy) * c->W + xx]
								       : 0.0;
				}
		}
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->O, N, c->In * kk, 1.0, c->w, c->In * kk, col, N,
		    beta, y, N);
	free(col);
	return 0;
}
