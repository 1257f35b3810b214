/* The training operations on the GPU: batch sums, axpby, the sum of squared
 * differences and BatchNorm forward and backward (PyTorch's semantics,
 * lib/cpu/bnorm.h), weight norm and the optimisers.
 * Reductions run in a fixed order (a block's in a fixed tree, partial sums
 * added in index order), so results are the same from run to run;
 * per-channel sums in double, as the CPU's. Kernels first, launchers after. */
#include "cuda.h"

#include <limits.h>

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

/* BatchNorm on x [B,C,M] in planes: block p = b C + c of a plane grid holds
 * channel c of item b, so a layer's statistics use B C blocks, not C (64
 * channels would leave most of a GPU idle). Per-plane sums in double are
 * added over b in order by one thread per channel: the same answer on
 * every run. */
struct bn_geo {
	int B, C;
	size_t M;
	double momentum, eps;
};

#define BN_PLANE(m) for (size_t m = threadIdx.x; m < g.M; m += blockDim.x)

/* part[p] = the plane's sum of x, or of (x - mean[c])^2 when mean is given */
__global__ void k_bn_plane_sum(const bn_geo g, const float *x, const double *mean, double *part)
{
	__shared__ double sh[CU_THREADS];
	const size_t p = blockIdx.x;
	const float *xp = x + p * g.M;
	double s = 0;
	if (mean) {
		const double mu = mean[p % g.C];
		BN_PLANE(m)
		{
			double d = xp[m] - mu;
			s += d * d;
		}
	} else {
		BN_PLANE(m) s += xp[m];
	}
	s = block_sum(s, sh);
	if (threadIdx.x == 0)
		part[p] = s;
}

/* One thread per channel: sum[c] = sum over b of part[b C + c] (k = 1 or 2
 * values a plane, interleaved). */
__device__ double bn_over_batch(const bn_geo g, const double *part, int k, int j, int c)
{
	double s = 0;
	for (int b = 0; b < g.B; b++)
		s += part[((size_t)b * g.C + c) * k + j];
	return s;
}

__global__ void k_bn_mean(const bn_geo g, const double *part, double *mean)
{
	for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < g.C; c += gridDim.x * blockDim.x)
		mean[c] = bn_over_batch(g, part, 1, 0, c) / ((double)g.B * g.M);
}

/* Training's statistics from the planes' squared deviations: save_*, the
 * running update, and y = a x + sh's coefficients (ab [2C]). */
__global__ void k_bn_stats(const bn_geo g, const double *part, const double *mean, const float *gamma,
			   const float *beta, float *rmean, float *rvar, float *smean, float *sinv, float *ab)
{
	const double cnt = (double)g.B * g.M;
	for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < g.C; c += gridDim.x * blockDim.x) {
		const double ss = bn_over_batch(g, part, 1, 0, c), mu = mean[c];
		const double var = ss / cnt, inv = 1 / sqrt(var + g.eps);
		smean[c] = (float)mu;
		sinv[c] = (float)inv;
		if (rmean) {
			rmean[c] = (float)((1 - g.momentum) * rmean[c] + g.momentum * mu);
			rvar[c] = (float)((1 - g.momentum) * rvar[c] + g.momentum * (cnt > 1 ? ss / (cnt - 1) : var));
		}
		ab[2 * c] = (float)(gamma[c] * inv);
		ab[2 * c + 1] = (float)(beta[c] - mu * gamma[c] * inv);
	}
}

/* Evaluation's coefficients, from the running statistics. */
__global__ void k_bn_eval_ab(const bn_geo g, const float *gamma, const float *beta, const float *rmean,
			     const float *rvar, float *ab)
{
	for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < g.C; c += gridDim.x * blockDim.x) {
		const double inv = 1 / sqrt((double)rvar[c] + g.eps);
		ab[2 * c] = (float)(gamma[c] * inv);
		ab[2 * c + 1] = (float)(beta[c] - rmean[c] * gamma[c] * inv);
	}
}

/* y = a x + sh, a plane a block */
__global__ void k_bn_affine(const bn_geo g, const float *x, const float *ab, float *y)
{
	const size_t p = blockIdx.x;
	const int c = (int)(p % g.C);
	const float a = ab[2 * c], sh = ab[2 * c + 1];
	BN_PLANE(m) y[p * g.M + m] = x[p * g.M + m] * a + sh;
}

/* The statistics the backward normalises with: training's saved ones, or
 * evaluation's running ones. */
__device__ double bn_inv(const bn_geo g, int train, const float *inv_c, const float *rvar, int c)
{
	return train ? (double)inv_c[c] : 1 / sqrt((double)rvar[c] + g.eps);
}

/* part[2p], part[2p+1] = the plane's sums of dy and of dy xhat */
__global__ void k_bn_bwd_plane(const bn_geo g, int train, const float *x, const float *dy, const float *mean_c,
			       const float *inv_c, const float *rvar, double *part)
{
	__shared__ double sh[CU_THREADS];
	const size_t p = blockIdx.x;
	const int c = (int)(p % g.C);
	const double mean = mean_c[c], inv = bn_inv(g, train, inv_c, rvar, c);
	const float *xp = x + p * g.M, *dp = dy + p * g.M;
	double sdy = 0, sdyx = 0;
	BN_PLANE(m)
	{
		sdy += dp[m];
		sdyx += dp[m] * (xp[m] - mean) * inv;
	}
	sdy = block_sum(sdy, sh);
	sdyx = block_sum(sdyx, sh);
	if (threadIdx.x == 0)
		part[2 * p] = sdy, part[2 * p + 1] = sdyx;
}

/* dbeta = sum dy, dgamma = sum dy xhat (+ beta times the old values); the
 * two sums kept in sums [2C] for dx. */
__global__ void k_bn_bwd_sums(const bn_geo g, const double *part, float *dgamma, float *dbeta, float beta, double *sums)
{
	for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < g.C; c += gridDim.x * blockDim.x) {
		const double sdy = bn_over_batch(g, part, 2, 0, c), sdyx = bn_over_batch(g, part, 2, 1, c);
		dbeta[c] = (float)sdy + beta * dbeta[c];
		dgamma[c] = (float)sdyx + beta * dgamma[c];
		sums[2 * c] = sdy, sums[2 * c + 1] = sdyx;
	}
}

/* Train: dx = gamma inv (dy - mean(dy) - xhat mean(dy xhat)). Eval: dx =
 * gamma inv dy. A plane a block. */
__global__ void k_bn_bwd_dx(const bn_geo g, int train, const float *x, const float *dy, const float *gamma,
			    const float *mean_c, const float *inv_c, const float *rvar, const double *sums, float *dx)
{
	const size_t p = blockIdx.x;
	const int c = (int)(p % g.C);
	const double cnt = (double)g.B * g.M, mean = mean_c[c], inv = bn_inv(g, train, inv_c, rvar, c);
	const double k = gamma[c] * inv;
	const float *xp = x + p * g.M, *dp = dy + p * g.M;
	float *dxp = dx + p * g.M;
	if (train) {
		const double mdy = sums[2 * c] / cnt, mdyx = sums[2 * c + 1] / cnt;
		BN_PLANE(m) dxp[m] = (float)(k * (dp[m] - mdy - (xp[m] - mean) * inv * mdyx));
	} else {
		const float kf = (float)k;
		BN_PLANE(m) dxp[m] = dp[m] * kf;
	}
}

int cu_batch_sum(cords_backend *be, const cords_buf *dzb, cords_buf *dbb, float beta)
{
	const cu_buf *dz = CU_CBUF(dzb);
	cu_buf *db = CU_BUF(dbb);
	k_batch_sum<<<cu_blocks(db->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(dz->d, db->d, db->n,
									     (int)dz->h.shape[0], beta);
	return cu_launched("batch_sum");
}

int cu_axpby(cords_backend *be, float a, const cords_buf *xb, float b, cords_buf *yb)
{
	const cu_buf *x = CU_CBUF(xb);
	cu_buf *y = CU_BUF(yb);
	k_axpby<<<cu_blocks(y->n), CU_THREADS, 0, CU_IMPL(be)->stream>>>(a, x->d, b, y->d, y->n, x->n);
	return cu_launched("axpby");
}

int cu_sqdiff_sum(cords_backend *be, const cords_buf *xb, const cords_buf *yb, double *out)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb), *y = CU_CBUF(yb);
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

static bn_geo bn_geometry(const cu_buf *x, const cords_bn_mode *m)
{
	return bn_geo{(int)x->h.shape[0], (int)x->h.shape[1], (size_t)(x->h.shape[2] * x->h.shape[3]), m->momentum,
		      m->eps};
}

#define DEV(b) ((b) ? CU_BUF((cords_buf *)(b))->d : NULL)

/* Threads for a plane of M: a power of two (block_sum's tree), no more than M needs. */
static unsigned bn_threads(size_t M)
{
	unsigned t = 32;
	while (t < CU_THREADS && t < M)
		t *= 2;
	return t;
}

/* The layer's scratch in the lane's workspace: the planes' partial sums
 * (2 B C), then per channel the mean, the backward's two sums and the
 * coefficients of y = a x + sh (4 C, in doubles). */
static double *bn_scratch(cu_impl *c, const bn_geo *g, double **mean, double **sums, float **ab)
{
	const size_t P = (size_t)g->B * g->C, C = (size_t)g->C;
	double *w = (double *)cu_workspace(c, (2 * P + 4 * C) * sizeof(double));
	if (w) {
		*mean = w + 2 * P;
		*sums = *mean + C;
		*ab = (float *)(*sums + 2 * C);
	}
	return w;
}

int cu_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *xb, const cords_buf *gb,
		 const cords_buf *bb, cords_buf *rm, cords_buf *rv, cords_buf *sm, cords_buf *si, cords_buf *yb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb);
	const bn_geo g = bn_geometry(x, m);
	double *part, *mean, *sums;
	float *ab;
	const unsigned P = (unsigned)((size_t)g.B * g.C), T = bn_threads(g.M), cb = cu_blocks((size_t)g.C);
	if (!P || !g.M) /* nothing to normalise (and no grid of 0 blocks) */
		return 0;
	if ((size_t)g.B * g.C > INT_MAX)
		return cords_err("batchnorm: %d x %d planes are more than a grid holds", g.B, g.C);
	if (!(part = bn_scratch(c, &g, &mean, &sums, &ab)))
		return -1;
	if (m->train) {
		k_bn_plane_sum<<<P, T, 0, c->stream>>>(g, x->d, NULL, part);
		k_bn_mean<<<cb, CU_THREADS, 0, c->stream>>>(g, part, mean);
		k_bn_plane_sum<<<P, T, 0, c->stream>>>(g, x->d, mean, part);
		k_bn_stats<<<cb, CU_THREADS, 0, c->stream>>>(g, part, mean, DEV(gb), DEV(bb), DEV(rm), DEV(rv), DEV(sm),
							     DEV(si), ab);
	} else {
		k_bn_eval_ab<<<cb, CU_THREADS, 0, c->stream>>>(g, DEV(gb), DEV(bb), DEV(rm), DEV(rv), ab);
	}
	k_bn_affine<<<P, T, 0, c->stream>>>(g, x->d, ab, DEV(yb));
	return cu_launched("batchnorm");
}

int cu_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *xb, const cords_buf *dyb,
		     const cords_buf *gb, const cords_buf *sm, const cords_buf *si, const cords_buf *rm,
		     const cords_buf *rv, cords_buf *dxb, cords_buf *dgb, cords_buf *dbb, float beta)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb);
	const bn_geo g = bn_geometry(x, m);
	double *part, *mean, *sums;
	float *ab;
	const unsigned P = (unsigned)((size_t)g.B * g.C), T = bn_threads(g.M), cb = cu_blocks((size_t)g.C);
	if (!P || !g.M)
		return 0;
	if (!(part = bn_scratch(c, &g, &mean, &sums, &ab)))
		return -1;
	const float *mu = m->train ? DEV(sm) : DEV(rm);
	k_bn_bwd_plane<<<P, T, 0, c->stream>>>(g, m->train, x->d, DEV(dyb), mu, DEV(si), DEV(rv), part);
	k_bn_bwd_sums<<<cb, CU_THREADS, 0, c->stream>>>(g, part, DEV(dgb), DEV(dbb), beta, sums);
	k_bn_bwd_dx<<<P, T, 0, c->stream>>>(g, m->train, x->d, DEV(dyb), DEV(gb), mu, DEV(si), DEV(rv), sums,
					   DEV(dxb));
	return cu_launched("batchnorm_bwd");
}

/* ---- parameters: weight norm and the optimiser (lib/cpu/wnorm.c and
 * lib/cpu/optim.c's arithmetic; one block per row of a weight) */

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

int cu_wnorm(cords_backend *be, const cords_buf *gb, const cords_buf *vb, cords_buf *wb)
{
	const size_t K = CU_CBUF(vb)->n / CU_CBUF(gb)->n; /* rows of K, as the seam checked */
	k_wnorm<<<(unsigned)CU_CBUF(gb)->n, CU_THREADS, 0, CU_IMPL(be)->stream>>>(CU_CBUF(gb)->d, CU_CBUF(vb)->d,
										   CU_BUF(wb)->d, K);
	return cu_launched("wnorm");
}

int cu_wnorm_bwd(cords_backend *be, const cords_buf *gb, const cords_buf *vb, const cords_buf *dwb, cords_buf *dgb,
		 cords_buf *dvb)
{
	const size_t K = CU_CBUF(vb)->n / CU_CBUF(gb)->n;
	k_wnorm_bwd<<<(unsigned)CU_CBUF(gb)->n, CU_THREADS, 0, CU_IMPL(be)->stream>>>(
		CU_CBUF(gb)->d, CU_CBUF(vb)->d, CU_CBUF(dwb)->d, CU_BUF(dgb)->d, CU_BUF(dvb)->d, K);
	return cu_launched("wnorm_bwd");
}

int cu_optim(cords_backend *be, const cords_optim *o, cords_buf *pb, cords_buf *gb, cords_buf *mb, cords_buf *vb)
{
	cu_buf *p = CU_BUF(pb), *g = CU_BUF(gb), *m = CU_BUF(mb), *v = vb ? CU_BUF(vb) : NULL;
	cudaStream_t st = CU_IMPL(be)->stream;
	if (o->adamw) { /* the constants as lib/cpu/optim.c makes them */
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

