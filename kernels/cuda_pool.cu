/* Average pooling, k x k with stride and zero padding counted in the mean
 * (PyTorch's count_include_pad=True): one thread per output element.
 * Kernel first, launcher after. */
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

int cu_avgpool(cords_backend *be, const cords_pool *pp, const cords_buf *xb, cords_buf *yb)
{
	const cu_buf *x = CU_CBUF(xb);
	cu_buf *y = CU_BUF(yb);
	if (pp->k < 1 || pp->stride < 1 || pp->pad < 0 || x->h.ndim != 4 || y->h.ndim != 4 ||
	    x->h.shape[0] != y->h.shape[0] || x->h.shape[1] != y->h.shape[1] ||
	    y->h.shape[2] != (x->h.shape[2] + 2 * pp->pad - pp->k) / pp->stride + 1 ||
	    y->h.shape[3] != (x->h.shape[3] + 2 * pp->pad - pp->k) / pp->stride + 1)
		return cords_err("avgpool: shapes do not fit");
	k_avgpool<<<cu_blocks(y->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		x->d, y->d, y->n, (int)x->h.shape[2], (int)x->h.shape[3], (int)y->h.shape[2], (int)y->h.shape[3], pp->k,
		pp->stride, pp->pad);
	return cu_launched("avgpool");
}
