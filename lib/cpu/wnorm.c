/* Weight norm forward and backward (wnorm.h); one output row per iteration. */
#include "wnorm.h"

#include <math.h>

static double row_norm(const float *v, int64_t K)
{
	double s = 0;
	for (int64_t k = 0; k < K; k++)
		s += (double)v[k] * v[k];
	return sqrt(s);
}

void cords_wnorm_forward_cpu(const float *g, const float *v, int O, int64_t K, float *W)
{
#pragma omp parallel for schedule(static)
	for (int o = 0; o < O; o++) {
		const float *vo = v + (int64_t)o * K;
		float s = (float)(g[o] / row_norm(vo, K));
		for (int64_t k = 0; k < K; k++)
			W[(int64_t)o * K + k] = s * vo[k];
	}
}

void cords_wnorm_backward_cpu(const float *g, const float *v, const float *dW, int O, int64_t K, float *dg,
			      float *dv)
{
#pragma omp parallel for schedule(static)
	for (int o = 0; o < O; o++) {
		const float *vo = v + (int64_t)o * K, *d = dW + (int64_t)o * K;
		double n = row_norm(vo, K), dot = 0;
		for (int64_t k = 0; k < K; k++)
			dot += (double)d[k] * vo[k];
		double gg = dot / n, s = g[o] / n;
		dg[o] = (float)gg;
		for (int64_t k = 0; k < K; k++)
			dv[(int64_t)o * K + k] = (float)(s * (d[k] - gg * vo[k] / n));
	}
}
