/* Average pooling, k x k with stride and zero padding counted in the mean
 * (PyTorch's count_include_pad=True), and its backward: one thread per
 * output element (forward) or per input element, gathering the windows that
 * cover it (backward, so no atomics). Kernels first, launchers after. */
#include "cuda.h"

/* x [BC,H,W] -> y [BC,OH,OW] */
__global__ void k_avgpool(const float *x, float *y, size_t n, int H, int W, int OH, int OW, int k, int stride,
			  int pad)
{
	const float inv = 1.0f / (float)(k * k);
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		int ox = (int)(i % OW), oy = (int)(i / OW % OH);
		const float *p = x + i / ((size_t)OW * OH) * ((size_t)H * W);
		int y0 = oy * stride - pad, x0 = ox * stride - pad;
		float s = 0;
		for (int dy = 0; dy < k; dy++) {
			int yy = y0 + dy;
			if (yy < 0 || yy >= H)
				continue;
			for (int dx = 0; dx < k; dx++) {
				int xx = x0 + dx;
				if (xx >= 0 && xx < W)
					s += p[(size_t)yy * W + xx];
			}
		}
		y[i] = s * inv;
	}
}

/* dx [BC,H,W] = sum over the windows covering each pixel of dy [BC,OH,OW] / k^2 */
__global__ void k_avgpool_bwd(const float *dy, float *dx, size_t n, int H, int W, int OH, int OW, int k, int stride,
			      int pad)
{
	const float inv = 1.0f / (float)(k * k);
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		int x = (int)(i % W) + pad, y = (int)(i / W % H) + pad;
		const float *g = dy + i / ((size_t)W * H) * ((size_t)OH * OW);
		/* Outputs o with o stride <= y + pad < o stride + k. */
		int oy0 = y < k ? 0 : (y - k) / stride + 1, oy1 = min(y / stride, OH - 1);
		int ox0 = x < k ? 0 : (x - k) / stride + 1, ox1 = min(x / stride, OW - 1);
		float s = 0;
		for (int oy = oy0; oy <= oy1; oy++)
			for (int ox = ox0; ox <= ox1; ox++)
				s += g[(size_t)oy * OW + ox];
		dx[i] = s * inv;
	}
}

int cu_avgpool_bwd(cords_backend *be, const cords_pool *pp, const cords_buf *dyb, cords_buf *dxb)
{
	const cu_buf *dy = CU_CBUF(dyb);
	cu_buf *dx = CU_BUF(dxb);
	k_avgpool_bwd<<<cu_blocks(dx->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		dy->d, dx->d, dx->n, (int)dx->h.shape[2], (int)dx->h.shape[3], (int)dy->h.shape[2],
		(int)dy->h.shape[3], pp->k, pp->stride, pp->pad);
	return cu_launched("avgpool_bwd");
}

int cu_avgpool(cords_backend *be, const cords_pool *pp, const cords_buf *xb, cords_buf *yb)
{
	const cu_buf *x = CU_CBUF(xb);
	cu_buf *y = CU_BUF(yb);
	k_avgpool<<<cu_blocks(y->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		x->d, y->d, y->n, (int)x->h.shape[2], (int)x->h.shape[3], (int)y->h.shape[2], (int)y->h.shape[3], pp->k,
		pp->stride, pp->pad);
	return cu_launched("avgpool");
}
