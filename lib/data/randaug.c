/* RandAugment (randaug.h). */
#include "randaug.h"

#include "augment.h"
#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* torch.linspace(lo, hi, 31)[bin] in float32, as torchvision builds its tables. */
static double linspace31(float lo, float hi, int bin)
{
	float step = (hi - lo) / 30.0f;
	return bin < 15 ? (double)(lo + step * (float)bin) : (double)(hi - step * (float)(30 - bin));
}

double cords_ra_magnitude(int op, int bin, int h, int w)
{
	switch (op) {
	case CORDS_RA_SHEAR_X:
	case CORDS_RA_SHEAR_Y: return linspace31(0.0f, 0.3f, bin);
	case CORDS_RA_TRANSLATE_X: return linspace31(0.0f, (float)(150.0 / 331.0 * w), bin);
	case CORDS_RA_TRANSLATE_Y: return linspace31(0.0f, (float)(150.0 / 331.0 * h), bin);
	case CORDS_RA_ROTATE: return linspace31(0.0f, 30.0f, bin);
	case CORDS_RA_BRIGHTNESS:
	case CORDS_RA_COLOR:
	case CORDS_RA_CONTRAST:
	case CORDS_RA_SHARPNESS: return linspace31(0.0f, 0.9f, bin);
	case CORDS_RA_POSTERIZE: return 8 - (int)nearbyintf((float)bin / (30.0f / 4.0f));
	case CORDS_RA_SOLARIZE: return linspace31(255.0f, 0.0f, bin);
	}
	return 0;
}

static int is_signed(int op) { return op >= CORDS_RA_SHEAR_X && op <= CORDS_RA_SHARPNESS; }

void cords_randaug_draw(cords_rng *r, int h, int w, cords_ra_op ops[2])
{
	for (int i = 0; i < 2; i++) {
		ops[i].op = (int)cords_rng_below(r, CORDS_RA_NOPS);
		ops[i].magnitude = cords_ra_magnitude(ops[i].op, 9, h, w);
		if (is_signed(ops[i].op) && cords_rng_below(r, 2))
			ops[i].magnitude = -ops[i].magnitude;
	}
}

static int affine_op(cords_image *im, const cords_affine *p, int origin)
{
	double a[6];
	cords_image out;
	if (origin)
		cords_affine_matrix_at(p, 0, 0, a);
	else
		cords_affine_matrix(p, im->h, im->w, a);
	if (cords_affine_nearest(im, &out, a))
		return -1;
	cords_image_move(im, &out);
	return 0;
}

/* PIL's Image.rotate(angle, NEAREST) about the centre, same size. */
int cords_rotate_nearest(cords_image *im, double degrees)
{
	double ang = -fmod(degrees, 360.0) * M_PI / 180, cx = im->w / 2.0, cy = im->h / 2.0;
	if (fmod(degrees, 360.0) == 0)
		return 0;
	double c = nearbyint(cos(ang) * 1e15) / 1e15, s = nearbyint(sin(ang) * 1e15) / 1e15;
	double a[6] = {c, s, 0, -s, c, 0};
	a[2] = a[0] * -cx + a[1] * -cy + cx;
	a[5] = a[3] * -cx + a[4] * -cy + cy;
	cords_image out;
	if (cords_affine_nearest(im, &out, a))
		return -1;
	cords_image_move(im, &out);
	return 0;
}

static int luma_at(const cords_image *im, size_t i)
{
	size_t n = (size_t)im->h * im->w;
	return (im->p[i] * 19595 + im->p[n + i] * 38470 + im->p[2 * n + i] * 7471 + 0x8000) >> 16;
}

void cords_saturation(cords_image *im, double f)
{
	size_t n = (size_t)im->h * im->w;
	if (im->c != 3)
		return; /* "L" converted to "L": the image itself */
	for (size_t i = 0; i < n; i++) {
		int g = luma_at(im, i);
		for (int c = 0; c < 3; c++)
			im->p[c * n + i] = cords_blend8(g, im->p[c * n + i], (float)f);
	}
}

/* ImageFilter.SMOOTH (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1, /13; borders copied),
 * then a blend towards the image. */
void cords_sharpness(cords_image *im, double f)
{
	int H = im->h, W = im->w;
	float k1 = (float)(1 / 13.0), k5 = (float)(5 / 13.0);
	uint8_t *smooth = malloc((size_t)H * W);
	if (!smooth || H < 3 || W < 3) {
		free(smooth);
		return; /* PIL leaves images this small as they are: all border */
	}
	for (int c = 0; c < im->c; c++) {
		uint8_t *p = im->p + (size_t)c * H * W;
		memcpy(smooth, p, (size_t)H * W);
		for (int y = 1; y < H - 1; y++)
			for (int x = 1; x < W - 1; x++) {
				const uint8_t *a = p + (size_t)(y + 1) * W + x, *b = p + (size_t)y * W + x,
					      *d = p + (size_t)(y - 1) * W + x;
				float ss = 0.5f;
				ss += (float)a[-1] * k1 + (float)a[0] * k1 + (float)a[1] * k1;
				ss += (float)b[-1] * k1 + (float)b[0] * k5 + (float)b[1] * k1;
				ss += (float)d[-1] * k1 + (float)d[0] * k1 + (float)d[1] * k1;
				smooth[(size_t)y * W + x] = ss <= 0 ? 0 : ss >= 255 ? 255 : (uint8_t)ss;
			}
		for (size_t i = 0; i < (size_t)H * W; i++)
			p[i] = cords_blend8(smooth[i], p[i], (float)f);
	}
	free(smooth);
}

static void apply_lut(uint8_t *p, size_t n, const uint8_t lut[256])
{
	for (size_t i = 0; i < n; i++)
		p[i] = lut[p[i]];
}

void cords_autocontrast(cords_image *im)
{
	size_t n = (size_t)im->h * im->w;
	for (int c = 0; c < im->c; c++) {
		uint8_t *p = im->p + c * n, lut[256];
		int lo = 255, hi = 0;
		for (size_t i = 0; i < n; i++)
			lo = p[i] < lo ? p[i] : lo, hi = p[i] > hi ? p[i] : hi;
		if (hi <= lo)
			continue;
		double scale = 255.0 / (hi - lo), offset = -lo * scale;
		for (int v = 0; v < 256; v++) {
			int ix = (int)(v * scale + offset);
			lut[v] = (uint8_t)(ix < 0 ? 0 : ix > 255 ? 255 : ix);
		}
		apply_lut(p, n, lut);
	}
}

void cords_equalize(cords_image *im)
{
	size_t n = (size_t)im->h * im->w;
	for (int c = 0; c < im->c; c++) {
		uint8_t *p = im->p + c * n, lut[256];
		long long h[256] = {0}, total = 0, last = 0;
		int nonzero = 0;
		for (size_t i = 0; i < n; i++)
			h[p[i]]++;
		for (int v = 0; v < 256; v++)
			if (h[v])
				nonzero++, total += h[v], last = h[v];
		long long step = (total - last) / 255;
		if (nonzero <= 1 || !step)
			continue;
		long long acc = step / 2;
		for (int v = 0; v < 256; v++) {
			long long o = acc / step;
			lut[v] = (uint8_t)(o > 255 ? 255 : o);
			acc += h[v];
		}
		apply_lut(p, n, lut);
	}
}

static void posterize(cords_image *im, int bits)
{
	uint8_t mask = (uint8_t)~((1 << (8 - bits)) - 1);
	for (size_t i = 0; i < (size_t)im->c * im->h * im->w; i++)
		im->p[i] &= mask;
}

static void solarize(cords_image *im, double threshold)
{
	for (size_t i = 0; i < (size_t)im->c * im->h * im->w; i++)
		if (im->p[i] >= threshold)
			im->p[i] = (uint8_t)(255 - im->p[i]);
}

int cords_randaug_apply(cords_image *im, const cords_ra_op *o)
{
	double m = o->magnitude, sh = atan(m) * 180 / M_PI;
	cords_affine p = {.scale = 1};
	switch (o->op) {
	case CORDS_RA_SHEAR_X: p.shear_x = sh; return affine_op(im, &p, 1);
	case CORDS_RA_SHEAR_Y: p.shear_y = sh; return affine_op(im, &p, 1);
	case CORDS_RA_TRANSLATE_X: p.tx = (int)m; return affine_op(im, &p, 0);
	case CORDS_RA_TRANSLATE_Y: p.ty = (int)m; return affine_op(im, &p, 0);
	case CORDS_RA_ROTATE: return cords_rotate_nearest(im, m);
	case CORDS_RA_BRIGHTNESS: cords_brightness(im, 1 + m); return 0;
	case CORDS_RA_COLOR: cords_saturation(im, 1 + m); return 0;
	case CORDS_RA_CONTRAST: cords_contrast(im, 1 + m); return 0;
	case CORDS_RA_SHARPNESS: cords_sharpness(im, 1 + m); return 0;
	case CORDS_RA_POSTERIZE: posterize(im, (int)m); return 0;
	case CORDS_RA_SOLARIZE: solarize(im, m); return 0;
	case CORDS_RA_AUTOCONTRAST: cords_autocontrast(im); return 0;
	case CORDS_RA_EQUALIZE: cords_equalize(im); return 0;
	}
	return 0;
}

int cords_randaugment(cords_image *im, cords_rng *r)
{
	cords_ra_op ops[2];
	cords_randaug_draw(r, im->h, im->w, ops);
	return cords_randaug_apply(im, &ops[0]) || cords_randaug_apply(im, &ops[1]) ? -1 : 0;
}
