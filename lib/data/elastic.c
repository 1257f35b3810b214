/* Elastic deformation (elastic.h). */
#include "elastic.h"

#include "err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* torch's reflect padding: -1 -> 1, n -> n-2. */
static int reflect(int i, int n)
{
	while (i < 0 || i >= n)
		i = i < 0 ? -i : 2 * (n - 1) - i;
	return i;
}

/* Separable blur of one h x w plane (rows then columns), float32 kernel. */
static int blur(float *p, int h, int w, const float *k, int half)
{
	float *t = malloc(sizeof *t * (size_t)h * w);
	if (!t)
		return cords_err("out of memory");
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float s = 0;
			for (int j = -half; j <= half; j++)
				s += k[j + half] * p[(size_t)y * w + reflect(x + j, w)];
			t[(size_t)y * w + x] = s;
		}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			float s = 0;
			for (int j = -half; j <= half; j++)
				s += k[j + half] * t[(size_t)reflect(y + j, h) * w + x];
			p[(size_t)y * w + x] = s;
		}
	free(t);
	return 0;
}

int cords_elastic_field(float *noise, int h, int w, double alpha, double sigma)
{
	int ks = (int)(8 * sigma + 1);
	ks += ks % 2 == 0;
	int half = ks / 2;
	if (half >= h || half >= w)
		return cords_err("elastic: a %dx%d image is too small for sigma %g", h, w, sigma);
	float k[ks], sum = 0;
	for (int i = 0; i < ks; i++) {
		float x = (float)(i - half);
		k[i] = expf(-0.5f * (x / (float)sigma) * (x / (float)sigma));
		sum += k[i];
	}
	for (int i = 0; i < ks; i++)
		k[i] /= sum;
	size_t n = (size_t)h * w;
	if (blur(noise, h, w, k, half) || blur(noise + n, h, w, k, half))
		return -1;
	for (size_t i = 0; i < n; i++) {
		noise[i] = noise[i] * (float)alpha / (float)h;
		noise[n + i] = noise[n + i] * (float)alpha / (float)w;
	}
	return 0;
}

int cords_elastic_apply(cords_image *im, const float *disp)
{
	int H = im->h, W = im->w;
	size_t n = (size_t)H * W;
	cords_image out;
	if (cords_image_alloc(&out, im->c, H, W))
		return -1;
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			/* grid = linspace((1-s)/s, (s-1)/s, s) + displacement; unnormalise */
			float gx = (float)(2 * x + 1) / (float)W - 1 + disp[(size_t)y * W + x];
			float gy = (float)(2 * y + 1) / (float)H - 1 + disp[n + (size_t)y * W + x];
			float ix = ((gx + 1) * (float)W - 1) / 2, iy = ((gy + 1) * (float)H - 1) / 2;
			int x0 = (int)floorf(ix), y0 = (int)floorf(iy);
			float fx = ix - (float)x0, fy = iy - (float)y0;
			for (int c = 0; c < im->c; c++) {
				const uint8_t *p = im->p + (size_t)c * n;
				float v = 0;
				for (int dy = 0; dy < 2; dy++)
					for (int dx = 0; dx < 2; dx++) {
						int xx = x0 + dx, yy = y0 + dy;
						float wgt = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
						if (xx >= 0 && xx < W && yy >= 0 && yy < H)
							v += wgt * p[(size_t)yy * W + xx];
					}
				float r = nearbyintf(v);
				out.p[(size_t)c * n + (size_t)y * W + x] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
			}
		}
	cords_image_move(im, &out);
	return 0;
}

int cords_elastic(cords_image *im, cords_rng *r, double alpha, double sigma)
{
	size_t n = (size_t)im->h * im->w;
	float *d = malloc(sizeof *d * 2 * n);
	if (!d)
		return cords_err("out of memory");
	for (size_t i = 0; i < 2 * n; i++)
		d[i] = (float)(cords_rng_uniform(r) * 2 - 1);
	int rc = cords_elastic_field(d, im->h, im->w, alpha, sigma) || cords_elastic_apply(im, d) ? -1 : 0;
	free(d);
	return rc;
}
