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
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* Taps of a 1-D resize from n to m, for the outputs first..first+count-1:
 * bounds[2i] = first tap, bounds[2i+1] = tap count, k[i * ksize + t] =
 * fixed-point weight. Returns ksize, or -1. */
static int coeffs(int n, int m, int first, int count, int **bounds, int32_t **k)
{
	double scale = (double)n / m, fs = scale < 1 ? 1 : scale, support = fs;
	int ksize = (int)ceil(support) * 2 + 1;
	double *w = malloc(sizeof *w * (size_t)ksize);
	*bounds = malloc(sizeof **bounds * 2 * (size_t)count);
	*k = calloc((size_t)count * (size_t)ksize, sizeof **k);
	if (!w || !*bounds || !*k) {
		free(w), free(*bounds), free(*k);
		return cords_err("out of memory");
	}
	for (int i = 0; i < count; i++) {
		double centre = (first + i + 0.5) * scale, ww = 0;
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
			(*k)[i * ksize + t] = (int32_t)(v < 0 ? -0.5 + v * (1 << PREC) : 0.5 + v * (1 << PREC));
		}
		(*bounds)[2 * i] = lo;
		(*bounds)[2 * i + 1] = hi;
	}
	free(w);
	return ksize;
}

static uint8_t clip8(int32_t v)
{
	if (v >= (int32_t)1 << PREC << 8)
		return 255;
	return v <= 0 ? 0 : (uint8_t)(v >> PREC);
}

/* One 1-D pass along the slow axis, vectorised along the fast one: output
 * line o = clip8(sum_t k[o][t] * src line (b[2o] + t)), each line len bytes.
 * (Weights sum to 2^22 and are not negative: 255 * 2^22 fits an int32.) */
static void pass(const uint8_t *src, size_t sstride, uint8_t *dst, size_t dstride, int n_out, int len,
		 const int *b, const int32_t *k, int ksize, int32_t *restrict acc)
{
	enum { CHUNK = 64 }; /* int32 accumulators that stay in vector registers */
	for (int o = 0; o < n_out; o++) {
		const int32_t *kk = k + (size_t)o * ksize;
		const uint8_t *s0 = src + (size_t)b[2 * o] * sstride;
		uint8_t *restrict d = dst + (size_t)o * dstride;
		int x = 0;
		for (; x + CHUNK <= len; x += CHUNK) {
			int32_t a[CHUNK];
			for (int i = 0; i < CHUNK; i++)
				a[i] = 1 << (PREC - 1);
			for (int t = 0; t < b[2 * o + 1]; t++) {
				const uint8_t *restrict s = s0 + (size_t)t * sstride + x;
				const int32_t kt = kk[t];
				for (int i = 0; i < CHUNK; i++)
					a[i] += s[i] * kt;
			}
			for (int i = 0; i < CHUNK; i++)
				d[x + i] = clip8(a[i]);
		}
		if (x == len)
			continue;
		for (int i = x; i < len; i++)
			acc[i] = 1 << (PREC - 1);
		for (int t = 0; t < b[2 * o + 1]; t++) {
			const uint8_t *restrict s = s0 + (size_t)t * sstride;
			const int32_t kt = kk[t];
			for (int i = x; i < len; i++)
				acc[i] += s[i] * kt;
		}
		for (int i = x; i < len; i++)
			d[i] = clip8(acc[i]);
	}
}

#ifdef __SSE2__
/* 16 x 16 bytes transposed in four rounds of interleaving: after round r,
 * each 2^r-byte unit holds 2^r rows of one column. */
static void transpose16(const uint8_t *s, size_t ss, uint8_t *d, size_t ds)
{
	__m128i r[16], a[16], b[16];
	for (int i = 0; i < 16; i++)
		r[i] = _mm_loadu_si128((const __m128i *)(s + i * ss));
	for (int k = 0; k < 8; k++) {
		a[k] = _mm_unpacklo_epi8(r[2 * k], r[2 * k + 1]);
		a[k + 8] = _mm_unpackhi_epi8(r[2 * k], r[2 * k + 1]);
	}
	for (int h = 0; h < 16; h += 8)
		for (int k = 0; k < 4; k++) {
			b[h + k] = _mm_unpacklo_epi16(a[h + 2 * k], a[h + 2 * k + 1]);
			b[h + 4 + k] = _mm_unpackhi_epi16(a[h + 2 * k], a[h + 2 * k + 1]);
		}
	for (int g = 0; g < 4; g++)
		for (int half = 0; half < 2; half++) {
			__m128i lo = half ? _mm_unpackhi_epi32(b[4 * g], b[4 * g + 1]) : _mm_unpacklo_epi32(b[4 * g], b[4 * g + 1]);
			__m128i hi = half ? _mm_unpackhi_epi32(b[4 * g + 2], b[4 * g + 3])
					  : _mm_unpacklo_epi32(b[4 * g + 2], b[4 * g + 3]);
			_mm_storeu_si128((__m128i *)(d + (4 * g + 2 * half) * ds), _mm_unpacklo_epi64(lo, hi));
			_mm_storeu_si128((__m128i *)(d + (4 * g + 2 * half + 1) * ds), _mm_unpackhi_epi64(lo, hi));
		}
}
#endif

/* dst (w x h, row stride dstride) = src (h x w, row stride sstride) transposed */
static void transpose(const uint8_t *src, size_t sstride, uint8_t *dst, size_t dstride, int h, int w)
{
	int y0 = 0, x0 = 0;
#ifdef __SSE2__
	for (; y0 + 16 <= h; y0 += 16)
		for (int x = 0; x + 16 <= w; x += 16)
			transpose16(src + (size_t)y0 * sstride + x, sstride, dst + (size_t)x * dstride + y0, dstride);
	x0 = w / 16 * 16;
	for (int x = 0; x < x0; x++) /* the rows below the last full tile */
		for (int y = y0; y < h; y++)
			dst[(size_t)x * dstride + y] = src[(size_t)y * sstride + x];
#endif
	for (int x = x0; x < w; x++) /* the columns right of the last full tile */
		for (int y = 0; y < h; y++)
			dst[(size_t)x * dstride + y] = src[(size_t)y * sstride + x];
}

/* Rows y0..y0+out->h-1 of in, resampled horizontally to out's columns. The
 * columns are filtered as rows of the transposed image, so that the inner
 * loop runs over contiguous bytes as the vertical pass does. */
static int horizontal(const cords_image *in, int y0, cords_image *out, const int *b, const int32_t *k, int ksize)
{
	int x0 = b[0], x1 = 0, rows = out->h; /* the input columns any tap reads */
	for (int x = 0; x < out->w; x++)
		x0 = b[2 * x] < x0 ? b[2 * x] : x0, x1 = b[2 * x] + b[2 * x + 1] > x1 ? b[2 * x] + b[2 * x + 1] : x1;
	int cols = x1 > x0 ? x1 - x0 : 1;
	int *bb = malloc(sizeof *bb * 2 * (size_t)out->w);
	uint8_t *t = malloc((size_t)cols * rows + (size_t)out->w * rows);
	int32_t *acc = malloc(sizeof *acc * (size_t)rows);
	if (!bb || !t || !acc) {
		free(bb), free(t), free(acc);
		return cords_err("out of memory");
	}
	for (int x = 0; x < out->w; x++)
		bb[2 * x] = b[2 * x] - x0, bb[2 * x + 1] = b[2 * x + 1];
	uint8_t *tout = t + (size_t)cols * rows;
	for (int c = 0; c < in->c; c++) {
		const uint8_t *src = in->p + ((size_t)c * in->h + y0) * in->w + x0;
		transpose(src, (size_t)in->w, t, (size_t)rows, rows, cols);
		pass(t, (size_t)rows, tout, (size_t)rows, out->w, rows, bb, k, ksize, acc);
		transpose(tout, (size_t)rows, out->p + (size_t)c * out->h * out->w, (size_t)out->w, out->w, rows);
	}
	free(bb), free(t), free(acc);
	return 0;
}

/* out's rows from in's rows b[2y] - y0 ... */
static int vertical(const cords_image *in, int y0, cords_image *out, const int *b, const int32_t *k, int ksize)
{
	int32_t *acc = malloc(sizeof *acc * (size_t)out->w);
	int *bb = malloc(sizeof *bb * 2 * (size_t)out->h);
	if (!acc || !bb) {
		free(acc), free(bb);
		return cords_err("out of memory");
	}
	for (int y = 0; y < out->h; y++)
		bb[2 * y] = b[2 * y] - y0, bb[2 * y + 1] = b[2 * y + 1];
	for (int c = 0; c < in->c; c++)
		pass(in->p + (size_t)c * in->h * in->w, (size_t)in->w, out->p + (size_t)c * out->h * out->w,
		     (size_t)out->w, out->h, out->w, bb, k, ksize, acc);
	free(acc), free(bb);
	return 0;
}

int cords_resize_region(const cords_image *in, cords_image *out, int oh, int ow, int top, int left, int h, int w)
{
	int *bh = NULL, *bv = NULL, kh = 0, kv = 0;
	int32_t *ch = NULL, *cv = NULL;
	cords_image tmp = {0};
	int need_h = ow != in->w, need_v = oh != in->h, rc = -1;
	if (top < 0 || left < 0 || top + h > oh || left + w > ow)
		return cords_err("resize region outside the image");
	if ((need_h && (kh = coeffs(in->w, ow, left, w, &bh, &ch)) < 0) ||
	    (need_v && (kv = coeffs(in->h, oh, top, h, &bv, &cv)) < 0))
		goto out;
	/* the input rows the vertical pass reads (all of the region's when there is none) */
	int y0 = need_v ? bv[0] : top, y1 = need_v ? bv[2 * (h - 1)] + bv[2 * h - 1] : top + h;
	if (cords_image_alloc(&tmp, in->c, y1 - y0, w))
		goto out;
	if (need_h) {
		if (horizontal(in, y0, &tmp, bh, ch, kh))
			goto out;
	} else {
		for (int c = 0; c < in->c; c++)
			for (int y = 0; y < tmp.h; y++)
				memcpy(tmp.p + ((size_t)c * tmp.h + y) * w, in->p + ((size_t)c * in->h + y0 + y) * in->w + left,
				       (size_t)w);
	}
	if (!need_v) {
		*out = tmp;
		tmp.p = NULL;
		rc = 0;
	} else if (!cords_image_alloc(out, in->c, h, w)) {
		rc = vertical(&tmp, y0, out, bv, cv, kv);
		if (rc)
			cords_image_free(out);
	}
out:
	cords_image_free(&tmp);
	free(bh), free(bv), free(ch), free(cv);
	return rc;
}

int cords_resize(const cords_image *in, cords_image *out, int oh, int ow)
{
	return cords_resize_region(in, out, oh, ow, 0, 0, oh, ow);
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
