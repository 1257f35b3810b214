/* The CPU backend's own loops: the fused leaky update, ReLU sums, the
 * spatial mean and the small fully connected read-out (lib/cpu/readout.c's loops)
 * with its backward and loss. Element-wise ops work
 * on the physical arrays directly: buffers of one shape share one layout, and
 * each batch item is one contiguous block, so [1,...] broadcasts by index. */
#include "backend_cpu.h"
#include "err.h"
#include "readout.h"

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

/* Is src [1,...] against dst [B,...] with equal trailing dims (and layout)? */
static int broadcasts(const cpu_buf *src, const cpu_buf *dst)
{
	if (src->h.ndim != dst->h.ndim || src->h.shape[0] != 1 || src->blocked != dst->blocked)
		return 0;
	return !memcmp(src->h.shape + 1, dst->h.shape + 1, (size_t)(src->h.ndim - 1) * sizeof(int64_t));
}

int cpu_copy(cords_backend *be, cords_buf *dstb, const cords_buf *srcb)
{
	cpu_buf *dst = CPU_BUF(dstb);
	const cpu_buf *src = CPU_CBUF(srcb);
	if (!cpu_same_shape(dstb, srcb, "copy")) {
		memcpy(dst->data, src->data, src->n * sizeof(float));
		return 0;
	}
	if (!broadcasts(src, dst))
		return cords_err("copy: source is neither the destination's shape nor its [1,...] slice");
	for (int64_t b = 0; b < dst->h.shape[0]; b++)
		memcpy(dst->data + (size_t)b * src->n, src->data, src->n * sizeof(float));
	return 0;
}

/* phi(z) = z > 0 ? z : s z covers ReLU (s = 0), identity (s = 1), PReLU. */
static float phi_slope(cords_phi phi)
{
	return phi.kind == CORDS_PHI_RELU ? 0.0f : phi.kind == CORDS_PHI_IDENTITY ? 1.0f : phi.slope;
}

int cpu_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *rb, cords_buf *zb,
	      const cords_buf *biasb, cords_buf *outb)
{
	const cpu_buf *r = CPU_CBUF(rb), *bias = CPU_CBUF(biasb);
	cpu_buf *z = CPU_BUF(zb), *out = CPU_BUF(outb);
	if (cpu_same_shape(rb, zb, "leaky") || cpu_same_shape(rb, outb, "leaky"))
		return -1;
	if (bias && !broadcasts(bias, z))
		return cords_err("leaky: bias must be [1,C,H,W] of the state's shape");
	const float s = phi_slope(phi), a = alpha, keep = 1.0f - alpha;
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

int cpu_relu_add(cords_backend *be, const cords_buf *ab, const cords_buf *bb, int relu_b, cords_buf *yb)
{
	const cpu_buf *a = CPU_CBUF(ab), *b = CPU_CBUF(bb);
	cpu_buf *y = CPU_BUF(yb);
	if (cpu_same_shape(ab, yb, "relu_add") || (b && cpu_same_shape(bb, yb, "relu_add")))
		return -1;
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

int cpu_spatial_mean(cords_backend *be, const cords_buf *xb, cords_buf *yb)
{
	const cpu_buf *x = CPU_CBUF(xb);
	cpu_buf *y = CPU_BUF(yb);
	if (x->h.ndim != 4 || y->h.ndim != 2 || y->h.shape[0] != x->h.shape[0] || y->h.shape[1] != x->h.shape[1])
		return cords_err("spatial_mean: expects x [B,C,H,W] and y [B,C]");
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

int cpu_linear(cords_backend *be, const cords_buf *xb, const cords_buf *wb, const cords_buf *bb, cords_buf *yb)
{
	(void)be;
	const cpu_buf *x = CPU_CBUF(xb), *w = CPU_CBUF(wb), *b = CPU_CBUF(bb);
	cpu_buf *y = CPU_BUF(yb);
	if (!cords_fc_fits(xb, wb, bb, yb))
		return cords_err("linear: expects x [B,K], w [N,K], bias [N], y [B,N]");
	cords_fc_forward_cpu(x->data, w->data, b ? b->data : NULL, (int)x->h.shape[0], (int)x->h.shape[1],
			     (int)w->h.shape[0], y->data);
	return 0;
}

int cpu_linear_bwd_data(cords_backend *be, const cords_buf *dyb, const cords_buf *wb, cords_buf *dxb)
{
	(void)be;
	const cpu_buf *dy = CPU_CBUF(dyb), *w = CPU_CBUF(wb);
	cpu_buf *dx = CPU_BUF(dxb);
	if (!cords_fc_fits(dxb, wb, NULL, dyb))
		return cords_err("linear_bwd_data: expects dy [B,N], w [N,K], dx [B,K]");
	cords_fc_dx_cpu(dy->data, w->data, (int)dx->h.shape[0], (int)dx->h.shape[1], (int)w->h.shape[0], dx->data);
	return 0;
}

int cpu_linear_bwd_weights(cords_backend *be, const cords_buf *dyb, const cords_buf *xb, cords_buf *dwb,
			   cords_buf *dbb)
{
	(void)be;
	const cpu_buf *dy = CPU_CBUF(dyb), *x = CPU_CBUF(xb);
	cpu_buf *dw = CPU_BUF(dwb), *db = CPU_BUF(dbb);
	if (!cords_fc_fits(xb, dwb, dbb, dyb))
		return cords_err("linear_bwd_weights: expects dy [B,N], x [B,K], dw [N,K], db [N]");
	cords_fc_dw_cpu(dy->data, x->data, (int)x->h.shape[0], (int)x->h.shape[1], (int)dw->h.shape[0], dw->data,
			db ? db->data : NULL);
	return 0;
}

int cpu_xent(cords_backend *be, const cords_buf *lb, const cords_buf *hb, const cords_buf *sb, float scale,
	     cords_buf *db, cords_buf *ob)
{
	(void)be;
	const cpu_buf *l = CPU_CBUF(lb), *h = CPU_CBUF(hb), *s = CPU_CBUF(sb);
	cpu_buf *d = CPU_BUF(db), *o = CPU_BUF(ob);
	if (!cords_xent_fits(lb, hb, sb, db, ob))
		return cords_err("xent: expects logits [B,N], hard [B] or soft [B,N], dlogits [B,N], out [2,B]");
	cords_xent_cpu(l->data, (int)l->h.shape[0], (int)l->h.shape[1], h ? h->data : NULL, s ? s->data : NULL, scale,
		       d ? d->data : NULL, o->data);
	return 0;
}
