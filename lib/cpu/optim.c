/* AdamW, SGD, warm-up and clipping with PyTorch's arithmetic (optim.h). */
#include "optim.h"

#include <math.h>

cords_adamw cords_adamw_defaults(void)
{
	return (cords_adamw){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
}

void cords_adamw_step_cpu(const cords_adamw *o, int64_t step, float *p, const float *g, float *m, float *v,
			  int64_t n)
{
	const float decay = (float)(1 - o->lr * o->weight_decay);
	const float b1 = (float)o->beta1, b2 = (float)o->beta2;
	const double bc1 = 1 - pow(o->beta1, (double)step), bc2 = 1 - pow(o->beta2, (double)step);
	const float step_size = (float)(o->lr / bc1), bc2_sqrt = (float)sqrt(bc2), eps = (float)o->eps;
#pragma omp parallel for schedule(static) if (n > 65536)
	for (int64_t i = 0; i < n; i++) {
		p[i] *= decay;
		m[i] = m[i] * b1 + g[i] * (1 - b1);
		v[i] = v[i] * b2 + g[i] * g[i] * (1 - b2);
		p[i] -= step_size * (m[i] / (sqrtf(v[i]) / bc2_sqrt + eps));
	}
}

void cords_sgd_step_cpu(const cords_sgd *o, int first, float *p, const float *g, float *buf, int64_t n)
{
	const float wd = (float)o->weight_decay, mom = (float)o->momentum, lr = (float)o->lr;
#pragma omp parallel for schedule(static) if (n > 65536)
	for (int64_t i = 0; i < n; i++) {
		float d = g[i] + wd * p[i];
		buf[i] = first || mom == 0 ? d : mom * buf[i] + d;
		p[i] -= lr * buf[i];
	}
}

double cords_warmup_lr(double lr, int64_t k, int64_t K, double f0)
{
	if (K <= 0 || k >= K)
		return lr;
	return lr * (f0 + (1 - f0) * (double)k / (double)K);
}

double cords_cosine_lr(double lr, int64_t k, int64_t K)
{
	return k >= K ? 0 : lr * 0.5 * (1 + cos(M_PI * (double)k / (double)K));
}

double cords_clip_factor(double norm, double max_norm)
{
	if (max_norm <= 0)
		return 1;
	double f = max_norm / (norm + 1e-6);
	return f < 1 ? f : 1;
}

void cords_scale_cpu(float *g, int64_t n, float s)
{
	if (s == 1)
		return;
#pragma omp parallel for schedule(static) if (n > 65536)
	for (int64_t i = 0; i < n; i++)
		g[i] *= s;
}
