/* Internals of the CUDA backend, shared by the kernels/ sources (never by the model
 * code, which sees only lib/core/backend.h).
 *
 * One device, one main stream (and a stream for each lane the model code
 * asks for), one cuDNN and one cuBLAS handle bound to the current one. Every
 * buffer is plain row-major NCHW f32 in cudaMalloc'ed memory (never managed
 * memory); weights are plain [O,I,kh,kw], which is cuDNN's NCHW filter layout.
 * Convolution plans (descriptors and the algorithm cuDNN found fastest) are
 * made once per shape and kept; a workspace per lane, grown to the largest
 * plan's need, serves them.
 *
 * The device is made current once, in the thread that makes the backend;
 * the operations do not select it again. So a backend is used from that
 * thread, one CUDA backend per process (the tools make one); the eig
 * operator, which runs in threads of its own, selects its device per call. */
#ifndef CORDS_KERNELS_CUDA_H
#define CORDS_KERNELS_CUDA_H

extern "C" {
#include "backend.h"
#include "err.h"
}

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stddef.h>

/* Math the convolutions and the read-out may use: exact f32 FMA (the
 * default, so GPU and CPU answers agree), TF32 tensor cores, or bf16 ones
 * (the convolutions' operands rounded to bf16 on the way in, their f32 sums
 * rounded to bf16 on the way out; the read-out then in TF32). Chosen when
 * the backend is made (cords_backend_opts; the tools' --precision, else
 * CORDS_PRECISION). Buffers stay f32 in every case. */

typedef struct {
	cords_buf_head h;
	float *d; /* device memory, n floats */
	size_t n;
	int view; /* d belongs to another buffer (cu_view) */
} cu_buf;

typedef struct cu_plan cu_plan; /* a cached convolution (cuda_conv.cu) */
typedef struct cu_nccl cu_nccl; /* NCCL, loaded when first needed (cuda_nccl.cu) */
typedef struct cu_graph cu_graph; /* a replay's key and its CUDA graph (cuda_graph.cu) */

/* A lane (lib/core/backend.h): a stream, and a cuDNN workspace of its own, since
 * lanes run convolutions at the same time. Lane 0 is the main stream. */
enum { CU_LANES = 16 };
typedef struct {
	cudaStream_t stream; /* made when the lane is first used */
	cudaEvent_t done;    /* recorded on it at a join, for the main stream to wait on */
	void *work;
	size_t work_bytes;
	void *bf[3]; /* bf16 copies of a convolution's operands and result (CORDS_PREC_BF16) */
	size_t bf_bytes[3];
} cu_lane;

typedef struct {
	int device;
	cords_precision precision;
	int deterministic; /* backward convolutions: deterministic algorithms only */
	cudaStream_t stream; /* the current lane's: every operation queues here */
	cudnnHandle_t dnn;
	cublasHandle_t blas;
	cu_lane lane[CU_LANES];
	int cur;            /* the current lane */
	unsigned forked;    /* lanes (bits) started since the last join */
	cudaEvent_t fork;   /* where on the main stream they started */
	cu_plan *plans;
	cu_nccl *nccl;
	cu_graph **graphs; /* hash buckets of the replays' graphs */
	int graphs_on;     /* CORDS_GRAPHS, until a capture fails */
	int capturing;
	char name[16]; /* "cuda:N" */
} cu_impl;

#define CU_BUF(b) ((cu_buf *)(b))
#define CU_CBUF(b) ((const cu_buf *)(b))
#define CU_IMPL(be) ((cu_impl *)(be)->impl)

/* Make `device` the thread's current device, or say why not (none there,
 * no driver, index too high). */
int cu_select(int device);
/* Status to our error (naming what failed); 0 on success. */
int cu_check(cudaError_t e, const char *what);
int cu_dnn(cudnnStatus_t s, const char *what);
int cu_blas(cublasStatus_t s, const char *what);
/* After a kernel launch: the launch error, if any. */
int cu_launched(const char *what);
/* *buf (of *have bytes), grown to at least bytes for work on the current
 * stream; growing waits for that stream and drops every graph. NULL with a
 * message naming what, if it cannot. */
void *cu_grow(cu_impl *c, void **buf, size_t *have, size_t bytes, const char *what);
/* The current lane's workspace, grown to at least bytes (NULL with a
 * message if it cannot). */
void *cu_workspace(cu_impl *c, size_t bytes);
/* The current lane's bf16 scratch `slot` (0..2), grown to at least n
 * values (NULL with a message if it cannot). */
void *cu_bf16_scratch(cu_impl *c, int slot, size_t n);
/* Back to the main stream, after the lanes' work (lib/core/backend.h): what the
 * operations that reach the host do first; nothing when no lane is open. */
int cu_join(cu_impl *c);
/* Grid size for n threads in blocks of CU_THREADS, capped for grid-stride loops. */
enum { CU_THREADS = 256 };
unsigned cu_blocks(size_t n);

/* The operations (one family per file). */
int cu_fill(cords_backend *be, cords_buf *b, float v);
int cu_copy(cords_backend *be, cords_buf *dst, const cords_buf *src);
int cu_conv2d(cords_backend *be, const cords_conv *cv, const cords_buf *x, const cords_buf *w,
	      const cords_buf *bias, cords_buf *y);
void cu_plans_free(cu_impl *c);
int cu_avgpool(cords_backend *be, const cords_pool *p, const cords_buf *x, cords_buf *y);
int cu_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *r, cords_buf *z,
	     const cords_buf *bias, cords_buf *r_out);
int cu_relu_add(cords_backend *be, const cords_buf *a, const cords_buf *b, int relu_b, cords_buf *y);
int cu_spatial_mean(cords_backend *be, const cords_buf *x, cords_buf *y);
int cu_linear(cords_backend *be, const cords_buf *x, const cords_buf *w, const cords_buf *bias,
	      cords_buf *y);
int cu_linear_bwd_data(cords_backend *be, const cords_buf *dy, const cords_buf *w, cords_buf *dx);
int cu_linear_bwd_weights(cords_backend *be, const cords_buf *dy, const cords_buf *x, cords_buf *dw, cords_buf *db);
int cu_xent(cords_backend *be, const cords_buf *logits, const cords_buf *hard, const cords_buf *soft, float scale,
	    cords_buf *dlogits, cords_buf *out);
/* Training (cuda_conv.cu, cuda_pool.cu, cuda_eltwise.cu, cuda_train.cu). */
int cu_conv2d_bwd_data(cords_backend *be, const cords_conv *c, const cords_buf *dy, const cords_buf *w,
		       cords_buf *dx);
int cu_conv2d_bwd_weights(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *dy,
			  cords_buf *dw);
int cu_avgpool_bwd(cords_backend *be, const cords_pool *p, const cords_buf *dy, cords_buf *dx);
int cu_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *z, const cords_buf *dout,
		 cords_buf *dz, cords_buf *dr, float beta);
int cu_relu_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx);
int cu_readout_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx);
int cu_batch_sum(cords_backend *be, const cords_buf *dz, cords_buf *db, float beta);
int cu_axpby(cords_backend *be, float a, const cords_buf *x, float b, cords_buf *y);
int cu_sqdiff_sum(cords_backend *be, const cords_buf *x, const cords_buf *y, double *out);
int cu_wnorm(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w);
int cu_wnorm_bwd(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw, cords_buf *dg,
		 cords_buf *dv);
int cu_optim(cords_backend *be, const cords_optim *o, cords_buf *p, cords_buf *g, cords_buf *m, cords_buf *v);
int cu_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *gamma,
		 const cords_buf *beta, cords_buf *rmean, cords_buf *rvar, cords_buf *save_mean, cords_buf *save_invstd,
		 cords_buf *y);
int cu_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *dy,
		     const cords_buf *gamma, const cords_buf *save_mean, const cords_buf *save_invstd,
		     const cords_buf *rmean, const cords_buf *rvar, cords_buf *dx, cords_buf *dgamma, cords_buf *dbeta,
		     float beta);
/* No lanes open, the main stream current, whatever state the lanes were in
 * (after a failed capture). */
void cu_lanes_reset(cu_impl *c);
/* Replays as CUDA graphs (cuda_graph.cu); every graph dropped (they hold
 * device addresses: after a free or a workspace grown). */
int cu_replay(cords_backend *be, const void *key, size_t n, int (*fn)(void *), void *arg);
void cu_graphs_drop(cu_impl *c);
/* Across ranks (cuda_nccl.cu). */
int cu_allreduce(cords_backend *be, cords_buf *b);
void cu_nccl_free(cu_nccl *n);
/* y [B,C,H,W] += bias [C] (cuda_eltwise.cu; the convolution's bias). */
int cu_bias_channels(cu_impl *c, const cu_buf *bias, cu_buf *y);

/* Grid-stride loops: any n with a capped grid. */
#define FOR_EACH(i, n) \
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); i += (size_t)gridDim.x * blockDim.x)

/* The block's sum of v (double), left in part[0]; every thread calls it. */
static __device__ inline double block_sum(double v, double *part)
{
	part[threadIdx.x] = v;
	__syncthreads();
	for (unsigned k = blockDim.x / 2; k > 0; k /= 2) {
		if (threadIdx.x < k)
			part[threadIdx.x] += part[threadIdx.x + k];
		__syncthreads();
	}
	double s = part[0];
	__syncthreads();
	return s;
}

#endif
