/* The seam between the model code and a backend: every operation's shapes
 * and arguments checked once, as backend.h states them, before the backend
 * (lib/cpu/, kernels/) is called; the backends only compute. A backend made
 * by cords_backend_new comes wrapped in this. Element-wise operands must
 * also be of one kind (both activations, or both weights), so that every
 * backend may take them to share a layout. */
#include "backend.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

#define IN(be) ((cords_backend *)(be)->impl)
#define HEAD(b) ((const cords_buf_head *)(b))

/* The output size of a convolution or pooling window along one axis. */
static int64_t out_size(int64_t n, int64_t k, int stride, int pad)
{
	return (n + 2 * pad - k) / stride + 1;
}

static int same(const cords_buf *a, const cords_buf *b)
{
	const cords_buf_head *x = HEAD(a), *y = HEAD(b);
	return x->ndim == y->ndim && x->kind == y->kind &&
	       !memcmp(x->shape, y->shape, (size_t)x->ndim * sizeof *x->shape);
}

/* src is dst's [1,...] slice (dst [B,...]). */
static int slice_of(const cords_buf *src, const cords_buf *dst)
{
	const cords_buf_head *s = HEAD(src), *d = HEAD(dst);
	return s->ndim == d->ndim && s->kind == d->kind && s->shape[0] == 1 &&
	       !memcmp(s->shape + 1, d->shape + 1, (size_t)(s->ndim - 1) * sizeof *s->shape);
}

static int is_act4(const cords_buf *b)
{
	return HEAD(b)->ndim == 4 && HEAD(b)->kind == CORDS_BUF_ACT;
}

/* x [B,I,H,W] * w [O,I,k,k] (kind WEIGHT) -> y [B,O,H',W'], bias [O] or NULL. */
static int conv_fits(const char *op, const cords_conv *cv, const cords_buf *xb, const cords_buf *wb,
		     const cords_buf *bb, const cords_buf *yb)
{
	const cords_buf_head *x = HEAD(xb), *w = HEAD(wb), *y = HEAD(yb);
	if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || w->kind != CORDS_BUF_WEIGHT)
		return cords_err("%s: expects 4-d x, y and a weight buffer", op);
	if (cv->stride < 1 || cv->pad < 0)
		return cords_err("%s: stride %d, padding %d", op, cv->stride, cv->pad);
	const int64_t oh = out_size(x->shape[2], w->shape[2], cv->stride, cv->pad);
	const int64_t ow = out_size(x->shape[3], w->shape[3], cv->stride, cv->pad);
	if (x->shape[1] != w->shape[1] || y->shape[1] != w->shape[0] || y->shape[0] != x->shape[0] ||
	    y->shape[2] != oh || y->shape[3] != ow)
		return cords_err("%s: shapes do not fit ([%lld,%lld,%lld,%lld] * [%lld,%lld,%lld,%lld] -> "
				 "[%lld,%lld,%lld,%lld])",
				 op, (long long)x->shape[0], (long long)x->shape[1], (long long)x->shape[2],
				 (long long)x->shape[3], (long long)w->shape[0], (long long)w->shape[1],
				 (long long)w->shape[2], (long long)w->shape[3], (long long)y->shape[0],
				 (long long)y->shape[1], (long long)y->shape[2], (long long)y->shape[3]);
	if (bb && (HEAD(bb)->ndim != 1 || HEAD(bb)->shape[0] != w->shape[0]))
		return cords_err("%s: bias must be [%lld]", op, (long long)w->shape[0]);
	return 0;
}

/* x [B,C,H,W] pooled into y [B,C,H',W']. */
static int pool_fits(const char *op, const cords_pool *p, const cords_buf *xb, const cords_buf *yb)
{
	const cords_buf_head *x = HEAD(xb), *y = HEAD(yb);
	if (p->k < 1 || p->stride < 1 || p->pad < 0)
		return cords_err("%s: %dx%d window, stride %d, padding %d", op, p->k, p->k, p->stride, p->pad);
	if (x->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1] ||
	    y->shape[2] != out_size(x->shape[2], p->k, p->stride, p->pad) ||
	    y->shape[3] != out_size(x->shape[3], p->k, p->stride, p->pad))
		return cords_err("%s: shapes do not fit", op);
	return 0;
}

/* x [B,K], w [N,K], y [B,N] and b [N] (or NULL): linear and its backward. */
static int fc_fits(const cords_buf *x, const cords_buf *w, const cords_buf *b, const cords_buf *y)
{
	const int64_t *xs = cords_buf_shape(x), *ws = cords_buf_shape(w), *ys = cords_buf_shape(y);
	return cords_buf_ndim(x) == 2 && cords_buf_ndim(w) == 2 && cords_buf_ndim(y) == 2 && xs[1] == ws[1] &&
	       ys[0] == xs[0] && ys[1] == ws[0] && (!b || (cords_buf_ndim(b) == 1 && cords_buf_shape(b)[0] == ws[0]));
}

static int xent_fits(const cords_buf *l, const cords_buf *hard, const cords_buf *soft, const cords_buf *dl,
		     const cords_buf *out)
{
	if (cords_buf_ndim(l) != 2 || !hard == !soft || cords_buf_ndim(out) != 2)
		return 0;
	const int64_t B = cords_buf_shape(l)[0], n = cords_buf_numel(l);
	return (!hard || (cords_buf_ndim(hard) == 1 && cords_buf_shape(hard)[0] == B)) &&
	       (!soft || (cords_buf_ndim(soft) == 2 && cords_buf_numel(soft) == n)) && (!dl || cords_buf_numel(dl) == n) &&
	       cords_buf_shape(out)[0] == 2 && cords_buf_shape(out)[1] == B;
}

static int phi_fits(const char *op, cords_phi phi)
{
	if (phi.kind != CORDS_PHI_RELU && phi.kind != CORDS_PHI_IDENTITY && phi.kind != CORDS_PHI_PRELU)
		return cords_err("%s: nonlinearity %d", op, (int)phi.kind);
	return 0;
}

/* x [B,C,H,W] and y [B,C] (the spatial mean and the read-out's backward). */
static int rows_of(const cords_buf *xb, const cords_buf *yb)
{
	const cords_buf_head *x = HEAD(xb), *y = HEAD(yb);
	return x->ndim == 4 && y->ndim == 2 && y->shape[0] == x->shape[0] && y->shape[1] == x->shape[1];
}

/* g [O] and v, w [O,...] alike: weight norm's rows, none a [B,C,H,W]
 * activation (whose channels a backend may block). */
static int wn_fits(const char *op, const cords_buf *g, const cords_buf *v, const cords_buf *w)
{
	const int64_t O = cords_buf_numel(g), n = cords_buf_numel(v);
	if (!O || n % O || cords_buf_numel(w) != n || is_act4(g) || is_act4(v) || is_act4(w))
		return cords_err("%s: g [O] and v, w [O,...] plain, v and w alike", op);
	return 0;
}

/* BatchNorm: x, y [B,C,H,W] alike, every per-channel vector given [C]. */
static int bn_fits(const char *op, const cords_buf *x, const cords_buf *y, const cords_buf *const *c, int nc)
{
	if (HEAD(x)->ndim != 4 || !same(x, y))
		return cords_err("%s: expects x, y [B,C,H,W] and [C] parameters", op);
	for (int i = 0; i < nc; i++)
		if (c[i] && (HEAD(c[i])->ndim != 1 || HEAD(c[i])->shape[0] != HEAD(x)->shape[1]))
			return cords_err("%s: expects x, y [B,C,H,W] and [C] parameters", op);
	return 0;
}

static cords_buf *c_alloc(cords_backend *be, cords_buf_kind kind, int ndim, const int64_t *shape)
{
	if (ndim < 1 || ndim > 4)
		return cords_err("buffer of %d dimensions (1 to 4 supported)", ndim), NULL;
	for (int i = 0; i < ndim; i++)
		if (shape[i] < 0)
			return cords_err("buffer with a dimension of %lld", (long long)shape[i]), NULL;
	return IN(be)->alloc(IN(be), kind, ndim, shape);
}
static void c_free(cords_backend *be, cords_buf *b)
{
	IN(be)->free(IN(be), b);
}
static int c_upload(cords_backend *be, cords_buf *b, const float *host)
{
	return IN(be)->upload(IN(be), b, host);
}
static int c_download(cords_backend *be, const cords_buf *b, float *host)
{
	return IN(be)->download(IN(be), b, host);
}
static int c_fill(cords_backend *be, cords_buf *b, float v)
{
	return IN(be)->fill(IN(be), b, v);
}
static int c_copy(cords_backend *be, cords_buf *dst, const cords_buf *src)
{
	if (!same(dst, src) && !slice_of(src, dst))
		return cords_err("copy: source is neither the destination's shape nor its [1,...] slice");
	return IN(be)->copy(IN(be), dst, src);
}
static int c_conv2d(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *w,
		    const cords_buf *bias, cords_buf *y)
{
	return conv_fits("conv2d", c, x, w, bias, y) ? -1 : IN(be)->conv2d(IN(be), c, x, w, bias, y);
}
static int c_avgpool(cords_backend *be, const cords_pool *p, const cords_buf *x, cords_buf *y)
{
	return pool_fits("avgpool", p, x, y) ? -1 : IN(be)->avgpool(IN(be), p, x, y);
}
static int c_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *r, cords_buf *z,
		   const cords_buf *bias, cords_buf *r_out)
{
	if (phi_fits("leaky", phi))
		return -1;
	if (!same(r, z) || !same(r, r_out))
		return cords_err("leaky: buffers differ in shape or kind");
	if (bias && !slice_of(bias, z))
		return cords_err("leaky: bias must be [1,C,H,W] of the state's shape");
	return IN(be)->leaky(IN(be), alpha, phi, r, z, bias, r_out);
}
static int c_relu_add(cords_backend *be, const cords_buf *a, const cords_buf *b, int relu_b, cords_buf *y)
{
	if (!same(a, y) || (b && !same(b, y)))
		return cords_err("relu_add: buffers differ in shape or kind");
	return IN(be)->relu_add(IN(be), a, b, relu_b, y);
}
static int c_spatial_mean(cords_backend *be, const cords_buf *x, cords_buf *y)
{
	if (!rows_of(x, y))
		return cords_err("spatial_mean: expects x [B,C,H,W] and y [B,C]");
	return IN(be)->spatial_mean(IN(be), x, y);
}
static int c_linear(cords_backend *be, const cords_buf *x, const cords_buf *w, const cords_buf *bias,
		    cords_buf *y)
{
	if (!fc_fits(x, w, bias, y))
		return cords_err("linear: expects x [B,K], w [N,K], bias [N], y [B,N]");
	return IN(be)->linear(IN(be), x, w, bias, y);
}
static int c_sync(cords_backend *be)
{
	return IN(be)->sync(IN(be));
}
static void c_destroy(cords_backend *be)
{
	cords_backend *in = IN(be);
	free(be);
	in->destroy(in);
}
static int c_conv2d_bwd_data(cords_backend *be, const cords_conv *c, const cords_buf *dy, const cords_buf *w,
			     cords_buf *dx)
{
	return conv_fits("conv2d_bwd_data", c, dx, w, NULL, dy) ? -1 : IN(be)->conv2d_bwd_data(IN(be), c, dy, w, dx);
}
static int c_conv2d_bwd_weights(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *dy,
				cords_buf *dw)
{
	return conv_fits("conv2d_bwd_weights", c, x, dw, NULL, dy) ? -1
								     : IN(be)->conv2d_bwd_weights(IN(be), c, x, dy, dw);
}
static int c_avgpool_bwd(cords_backend *be, const cords_pool *p, const cords_buf *dy, cords_buf *dx)
{
	return pool_fits("avgpool_bwd", p, dx, dy) ? -1 : IN(be)->avgpool_bwd(IN(be), p, dy, dx);
}
static int c_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *z, const cords_buf *dout,
		       cords_buf *dz, cords_buf *dr, float beta)
{
	if (phi_fits("leaky_bwd", phi))
		return -1;
	if (!same(z, dout) || !same(z, dz) || !same(z, dr))
		return cords_err("leaky_bwd: buffers differ in shape or kind");
	return IN(be)->leaky_bwd(IN(be), alpha, phi, z, dout, dz, dr, beta);
}
static int c_relu_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	if (!same(x, dy) || !same(x, dx))
		return cords_err("relu_bwd_add: buffers differ in shape or kind");
	return IN(be)->relu_bwd_add(IN(be), x, dy, dx);
}
static int c_readout_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	if (!same(x, dx) || !rows_of(x, dy))
		return cords_err("readout_bwd_add: expects x, dx [B,C,H,W] and dy [B,C]");
	return IN(be)->readout_bwd_add(IN(be), x, dy, dx);
}
static int c_batch_sum(cords_backend *be, const cords_buf *dz, cords_buf *db, float beta)
{
	if (!slice_of(db, dz))
		return cords_err("batch_sum: the sum must be the [1,...] slice of the input");
	return IN(be)->batch_sum(IN(be), dz, db, beta);
}
static int c_axpby(cords_backend *be, float a, const cords_buf *x, float b, cords_buf *y)
{
	if (!same(x, y) && !slice_of(x, y))
		return cords_err("axpby: x must have y's shape or be its [1,...] slice");
	return IN(be)->axpby(IN(be), a, x, b, y);
}
static int c_sqdiff_sum(cords_backend *be, const cords_buf *x, const cords_buf *y, double *out)
{
	if (y && !same(x, y) && !slice_of(y, x))
		return cords_err("sqdiff_sum: y must have x's shape or be its [1,...] slice");
	return IN(be)->sqdiff_sum(IN(be), x, y, out);
}
static int c_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *gamma,
		       const cords_buf *beta, cords_buf *rmean, cords_buf *rvar, cords_buf *save_mean,
		       cords_buf *save_invstd, cords_buf *y)
{
	const cords_buf *c[] = {gamma, beta, rmean, rvar, save_mean, save_invstd};
	if (!gamma || bn_fits("batchnorm", x, y, c, 6))
		return gamma ? -1 : cords_err("batchnorm: no gamma");
	return IN(be)->batchnorm(IN(be), m, x, gamma, beta, rmean, rvar, save_mean, save_invstd, y);
}
static int c_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *dy,
			   const cords_buf *gamma, const cords_buf *save_mean, const cords_buf *save_invstd,
			   const cords_buf *rmean, const cords_buf *rvar, cords_buf *dx, cords_buf *dgamma,
			   cords_buf *dbeta, float beta)
{
	const cords_buf *c[] = {gamma, save_mean, save_invstd, rmean, rvar, dgamma, dbeta};
	if (!gamma || bn_fits("batchnorm_bwd", x, dy, c, 7) || bn_fits("batchnorm_bwd", x, dx, c, 0))
		return gamma ? -1 : cords_err("batchnorm_bwd: no gamma");
	return IN(be)->batchnorm_bwd(IN(be), m, x, dy, gamma, save_mean, save_invstd, rmean, rvar, dx, dgamma, dbeta,
				     beta);
}
static cords_buf *c_view(cords_backend *be, cords_buf *b, int64_t at, int64_t n)
{
	if (HEAD(b)->kind != CORDS_BUF_ACT || at < 0 || n < 1 || at + n > HEAD(b)->shape[0])
		return cords_err("view of items %lld..%lld of a buffer of %lld", (long long)at, (long long)(at + n - 1),
				 (long long)HEAD(b)->shape[0]),
		       NULL;
	return IN(be)->view(IN(be), b, at, n);
}
static int c_mem_free(cords_backend *be, size_t *bytes)
{
	return IN(be)->mem_free(IN(be), bytes);
}
static int c_allreduce(cords_backend *be, cords_buf *b)
{
	return IN(be)->allreduce(IN(be), b);
}
static int c_lane(cords_backend *be, int k)
{
	if (k < 0 || k >= 16)
		return cords_err("lane %d: expected 0 to 15", k);
	return IN(be)->lane(IN(be), k);
}
static int c_replay(cords_backend *be, const void *key, size_t key_size, int (*fn)(void *arg), void *arg)
{
	return IN(be)->replay(IN(be), key, key_size, fn, arg);
}
static int c_wnorm(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w)
{
	return wn_fits("wnorm", g, v, w) ? -1 : IN(be)->wnorm(IN(be), g, v, w);
}
static int c_wnorm_bwd(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw,
		       cords_buf *dg, cords_buf *dv)
{
	if (wn_fits("wnorm_bwd", g, v, dw) || wn_fits("wnorm_bwd", dg, dv, dw))
		return -1;
	if (cords_buf_numel(dg) != cords_buf_numel(g))
		return cords_err("wnorm_bwd: dg must have g's size");
	return IN(be)->wnorm_bwd(IN(be), g, v, dw, dg, dv);
}
static int c_optim(cords_backend *be, const cords_optim *o, cords_buf *p, cords_buf *g, cords_buf *m, cords_buf *v)
{
	if (!same(g, p) || !same(m, p) || (o->adamw && !v) || (v && !same(v, p)))
		return cords_err("optim: gradient and state must have the parameter's shape");
	return IN(be)->optim(IN(be), o, p, g, m, v);
}
static int c_linear_bwd_data(cords_backend *be, const cords_buf *dy, const cords_buf *w, cords_buf *dx)
{
	if (!fc_fits(dx, w, NULL, dy))
		return cords_err("linear_bwd_data: expects dy [B,N], w [N,K], dx [B,K]");
	return IN(be)->linear_bwd_data(IN(be), dy, w, dx);
}
static int c_linear_bwd_weights(cords_backend *be, const cords_buf *dy, const cords_buf *x, cords_buf *dw,
				cords_buf *db)
{
	if (!fc_fits(x, dw, db, dy))
		return cords_err("linear_bwd_weights: expects dy [B,N], x [B,K], dw [N,K], db [N]");
	return IN(be)->linear_bwd_weights(IN(be), dy, x, dw, db);
}
static int c_xent(cords_backend *be, const cords_buf *logits, const cords_buf *hard, const cords_buf *soft,
		  float scale, cords_buf *dlogits, cords_buf *out)
{
	if (!xent_fits(logits, hard, soft, dlogits, out))
		return cords_err("xent: expects logits [B,N], hard [B] or soft [B,N], dlogits [B,N], out [2,B]");
	return IN(be)->xent(IN(be), logits, hard, soft, scale, dlogits, out);
}

cords_backend *cords_backend_checked(cords_backend *in)
{
	if (!in)
		return NULL;
	cords_backend *be = calloc(1, sizeof *be);
	if (!be) {
		in->destroy(in);
		return cords_err("out of memory"), NULL;
	}
	be->name = in->name;
	be->impl = in;
	/* the same members present as in the backend: NULL stays "not provided" */
#define SET(m) be->m = in->m ? c_##m : NULL;
	SET(alloc) SET(free) SET(upload) SET(download) SET(fill) SET(copy) SET(conv2d) SET(avgpool) SET(leaky)
	SET(relu_add) SET(spatial_mean) SET(linear) SET(sync) SET(destroy) SET(conv2d_bwd_data)
	SET(conv2d_bwd_weights) SET(avgpool_bwd) SET(leaky_bwd) SET(relu_bwd_add) SET(readout_bwd_add)
	SET(batch_sum) SET(axpby) SET(sqdiff_sum) SET(batchnorm) SET(batchnorm_bwd) SET(view) SET(mem_free)
	SET(allreduce) SET(lane) SET(replay) SET(wnorm) SET(wnorm_bwd) SET(optim) SET(linear_bwd_data)
	SET(linear_bwd_weights) SET(xent)
#undef SET
	return be;
}
