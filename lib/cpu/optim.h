/* Optimisers with PyTorch's semantics (cords-training(7)), plain CPU float kernels that
 * the backends wrap: AdamW (decoupled weight decay), SGD with momentum and
 * L2 weight decay, the linear warm-up of the learning rate and clipping by the
 * global L2 norm. Each step works on one flat parameter array; a trainer calls
 * it once per tensor with the same settings. */
#ifndef CORDS_OPTIM_H
#define CORDS_OPTIM_H

#include <stdint.h>

typedef struct {
	double lr, beta1, beta2, eps, weight_decay;
} cords_adamw;
/* PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
cords_adamw cords_adamw_defaults(void);

/* One AdamW step (torch.optim.AdamW, amsgrad off) on p [n] with gradient g;
 * m, v are the moment buffers (zero before the first step); step is 1-based. */
void cords_adamw_step_cpu(const cords_adamw *o, int64_t step, float *p, const float *g, float *m, float *v,
			  int64_t n);

typedef struct {
	double lr, momentum, weight_decay;
} cords_sgd;
/* One SGD step (torch.optim.SGD, dampening 0, not Nesterov): d = g + wd p;
 * buf = d on the first step, else momentum buf + d; p -= lr buf. */
void cords_sgd_step_cpu(const cords_sgd *o, int first, float *p, const float *g, float *buf, int64_t n);

/* Linear warm-up (torch LinearLR): lr * (f0 + (1 - f0) min(k, K) / K) for
 * batch k (0-based) of a round, K warm-up batches (K = 0: no warm-up). */
double cords_warmup_lr(double lr, int64_t k, int64_t K, double f0);
/* Cosine decay from lr at k = 0 to 0 at k = K (and after). */
double cords_cosine_lr(double lr, int64_t k, int64_t K);

/* The factor clip_grad_norm_ multiplies every gradient by, given the global
 * norm: min(1, max_norm / (norm + 1e-6)); max_norm <= 0 means no clipping. */
double cords_clip_factor(double norm, double max_norm);
void cords_scale_cpu(float *g, int64_t n, float s);

#endif
