/* BatchNorm forward and backward, train and eval (bnorm.h). One block of k
 * channels per loop iteration, the k lanes side by side (they vectorise), so
 * reductions are in a fixed order for any thread count. */
#include "bnorm.h"

#include <math.h>

enum { KMAX = 16 };

/* Block cb's values of batch item b start at AT(p, b, cb); channel c0 + l of
 * spatial position m is at + m * k + l. */
#define AT(p, b, cb, k) (((int64_t)(b) * (p)->C + (int64_t)(cb) * (k)) * (p)->M)
#define BLOCK(p) ((p)->k > 1 ? (p)->k : 1)

/* y = a x + sh on block cb, channel by channel */
static void scale_shift(const cords_bn *p, int cb, int k, const float *a, const float *sh, const float *x, float *y)
{
	for (int b = 0; b < p->B; b++) {
		const float *xb = x + AT(p, b, cb, k);
		float *yb = y + AT(p, b, cb, k);
		for (int64_t m = 0; m < p->M; m++)
			for (int l = 0; l < k; l++)
				yb[m * k + l] = xb[m * k + l] * a[l] + sh[l];
	}
}

void cords_bn_train_forward_cpu(const cords_bn *p, const float *x, const float *gamma, const float *beta,
				float *rmean, float *rvar, float *save_mean, float *save_invstd, float *y)
{
	const double cnt = (double)p->B * p->M;
	const int k = BLOCK(p);
#pragma omp parallel for schedule(static)
	for (int cb = 0; cb < p->C / k; cb++) {
		double s[KMAX] = {0}, ss[KMAX] = {0}, mean[KMAX];
		float a[KMAX], sh[KMAX];
		for (int b = 0; b < p->B; b++) {
			const float *xb = x + AT(p, b, cb, k);
			for (int64_t m = 0; m < p->M; m++)
				for (int l = 0; l < k; l++)
					s[l] += xb[m * k + l];
		}
		for (int l = 0; l < k; l++)
			mean[l] = s[l] / cnt;
		for (int b = 0; b < p->B; b++) {
			const float *xb = x + AT(p, b, cb, k);
			for (int64_t m = 0; m < p->M; m++)
				for (int l = 0; l < k; l++) {
					double d = xb[m * k + l] - mean[l];
					ss[l] += d * d;
				}
		}
		for (int l = 0; l < k; l++) {
			int c = cb * k + l;
			double var = ss[l] / cnt, inv = 1 / sqrt(var + p->eps);
			save_mean[c] = (float)mean[l];
			save_invstd[c] = (float)inv;
			if (rmean) {
				rmean[c] = (float)((1 - p->momentum) * rmean[c] + p->momentum * mean[l]);
				rvar[c] = (float)((1 - p->momentum) * rvar[c] + p->momentum * (cnt > 1 ? ss[l] / (cnt - 1) : var));
			}
			a[l] = (float)(gamma[c] * inv), sh[l] = (float)(beta[c] - mean[l] * gamma[c] * inv);
		}
		scale_shift(p, cb, k, a, sh, x, y);
	}
}

void cords_bn_eval_forward_cpu(const cords_bn *p, const float *x, const float *gamma, const float *beta,
			       const float *rmean, const float *rvar, float *y)
{
	const int k = BLOCK(p);
#pragma omp parallel for schedule(static)
	for (int cb = 0; cb < p->C / k; cb++) {
		float a[KMAX], sh[KMAX];
		for (int l = 0; l < k; l++) {
			int c = cb * k + l;
			double inv = 1 / sqrt((double)rvar[c] + p->eps);
			a[l] = (float)(gamma[c] * inv), sh[l] = (float)(beta[c] - rmean[c] * gamma[c] * inv);
		}
		scale_shift(p, cb, k, a, sh, x, y);
	}
}

void cords_bn_train_backward_cpu(const cords_bn *p, const float *x, const float *dy, const float *gamma,
				 const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
				 float *dbeta)
{
	const double cnt = (double)p->B * p->M;
	const int k = BLOCK(p);
#pragma omp parallel for schedule(static)
	for (int cb = 0; cb < p->C / k; cb++) {
		double sdy[KMAX] = {0}, sdyx[KMAX] = {0}, mean[KMAX], inv[KMAX], g[KMAX];
		for (int l = 0; l < k; l++)
			mean[l] = save_mean[cb * k + l], inv[l] = save_invstd[cb * k + l];
		for (int b = 0; b < p->B; b++) {
			const float *xb = x + AT(p, b, cb, k), *db = dy + AT(p, b, cb, k);
			for (int64_t m = 0; m < p->M; m++)
				for (int l = 0; l < k; l++) {
					sdy[l] += db[m * k + l];
					sdyx[l] += db[m * k + l] * (xb[m * k + l] - mean[l]) * inv[l];
				}
		}
		for (int l = 0; l < k; l++) {
			dbeta[cb * k + l] = (float)sdy[l];
			dgamma[cb * k + l] = (float)sdyx[l];
			g[l] = gamma[cb * k + l] * inv[l];
		}
		/* dx = gamma inv (dy - mean(dy) - xhat mean(dy xhat)) */
		for (int b = 0; b < p->B; b++) {
			const float *xb = x + AT(p, b, cb, k), *db = dy + AT(p, b, cb, k);
			float *dxb = dx + AT(p, b, cb, k);
			for (int64_t m = 0; m < p->M; m++)
				for (int l = 0; l < k; l++) {
					double xh = (xb[m * k + l] - mean[l]) * inv[l];
					dxb[m * k + l] = (float)(g[l] * (db[m * k + l] - sdy[l] / cnt - xh * sdyx[l] / cnt));
				}
		}
	}
}

void cords_bn_eval_backward_cpu(const cords_bn *p, const float *x, const float *dy, const float *gamma,
				const float *rmean, const float *rvar, float *dx, float *dgamma, float *dbeta)
{
	const int k = BLOCK(p);
#pragma omp parallel for schedule(static)
	for (int cb = 0; cb < p->C / k; cb++) {
		double inv[KMAX], sdy[KMAX] = {0}, sdyx[KMAX] = {0}, mu[KMAX];
		float g[KMAX];
		for (int l = 0; l < k; l++) {
			int c = cb * k + l;
			inv[l] = 1 / sqrt((double)rvar[c] + p->eps), mu[l] = rmean[c];
			g[l] = (float)(gamma[c] * inv[l]);
		}
		for (int b = 0; b < p->B; b++) {
			const float *xb = x + AT(p, b, cb, k), *db = dy + AT(p, b, cb, k);
			float *dxb = dx + AT(p, b, cb, k);
			for (int64_t m = 0; m < p->M; m++)
				for (int l = 0; l < k; l++) {
					sdy[l] += db[m * k + l];
					sdyx[l] += db[m * k + l] * (xb[m * k + l] - mu[l]) * inv[l];
					dxb[m * k + l] = db[m * k + l] * g[l];
				}
		}
		for (int l = 0; l < k; l++) {
			dbeta[cb * k + l] = (float)sdy[l];
			dgamma[cb * k + l] = (float)sdyx[l];
		}
	}
}
