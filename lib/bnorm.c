/* BatchNorm forward and backward, train and eval (bnorm.h). One channel per
 * loop iteration, so reductions are in a fixed order for any thread count. */
#include "bnorm.h"

#include <math.h>

#define AT(p, b, c) ((int64_t)(b) * p->C + (c)) * p->M

void cords_bn_train_forward_cpu(const cords_bn *p, const float *x, const float *gamma, const float *beta,
				float *rmean, float *rvar, float *save_mean, float *save_invstd, float *y)
{
	const double cnt = (double)p->B * p->M;
#pragma omp parallel for schedule(static)
	for (int c = 0; c < p->C; c++) {
		double s = 0, ss = 0;
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++)
				s += x[AT(p, b, c) + m];
		double mean = s / cnt;
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++) {
				double d = x[AT(p, b, c) + m] - mean;
				ss += d * d;
			}
		double var = ss / cnt, inv = 1 / sqrt(var + p->eps);
		save_mean[c] = (float)mean;
		save_invstd[c] = (float)inv;
		if (rmean) {
			rmean[c] = (float)((1 - p->momentum) * rmean[c] + p->momentum * mean);
			rvar[c] = (float)((1 - p->momentum) * rvar[c] + p->momentum * (cnt > 1 ? ss / (cnt - 1) : var));
		}
		float a = (float)(gamma[c] * inv), sh = (float)(beta[c] - mean * gamma[c] * inv);
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++)
				y[AT(p, b, c) + m] = x[AT(p, b, c) + m] * a + sh;
	}
}

void cords_bn_eval_forward_cpu(const cords_bn *p, const float *x, const float *gamma, const float *beta,
			       const float *rmean, const float *rvar, float *y)
{
#pragma omp parallel for schedule(static)
	for (int c = 0; c < p->C; c++) {
		double inv = 1 / sqrt((double)rvar[c] + p->eps);
		float a = (float)(gamma[c] * inv), sh = (float)(beta[c] - rmean[c] * gamma[c] * inv);
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++)
				y[AT(p, b, c) + m] = x[AT(p, b, c) + m] * a + sh;
	}
}

void cords_bn_train_backward_cpu(const cords_bn *p, const float *x, const float *dy, const float *gamma,
				 const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
				 float *dbeta)
{
	const double cnt = (double)p->B * p->M;
#pragma omp parallel for schedule(static)
	for (int c = 0; c < p->C; c++) {
		double sdy = 0, sdyx = 0, mean = save_mean[c], inv = save_invstd[c];
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++) {
				int64_t i = AT(p, b, c) + m;
				sdy += dy[i];
				sdyx += dy[i] * (x[i] - mean) * inv;
			}
		dbeta[c] = (float)sdy;
		dgamma[c] = (float)sdyx;
		/* dx = gamma inv (dy - mean(dy) - xhat mean(dy xhat)) */
		double k = gamma[c] * inv;
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++) {
				int64_t i = AT(p, b, c) + m;
				double xh = (x[i] - mean) * inv;
				dx[i] = (float)(k * (dy[i] - sdy / cnt - xh * sdyx / cnt));
			}
	}
}

void cords_bn_eval_backward_cpu(const cords_bn *p, const float *x, const float *dy, const float *gamma,
				const float *rmean, const float *rvar, float *dx, float *dgamma, float *dbeta)
{
#pragma omp parallel for schedule(static)
	for (int c = 0; c < p->C; c++) {
		double inv = 1 / sqrt((double)rvar[c] + p->eps), sdy = 0, sdyx = 0;
		float k = (float)(gamma[c] * inv);
		for (int b = 0; b < p->B; b++)
			for (int64_t m = 0; m < p->M; m++) {
				int64_t i = AT(p, b, c) + m;
				sdy += dy[i];
				sdyx += dy[i] * (x[i] - rmean[c]) * inv;
				dx[i] = dy[i] * k;
			}
		dbeta[c] = (float)sdy;
		dgamma[c] = (float)sdyx;
	}
}
