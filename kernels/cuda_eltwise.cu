/* Element-wise work on the GPU, each forward beside its backward: fill, copy
 * (with batch broadcast), the fused leaky update, ReLU sums, the spatial mean
 * (and the read-out's backward through it) and the per-channel bias add.
 * Buffers are plain NCHW, so a [1,...] operand broadcasts by index modulo
 * its size. Kernels first, launchers after. */
#include "cuda.h"

__global__ void k_fill(float *d, size_t n, float v)
{
	FOR_EACH(i, n) d[i] = v;
}

/* dst [n] = src [per] repeated (per divides n). */
__global__ void k_repeat(float *dst, const float *src, size_t n, size_t per)
{
	FOR_EACH(i, n) dst[i] = src[i % per];
}

/* z += bias[i % per] (bias may be NULL); r_out = keep r + a phi(z), where
 * phi(z) = z > 0 ? z : s z (s = 0 ReLU, 1 identity, slope PReLU). */
__global__ void k_leaky(const float *r, float *z, const float *bias, float *out, size_t n, size_t per, float keep,
			float a, float s)
{
	FOR_EACH(i, n)
	{
		float v = z[i] + (bias ? bias[i % per] : 0.0f);
		z[i] = v;
		out[i] = keep * r[i] + a * (v > 0 ? v : s * v);
	}
}

/* dz = alpha phi'(z) dout; dr = (1 - alpha) dout + beta dr */
__global__ void k_leaky_bwd(const float *z, const float *d, float *dz, float *dr, size_t n, float alpha, float s,
			    float keep, float beta)
{
	FOR_EACH(i, n)
	{
		float g = d[i];
		dz[i] = alpha * (z[i] > 0 ? g : s * g);
		dr[i] = keep * g + (beta != 0 ? beta * dr[i] : 0.0f);
	}
}

/* y = relu(a) + (b ? (relu_b ? relu(b) : b) : 0) */
__global__ void k_relu_add(const float *a, const float *b, int relu_b, float *y, size_t n)
{
	FOR_EACH(i, n)
	{
		float u = fmaxf(a[i], 0.0f);
		if (b)
			u += relu_b ? fmaxf(b[i], 0.0f) : b[i];
		y[i] = u;
	}
}

/* dx += dy where x > 0 */
__global__ void k_relu_bwd_add(const float *x, const float *dy, float *dx, size_t n)
{
	FOR_EACH(i, n) dx[i] += x[i] > 0 ? dy[i] : 0.0f;
}

/* One block per (b,c) row of hw floats: y[row] = mean of the row, summed in
 * double as the CPU does (rows of 50,176 at 224x224). */
__global__ void k_row_mean(const float *x, float *y, size_t hw)
{
	__shared__ double part[CU_THREADS];
	const float *p = x + blockIdx.x * hw;
	double s = 0;
	for (size_t i = threadIdx.x; i < hw; i += blockDim.x)
		s += p[i];
	s = block_sum(s, part);
	if (threadIdx.x == 0)
		y[blockIdx.x] = (float)(s / (double)hw);
}

/* dx [BC,HW] += dy [BC] / HW where x > 0 */
__global__ void k_readout_bwd_add(const float *x, const float *dy, float *dx, size_t n, size_t hw)
{
	FOR_EACH(i, n) dx[i] += x[i] > 0 ? dy[i / hw] / (float)hw : 0.0f;
}

/* y [B,C,HW] += bias[c] */
__global__ void k_bias_channels(float *y, const float *bias, size_t n, size_t hw, size_t C)
{
	FOR_EACH(i, n) y[i] += bias[i / hw % C];
}

int cu_fill(cords_backend *be, cords_buf *buf, float v)
{
	cu_buf *b = CU_BUF(buf);
	k_fill<<<cu_blocks(b->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(b->d, b->n, v);
	return cu_launched("fill");
}

int cu_copy(cords_backend *be, cords_buf *dstb, const cords_buf *srcb)
{
	cu_impl *c = CU_IMPL(be);
	cu_buf *dst = CU_BUF(dstb);
	const cu_buf *src = CU_CBUF(srcb);
	if (src->n == dst->n) /* else src is dst's [1,...] slice */
		return cu_check(cudaMemcpyAsync(dst->d, src->d, src->n * sizeof(float), cudaMemcpyDeviceToDevice,
						c->stream),
				"copy");
	k_repeat<<<cu_blocks(dst->n), CU_THREADS, 0, c->stream>>>(dst->d, src->d, dst->n, src->n);
	return cu_launched("copy");
}

int cu_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *rb, cords_buf *zb,
	     const cords_buf *biasb, cords_buf *outb)
{
	const cu_buf *r = CU_CBUF(rb), *bias = CU_CBUF(biasb);
	cu_buf *z = CU_BUF(zb), *out = CU_BUF(outb);
	size_t per = bias ? bias->n : 1;
	k_leaky<<<cu_blocks(z->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		r->d, z->d, bias ? bias->d : NULL, out->d, z->n, per, 1.0f - alpha, alpha, cords_phi_slope(phi));
	return cu_launched("leaky");
}

int cu_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *zb, const cords_buf *doutb,
		 cords_buf *dzb, cords_buf *drb, float beta)
{
	size_t n = CU_CBUF(zb)->n;
	k_leaky_bwd<<<cu_blocks(n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		CU_CBUF(zb)->d, CU_CBUF(doutb)->d, CU_BUF(dzb)->d, CU_BUF(drb)->d, n, alpha, cords_phi_slope(phi),
		1.0f - alpha, beta);
	return cu_launched("leaky_bwd");
}

int cu_relu_add(cords_backend *be, const cords_buf *ab, const cords_buf *bb, int relu_b, cords_buf *yb)
{
	const cu_buf *a = CU_CBUF(ab), *b = CU_CBUF(bb);
	cu_buf *y = CU_BUF(yb);
	k_relu_add<<<cu_blocks(y->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(a->d, b ? b->d : NULL, relu_b, y->d,
									      y->n);
	return cu_launched("relu_add");
}

int cu_relu_bwd_add(cords_backend *be, const cords_buf *xb, const cords_buf *dyb, cords_buf *dxb)
{
	size_t n = CU_CBUF(xb)->n;
	k_relu_bwd_add<<<cu_blocks(n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(CU_CBUF(xb)->d, CU_CBUF(dyb)->d,
									   CU_BUF(dxb)->d, n);
	return cu_launched("relu_bwd_add");
}

int cu_spatial_mean(cords_backend *be, const cords_buf *xb, cords_buf *yb)
{
	const cu_buf *x = CU_CBUF(xb);
	cu_buf *y = CU_BUF(yb);
	if (!y->n)
		return 0;
	k_row_mean<<<(unsigned)y->n, CU_THREADS, 0, CU_IMPL(be)->stream>>>(x->d, y->d, x->n / y->n);
	return cu_launched("spatial_mean");
}

int cu_readout_bwd_add(cords_backend *be, const cords_buf *xb, const cords_buf *dyb, cords_buf *dxb)
{
	const cu_buf *x = CU_CBUF(xb), *dy = CU_CBUF(dyb);
	k_readout_bwd_add<<<cu_blocks(x->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		x->d, dy->d, CU_BUF(dxb)->d, x->n, (size_t)(x->h.shape[2] * x->h.shape[3]));
	return cu_launched("readout_bwd_add");
}

int cu_bias_channels(cu_impl *c, const cu_buf *bias, cu_buf *y)
{
	size_t hw = (size_t)(y->h.shape[2] * y->h.shape[3]);
	k_bias_channels<<<cu_blocks(y->n), CU_THREADS, 0, c->stream>>>(y->d, bias->d, y->n, hw,
									 (size_t)y->h.shape[1]);
	return cu_launched("conv2d bias");
}
