/* PIL-exact resizing, cropping, flipping (image.h). The coefficients follow
 * Pillow's Resample.c (precompute_coeffs, normalize_coeffs_8bpc): for output
 * pixel x, centre = (x + 0.5) * scale, support = max(scale, 1), taps from
 * (int)(centre - support + 0.5) to (int)(centre + support + 0.5), weights
 * triangle((tap - centre + 0.5) / max(scale, 1)) normalised to sum 1, then
 * rounded to 22-bit fixed point. */
#include "image.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PREC 22

int cords_image_alloc(cords_image *im, int c, int h, int w)
{
	im->c = c, im->h = h, im->w = w;
	if (c < 1 || h < 1 || w < 1 || (size_t)c * (size_t)h > SIZE_MAX / (size_t)w)
		return im->p = NULL, cords_err("bad image size %dx%dx%d", c, h, w);
	im->p = malloc((size_t)c * (size_t)h * (size_t)w);
	return im->p ? 0 : cords_err("out of memory for a %dx%dx%d image", c, h, w);
}

void cords_image_free(cords_image *im)
{
	free(im->p);
	im->p = NULL;
}

void cords_image_move(cords_image *dst, cords_image *src)
{
	free(dst->p);
	*dst = *src;
	src->p = NULL;
}

/* Taps of a 1-D resize from n to m: bounds[2x] = first tap, bounds[2x+1] = count,
 * k[x * ksize + t] = fixed-point weight. Returns ksize, or -1. */
static int coeffs(int n, int m, int **bounds, int32_t **k)
{
	double scale = (double)n / m, fs = scale < 1 ? 1 : scale, support = fs;
	int ksize = (int)ceil(support) * 2 + 1;
	double *w = malloc(sizeof *w * (size_t)ksize);
	*bounds = malloc(sizeof **bounds * 2 * (size_t)m);
	*k = calloc((size_t)m * (size_t)ksize, sizeof **k);
	if (!w || !*bounds || !*k) {
		free(w), free(*bounds), free(*k);
		return cords_err("out of memory");
	}
	for (int x = 0; x < m; x++) {
		double centre = (x + 0.5) * scale, ww = 0;
		int lo = (int)(centre - support + 0.5), hi = (int)(centre + support + 0.5);
		lo = lo < 0 ? 0 : lo;
		hi = (hi > n ? n : hi) - lo;
		for (int t = 0; t < hi; t++) {
			double d = fabs((t + lo - centre + 0.5) / fs);
			w[t] = d < 1 ? 1 - d : 0;
			ww += w[t];
		}
		for (int t = 0; t < hi; t++) {
			double v = ww != 0 ? w[t] / ww : w[t];
			(*k)[x * ksize + t] = (int32_t)(v < 0 ? -0.5 + v * (1 << PREC) : 0.5 + v * (1 << PREC));
		}
		(*bounds)[2 * x] = lo;
		(*bounds)[2 * x + 1] = hi;
	}
	free(w);
	return ksize;
}

static uint8_t clip8(int64_t v)
{
	if (v >= (int64_t)1 << PREC << 8)
		return 255;
	return v <= 0 ? 0 : (uint8_t)(v >> PREC);
}

/* One pass over rows (horizontal) or columns (vertical) of every plane. */
static int pass(const cords_image *in, cords_image *out, int horiz)
{
	int n = horiz ? in->w : in->h, m = horiz ? out->w : out->h, *b;
	int32_t *k;
	int ksize = coeffs(n, m, &b, &k);
	if (ksize < 0)
		return -1;
	size_t step = horiz ? 1 : (size_t)in->w; /* stride between taps */
	for (int c = 0; c < in->c; c++)
		for (int y = 0; y < out->h; y++)
			for (int x = 0; x < out->w; x++) {
				int o = horiz ? x : y;
				const int32_t *kk = k + (size_t)o * (size_t)ksize;
				const uint8_t *src = in->p + ((size_t)c * in->h + (horiz ? y : b[2 * o])) * in->w +
						     (horiz ? b[2 * o] : x);
				int64_t ss = 1 << (PREC - 1);
				for (int t = 0; t < b[2 * o + 1]; t++)
					ss += (int64_t)src[t * step] * kk[t];
				out->p[((size_t)c * out->h + y) * out->w + x] = clip8(ss);
			}
	free(b);
	free(k);
	return 0;
}

int cords_resize(const cords_image *in, cords_image *out, int oh, int ow)
{
	cords_image tmp = {0};
	if (ow == in->w && oh == in->h) {
		if (cords_image_alloc(out, in->c, oh, ow))
			return -1;
		memcpy(out->p, in->p, (size_t)in->c * oh * ow);
		return 0;
	}
	const cords_image *src = in;
	if (ow != in->w) {
		if (cords_image_alloc(&tmp, in->c, in->h, ow) || pass(in, &tmp, 1))
			return cords_image_free(&tmp), -1;
		src = &tmp;
	}
	if (oh == in->h) {
		*out = tmp;
		return 0;
	}
	int rc = cords_image_alloc(out, in->c, oh, ow) || pass(src, out, 0) ? -1 : 0;
	cords_image_free(&tmp);
	return rc;
}

void cords_resize_shorter(int h, int w, int size, int *oh, int *ow)
{
	int s = h < w ? h : w, l = h < w ? w : h, nl = (int)((double)size * l / s);
	*ow = w <= h ? size : nl;
	*oh = w <= h ? nl : size;
}

int cords_crop(const cords_image *in, cords_image *out, int top, int left, int h, int w)
{
	if (cords_image_alloc(out, in->c, h, w))
		return -1;
	memset(out->p, 0, (size_t)in->c * h * w);
	for (int c = 0; c < in->c; c++)
		for (int y = 0; y < h; y++) {
			int sy = top + y, x0 = left < 0 ? -left : 0, x1 = left + w > in->w ? in->w - left : w;
			if (sy < 0 || sy >= in->h || x1 <= x0)
				continue;
			memcpy(out->p + ((size_t)c * h + y) * w + x0, in->p + ((size_t)c * in->h + sy) * in->w + left + x0,
			       (size_t)(x1 - x0));
		}
	return 0;
}

void cords_center_offsets(int H, int W, int h, int w, int *top, int *left)
{
	*top = (int)nearbyint((H - h) / 2.0);
	*left = (int)nearbyint((W - w) / 2.0);
}

void cords_hflip(cords_image *im)
{
	for (int r = 0; r < im->c * im->h; r++) {
		uint8_t *p = im->p + (size_t)r * im->w;
		for (int a = 0, b = im->w - 1; a < b; a++, b--) {
			uint8_t t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
	}
}
