/* BN folding on the host (fold.h). The bias pushes are small convolutions of
 * constant maps, done directly in double. */
#include "fold.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WN ".parametrizations.weight.original"

static const float *get(const cords_tensor_list *l, const char *name, int64_t numel)
{
	const cords_tensor *t = cords_list_find(l, name);
	if (!t || t->dtype != CORDS_F32 || (numel && cords_tensor_numel(t) != numel)) {
		cords_err("BN CNN lacks f32 tensor %s (is the model from cords-cnn?)", name);
		return NULL;
	}
	return t->data;
}

static cords_tensor *push(cords_tensor_list *out, const char *name, int ndim, const int64_t *shape)
{
	cords_tensor *t = cords_tensor_new(name, CORDS_F32, ndim, shape);
	if (t && cords_list_push(out, t))
		return NULL;
	return t;
}

/* y [O,Ho,Wo] += conv(x [C,H,W], W [O,C,k,k]) (resolved weights, double). */
static void conv_host(const double *x, int C, int H, int Wd, const double *w, int O, int k, int s, int pad, double *y,
		      int Ho, int Wo)
{
	for (int o = 0; o < O; o++)
		for (int oy = 0; oy < Ho; oy++)
			for (int ox = 0; ox < Wo; ox++) {
				double acc = 0;
				for (int c = 0; c < C; c++)
					for (int ky = 0; ky < k; ky++)
						for (int kx = 0; kx < k; kx++) {
							int iy = oy * s - pad + ky, ix = ox * s - pad + kx;
							if (iy >= 0 && iy < H && ix >= 0 && ix < Wd)
								acc += w[((o * C + c) * k + ky) * k + kx] * x[(c * H + iy) * Wd + ix];
						}
				y[(o * Ho + oy) * Wo + ox] += acc;
			}
}

/* A conv copied or folded with its BN: writes g', v' to out, W' (double) to
 * *wres (caller frees), the per-channel bias to bias (if bn). */
static int fold_conv(const cords_tensor_list *cnn, cords_tensor_list *out, const char *base, const char *bn,
		     double **wres, double *bias)
{
	char gn[80], vn[80], bn_name[80];
	snprintf(gn, sizeof gn, "%s" WN "0", base);
	snprintf(vn, sizeof vn, "%s" WN "1", base);
	const cords_tensor *gt = cords_list_find(cnn, gn), *vt = cords_list_find(cnn, vn);
	if (!gt || !vt || gt->dtype != CORDS_F32 || vt->dtype != CORDS_F32)
		return cords_err("BN CNN lacks %s", base);
	int64_t O = vt->shape[0], K = cords_tensor_numel(vt) / O;
	const float *g = gt->data, *v = vt->data, *gam = NULL, *bet = NULL, *mu = NULL, *var = NULL;
	if (bn) {
		const char *f[4] = {"weight", "bias", "running_mean", "running_var"};
		const float **dst[4] = {&gam, &bet, &mu, &var};
		for (int i = 0; i < 4; i++) {
			snprintf(bn_name, sizeof bn_name, "%s.%s", bn, f[i]);
			if (!(*dst[i] = get(cnn, bn_name, O)))
				return -1;
		}
	}
	cords_tensor *g2 = push(out, gn, gt->ndim, gt->shape), *v2 = push(out, vn, vt->ndim, vt->shape);
	double *w = malloc((size_t)(O * K) * sizeof *w);
	if (!g2 || !v2 || !w) {
		free(w);
		return cords_err("out of memory");
	}
	for (int64_t o = 0; o < O; o++) {
		double n = 0;
		for (int64_t k = 0; k < K; k++)
			n += (double)v[o * K + k] * v[o * K + k];
		n = sqrt(n);
		double sc = bn ? gam[o] / sqrt((double)var[o] + 1e-5) : 1;
		double gg = g[o] * sc;
		((float *)g2->data)[o] = (float)gg;
		for (int64_t k = 0; k < K; k++) {
			((float *)v2->data)[o * K + k] = bn ? (float)(v[o * K + k] / n) : v[o * K + k];
			w[o * K + k] = gg * v[o * K + k] / n;
		}
		if (bn)
			bias[o] = bet[o] - mu[o] * sc;
	}
	*wres = w;
	return 0;
}

static cords_tensor *unit_bias(cords_tensor_list *out, const char *fmt, int i, const cords_arch *a, const double *b)
{
	char name[40];
	snprintf(name, sizeof name, fmt, i);
	int64_t s[3] = {a->c[i], a->h[i], a->w[i]};
	cords_tensor *t = push(out, name, 3, s);
	for (int c = 0; t && c < a->c[i]; c++)
		for (int j = 0; j < a->h[i] * a->w[i]; j++)
			((float *)t->data)[c * a->h[i] * a->w[i] + j] = (float)b[c];
	return t;
}

/* area_bias.i += area_area_i(map [C,H,W]) */
static void push_through(cords_tensor *ab, const double *map, int C, int H, int W, const double *w, const cords_arch *a,
			 int i)
{
	int n = a->c[i] * a->h[i] * a->w[i];
	double *y = calloc((size_t)n, sizeof *y);
	if (!y)
		return;
	conv_host(map, C, H, W, w, a->c[i], 3, a->stride[i], 1, y, a->h[i], a->w[i]);
	for (int j = 0; j < n; j++)
		((float *)ab->data)[j] += (float)y[j];
	free(y);
}

/* The stem bias broadcast over the stem map and average-pooled (3x3/2,
 * padding counted): [64, h0, w0]. */
static double *pooled_stem_bias(const cords_arch *a, const double *b)
{
	int H = a->stem_h, W = a->stem_w, h = a->h[0], w = a->w[0];
	double *p = calloc((size_t)64 * h * w, sizeof *p);
	for (int c = 0; p && c < 64; c++)
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				int in = 0;
				for (int dy = 0; dy < 3; dy++)
					for (int dx = 0; dx < 3; dx++) {
						int iy = 2 * y - 1 + dy, ix = 2 * x - 1 + dx;
						in += iy >= 0 && iy < H && ix >= 0 && ix < W;
					}
				p[(c * h + y) * w + x] = b[c] * in / 9.0;
			}
	return p;
}

int cords_fold(const cords_arch *a, const cords_tensor_list *cnn, cords_tensor_list *out)
{
	const int D = a->depth;
	char base[40], bn[40];
	double bias[512], *w_inp = NULL, *w_skip0 = NULL, *w_aa[CORDS_MAX_DEPTH] = {0}, *w = NULL, sb[3][512];
	double stem_b[64];
	cords_tensor *ab[CORDS_MAX_DEPTH] = {0};
	int rc = fold_conv(cnn, out, "inp_conv", "bn_inp", &w_inp, stem_b) ||
		 fold_conv(cnn, out, "inp_skip", NULL, &w_skip0, NULL);
	for (int i = 0; i < D && !rc; i++) {
		snprintf(base, sizeof base, "area_conv.%d", i);
		snprintf(bn, sizeof bn, "bn_area_conv.%d", i);
		rc = fold_conv(cnn, out, base, bn, &w, bias) || !unit_bias(out, "conv_bias.%d", i, a, bias);
		free(w);
		w = NULL;
		snprintf(base, sizeof base, "area_area.%d", i);
		snprintf(bn, sizeof bn, "bn_area_area.%d", i);
		rc = rc || fold_conv(cnn, out, base, bn, &w_aa[i], bias) || !(ab[i] = unit_bias(out, "area_bias.%d", i, a, bias));
	}
	for (int k = 0; k < a->nskip && !rc; k++) {
		snprintf(base, sizeof base, "skip_area.%d", k);
		snprintf(bn, sizeof bn, "bn_skip_area.%d", k);
		rc = fold_conv(cnn, out, base, bn, &w, sb[k]);
		free(w);
		w = NULL;
	}
	if (!rc) { /* out_fc as it is */
		const char *names[3] = {"out_fc" WN "0", "out_fc" WN "1", "out_fc.bias"};
		for (int j = 0; j < 3 && !rc; j++) {
			const cords_tensor *t = cords_list_find(cnn, names[j]);
			cords_tensor *c = t ? push(out, names[j], t->ndim, t->shape) : NULL;
			rc = c ? (memcpy(c->data, t->data, t->nbytes), 0) : cords_err("BN CNN lacks %s", names[j]);
		}
	}
	for (int k = 0; k < a->nskip && !rc; k++) { /* skip BN bias through area_area of area 2k+3 */
		int i = cords_skip_area(a, k), C = a->skip_out[k], H = a->h[i - 1], W = a->w[i - 1];
		double *map = malloc((size_t)C * H * W * sizeof *map);
		for (int c = 0; map && c < C; c++)
			for (int j = 0; j < H * W; j++)
				map[c * H * W + j] = sb[k][c];
		if (map)
			push_through(ab[i], map, C, H, W, w_aa[i], a, i);
		free(map);
	}
	double *pb = rc ? NULL : pooled_stem_bias(a, stem_b);
	if (pb) { /* stem bias: through area_area_0, and through inp_skip then area_area_1 */
		int h = a->h[0], wd = a->w[0];
		push_through(ab[0], pb, 64, h, wd, w_aa[0], a, 0);
		double *sk = calloc((size_t)64 * h * wd, sizeof *sk);
		if (sk) {
			conv_host(pb, 64, h, wd, w_skip0, 64, 3, 1, 1, sk, h, wd);
			push_through(ab[1], sk, 64, h, wd, w_aa[1], a, 1);
		}
		free(sk);
	}
	free(pb);
	free(w_inp);
	free(w_skip0);
	for (int i = 0; i < D; i++)
		free(w_aa[i]);
	return rc ? -1 : 0;
}
