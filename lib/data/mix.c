/* MixUp / CutMix (mix.h). */
#include "mix.h"

#include <math.h>
#include <string.h>

void cords_mix_draw(cords_rng *r, int h, int w, cords_mix *m)
{
	m->cutmix = cords_rng_uniform(r) < 0.5;
	m->lambda = cords_rng_beta11(r);
	m->x1 = m->y1 = m->x2 = m->y2 = 0;
	if (!m->cutmix)
		return;
	int rx = (int)cords_rng_below(r, (uint64_t)w), ry = (int)cords_rng_below(r, (uint64_t)h);
	double rr = 0.5 * sqrt(1.0 - m->lambda);
	int rw = (int)(rr * w), rh = (int)(rr * h);
	m->x1 = rx - rw < 0 ? 0 : rx - rw;
	m->y1 = ry - rh < 0 ? 0 : ry - rh;
	m->x2 = rx + rw > w ? w : rx + rw;
	m->y2 = ry + rh > h ? h : ry + rh;
	m->lambda = 1.0 - (double)(m->x2 - m->x1) * (m->y2 - m->y1) / ((double)w * h);
}

void cords_mix_apply(const cords_mix *m, float *x, float *tmp, int B, int C, int H, int W, const int64_t *y,
		     int classes, float *soft)
{
	size_t img = (size_t)C * H * W;
	float l = (float)m->lambda;
	memcpy(tmp, x, img * (size_t)B * sizeof *x);
	for (int i = 0; i < B; i++) {
		const float *p = tmp + img * (size_t)((i + B - 1) % B);
		float *o = x + img * (size_t)i;
		if (!m->cutmix)
			for (size_t k = 0; k < img; k++)
				o[k] = o[k] * l + p[k] * (1 - l);
		for (int c = 0; m->cutmix && c < C; c++)
			for (int yy = m->y1; yy < m->y2; yy++) {
				size_t off = ((size_t)c * H + yy) * W + m->x1;
				memcpy(o + off, p + off, sizeof *o * (size_t)(m->x2 - m->x1));
			}
		float *s = soft + (size_t)i * classes;
		memset(s, 0, sizeof *s * (size_t)classes);
		s[y[i]] += l;
		s[y[(i + B - 1) % B]] += 1 - l;
	}
}
