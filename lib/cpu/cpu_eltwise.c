/* The CPU backend's own element-wise loops, each forward beside its
 * backward: the fused leaky update, ReLU sums, the spatial mean (and the
 * read-out's backward through it). Element-wise ops work on the physical
 * arrays directly: buffers of one shape share one layout, and each batch item
 * is one contiguous block, so [1,...] broadcasts by index. */
#include "backend_cpu.h"
#include "err.h"

#include <string.h>

/* Below this many floats a loop runs on one thread: a parallel region costs
 * more than it saves (the deep areas at batch 1 are a few thousand values). */
#define PAR_MIN 32768

int cpu_fill(cords_backend *be, cords_buf *buf, float v)
{
	cpu_buf *b = CPU_BUF(buf);
	float *d = b->data;
	int64_t n = (int64_t)b->n;
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
	for (int64_t i = 0; i < n; i++)
		d[i] = v;
	return 0;
}

int cpu_copy(cords_backend *be, cords_buf *dstb, const cords_buf *srcb)
{
	cpu_buf *dst = CPU_BUF(dstb);
	const cpu_buf *src = CPU_CBUF(srcb);
	if (src->n == dst->n) { /* else src is dst's [1,...] slice */
		memcpy(dst->data, src->data, src->n * sizeof(float));
		return 0;
	}
	for (int64_t b = 0; b < dst->h.shape[0]; b++)
		memcpy(dst->data + (size_t)b * src->n, src->data, src->n * sizeof(float));
	return 0;
}

int cpu_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *rb, cords_buf *zb,
	      const cords_buf *biasb, cords_buf *outb)
{
	const cpu_buf *r = CPU_CBUF(rb), *bias = CPU_CBUF(biasb);
	cpu_buf *z = CPU_BUF(zb), *out = CPU_BUF(outb);
	const float s = cords_phi_slope(phi), a = alpha, keep = 1.0f - alpha;
	const int64_t B = z->h.shape[0], per = (int64_t)z->n / B;
	const float *rp = r->data, *bp = bias ? bias->data : NULL;
	float *zp = z->data, *op = out->data;
	/* Chunks of 1024 floats spread the work over threads even for batch 1. */
	const int64_t chunk = 1024, nch = (per + chunk - 1) / chunk;
#pragma omp parallel for collapse(2) schedule(static) if (B * per >= PAR_MIN)
	for (int64_t b = 0; b < B; b++)
		for (int64_t ch = 0; ch < nch; ch++) {
			int64_t lo = ch * chunk, hi = lo + chunk < per ? lo + chunk : per, o = b * per;
#pragma omp simd
			for (int64_t i = lo; i < hi; i++) {
				float v = zp[o + i] + (bp ? bp[i] : 0.0f);
				zp[o + i] = v;
				op[o + i] = keep * rp[o + i] + a * (v > 0 ? v : s * v);
			}
		}
	return 0;
}

int cpu_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *zb, const cords_buf *doutb,
		  cords_buf *dzb, cords_buf *drb, float beta)
{
	const float *z = CPU_CBUF(zb)->data, *d = CPU_CBUF(doutb)->data;
	float *dz = CPU_BUF(dzb)->data, *dr = CPU_BUF(drb)->data;
	const float s = cords_phi_slope(phi);
	const float keep = 1.0f - alpha;
	const int64_t n = (int64_t)CPU_CBUF(zb)->n;
#pragma omp parallel for simd schedule(static)
	for (int64_t i = 0; i < n; i++) {
		float g = d[i];
		dz[i] = alpha * (z[i] > 0 ? g : s * g);
		dr[i] = keep * g + (beta != 0 ? beta * dr[i] : 0.0f);
	}
	return 0;
}

int cpu_relu_add(cords_backend *be, const cords_buf *ab, const cords_buf *bb, int relu_b, cords_buf *yb)
{
	const cpu_buf *a = CPU_CBUF(ab), *b = CPU_CBUF(bb);
	cpu_buf *y = CPU_BUF(yb);
	const float *ap = a->data, *bp = b ? b->data : NULL;
	float *yp = y->data;
	int64_t n = (int64_t)y->n;
	if (!bp) {
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
		for (int64_t i = 0; i < n; i++)
			yp[i] = ap[i] > 0 ? ap[i] : 0;
	} else if (relu_b) {
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
		for (int64_t i = 0; i < n; i++)
			yp[i] = (ap[i] > 0 ? ap[i] : 0) + (bp[i] > 0 ? bp[i] : 0);
	} else {
#pragma omp parallel for simd schedule(static) if (n >= PAR_MIN)
		for (int64_t i = 0; i < n; i++)
			yp[i] = (ap[i] > 0 ? ap[i] : 0) + bp[i];
	}
	return 0;
}

int cpu_relu_bwd_add(cords_backend *be, const cords_buf *xb, const cords_buf *dyb, cords_buf *dxb)
{
	const float *x = CPU_CBUF(xb)->data, *dy = CPU_CBUF(dyb)->data;
	float *dx = CPU_BUF(dxb)->data;
	const int64_t n = (int64_t)CPU_CBUF(xb)->n;
#pragma omp parallel for simd schedule(static)
	for (int64_t i = 0; i < n; i++)
		dx[i] += x[i] > 0 ? dy[i] : 0.0f;
	return 0;
}

int cpu_spatial_mean(cords_backend *be, const cords_buf *xb, cords_buf *yb)
{
	const cpu_buf *x = CPU_CBUF(xb);
	cpu_buf *y = CPU_BUF(yb);
	const int64_t B = x->h.shape[0], C = x->h.shape[1], HW = x->h.shape[2] * x->h.shape[3];
	const int k = x->blocked ? x->blocked : 1;
	const float *xp = x->data;
#pragma omp parallel for collapse(2) schedule(static) if (B * C * HW >= PAR_MIN)
	for (int64_t b = 0; b < B; b++)
		for (int64_t c = 0; c < C; c++) {
			const float *p = xp + (b * C + c / k * k) * HW + c % k;
			double s = 0;
			for (int64_t i = 0; i < HW; i++)
				s += p[i * k];
			y->data[b * C + c] = (float)(s / (double)HW);
		}
	return 0;
}

int cpu_readout_bwd_add(cords_backend *be, const cords_buf *xb, const cords_buf *dyb, cords_buf *dxb)
{
	const cpu_buf *x = CPU_CBUF(xb), *dy = CPU_CBUF(dyb);
	cpu_buf *dx = CPU_BUF(dxb);
	const int64_t B = x->h.shape[0], C = x->h.shape[1], HW = x->h.shape[2] * x->h.shape[3];
	const int k = x->blocked ? x->blocked : 1;
#pragma omp parallel for collapse(2) schedule(static)
	for (int64_t b = 0; b < B; b++)
		for (int64_t c = 0; c < C; c++) {
			int64_t o = (b * C + c / k * k) * HW + c % k;
			float g = dy->data[b * C + c] / (float)HW;
			for (int64_t i = 0; i < HW; i++)
				dx->data[o + i * k] += x->data[o + i * k] > 0 ? g : 0.0f;
		}
	return 0;
}
