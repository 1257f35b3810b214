/* The backend interface: where the numbers live and the few operations the
 * model needs, behind a table of function pointers. The model code is written
 * once against it; lib/cpu/backend_cpu.c (oneDNN + our own OpenMP loops) and the
 * CUDA backend in kernels/ implement it.
 *
 * Buffers are opaque f32 tensors with a logical row-major shape. The backend
 * chooses the physical layout (the CPU one keeps [B,C,H,W] activations with
 * C % 8 == 0 in oneDNN's channel-blocked layout); upload and download always
 * speak plain row-major host arrays. Every [B,C,H,W] activation buffer keeps
 * each batch item contiguous, so a [1,C,H,W] buffer broadcasts over a batch.
 *
 * Adding an operation (backward passes, optimiser steps, ...) means appending
 * a member to struct cords_backend, checking its arguments at the seam
 * (lib/core/backend_check.c) and implementing it in each backend, which
 * then only computes; existing members never change. A NULL member is an operation the backend
 * does not provide; call through the cords_be_* wrappers where that matters.
 * Every operation returns 0, or -1 with a message (lib/core/err.h). */
#ifndef CORDS_BACKEND_H
#define CORDS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

typedef struct cords_backend cords_backend;
typedef struct cords_buf cords_buf;

/* What a buffer holds decides its physical layout. */
typedef enum {
	CORDS_BUF_ACT = 0,    /* activations [B,C,H,W] (or any other shape: plain) */
	CORDS_BUF_WEIGHT = 1, /* conv weights [O,I,kh,kw], laid out for the convs that use them */
} cords_buf_kind;

/* y = conv(x, w) (+ bias[o]) + beta * y. x [B,I,H,W], w [O,I,k,k] (kind
 * WEIGHT), bias [O] or NULL, y [B,O,H',W'] with H' = (H + 2 pad - k)/stride + 1.
 * beta is 0 (overwrite) or 1 (accumulate: a fused sum). once: the weights
 * change before the forward uses them again (a CNN training step), so a
 * backend should not keep a transformed copy of them (the CPU's Winograd
 * weights cost as much to make as the convolution itself). */
typedef struct {
	int stride, pad;
	float beta;
	int once;
} cords_conv;

/* Average pooling, k x k, stride, pad; zero padding counted in the mean
 * (PyTorch's count_include_pad=True). */
typedef struct {
	int k, stride, pad;
} cords_pool;

/* phi: ReLU, identity, or PReLU with one shared slope:
 * phi(z) = max(z,0) + slope * min(z,0). */
typedef enum { CORDS_PHI_RELU = 0, CORDS_PHI_IDENTITY = 1, CORDS_PHI_PRELU = 2 } cords_phi_kind;
typedef struct {
	cords_phi_kind kind;
	float slope; /* PReLU only */
} cords_phi;

/* phi(z) = z > 0 ? z : s z and phi'(z) = z > 0 ? 1 : s, for s the slope
 * below zero: 0 for ReLU, 1 for identity. What both backends compute. */
static inline float cords_phi_slope(cords_phi p)
{
	return p.kind == CORDS_PHI_RELU ? 0.0f : p.kind == CORDS_PHI_IDENTITY ? 1.0f : p.slope;
}

/* BatchNorm over the channels of [B,C,H,W] (cords-training(7), stage 1): train mode
 * normalises with the batch statistics (biased variance) and updates the
 * running ones with momentum (unbiased variance), as torch does; eval mode
 * uses the running statistics. */
typedef struct {
	int train;
	float momentum, eps; /* 0.1, 1e-5 */
} cords_bn_mode;

/* One optimiser step's settings (the backends' optim). */
typedef struct {
	int adamw;         /* 1: AdamW, 0: SGD */
	double lr, weight_decay;
	double beta1, beta2, eps; /* AdamW */
	double momentum;          /* SGD */
	int64_t step;             /* 1-based: AdamW's bias correction; SGD's first step fills its buffer */
	float scale;              /* the gradient's factor (clipping), 1 for none */
} cords_optim;

/* The arithmetic of a backend's convolutions (and CUDA's matrix products):
 * fp32, TF32 (CUDA) or bf16 inputs with f32 accumulation (CUDA; the CPU's
 * with AVX512_BF16 or AMX). cords-cuda(7), cords-backend(7). */
typedef enum { CORDS_PREC_FP32 = 0, CORDS_PREC_TF32 = 1, CORDS_PREC_BF16 = 2 } cords_precision;

struct cords_backend {
	const char *name; /* "cpu", "cuda:0" */
	void *impl;       /* the backend's own state */

	/* Zero-filled buffer of the given logical shape (ndim 1..4). */
	cords_buf *(*alloc)(cords_backend *be, cords_buf_kind kind, int ndim, const int64_t *shape);
	void (*free)(cords_backend *be, cords_buf *b); /* NULL is a no-op */
	/* host: prod(shape) floats, row-major. */
	int (*upload)(cords_backend *be, cords_buf *b, const float *host);
	int (*download)(cords_backend *be, const cords_buf *b, float *host);
	int (*fill)(cords_backend *be, cords_buf *b, float value);
	/* dst = src, same shape; or src [1,...] broadcast to dst [B,...]. */
	int (*copy)(cords_backend *be, cords_buf *dst, const cords_buf *src);

	int (*conv2d)(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *w,
		      const cords_buf *bias, cords_buf *y);
	int (*avgpool)(cords_backend *be, const cords_pool *p, const cords_buf *x, cords_buf *y);

	/* The leaky update of one area, fused: z += bias (bias [1,C,H,W]
	 * broadcast over the batch, or NULL), then
	 * r_out = (1 - alpha) r + alpha * phi(z). z keeps the pre-activation.
	 * r_out may be r. All [B,C,H,W] alike. */
	int (*leaky)(cords_backend *be, float alpha, cords_phi phi, const cords_buf *r, cords_buf *z,
		     const cords_buf *bias, cords_buf *r_out);
	/* y = relu(a) + (b ? (relu_b ? relu(b) : b) : 0); same shapes; y may be a or b. */
	int (*relu_add)(cords_backend *be, const cords_buf *a, const cords_buf *b, int relu_b, cords_buf *y);
	/* y [B,C] = mean over h,w of x [B,C,H,W]. */
	int (*spatial_mean)(cords_backend *be, const cords_buf *x, cords_buf *y);
	/* y [B,N] = x [B,K] w^T (w [N,K], plain) + bias [N] (or NULL). */
	int (*linear)(cords_backend *be, const cords_buf *x, const cords_buf *w, const cords_buf *bias,
		      cords_buf *y);

	/* Wait for queued work (a no-op on the CPU). */
	int (*sync)(cords_backend *be);
	void (*destroy)(cords_backend *be);

	/* ---- Training: backward passes and the reductions trainers need. ---- */
	/* dx [B,I,H,W] (+)= d(conv2d)/dx applied to dy [B,O,H',W'] (w kind
	 * WEIGHT); c->beta 0 overwrites dx, 1 accumulates. */
	int (*conv2d_bwd_data)(cords_backend *be, const cords_conv *c, const cords_buf *dy, const cords_buf *w,
			       cords_buf *dx);
	/* dw [O,I,k,k] (kind WEIGHT, plain) (+)= d(conv2d)/dw for input x and dy
	 * (c->beta as above). */
	int (*conv2d_bwd_weights)(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *dy,
				  cords_buf *dw);
	/* dx = avgpool backward of dy (overwritten). */
	int (*avgpool_bwd)(cords_backend *be, const cords_pool *p, const cords_buf *dy, cords_buf *dx);
	/* Backward of leaky (z: the pre-activation it kept, dout: gradient of
	 * r_out): dz = alpha phi'(z) dout (overwritten); dr = (1 - alpha) dout
	 * + beta dr. phi'(0) is 0 for ReLU, the slope for PReLU (torch's). */
	int (*leaky_bwd)(cords_backend *be, float alpha, cords_phi phi, const cords_buf *z, const cords_buf *dout,
			 cords_buf *dz, cords_buf *dr, float beta);
	/* dx += dy where x > 0 (backward of relu(x)); same shapes. */
	int (*relu_bwd_add)(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx);
	/* dx [B,C,H,W] += dy [B,C] / (H W) where x > 0: backward of
	 * mean_hw(relu(x)) (the read-out). */
	int (*readout_bwd_add)(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx);
	/* db [1,...] = sum over the batch of dz [B,...] + beta db. */
	int (*batch_sum)(cords_backend *be, const cords_buf *dz, cords_buf *db, float beta);
	/* y = a x + b y; x of y's shape or its [1,...] slice (broadcast). */
	int (*axpby)(cords_backend *be, float a, const cords_buf *x, float b, cords_buf *y);
	/* *out = sum of (x - y)^2 (y of x's shape, its [1,...] slice, or NULL
	 * for 0), in double, the same for any thread count. */
	int (*sqdiff_sum)(cords_backend *be, const cords_buf *x, const cords_buf *y, double *out);
	/* BatchNorm forward: x, y [B,C,H,W]; gamma, beta, running mean/var,
	 * save_mean, save_invstd [C]. Train mode fills save_* and updates the
	 * running statistics (if not NULL); eval mode reads them. */
	int (*batchnorm)(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *gamma,
			 const cords_buf *beta, cords_buf *rmean, cords_buf *rvar, cords_buf *save_mean,
			 cords_buf *save_invstd, cords_buf *y);
	/* BatchNorm backward: dx (overwritten), dgamma and dbeta [C] (+ beta
	 * times their old value: 0 or 1); train mode uses save_*, eval mode the
	 * running statistics. */
	int (*batchnorm_bwd)(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *dy,
			     const cords_buf *gamma, const cords_buf *save_mean, const cords_buf *save_invstd,
			     const cords_buf *rmean, const cords_buf *rvar, cords_buf *dx, cords_buf *dgamma,
			     cords_buf *dbeta, float beta);
	/* Batch items [at, at + n) of the activation buffer b [B,...] as a
	 * buffer [n,...] of its own that shares b's memory: writing through it
	 * writes b. Free it with free (b's memory stays b's); b outlives it. */
	cords_buf *(*view)(cords_backend *be, cords_buf *b, int64_t at, int64_t n);
	/* The bytes free for buffers now: a device's free memory. NULL where
	 * there is no such limit to ask (the CPU). The trainers size what they
	 * keep for backpropagation by it. */
	int (*mem_free)(cords_backend *be, size_t *bytes);
	/* b = its sum over the ranks of an mpirun (lib/train/dist.h), in place, by
	 * the device's own collectives (NCCL on CUDA); with one rank, a
	 * single-rank communicator. NULL where the backend has none: the
	 * trainers then sum over MPI on the host. */
	int (*allreduce)(cords_backend *be, cords_buf *b);
	/* Concurrency, as a hint. Calls made after lane(be, k), k >= 1, may run
	 * alongside those of the other lanes, after everything queued before
	 * the first of them; lane(be, 0) joins: what follows waits for every
	 * lane. Until the join, a lane writes nothing another lane reads or
	 * writes (test/unit/lanes.c checks the model code for it). upload,
	 * download, sync, sqdiff_sum, allreduce, alloc and free of a buffer
	 * (not of a view) join first. k < 16. NULL: one queue in call order
	 * (the CPU). */
	int (*lane)(cords_backend *be, int k);
	/* fn(arg) queues work on be through its operations and lanes, ends
	 * joined, and calls nothing that reaches the host (upload, download,
	 * sync, sqdiff_sum, allreduce, alloc, free of a buffer). A backend may
	 * record what fn queues under key (key_size bytes of everything fn's
	 * calls depend on: buffers by their owners, numbers) and, while no
	 * buffer is freed, replay the record instead of calling fn when the key
	 * comes again (CUDA graphs). test/unit/lanes.c checks that the model
	 * code's keys say it all. NULL: fn(arg), every time. */
	int (*replay)(cords_backend *be, const void *key, size_t key_size, int (*fn)(void *arg), void *arg);

	/* ---- Parameters: weight norm and the optimiser, where the weights live. ---- */
	/* Weight norm (cords-model(7)), row by row: w[o,:] = g[o] v[o,:] / ||v[o,:]||,
	 * O = numel(g) rows of numel(v) / O. g, v plain (not [B,C,H,W] with
	 * blocked channels: give them as [O] and [O,K]); w of v's element
	 * count, kind WEIGHT or plain. */
	int (*wnorm)(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w);
	/* Its backward from dw (like w): dg[o] = dw[o,:].v[o,:] / ||v[o,:]||,
	 * dv = g/||v|| (dw - dg v/||v||); both overwritten. */
	int (*wnorm_bwd)(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw,
			 cords_buf *dg, cords_buf *dv);
	/* One optimiser step (lib/cpu/optim.h's arithmetic) on p: g is first scaled
	 * in place by o->scale (clipping), then AdamW (moments m, v) or SGD
	 * (momentum buffer m; v unused, may be NULL). All of p's shape. */
	int (*optim)(cords_backend *be, const cords_optim *o, cords_buf *p, cords_buf *g, cords_buf *m, cords_buf *v);

	/* ---- The read-out's backward and its loss, where the features live. ---- */
	/* dx [B,K] = dy [B,N] w [N,K] (w plain), overwritten: linear's backward. */
	int (*linear_bwd_data)(cords_backend *be, const cords_buf *dy, const cords_buf *w, cords_buf *dx);
	/* dw [N,K] = dy^T x (x [B,K]) and db [N] (or NULL) = the column sums of
	 * dy, both overwritten. */
	int (*linear_bwd_weights)(cords_backend *be, const cords_buf *dy, const cords_buf *x, cords_buf *dw,
				  cords_buf *db);
	/* Cross-entropy of each row of logits [B,N] (lib/cpu/readout.h): against hard
	 * [B] (class indices, as floats) or soft [B,N] labels, exactly one of
	 * them given. out [2,B]: out[0,b] = CE of row b, out[1,b] = the index of
	 * its largest logit (the first of equals). dlogits [B,N] (or NULL) =
	 * scale/B times d(sum_b CE_b)/d(logits), overwritten. Sums in double. */
	int (*xent)(cords_backend *be, const cords_buf *logits, const cords_buf *hard, const cords_buf *soft, float scale,
		    cords_buf *dlogits, cords_buf *out);

	/* The precision it was made with (cords_backend_new sets it): what it
	 * computed depends on it (the spontaneous-state cache says which). */
	cords_precision precision;
};

/* be->op(be, ...) for the backend `be` in scope: how the model code and
 * the trainers call operations. */
#define CALL(op, ...) (be->op(be, __VA_ARGS__))

/* replay(be, ...) where the backend has it, else fn(arg). */
static inline int cords_be_replay(cords_backend *be, const void *key, size_t key_size, int (*fn)(void *arg),
				  void *arg)
{
	return be->replay ? be->replay(be, key, key_size, fn, arg) : fn(arg);
}

/* lane(be, k) where the backend has lanes; nothing where it has not. */
static inline int cords_be_lane(cords_backend *be, int k)
{
	return be->lane ? be->lane(be, k) : 0;
}

/* The CPU backend's algorithm for 3x3 stride-1 convolutions (cords(7), CORDS_CONV). */
typedef enum { CORDS_CONV_AUTO = 0, CORDS_CONV_DIRECT = 1, CORDS_CONV_WINOGRAD = 2 } cords_conv_algo;

/* How a backend is made: every setting it has, given when it is created.
 * The tools fill them from their options and the environment (env.h). */
typedef struct {
	cords_precision precision; /* CUDA; the CPU's fp32 or bf16 */
	int threads;               /* CPU: OpenMP threads from now on; 0: OpenMP's own (OMP_NUM_THREADS, else all) */
	cords_conv_algo conv;      /* CPU */
	int lanes;                 /* CUDA: 1: calls in lanes run concurrently (cords_be_lane), 0: in order */
	int deterministic;         /* CUDA: 1: only cuDNN's deterministic algorithms */
	int graphs;                /* CUDA: 1: replays as CUDA graphs (cords_be_replay) */
	int profile;               /* 1: every call waited for and timed (cords_backend_profile) */
} cords_backend_opts;
/* fp32, OpenMP's threads, auto convolutions, lanes, deterministic, graphs, no profile. */
extern const cords_backend_opts cords_backend_defaults;

/* A backend for device "cpu", or "cuda" / "cuda:N" (an error "built without
 * CUDA" unless the CUDA backend is linked), made with o (NULL: the
 * defaults). Every operation's shapes and arguments are checked here, at
 * the seam, as this file states them, before the backend computes
 * (lib/core/backend_check.c). The CPU backend sets flush-to-zero (FTZ, DAZ) for the process's threads, as
 * deep-learning frameworks run: decaying states and gradients would
 * otherwise slow every kernel many times. Destroy it with be->destroy(be).
 * NULL with a message on failure. */
cords_backend *cords_backend_new(const char *device, const cords_backend_opts *o);
/* The same, made once per device and shared for the life of the process
 * (the caller does not destroy it); asking again with other options is an
 * error. */
cords_backend *cords_backend_get(const char *device, const cords_backend_opts *o);
/* The same names as a number: -1 for "cpu", N for CUDA device N; -1 with a
 * message (returned) when the name is none of them. */
int cords_device_index(const char *device, int *index);

/* The table of a backend made with o->profile (lib/core/backend_prof.c) as
 * text, every line starting with prefix: NULL (no message) for a backend
 * without one, or with a message when out of memory. The caller frees it and
 * prints it (the tools, at exit). */
char *cords_backend_profile(const cords_backend *be, const char *prefix);

/* The wrappers and backends behind cords_backend_new (call that instead):
 * the checks at the seam, the profiler, and the two backends themselves,
 * which trust their arguments. cords_backend_cuda_new lives in kernels/:
 * kernels/absent.c (no CUDA) or the CUDA objects define it. */
cords_backend *cords_backend_checked(cords_backend *be);
cords_backend *cords_backend_profiled(cords_backend *be);
cords_backend *cords_backend_cpu_new(const cords_backend_opts *o);
cords_backend *cords_backend_cuda_new(int device, const cords_backend_opts *o);
/* The CUDA devices this process sees (0 without any, or without CUDA). */
int cords_cuda_device_count(void);

/* Logical shape of a buffer (any backend): ndim, and shape[0..ndim-1]. */
int cords_buf_ndim(const cords_buf *b);
const int64_t *cords_buf_shape(const cords_buf *b);
int64_t cords_buf_numel(const cords_buf *b);

/* Every backend's buffer starts with this header, so the shape queries above
 * and shape checks are shared. */
typedef struct {
	int ndim;
	int64_t shape[4];
	cords_buf_kind kind;
} cords_buf_head;

/* Fill a backend's buffer header from a logical shape; returns the element
 * count. */
size_t cords_buf_head_init(cords_buf_head *h, cords_buf_kind kind, int ndim, const int64_t *shape);

/* For the view op: the header of items [at, at + n) of b (checked at the
 * seam), its element count and its offset in b's elements. */
void cords_buf_view_head(const cords_buf_head *b, int64_t at, int64_t n, cords_buf_head *v, size_t *offset,
			 size_t *count);

#endif
