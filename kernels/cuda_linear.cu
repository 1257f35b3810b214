/* The fully connected read-out on cuBLAS: y [B,N] = x [B,K] w^T + bias, with
 * w [N,K] row-major. The handle's math mode keeps it f32 (or TF32 when asked,
 * see cuda.h). Kernel first, launcher after. */
#include "cuda.h"

/* y [B,N] = bias [N] in every row. */
__global__ void k_rows(float *y, const float *bias, size_t n, size_t N)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		y[i] = bias[i % N];
}

int cu_linear(cords_backend *be, const cords_buf *xb, const cords_buf *wb, const cords_buf *bb, cords_buf *yb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb), *w = CU_CBUF(wb), *b = CU_CBUF(bb);
	cu_buf *y = CU_BUF(yb);
	if (x->h.ndim != 2 || w->h.ndim != 2 || y->h.ndim != 2 || x->h.shape[1] != w->h.shape[1] ||
	    y->h.shape[0] != x->h.shape[0] || y->h.shape[1] != w->h.shape[0] ||
	    (b && (b->h.ndim != 1 || b->h.shape[0] != w->h.shape[0])))
		return cords_err("linear: expects x [B,K], w [N,K], bias [N], y [B,N]");
	const int B = (int)x->h.shape[0], K = (int)x->h.shape[1], N = (int)w->h.shape[0];
	if (b) {
		k_rows<<<cu_blocks(y->n), CU_THREADS, 0, c->stream>>>(y->d, b->d, y->n, (size_t)N);
		if (cu_launched("linear bias"))
			return -1;
	}
	/* Column-major view: y^T [N,B] = (w [N,K]) (x^T [K,B]); w row-major is
	 * w^T column-major with leading dimension K, hence op T. */
	const float one = 1.0f, beta = b ? 1.0f : 0.0f;
	return cu_blas(cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, B, K, &one, w->d, K, x->d, K, &beta, y->d, N),
		       "linear");
}
