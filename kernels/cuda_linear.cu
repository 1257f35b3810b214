/* The fully connected read-out on cuBLAS: y [B,N] = x [B,K] w^T + bias, with
 * w [N,K] row-major, its backward, and its loss, the cross-entropy
 * (lib/cpu/readout.c's cords_xent_cpu; the twin of lib/cpu/cpu_linear.c). The handle's math mode keeps it f32
 * (or TF32 when asked, see cuda.h). Kernels first, launchers after. */
#include "cuda.h"

/* y [B,N] = bias [N] in every row. */
__global__ void k_rows(float *y, const float *bias, size_t n, size_t N)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		y[i] = bias[i % N];
}

/* db [N] = the column sums of dy [B,N], in double. */
__global__ void k_colsum(const float *dy, float *db, int B, int N)
{
	for (int n = blockIdx.x * blockDim.x + threadIdx.x; n < N; n += gridDim.x * blockDim.x) {
		double s = 0;
		for (int b = 0; b < B; b++)
			s += dy[(size_t)b * N + n];
		db[n] = (float)s;
	}
}

/* One block per row of logits [B,N]: its CE against hard[b] (an index as a
 * float) or the soft row, its argmax (the first of equals) and, if dl is
 * not NULL, dl = scale/B (softmax sum(t) - t). Block reductions in a fixed
 * tree, so the results do not change from run to run. */
__global__ void k_xent(const float *logits, const float *hard, const float *soft, float scale, float *dl, float *out,
		       int B, int N)
{
	__shared__ double part[CU_THREADS];
	__shared__ int arg[CU_THREADS];
	const int b = blockIdx.x, tid = threadIdx.x;
	const float *z = logits + (size_t)b * N;
	const float *t = soft ? soft + (size_t)b * N : NULL;
	const int k = hard ? (int)hard[b] : -1;
	int best = -1;
	for (int n = tid; n < N; n += blockDim.x)
		if (best < 0 || z[n] > z[best])
			best = n;
	arg[tid] = best;
	__syncthreads();
	for (int s = blockDim.x / 2; s > 0; s /= 2) {
		if (tid < s) {
			int o = arg[tid + s], m = arg[tid];
			if (o >= 0 && (m < 0 || z[o] > z[m] || (z[o] == z[m] && o < m)))
				arg[tid] = o;
		}
		__syncthreads();
	}
	const int top = arg[0];
	const double mx = z[top];
	double e = 0;
	for (int n = tid; n < N; n += blockDim.x)
		e += exp((double)z[n] - mx);
	const double lse = mx + log(block_sum(e, part));
	double ce = 0, mass = 0;
	if (t) {
		for (int n = tid; n < N; n += blockDim.x) {
			ce += t[n] * (lse - z[n]);
			mass += t[n];
		}
		ce = block_sum(ce, part);
		mass = block_sum(mass, part);
	} else {
		ce = lse - z[k];
		mass = 1;
	}
	if (tid == 0) {
		out[b] = (float)ce;
		out[B + b] = (float)top;
	}
	if (dl)
		for (int n = tid; n < N; n += blockDim.x)
			dl[(size_t)b * N + n] = (float)(scale * (exp((double)z[n] - lse) * mass - (t ? t[n] : n == k)) / B);
}

int cu_linear(cords_backend *be, const cords_buf *xb, const cords_buf *wb, const cords_buf *bb, cords_buf *yb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb), *w = CU_CBUF(wb), *b = CU_CBUF(bb);
	cu_buf *y = CU_BUF(yb);
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

int cu_linear_bwd_data(cords_backend *be, const cords_buf *dyb, const cords_buf *wb, cords_buf *dxb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *dy = CU_CBUF(dyb), *w = CU_CBUF(wb);
	cu_buf *dx = CU_BUF(dxb);
	const int B = (int)dy->h.shape[0], N = (int)w->h.shape[0], K = (int)w->h.shape[1];
	/* Column-major: dx^T [K,B] = (w^T [K,N]) (dy^T [N,B]); row-major w [N,K]
	 * is w^T column-major (ld K), dy [B,N] is dy^T (ld N). */
	const float one = 1.0f, zero = 0.0f;
	return cu_blas(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, K, B, N, &one, w->d, K, dy->d, N, &zero, dx->d, K),
		       "linear_bwd_data");
}

int cu_linear_bwd_weights(cords_backend *be, const cords_buf *dyb, const cords_buf *xb, cords_buf *dwb, cords_buf *dbb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *dy = CU_CBUF(dyb), *x = CU_CBUF(xb);
	cu_buf *dw = CU_BUF(dwb), *db = dbb ? CU_BUF(dbb) : NULL;
	const int B = (int)dy->h.shape[0], N = (int)dw->h.shape[0], K = (int)dw->h.shape[1];
	/* Column-major: dw^T [K,N] = (x^T [K,B]) (dy [B,N]); row-major x [B,K]
	 * is x^T (ld K), row-major dy [B,N] is dy^T (ld N), hence op T. */
	const float one = 1.0f, zero = 0.0f;
	if (cu_blas(cublasSgemm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, K, N, B, &one, x->d, K, dy->d, N, &zero, dw->d, K),
		    "linear_bwd_weights"))
		return -1;
	if (!db)
		return 0;
	k_colsum<<<cu_blocks((size_t)N), CU_THREADS, 0, c->stream>>>(dy->d, db->d, B, N);
	return cu_launched("linear_bwd_weights bias");
}

int cu_xent(cords_backend *be, const cords_buf *lb, const cords_buf *hb, const cords_buf *sb, float scale,
	    cords_buf *db, cords_buf *ob)
{
	const cu_buf *l = CU_CBUF(lb), *h = hb ? CU_CBUF(hb) : NULL, *s = sb ? CU_CBUF(sb) : NULL;
	cu_buf *d = db ? CU_BUF(db) : NULL, *o = CU_BUF(ob);
	const int64_t B = l->h.shape[0], N = l->h.shape[1];
	if (!B) /* no grid of 0 blocks */
		return 0;
	k_xent<<<(unsigned)B, CU_THREADS, 0, CU_IMPL(be)->stream>>>(l->d, h ? h->d : NULL, s ? s->d : NULL, scale,
								     d ? d->d : NULL, o->d, (int)B, (int)N);
	return cu_launched("xent");
}
