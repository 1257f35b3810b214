/* The training operations on the GPU: backward of the leaky update, of ReLU
 * and of the read-out, batch sums, axpby, the sum of squared differences and
 * BatchNorm forward and backward (PyTorch's semantics, lib/bnorm.h), weight
 * norm, the optimisers and the read-out's cross-entropy.
 * Reductions run in a fixed order (one block per output, a fixed tree), so
 * results are the same from run to run; per-channel sums in double, as the
 * CPU's. Kernels first, launchers after. */
#include "cuda.h"

#define FOR_EACH(i, n) for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n); \
			    i += (size_t)gridDim.x * blockDim.x)

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

/* dx += dy where x > 0 */
__global__ void k_relu_bwd_add(const float *x, const float *dy, float *dx, size_t n)
{
	FOR_EACH(i, n) dx[i] += x[i] > 0 ? dy[i] : 0.0f;
}

/* dx [BC,HW] += dy [BC] / HW where x > 0 */
__global__ void k_readout_bwd_add(const float *x, const float *dy, float *dx, size_t n, size_t hw)
{
	FOR_EACH(i, n) dx[i] += x[i] > 0 ? dy[i / hw] / (float)hw : 0.0f;
}

/* db [per] = sum over b of dz [B,per] + beta db */
__global__ void k_batch_sum(const float *dz, float *db, size_t per, int B, float beta)
{
	FOR_EACH(i, per)
	{
		float s = beta != 0 ? beta * db[i] : 0.0f;
		for (int b = 0; b < B; b++)
			s += dz[(size_t)b * per + i];
		db[i] = s;
	}
}

/* y = a x[i % per] + b y */
__global__ void k_axpby(float a, const float *x, float b, float *y, size_t n, size_t per)
{
	FOR_EACH(i, n) y[i] = a * x[i % per] + (b != 0 ? b * y[i] : 0.0f);
}

/* The block's sum of v (double), left in part[0]; every thread calls it. */
__device__ double block_sum(double v, double *part)
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

/* out[block] = sum over the block's chunk of (x - y[i % per])^2 (y NULL: 0) */
__global__ void k_sqdiff(const float *x, const float *y, size_t n, size_t per, size_t chunk, double *out)
{
	__shared__ double part[CU_THREADS];
	size_t lo = blockIdx.x * chunk, hi = lo + chunk < n ? lo + chunk : n;
	double s = 0;
	for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
		double d = x[i] - (y ? y[i % per] : 0.0f); /* in float, as the CPU */
		s += d * d;
	}
	s = block_sum(s, part);
	if (threadIdx.x == 0)
		out[blockIdx.x] = s;
}

/* *out = sum of v[0..n) in one block */
__global__ void k_sum(const double *v, int n, double *out)
{
	__shared__ double part[CU_THREADS];
	double s = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		s += v[i];
	s = block_sum(s, part);
	if (threadIdx.x == 0)
		*out = s;
}

/* BatchNorm geometry: x [B,C,M]; channel c of item b starts at (b C + c) M. */
struct bn_geo {
	int B, C;
	size_t M;
	double momentum, eps;
};

/* The elements of channel c, index i, block-strided within each batch item
 * (no 64-bit division per element). */
#define BN_EACH(i)                        \
	for (int b_ = 0; b_ < g.B; b_++)  \
		for (size_t m_ = threadIdx.x, i = ((size_t)b_ * g.C + c) * g.M + m_; m_ < g.M; \
		     m_ += blockDim.x, i += blockDim.x)

/* One block per channel: batch statistics, running update, y. */
__global__ void k_bn_train(const bn_geo g, const float *x, const float *gamma, const float *beta, float *rmean,
			   float *rvar, float *smean, float *sinv, float *y)
{
	__shared__ double part[CU_THREADS];
	const int c = blockIdx.x;
	const double cnt = (double)g.B * g.M;
	double mean = 0, ss = 0;
	{
		double s = 0;
		BN_EACH(i) s += x[i];
		mean = block_sum(s, part) / cnt;
		s = 0;
		BN_EACH(i)
		{
			double d = x[i] - mean;
			s += d * d;
		}
		ss = block_sum(s, part);
	}
	double var = ss / cnt, inv = 1 / sqrt(var + g.eps);
	if (threadIdx.x == 0) {
		smean[c] = (float)mean;
		sinv[c] = (float)inv;
		if (rmean) {
			rmean[c] = (float)((1 - g.momentum) * rmean[c] + g.momentum * mean);
			rvar[c] = (float)((1 - g.momentum) * rvar[c] + g.momentum * (cnt > 1 ? ss / (cnt - 1) : var));
		}
	}
	float a = (float)(gamma[c] * inv), sh = (float)(beta[c] - mean * gamma[c] * inv);
	BN_EACH(i) y[i] = x[i] * a + sh;
}

__global__ void k_bn_eval(const bn_geo g, const float *x, const float *gamma, const float *beta, const float *rmean,
			  const float *rvar, float *y, size_t n)
{
	FOR_EACH(i, n)
	{
		int c = (int)(i / g.M % g.C);
		double inv = 1 / sqrt((double)rvar[c] + g.eps);
		float a = (float)(gamma[c] * inv), sh = (float)(beta[c] - rmean[c] * gamma[c] * inv);
		y[i] = x[i] * a + sh;
	}
}

/* One block per channel. Train (train = 1): mean/inv from save_*, dx = gamma
 * inv (dy - mean(dy) - xhat mean(dy xhat)). Eval: mean/inv from the running
 * statistics, dx = gamma inv dy. dgamma = sum dy xhat, dbeta = sum dy (+ beta
 * times the old values). */
__global__ void k_bn_bwd(const bn_geo g, int train, const float *x, const float *dy, const float *gamma,
			 const float *mean_c, const float *inv_c, const float *rvar, float *dx, float *dgamma,
			 float *dbeta, float beta)
{
	__shared__ double part[CU_THREADS];
	const int c = blockIdx.x;
	const size_t n = (size_t)g.B * g.M;
	const double cnt = (double)n, mean = mean_c[c];
	const double inv = train ? (double)inv_c[c] : 1 / sqrt((double)rvar[c] + g.eps);
	double sdy = 0, sdyx = 0;
	BN_EACH(i)
	{
		sdy += dy[i];
		sdyx += dy[i] * (x[i] - mean) * inv;
	}
	sdy = block_sum(sdy, part);
	sdyx = block_sum(sdyx, part);
	if (threadIdx.x == 0) {
		dbeta[c] = (float)sdy + beta * dbeta[c];
		dgamma[c] = (float)sdyx + beta * dgamma[c];
	}
	const double k = gamma[c] * inv;
	BN_EACH(i)
	{
		if (train)
			dx[i] = (float)(k * (dy[i] - sdy / cnt - (x[i] - mean) * inv * sdyx / cnt));
		else
			dx[i] = dy[i] * (float)k;
	}
}

static float phi_slope(cords_phi phi)
{
	return phi.kind == CORDS_PHI_RELU ? 0.0f : phi.kind == CORDS_PHI_IDENTITY ? 1.0f : phi.slope;
}

int cu_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *zb, const cords_buf *doutb,
		 cords_buf *dzb, cords_buf *drb, float beta)
{
	if (cu_same_shape(zb, doutb, "leaky_bwd") || cu_same_shape(zb, dzb, "leaky_bwd") ||
	    cu_same_shape(zb, drb, "leaky_bwd"))
		return -1;
	size_t n = CU_CBUF(zb)->n;
	k_leaky_bwd<<<cu_blocks(n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		CU_CBUF(zb)->d, CU_CBUF(doutb)->d, CU_BUF(dzb)->d, CU_BUF(drb)->d, n, alpha, phi_slope(phi),
		1.0f - alpha, beta);
	return cu_launched("leaky_bwd");
}

int cu_relu_bwd_add(cords_backend *be, const cords_buf *xb, const cords_buf *dyb, cords_buf *dxb)
{
	if (cu_same_shape(xb, dyb, "relu_bwd_add") || cu_same_shape(xb, dxb, "relu_bwd_add"))
		return -1;
	size_t n = CU_CBUF(xb)->n;
	k_relu_bwd_add<<<cu_blocks(n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(CU_CBUF(xb)->d, CU_CBUF(dyb)->d,
									   CU_BUF(dxb)->d, n);
	return cu_launched("relu_bwd_add");
}

int cu_readout_bwd_add(cords_backend *be, const cords_buf *xb, const cords_buf *dyb, cords_buf *dxb)
{
	const cu_buf *x = CU_CBUF(xb), *dy = CU_CBUF(dyb);
	if (cu_same_shape(xb, dxb, "readout_bwd_add"))
		return -1;
	if (x->h.ndim != 4 || dy->h.ndim != 2 || dy->h.shape[0] != x->h.shape[0] || dy->h.shape[1] != x->h.shape[1])
		return cords_err("readout_bwd_add: expects x [B,C,H,W] and dy [B,C]");
	k_readout_bwd_add<<<cu_blocks(x->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		x->d, dy->d, CU_BUF(dxb)->d, x->n, (size_t)(x->h.shape[2] * x->h.shape[3]));
	return cu_launched("readout_bwd_add");
}

int cu_batch_sum(cords_backend *be, const cords_buf *dzb, cords_buf *dbb, float beta)
{
	const cu_buf *dz = CU_CBUF(dzb);
	cu_buf *db = CU_BUF(dbb);
	if (!cu_broadcasts(dbb, dzb))
		return cords_err("batch_sum: the sum must be the [1,...] slice of the input");
	k_batch_sum<<<cu_blocks(db->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(dz->d, db->d, db->n,
									     (int)dz->h.shape[0], beta);
	return cu_launched("batch_sum");
}

int cu_axpby(cords_backend *be, float a, const cords_buf *xb, float b, cords_buf *yb)
{
	const cu_buf *x = CU_CBUF(xb);
	cu_buf *y = CU_BUF(yb);
	if (cu_same_shape(xb, yb, "axpby") && !cu_broadcasts(xb, yb))
		return cords_err("axpby: x must have y's shape or be its [1,...] slice");
	k_axpby<<<cu_blocks(y->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(a, x->d, b, y->d, y->n, x->n);
	return cu_launched("axpby");
}

int cu_sqdiff_sum(cords_backend *be, const cords_buf *xb, const cords_buf *yb, double *out)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb), *y = CU_CBUF(yb);
	if (y && cu_same_shape(xb, yb, "sqdiff_sum") && !cu_broadcasts(yb, xb))
		return cords_err("sqdiff_sum: y must have x's shape or be its [1,...] slice");
	if (cu_join(c)) /* the answer goes to the host */
		return -1;
	const size_t chunk = 16384;
	int nb = (int)((x->n + chunk - 1) / chunk);
	nb = nb < 1 ? 1 : nb;
	double *part = (double *)cu_workspace(c, (size_t)(nb + 1) * sizeof(double));
	if (!part)
		return -1;
	k_sqdiff<<<nb, CU_THREADS, 0, c->stream>>>(x->d, y ? y->d : NULL, x->n, y ? y->n : 1, chunk, part);
	k_sum<<<1, CU_THREADS, 0, c->stream>>>(part, nb, part + nb);
	if (cu_launched("sqdiff_sum"))
		return -1;
	return cu_check(cudaMemcpyAsync(out, part + nb, sizeof *out, cudaMemcpyDeviceToHost, c->stream),
			"sqdiff_sum") ||
			       cu_check(cudaStreamSynchronize(c->stream), "sqdiff_sum")
		       ? -1
		       : 0;
}

static int bn_geometry(const cu_buf *x, const cords_buf *y, const cords_buf *gamma, const cords_bn_mode *m,
		       bn_geo *g)
{
	const cu_buf *gm = CU_CBUF(gamma);
	if (x->h.ndim != 4 || cu_same_shape((const cords_buf *)x, y, "batchnorm") || gm->h.ndim != 1 ||
	    gm->h.shape[0] != x->h.shape[1])
		return cords_err("batchnorm: expects x, y [B,C,H,W] and [C] parameters");
	*g = bn_geo{(int)x->h.shape[0], (int)x->h.shape[1], (size_t)(x->h.shape[2] * x->h.shape[3]), m->momentum,
		    m->eps};
	return 0;
}

#define DEV(b) ((b) ? CU_BUF((cords_buf *)(b))->d : NULL)

int cu_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *xb, const cords_buf *gb,
		 const cords_buf *bb, cords_buf *rm, cords_buf *rv, cords_buf *sm, cords_buf *si, cords_buf *yb)
{
	const cu_buf *x = CU_CBUF(xb);
	cudaStream_t s = CU_IMPL(be)->stream;
	bn_geo g;
	if (bn_geometry(x, yb, gb, m, &g))
		return -1;
	if (m->train)
		k_bn_train<<<g.C, CU_THREADS, 0, s>>>(g, x->d, DEV(gb), DEV(bb), DEV(rm), DEV(rv), DEV(sm), DEV(si),
						      DEV(yb));
	else
		k_bn_eval<<<cu_blocks(x->n), CU_THREADS, 0, s>>>(g, x->d, DEV(gb), DEV(bb), DEV(rm), DEV(rv), DEV(yb),
								 x->n);
	return cu_launched("batchnorm");
}

int cu_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *xb, const cords_buf *dyb,
		     const cords_buf *gb, const cords_buf *sm, const cords_buf *si, const cords_buf *rm,
		     const cords_buf *rv, cords_buf *dxb, cords_buf *dgb, cords_buf *dbb, float beta)
{
	const cu_buf *x = CU_CBUF(xb);
	bn_geo g;
	if (bn_geometry(x, dyb, gb, m, &g) || cu_same_shape(xb, dxb, "batchnorm_bwd"))
		return -1;
	k_bn_bwd<<<g.C, CU_THREADS, 0, CU_IMPL(be)->stream>>>(g, m->train, x->d, DEV(dyb), DEV(gb),
							      m->train ? DEV(sm) : DEV(rm), DEV(si), DEV(rv),
							      DEV(dxb), DEV(dgb), DEV(dbb), beta);
	return cu_launched("batchnorm_bwd");
}

/* ---- parameters: weight norm and the optimiser (lib/wnorm.c and
 * lib/optim.c's arithmetic; one block per row of a weight) */

__global__ void k_wnorm(const float *g, const float *v, float *w, size_t K)
{
	__shared__ double part[CU_THREADS];
	const size_t o = blockIdx.x;
	const float *vo = v + o * K;
	double s = 0;
	for (size_t k = threadIdx.x; k < K; k += blockDim.x)
		s += (double)vo[k] * vo[k];
	const float scale = (float)(g[o] / sqrt(block_sum(s, part)));
	for (size_t k = threadIdx.x; k < K; k += blockDim.x)
		w[o * K + k] = scale * vo[k];
}

__global__ void k_wnorm_bwd(const float *g, const float *v, const float *dw, float *dg, float *dv, size_t K)
{
	__shared__ double part[CU_THREADS];
	const size_t o = blockIdx.x;
	const float *vo = v + o * K, *d = dw + o * K;
	double ss = 0, dot = 0;
	for (size_t k = threadIdx.x; k < K; k += blockDim.x)
		ss += (double)vo[k] * vo[k], dot += (double)d[k] * vo[k];
	const double n = sqrt(block_sum(ss, part)), gg = block_sum(dot, part) / n, s = g[o] / n;
	if (threadIdx.x == 0)
		dg[o] = (float)gg;
	for (size_t k = threadIdx.x; k < K; k += blockDim.x)
		dv[o * K + k] = (float)(s * (d[k] - gg * vo[k] / n));
}

struct adamw_k {
	float scale, decay, b1, b2, omb1, omb2, step_size, bc2_sqrt, eps;
};
__global__ void k_adamw(adamw_k a, float *p, float *g, float *m, float *v, size_t n)
{
	FOR_EACH(i, n) {
		float gi = a.scale != 1 ? g[i] * a.scale : g[i];
		g[i] = gi;
		float pi = p[i] * a.decay, mi = m[i] * a.b1 + gi * a.omb1, vi = v[i] * a.b2 + gi * gi * a.omb2;
		m[i] = mi, v[i] = vi;
		p[i] = pi - a.step_size * (mi / (sqrtf(vi) / a.bc2_sqrt + a.eps));
	}
}

__global__ void k_sgd(float scale, float wd, float mom, float lr, int first, float *p, float *g, float *buf, size_t n)
{
	FOR_EACH(i, n) {
		float gi = scale != 1 ? g[i] * scale : g[i];
		g[i] = gi;
		float d = gi + wd * p[i];
		float b = first || mom == 0 ? d : mom * buf[i] + d;
		buf[i] = b;
		p[i] -= lr * b;
	}
}

static int wn_rows(const cords_buf *gb, const cords_buf *vb, const cords_buf *wb, const char *what, size_t *K)
{
	const cu_buf *g = CU_CBUF(gb), *v = CU_CBUF(vb), *w = CU_CBUF(wb);
	if (!g->n || v->n % g->n || w->n != v->n)
		return cords_err("%s: g [O] and v, w [O,...], v and w alike", what);
	*K = v->n / g->n;
	return 0;
}

int cu_wnorm(cords_backend *be, const cords_buf *gb, const cords_buf *vb, cords_buf *wb)
{
	size_t K = 0;
	if (wn_rows(gb, vb, wb, "wnorm", &K))
		return -1;
	k_wnorm<<<(unsigned)CU_CBUF(gb)->n, CU_THREADS, 0, CU_IMPL(be)->stream>>>(CU_CBUF(gb)->d, CU_CBUF(vb)->d,
										   CU_BUF(wb)->d, K);
	return cu_launched("wnorm");
}

int cu_wnorm_bwd(cords_backend *be, const cords_buf *gb, const cords_buf *vb, const cords_buf *dwb, cords_buf *dgb,
		 cords_buf *dvb)
{
	size_t K = 0;
	if (wn_rows(gb, vb, dwb, "wnorm_bwd", &K) || wn_rows(dgb, dvb, dwb, "wnorm_bwd", &K))
		return -1;
	if (CU_CBUF(dgb)->n != CU_CBUF(gb)->n)
		return cords_err("wnorm_bwd: dg must have g's size");
	k_wnorm_bwd<<<(unsigned)CU_CBUF(gb)->n, CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		CU_CBUF(gb)->d, CU_CBUF(vb)->d, CU_CBUF(dwb)->d, CU_BUF(dgb)->d, CU_BUF(dvb)->d, K);
	return cu_launched("wnorm_bwd");
}

int cu_optim(cords_backend *be, const cords_optim *o, cords_buf *pb, cords_buf *gb, cords_buf *mb, cords_buf *vb)
{
	cu_buf *p = CU_BUF(pb), *g = CU_BUF(gb), *m = CU_BUF(mb), *v = vb ? CU_BUF(vb) : NULL;
	if (g->n != p->n || m->n != p->n || (o->adamw && (!v || v->n != p->n)))
		return cords_err("optim: gradient and state must have the parameter's shape");
	cudaStream_t st = CU_IMPL(be)->stream;
	if (o->adamw) { /* the constants as lib/optim.c makes them */
		const float b1 = (float)o->beta1, b2 = (float)o->beta2;
		const double bc1 = 1 - pow(o->beta1, (double)o->step), bc2 = 1 - pow(o->beta2, (double)o->step);
		adamw_k a = {o->scale, (float)(1 - o->lr * o->weight_decay), b1, b2, 1 - b1, 1 - b2,
			     (float)(o->lr / bc1), (float)sqrt(bc2), (float)o->eps};
		k_adamw<<<cu_blocks(p->n), CU_THREADS, 0, st>>>(a, p->d, g->d, m->d, v->d, p->n);
	} else {
		k_sgd<<<cu_blocks(p->n), CU_THREADS, 0, st>>>(o->scale, (float)o->weight_decay, (float)o->momentum,
							      (float)o->lr, o->step == 1, p->d, g->d, m->d, p->n);
	}
	return cu_launched("optim");
}

/* ---- the read-out's loss: cross-entropy (lib/loss.c's cords_xent_cpu) */

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

int cu_xent(cords_backend *be, const cords_buf *lb, const cords_buf *hb, const cords_buf *sb, float scale,
	    cords_buf *db, cords_buf *ob)
{
	const cu_buf *l = CU_CBUF(lb), *h = hb ? CU_CBUF(hb) : NULL, *s = sb ? CU_CBUF(sb) : NULL;
	cu_buf *d = db ? CU_BUF(db) : NULL, *o = CU_BUF(ob);
	const int64_t B = l->h.shape[0], N = l->h.shape[1];
	if (!cords_xent_fits(lb, hb, sb, db, ob))
		return cords_err("xent: expects logits [B,N], hard [B] or soft [B,N], dlogits [B,N], out [2,B]");
	if (!B) /* no grid of 0 blocks */
		return 0;
	k_xent<<<(unsigned)B, CU_THREADS, 0, CU_IMPL(be)->stream>>>(l->d, h ? h->d : NULL, s ? s->d : NULL, scale,
								     d ? d->d : NULL, o->d, (int)B, (int)N);
	return cu_launched("xent");
}
