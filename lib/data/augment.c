/* Affine, colour jitter and flip (augment.h). */
#include "augment.h"

#include <math.h>
#include <string.h>

void cords_affine_matrix(const cords_affine *p, int h, int w, double a[6])
{
	cords_affine_matrix_at(p, w * 0.5, h * 0.5, a);
}

void cords_affine_matrix_at(const cords_affine *p, double cx, double cy, double a[6])
{
	double rot = p->angle * M_PI / 180, sx = p->shear_x * M_PI / 180, sy = p->shear_y * M_PI / 180;
	double tx = p->tx, ty = p->ty;
	double A = cos(rot - sy) / cos(sy);
	double B = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
	double C = sin(rot - sy) / cos(sy);
	double D = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
	double m[6] = {D, -B, 0, -C, A, 0};
	for (int i = 0; i < 6; i++)
		m[i] /= p->scale;
	m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
	m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
	m[2] += cx;
	m[5] += cy;
	memcpy(a, m, sizeof m);
}

static int coord(double v) { return v < 0 ? -1 : (int)v; }

/* PIL's ImagingScaleAffine: no rotation or shear. */
static void scale_affine(const cords_image *in, cords_image *out, const double a[6])
{
	double xo = a[2] + a[0] * 0.5, yo = a[5] + a[4] * 0.5;
	int xin[out->w];
	for (int x = 0; x < out->w; x++, xo += a[0])
		xin[x] = coord(xo);
	for (int y = 0; y < out->h; y++, yo += a[4]) {
		int yi = coord(yo);
		for (int c = 0; c < in->c; c++) {
			uint8_t *o = out->p + ((size_t)c * out->h + y) * out->w;
			const uint8_t *s = in->p + ((size_t)c * in->h + (yi < 0 ? 0 : yi)) * in->w;
			for (int x = 0; x < out->w; x++)
				o[x] = yi >= 0 && yi < in->h && xin[x] >= 0 && xin[x] < in->w ? s[xin[x]] : 0;
		}
	}
}

static int fix16(double v) { return (int)floor(v * 65536.0 + 0.5); }

static int fits16(const double a[6], int x, int y)
{
	return fabs(x * a[0] + y * a[1] + a[2]) < 32768.0 && fabs(x * a[3] + y * a[4] + a[5]) < 32768.0;
}

int cords_affine_nearest(const cords_image *in, cords_image *out, const double a[6])
{
	if (cords_image_alloc(out, in->c, in->h, in->w))
		return -1;
	if (a[1] == 0 && a[3] == 0) {
		scale_affine(in, out, a);
		return 0;
	}
	int W = out->w, H = out->h, fixed = fits16(a, 0, 0) && fits16(a, W, H) && fits16(a, 0, H) && fits16(a, W, 0);
	int a0 = fix16(a[0]), a1 = fix16(a[1]), a3 = fix16(a[3]), a4 = fix16(a[4]);
	int a2 = fix16(a[2] + a[0] * 0.5 + a[1] * 0.5), a5 = fix16(a[5] + a[3] * 0.5 + a[4] * 0.5);
	double xo = a[2] + a[1] * 0.5 + a[0] * 0.5, yo = a[5] + a[4] * 0.5 + a[3] * 0.5;
	for (int y = 0; y < H; y++) {
		int xx = a2, yy = a5;
		double fx = xo, fy = yo;
		for (int x = 0; x < W; x++) {
			int xi = fixed ? xx >> 16 : coord(fx), yi = fixed ? yy >> 16 : coord(fy);
			int inside = xi >= 0 && xi < in->w && yi >= 0 && yi < in->h;
			for (int c = 0; c < in->c; c++)
				out->p[((size_t)c * H + y) * W + x] =
					inside ? in->p[((size_t)c * in->h + yi) * in->w + xi] : 0;
			xx += a0, yy += a3, fx += a[0], fy += a[3];
		}
		a2 += a1, a5 += a4, xo += a[1], yo += a[4];
	}
	return 0;
}

void cords_affine_draw(cords_rng *r, int h, int w, double degrees, double translate, double s0, double s1,
		       double shear, cords_affine *p)
{
	p->angle = cords_rng_range(r, -degrees, degrees);
	double mx = translate * w, my = translate * h;
	p->tx = nearbyint(cords_rng_range(r, -mx, mx));
	p->ty = nearbyint(cords_rng_range(r, -my, my));
	p->scale = cords_rng_range(r, s0, s1);
	p->shear_x = shear > 0 ? cords_rng_range(r, -shear, shear) : 0;
	p->shear_y = 0;
}

int cords_random_affine(cords_image *im, cords_rng *r, double degrees, double translate, double s0, double s1,
			double shear)
{
	cords_affine p;
	double a[6];
	cords_image out;
	cords_affine_draw(r, im->h, im->w, degrees, translate, s0, s1, shear, &p);
	cords_affine_matrix(&p, im->h, im->w, a);
	if (cords_affine_nearest(im, &out, a))
		return -1;
	cords_image_move(im, &out);
	return 0;
}

void cords_brightness(cords_image *im, double f)
{
	size_t n = (size_t)im->c * im->h * im->w;
	for (size_t i = 0; i < n; i++)
		im->p[i] = cords_blend8(0, im->p[i], (float)f);
}

/* PIL's "L" conversion of a pixel (ITU-R 601-2 luma in 16-bit fixed point). */
static int luma(const cords_image *im, size_t i)
{
	size_t n = (size_t)im->h * im->w;
	if (im->c < 3)
		return im->p[i];
	return (im->p[i] * 19595 + im->p[n + i] * 38470 + im->p[2 * n + i] * 7471 + 0x8000) >> 16;
}

void cords_contrast(cords_image *im, double f)
{
	size_t n = (size_t)im->h * im->w, all = n * (size_t)im->c;
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += luma(im, i);
	int mean = (int)(sum / (double)n + 0.5);
	for (size_t i = 0; i < all; i++)
		im->p[i] = cords_blend8(mean, im->p[i], (float)f);
}

void cords_jitter_draw(cords_rng *r, double b, double c, cords_jitter *j)
{
	j->brightness_first = cords_rng_below(r, 2) == 0;
	j->brightness = cords_rng_range(r, 1 - b < 0 ? 0 : 1 - b, 1 + b);
	j->contrast = cords_rng_range(r, 1 - c < 0 ? 0 : 1 - c, 1 + c);
}

void cords_jitter_apply(cords_image *im, const cords_jitter *j)
{
	if (j->brightness_first)
		cords_brightness(im, j->brightness);
	cords_contrast(im, j->contrast);
	if (!j->brightness_first)
		cords_brightness(im, j->brightness);
}

void cords_color_jitter(cords_image *im, cords_rng *r, double b, double c)
{
	cords_jitter j;
	cords_jitter_draw(r, b, c, &j);
	cords_jitter_apply(im, &j);
}

void cords_random_flip(cords_image *im, cords_rng *r)
{
	if (cords_rng_uniform(r) < 0.5)
		cords_hflip(im);
}
