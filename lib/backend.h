/* The backend interface: where the numbers live and the few operations the
 * model needs, behind a table of function pointers. The model code is written
 * once against it; lib/backend_cpu.c (oneDNN + our own OpenMP loops) and the
 * CUDA backend in kernels/ implement it.
 *
 * Buffers are opaque f32 tensors with a logical row-major shape. The backend
 * chooses the physical layout (the CPU one keeps [B,C,H,W] activations with
 * C % 8 == 0 in oneDNN's channel-blocked layout); upload and download always
 * speak plain row-major host arrays. Every [B,C,H,W] activation buffer keeps
 * each batch item contiguous, so a [1,C,H,W] buffer broadcasts over a batch.
 *
 * Adding an operation (backward passes, optimiser steps, ...) means appending
 * a member to struct cords_backend and implementing it in each backend;
 * existing members never change. A NULL member is an operation the backend
 * does not provide; call through the cords_be_* wrappers where that matters.
 * Every operation returns 0, or -1 with a message (lib/err.h). */
#ifndef CORDS_BACKEND_H
#define CORDS_BACKEND_H

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
 * beta is 0 (overwrite) or 1 (accumulate: a fused sum). */
typedef struct {
	int stride, pad;
	float beta;
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

static inline float cords_phi_apply(cords_phi p, float z)
{
	switch (p.kind) {
	case CORDS_PHI_RELU: return z > 0 ? z : 0;
	case CORDS_PHI_IDENTITY: return z;
	default: return z > 0 ? z : p.slope * z;
	}
}

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
};

/* "cpu", or "cuda" / "cuda:N" (an error "built without CUDA" unless the CUDA
 * backend is linked). The backend is created once per name and shared;
 * the caller does not destroy it. NULL with a message on failure. */
cords_backend *cords_backend_get(const char *device);

/* The two constructors behind it. cords_backend_cuda_new lives in kernels/:
 * kernels/absent.c (no CUDA) or the CUDA objects define it. */
cords_backend *cords_backend_cpu_new(void);
cords_backend *cords_backend_cuda_new(int device);

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

#endif
