/* BatchNorm2d (cords-training(7), stage 1) with PyTorch's semantics, CPU float kernels
 * that the backends wrap. x, y, dy, dx: [B,C,M] (M = H*W), plain or in
 * blocks of k channels ([B][C/k][M][k], the CPU backend's layout); per-channel
 * gamma, beta, running mean and variance [C]. Train mode normalises with the
 * batch statistics (biased variance) and updates the running ones:
 * running = (1 - momentum) running + momentum stat, with the unbiased variance
 * (M*B/(M*B-1)) as torch does. Eval mode uses the running statistics. */
#ifndef CORDS_BNORM_H
#define CORDS_BNORM_H

#include <stdint.h>

typedef struct {
	int B, C;
	int64_t M;       /* spatial size H*W */
	double momentum; /* 0.1 */
	double eps;      /* 1e-5 */
	int k;           /* channel block: 0 or 1 plain, else C % k == 0 and k <= 16 */
} cords_bn;

/* save_mean, save_invstd [C]: what the backward needs. rmean/rvar may be
 * NULL (no running statistics kept). */
void cords_bn_train_forward_cpu(const cords_bn *p, const float *x, const float *gamma, const float *beta,
				float *rmean, float *rvar, float *save_mean, float *save_invstd, float *y);
void cords_bn_eval_forward_cpu(const cords_bn *p, const float *x, const float *gamma, const float *beta,
			       const float *rmean, const float *rvar, float *y);
/* Gradients through the train-mode forward: dx (overwritten), dgamma and
 * dbeta (overwritten). */
void cords_bn_train_backward_cpu(const cords_bn *p, const float *x, const float *dy, const float *gamma,
				 const float *save_mean, const float *save_invstd, float *dx, float *dgamma,
				 float *dbeta);
/* Gradients through the eval-mode forward (statistics are constants). */
void cords_bn_eval_backward_cpu(const cords_bn *p, const float *x, const float *dy, const float *gamma,
				const float *rmean, const float *rvar, float *dx, float *dgamma, float *dbeta);

#endif
