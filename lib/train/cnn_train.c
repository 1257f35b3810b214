/* The BN CNN and the folded CNN on the backend (cnn_train.h).
 * Forward, area by area (x_i >= 0 are the post-ReLU activities):
 *   s = conv_inp(x), p = avgpool(BN(s))
 *   u_0 = p, u_1 = x_0 + inp_skip(p), u_i = x_{i-1} + x_{i-2} (even),
 *   u_i = x_{i-1} + BN(skip(x_{i-2})) (odd)
 *   f_i = area_area_i(u_i), a_i = BN_i(f_i), g_i = area_conv_i(a_i), x_i = relu(BN2_i(g_i))
 *   logits = fc(mean_hw(x_{D-1} + x_{D-2}))
 * The folded net replaces each BN by the identity plus a per-unit bias
 * (after area_area and area_conv) and drops the stem and skip BNs, whose
 * biases fold has pushed into area_bias. The backward runs the areas from
 * the top down, so each x_i's gradient is complete when its area is reached. */
#include "cnn_train.h"
#include "err.h"
#include "loss.h"
#include "model.h"
#include "rng.h"
#include "stream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WN ".parametrizations.weight.original"
#define MAXBN (1 + 2 * CORDS_MAX_DEPTH + 3)

typedef struct {
	char name[40];
	int c;
	cords_buf *gamma, *beta, *rm, *rv, *sm, *si, *dgamma, *dbeta;
} bnbuf;

typedef struct {
	char base[40];
	cords_buf *w, *dw;
} cbuf;

struct cords_cnn {
	cords_arch a;
	cords_backend *be;
	int folded, batch;
	cbuf inp, skip0, aa[CORDS_MAX_DEPTH], ac[CORDS_MAX_DEPTH], sk[3];
	bnbuf bn[MAXBN]; /* 0: stem, 1+2i: area_area i, 2+2i: area_conv i, 1+2D+k: skip k */
	cords_buf *abias[CORDS_MAX_DEPTH], *cbias[CORDS_MAX_DEPTH]; /* folded: [1,c,h,w] */
	/* activations and their gradients */
	cords_buf *xin, *s, *sn, *p, *ds, *dsn, *dp;
	cords_buf *u[CORDS_MAX_DEPTH], *f[CORDS_MAX_DEPTH], *an[CORDS_MAX_DEPTH], *g[CORDS_MAX_DEPTH],
		*h[CORDS_MAX_DEPTH], *x[CORDS_MAX_DEPTH], *sk_raw[CORDS_MAX_DEPTH], *sk_n[CORDS_MAX_DEPTH];
	cords_buf *du[CORDS_MAX_DEPTH], *df[CORDS_MAX_DEPTH], *dx[CORDS_MAX_DEPTH], *dh[CORDS_MAX_DEPTH],
		*dg[CORDS_MAX_DEPTH], *dsk[CORDS_MAX_DEPTH], *da[CORDS_MAX_DEPTH];
	cords_buf *sum, *feat, *dfeat;
	/* the read-out: W [N,C] and its gradient, logits and their gradient
	 * [B,N], the labels (hard [B] or soft [B,N]), xent's answers [2,B] */
	cords_buf *fcw, *fcdw, *logits, *dlog, *hard, *soft, *xout;
	float *xout_host;
};

int cords_cnn_trained(const char *name)
{
	size_t n = strlen(name);
	return strncmp(name, "conv_bias.", 10) && !(n > 13 && !strcmp(name + n - 13, ".running_mean")) &&
	       !(n > 12 && !strcmp(name + n - 12, ".running_var"));
}

int cords_cnn_nbn(const cords_arch *a) { return 1 + 2 * a->depth + a->nskip; }

int cords_cnn_bn_name(const cords_arch *a, int j, char *name, size_t n, int *channels)
{
	const int D = a->depth;
	if (j == 0)
		return snprintf(name, n, "bn_inp"), *channels = 64, 0;
	if (j <= 2 * D) {
		int i = (j - 1) / 2;
		snprintf(name, n, "%s.%d", (j - 1) % 2 ? "bn_area_conv" : "bn_area_area", i);
		*channels = a->c[i];
		return 0;
	}
	int k = j - 1 - 2 * D;
	if (k >= a->nskip)
		return cords_err("BatchNorm index %d out of range", j);
	snprintf(name, n, "bn_skip_area.%d", k);
	*channels = a->skip_out[k];
	return 0;
}

static const char *bn_fields[4] = {"weight", "bias", "running_mean", "running_var"};

int cords_cnn_add_bn(const cords_arch *a, cords_tensor_list *l)
{
	char base[40], name[64];
	int c;
	for (int j = 0; j < cords_cnn_nbn(a); j++) {
		cords_cnn_bn_name(a, j, base, sizeof base, &c);
		for (int f = 0; f < 4; f++) {
			snprintf(name, sizeof name, "%s.%s", base, bn_fields[f]);
			if (cords_list_find(l, name))
				continue;
			int64_t s = c;
			cords_tensor *t = cords_tensor_new(name, CORDS_F32, 1, &s);
			if (!t)
				return -1;
			for (int i = 0; i < c && (f == 0 || f == 3); i++)
				((float *)t->data)[i] = 1;
			if (cords_list_push(l, t))
				return -1;
		}
	}
	return 0;
}

/* ---- default initialisation */

static int init_wn(cords_tensor_list *l, cords_rng *r, const char *base, int64_t out, int64_t in, int64_t kh,
		   int64_t kw, int ndim)
{
	char gn[80], vn[80];
	snprintf(gn, sizeof gn, "%s" WN "0", base);
	snprintf(vn, sizeof vn, "%s" WN "1", base);
	int64_t gs[4] = {out, 1, 1, 1}, vs[4] = {out, in, kh, kw};
	cords_tensor *g = cords_tensor_new(gn, CORDS_F32, ndim, gs), *v = cords_tensor_new(vn, CORDS_F32, ndim, vs);
	if (!g || !v || cords_list_push(l, g) || cords_list_push(l, v))
		return -1;
	int64_t fan = in * kh * kw;
	double bound = 1 / sqrt((double)fan);
	for (int64_t o = 0; o < out; o++) {
		double s = 0;
		for (int64_t k = 0; k < fan; k++) {
			float x = (float)cords_rng_range(r, -bound, bound);
			((float *)v->data)[o * fan + k] = x;
			s += (double)x * x;
		}
		((float *)g->data)[o] = (float)sqrt(s);
	}
	return 0;
}

int cords_init_params(const cords_arch *a, uint64_t seed, cords_tensor_list *l)
{
	cords_rng r;
	char base[40];
	cords_rng_seed(&r, seed);
	int rc = init_wn(l, &r, "inp_conv", 64, a->in_ch, 7, 7, 4) || init_wn(l, &r, "inp_skip", 64, 64, 3, 3, 4);
	for (int i = 0; i < a->depth && !rc; i++) {
		snprintf(base, sizeof base, "area_conv.%d", i);
		rc = init_wn(l, &r, base, a->c[i], a->c[i], 3, 3, 4);
		int64_t s[3] = {a->c[i], a->h[i], a->w[i]};
		snprintf(base, sizeof base, "conv_bias.%d", i);
		cords_tensor *b = cords_tensor_new(base, CORDS_F32, 3, s);
		rc = rc || !b || cords_list_push(l, b);
		snprintf(base, sizeof base, "area_area.%d", i);
		rc = rc || init_wn(l, &r, base, a->c[i], a->cin[i], 3, 3, 4);
	}
	for (int k = 0; k < a->nskip && !rc; k++) {
		snprintf(base, sizeof base, "skip_area.%d", k);
		rc = init_wn(l, &r, base, a->skip_out[k], a->skip_in[k], 1, 1, 4);
	}
	int64_t nb = a->classes;
	cords_tensor *fb = NULL;
	rc = rc || init_wn(l, &r, "out_fc", a->classes, a->c[a->depth - 1], 1, 1, 2) ||
	     !(fb = cords_tensor_new("out_fc.bias", CORDS_F32, 1, &nb)) || cords_list_push(l, fb);
	for (int n = 0; !rc && n < a->classes; n++) {
		double bound = 1 / sqrt((double)a->c[a->depth - 1]);
		((float *)fb->data)[n] = (float)cords_rng_range(&r, -bound, bound);
	}
	return rc ? -1 : 0;
}

/* ---- buffers */

static cords_buf *act(cords_backend *be, int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t s[4] = {a, b, c, d};
	return be->alloc(be, CORDS_BUF_ACT, d ? 4 : b ? 2 : 1, s);
}

static int conv_bufs(cords_backend *be, cbuf *c, const char *base, int64_t o, int64_t i, int64_t k)
{
	int64_t s[4] = {o, i, k, k};
	snprintf(c->base, sizeof c->base, "%s", base);
	return (c->w = be->alloc(be, CORDS_BUF_WEIGHT, 4, s)) && (c->dw = be->alloc(be, CORDS_BUF_WEIGHT, 4, s)) ? 0 : -1;
}

static int bn_bufs(cords_backend *be, bnbuf *b, const cords_arch *a, int j)
{
	cords_cnn_bn_name(a, j, b->name, sizeof b->name, &b->c);
	cords_buf **all[8] = {&b->gamma, &b->beta, &b->rm, &b->rv, &b->sm, &b->si, &b->dgamma, &b->dbeta};
	for (int i = 0; i < 8; i++)
		if (!(*all[i] = act(be, b->c, 0, 0, 0)))
			return -1;
	return 0;
}

static void free_all(cords_cnn *c)
{
	cords_backend *be = c->be;
	cords_buf **one[] = {&c->xin, &c->s,   &c->sn,   &c->p,     &c->ds,  &c->dsn,
			     &c->dp,  &c->sum, &c->feat, &c->dfeat, &c->fcw,
			     &c->fcdw, &c->logits, &c->dlog, &c->hard, &c->soft, &c->xout};
	for (size_t i = 0; i < sizeof one / sizeof *one; i++)
		CALL(free, *one[i]);
	free(c->xout_host);
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		cords_buf *per[] = {c->u[i], c->f[i], c->an[i], c->g[i], c->h[i], c->x[i], c->sk_raw[i], c->sk_n[i],
				    c->du[i], c->df[i], c->dx[i], c->dh[i], c->dg[i], c->dsk[i], c->da[i], c->abias[i],
				    c->cbias[i], c->aa[i].w, c->aa[i].dw, c->ac[i].w, c->ac[i].dw};
		for (size_t j = 0; j < sizeof per / sizeof *per; j++)
			CALL(free, per[j]);
	}
	for (int k = 0; k < 3; k++)
		CALL(free, c->sk[k].w), CALL(free, c->sk[k].dw);
	CALL(free, c->inp.w), CALL(free, c->inp.dw), CALL(free, c->skip0.w), CALL(free, c->skip0.dw);
	for (int j = 0; j < MAXBN; j++) {
		bnbuf *b = &c->bn[j];
		cords_buf *all[8] = {b->gamma, b->beta, b->rm, b->rv, b->sm, b->si, b->dgamma, b->dbeta};
		for (int i = 0; i < 8; i++)
			CALL(free, all[i]);
	}
}

cords_cnn *cords_cnn_new(const cords_arch *a, cords_backend *be, int folded, int B)
{
	cords_cnn *c = calloc(1, sizeof *c);
	if (!c) {
		cords_err("out of memory");
		return NULL;
	}
	if (!be->conv2d_bwd_data || !be->batchnorm) {
		free(c);
		cords_err("backend %s has no training operations", be->name);
		return NULL;
	}
	c->a = *a, c->be = be, c->folded = folded, c->batch = B;
	const int D = a->depth, C = a->c[D - 1];
	char base[40];
	int ok = !conv_bufs(be, &c->inp, "inp_conv", 64, a->in_ch, 7) && !conv_bufs(be, &c->skip0, "inp_skip", 64, 64, 3) &&
		 (c->xin = act(be, B, a->in_ch, a->height, a->width)) && (c->s = act(be, B, 64, a->stem_h, a->stem_w)) &&
		 (c->sn = act(be, B, 64, a->stem_h, a->stem_w)) && (c->ds = act(be, B, 64, a->stem_h, a->stem_w)) &&
		 (c->dsn = act(be, B, 64, a->stem_h, a->stem_w)) && (c->p = act(be, B, 64, a->h[0], a->w[0])) &&
		 (c->dp = act(be, B, 64, a->h[0], a->w[0])) && (c->sum = act(be, B, C, a->h[D - 1], a->w[D - 1])) &&
		 (c->feat = act(be, B, C, 0, 0)) && (c->dfeat = act(be, B, C, 0, 0)) &&
		 (c->fcw = act(be, a->classes, C, 0, 0)) && (c->fcdw = act(be, a->classes, C, 0, 0)) &&
		 (c->logits = act(be, B, a->classes, 0, 0)) && (c->dlog = act(be, B, a->classes, 0, 0)) &&
		 (c->hard = be->alloc(be, CORDS_BUF_ACT, 1, (int64_t[]){B})) &&
		 (c->soft = act(be, B, a->classes, 0, 0)) && (c->xout = act(be, 2, B, 0, 0)) &&
		 (c->xout_host = malloc((size_t)2 * B * sizeof(float)));
	for (int i = 0; ok && i < D; i++) {
		int j = i ? i - 1 : 0, ci = a->c[i], hi = a->h[i], wi = a->w[i];
		snprintf(base, sizeof base, "area_area.%d", i);
		ok = !conv_bufs(be, &c->aa[i], base, ci, a->cin[i], 3);
		snprintf(base, sizeof base, "area_conv.%d", i);
		ok = ok && !conv_bufs(be, &c->ac[i], base, ci, ci, 3);
		cords_buf **per[] = {&c->f[i], &c->an[i], &c->g[i], &c->h[i], &c->x[i], &c->df[i], &c->dx[i], &c->dh[i],
				     &c->dg[i], &c->da[i]};
		for (size_t k = 0; ok && k < sizeof per / sizeof *per; k++)
			ok = (*per[k] = act(be, B, ci, hi, wi)) != NULL;
		ok = ok && (c->u[i] = act(be, B, a->cin[i], a->h[j], a->w[j])) &&
		     (c->du[i] = act(be, B, a->cin[i], a->h[j], a->w[j]));
		if (ok && cords_arch_feed(a, i).kind == CORDS_FEED_SKIP) /* the skip output has u_i's shape */
			ok = (c->sk_raw[i] = act(be, B, a->cin[i], a->h[j], a->w[j])) &&
			     (c->sk_n[i] = act(be, B, a->cin[i], a->h[j], a->w[j])) &&
			     (c->dsk[i] = act(be, B, a->cin[i], a->h[j], a->w[j]));
		if (ok && folded)
			ok = (c->abias[i] = act(be, 1, ci, hi, wi)) && (c->cbias[i] = act(be, 1, ci, hi, wi));
	}
	for (int k = 0; ok && k < a->nskip; k++) {
		snprintf(base, sizeof base, "skip_area.%d", k);
		ok = !conv_bufs(be, &c->sk[k], base, a->skip_out[k], a->skip_in[k], 1);
	}
	for (int j = 0; ok && !folded && j < cords_cnn_nbn(a); j++)
		ok = !bn_bufs(be, &c->bn[j], a, j);
	if (!ok) {
		cords_cnn_free(c);
		cords_err_prefix("CNN buffers for batch %d: ", B);
		return NULL;
	}
	return c;
}

void cords_cnn_free(cords_cnn *c)
{
	if (!c)
		return;
	free_all(c);
	free(c);
}

/* ---- parameters (params.h), resolved on the backend */

static int up_plain(cords_backend *be, const cords_params *ps, const char *name, cords_buf *b)
{
	const cords_buf *t = cords_params_buf(ps, name);
	if (t && cords_buf_numel(t) != cords_buf_numel(b))
		return cords_err("tensor %s has %lld elements, expected %lld", name, (long long)cords_buf_numel(t),
				 (long long)cords_buf_numel(b));
	return t ? CALL(copy, b, t) : -1;
}

int cords_cnn_set_params(cords_cnn *c, cords_params *ps)
{
	cords_backend *be = c->be;
	const cords_arch *a = &c->a;
	char name[80];
	int rc = cords_params_wnorm(ps, c->inp.base, c->inp.w) ||
		 cords_params_wnorm(ps, c->skip0.base, c->skip0.w);
	for (int i = 0; i < a->depth && !rc; i++) {
		rc = cords_params_wnorm(ps, c->aa[i].base, c->aa[i].w) ||
		     cords_params_wnorm(ps, c->ac[i].base, c->ac[i].w);
		if (c->folded && !rc) {
			snprintf(name, sizeof name, "area_bias.%d", i);
			rc = up_plain(be, ps, name, c->abias[i]);
			snprintf(name, sizeof name, "conv_bias.%d", i);
			rc = rc || up_plain(be, ps, name, c->cbias[i]);
		}
	}
	for (int k = 0; k < a->nskip && !rc; k++)
		rc = cords_params_wnorm(ps, c->sk[k].base, c->sk[k].w);
	for (int j = 0; j < cords_cnn_nbn(a) && !rc && !c->folded; j++) {
		bnbuf *b = &c->bn[j];
		cords_buf *dst[4] = {b->gamma, b->beta, b->rm, b->rv};
		for (int f = 0; f < 4 && !rc; f++) {
			snprintf(name, sizeof name, "%s.%s", b->name, bn_fields[f]);
			rc = up_plain(be, ps, name, dst[f]);
		}
	}
	return rc || cords_params_wnorm(ps, "out_fc", c->fcw) ? -1 : 0;
}

/* ---- forward */

/* y = BN_j(x) (BN CNN) or x + bias (folded; bias NULL: x itself). */
static int norm(cords_cnn *c, int train, int j, const cords_buf *x, cords_buf *bias, cords_buf *y)
{
	cords_backend *be = c->be;
	if (c->folded)
		return CALL(copy, y, x) || (bias && CALL(axpby, 1, bias, 1, y)) ? -1 : 0;
	bnbuf *b = &c->bn[j];
	cords_bn_mode m = {.train = train, .momentum = 0.1f, .eps = 1e-5f};
	return CALL(batchnorm, &m, x, b->gamma, b->beta, b->rm, b->rv, b->sm, b->si, y);
}

/* The BatchNorm after skip conv k. */
static int bn_skip(const cords_cnn *c, int k) { return 1 + 2 * c->a.depth + k; }

static int area_fwd(cords_cnn *c, int train, int i)
{
	cords_backend *be = c->be;
	const cords_conv c3 = {.stride = 1, .pad = 1, .once = train}, c1 = {.stride = 2, .pad = 0, .once = train};
	const cords_conv ff = {.stride = c->a.stride[i], .pad = 1, .once = train};
	const cords_feed f = cords_arch_feed(&c->a, i);
	int rc = 0;
	switch (f.kind) {
	case CORDS_FEED_STEM:
		break;
	case CORDS_FEED_STEM_SKIP:
		rc = CALL(conv2d, &c3, c->p, c->skip0.w, NULL, c->u[i]) || CALL(axpby, 1, c->x[f.prev], 1, c->u[i]);
		break;
	case CORDS_FEED_SAME:
		rc = CALL(copy, c->u[i], c->x[f.prev]) || CALL(axpby, 1, c->x[f.side], 1, c->u[i]);
		break;
	case CORDS_FEED_SKIP:
		rc = CALL(conv2d, &c1, c->x[f.side], c->sk[f.skip].w, NULL, c->sk_raw[i]) ||
		     norm(c, train, bn_skip(c, f.skip), c->sk_raw[i], NULL, c->sk_n[i]) ||
		     CALL(copy, c->u[i], c->x[f.prev]) || CALL(axpby, 1, c->sk_n[i], 1, c->u[i]);
		break;
	}
	const cords_buf *u = f.kind == CORDS_FEED_STEM ? c->p : c->u[i];
	return rc || CALL(conv2d, &ff, u, c->aa[i].w, NULL, c->f[i]) ||
			       norm(c, train, 1 + 2 * i, c->f[i], c->abias[i], c->an[i]) ||
			       CALL(conv2d, &c3, c->an[i], c->ac[i].w, NULL, c->g[i]) ||
			       norm(c, train, 2 + 2 * i, c->g[i], c->cbias[i], c->h[i]) ||
			       CALL(relu_add, c->h[i], NULL, 0, c->x[i])
		       ? -1
		       : 0;
}

static int forward(cords_cnn *c, int train, const float *x)
{
	cords_backend *be = c->be;
	const cords_conv stem = {.stride = 2, .pad = 3, .once = train};
	const cords_pool pool = {.k = 3, .stride = 2, .pad = 1};
	const int D = c->a.depth;
	if (CALL(upload, c->xin, x) || CALL(conv2d, &stem, c->xin, c->inp.w, NULL, c->s) ||
	    norm(c, train, 0, c->s, NULL, c->sn) || CALL(avgpool, &pool, c->sn, c->p))
		return -1;
	for (int i = 0; i < D; i++)
		if (area_fwd(c, train, i))
			return -1;
	return CALL(relu_add, c->x[D - 1], c->x[D - 2], 1, c->sum) || CALL(spatial_mean, c->sum, c->feat) ? -1 : 0;
}

/* ---- backward */

static int norm_bwd(cords_cnn *c, int j, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	cords_backend *be = c->be;
	bnbuf *b = &c->bn[j];
	cords_bn_mode m = {.train = 1, .momentum = 0.1f, .eps = 1e-5f};
	return CALL(batchnorm_bwd, &m, x, dy, b->gamma, b->sm, b->si, b->rm, b->rv, dx, b->dgamma, b->dbeta, 0);
}

static int area_bwd(cords_cnn *c, int i)
{
	cords_backend *be = c->be;
	const cords_conv c3 = {.stride = 1, .pad = 1, .beta = 1}, c3d = {.stride = 1, .pad = 1},
			 c3a = {.stride = 1, .pad = 1, .beta = 1}, c1 = {.stride = 2, .pad = 0, .beta = 1},
			 c1a = {.stride = 2, .pad = 0, .beta = 1};
	/* du_0 is dp, which area 1 (done before) has already added to */
	const cords_conv ffw = {.stride = c->a.stride[i], .pad = 1, .beta = 1},
			 ffd = {.stride = c->a.stride[i], .pad = 1, .beta = i == 0 ? 1.0f : 0.0f};
	const cords_buf *u = i == 0 ? c->p : c->u[i];
	if (CALL(fill, c->dh[i], 0) || CALL(relu_bwd_add, c->h[i], c->dx[i], c->dh[i]) ||
	    norm_bwd(c, 2 + 2 * i, c->g[i], c->dh[i], c->dg[i]) ||
	    CALL(conv2d_bwd_weights, &c3, c->an[i], c->dg[i], c->ac[i].dw) ||
	    CALL(conv2d_bwd_data, &c3d, c->dg[i], c->ac[i].w, c->da[i]) ||
	    norm_bwd(c, 1 + 2 * i, c->f[i], c->da[i], c->df[i]) ||
	    CALL(conv2d_bwd_weights, &ffw, u, c->df[i], c->aa[i].dw) ||
	    CALL(conv2d_bwd_data, &ffd, c->df[i], c->aa[i].w, i == 0 ? c->dp : c->du[i]))
		return -1;
	if (i == 0)
		return 0;
	const cords_buf *du = c->du[i];
	const cords_feed f = cords_arch_feed(&c->a, i);
	switch (f.kind) {
	case CORDS_FEED_STEM:
		break;
	case CORDS_FEED_STEM_SKIP:
		return CALL(axpby, 1, du, 1, c->dx[f.prev]) || CALL(conv2d_bwd_weights, &c3, c->p, du, c->skip0.dw) ||
		       CALL(conv2d_bwd_data, &c3a, du, c->skip0.w, c->dp) ? -1 : 0;
	case CORDS_FEED_SAME:
		return CALL(axpby, 1, du, 1, c->dx[f.prev]) || CALL(axpby, 1, du, 1, c->dx[f.side]) ? -1 : 0;
	case CORDS_FEED_SKIP: {
		cbuf *sk = &c->sk[f.skip];
		return CALL(axpby, 1, du, 1, c->dx[f.prev]) ||
				       norm_bwd(c, bn_skip(c, f.skip), c->sk_raw[i], du, c->dsk[i]) ||
				       CALL(conv2d_bwd_weights, &c1, c->x[f.side], c->dsk[i], sk->dw) ||
				       CALL(conv2d_bwd_data, &c1a, c->dsk[i], sk->w, c->dx[f.side])
			       ? -1
			       : 0;
	}
	}
	return 0;
}

static int zero(cords_cnn *c)
{
	cords_backend *be = c->be;
	int rc = CALL(fill, c->inp.dw, 0) || CALL(fill, c->skip0.dw, 0) || CALL(fill, c->dp, 0);
	for (int i = 0; i < c->a.depth && !rc; i++)
		rc = CALL(fill, c->aa[i].dw, 0) || CALL(fill, c->ac[i].dw, 0) || CALL(fill, c->dx[i], 0);
	for (int k = 0; k < c->a.nskip && !rc; k++)
		rc = CALL(fill, c->sk[k].dw, 0);
	return rc ? -1 : 0;
}

/* The buffer b into the gradient of base.field, if it is trained. */
static int grad_plain(cords_cnn *c, cords_params *ps, const char *base, const char *field, const cords_buf *b)
{
	char name[80];
	snprintf(name, sizeof name, "%s.%s", base, field);
	cords_buf *d = cords_params_grad(ps, name);
	return d ? c->be->copy(c->be, d, b) : 0;
}

static int param_grads(cords_cnn *c, cords_params *ps)
{
	const cords_arch *a = &c->a;
	cords_backend *be = c->be;
	int rc = cords_params_wnorm_bwd(ps, c->inp.base, c->inp.dw) ||
		 cords_params_wnorm_bwd(ps, c->skip0.base, c->skip0.dw);
	for (int i = 0; i < a->depth && !rc; i++)
		rc = cords_params_wnorm_bwd(ps, c->aa[i].base, c->aa[i].dw) ||
		     cords_params_wnorm_bwd(ps, c->ac[i].base, c->ac[i].dw);
	for (int k = 0; k < a->nskip && !rc; k++)
		rc = cords_params_wnorm_bwd(ps, c->sk[k].base, c->sk[k].dw);
	for (int j = 0; j < cords_cnn_nbn(a) && !rc; j++)
		rc = grad_plain(c, ps, c->bn[j].name, "weight", c->bn[j].dgamma) ||
		     grad_plain(c, ps, c->bn[j].name, "bias", c->bn[j].dbeta);
	return rc || CALL(linear_bwd_weights, c->dlog, c->feat, c->fcdw, cords_params_grad(ps, "out_fc.bias")) ||
			       cords_params_wnorm_bwd(ps, "out_fc", c->fcdw)
		       ? -1
		       : 0;
}

static int backward(cords_cnn *c, cords_params *ps)
{
	cords_backend *be = c->be;
	const int D = c->a.depth;
	int rc = zero(c) || CALL(linear_bwd_data, c->dlog, c->fcw, c->dfeat) ||
		 CALL(readout_bwd_add, c->x[D - 1], c->dfeat, c->dx[D - 1]) ||
		 CALL(readout_bwd_add, c->x[D - 2], c->dfeat, c->dx[D - 2]);
	for (int i = D - 1; i >= 0 && !rc; i--)
		rc = area_bwd(c, i);
	const cords_pool pool = {.k = 3, .stride = 2, .pad = 1};
	const cords_conv stem = {.stride = 2, .pad = 3, .beta = 1};
	rc = rc || CALL(avgpool_bwd, &pool, c->dp, c->dsn) || norm_bwd(c, 0, c->s, c->dsn, c->ds) ||
	     CALL(conv2d_bwd_weights, &stem, c->xin, c->ds, c->inp.dw);
	return rc ? -1 : param_grads(c, ps);
}

/* Train mode updated the running statistics in the net's buffers: into the
 * parameters' (their host copies are brought down when asked for). */
static int running_home(cords_cnn *c, cords_params *ps)
{
	char name[80];
	for (int j = 0; j < cords_cnn_nbn(&c->a); j++)
		for (int f = 2; f < 4; f++) {
			snprintf(name, sizeof name, "%s.%s", c->bn[j].name, bn_fields[f]);
			cords_buf *d = cords_params_buf(ps, name);
			if (!d || c->be->copy(c->be, d, f == 2 ? c->bn[j].rm : c->bn[j].rv) || cords_params_changed(ps, name))
				return -1;
		}
	return 0;
}

/* Buffers for batch B (re-made when the batch size changes). */
static int ensure_batch(cords_cnn *c, cords_params *ps, int B)
{
	if (B == c->batch)
		return 0;
	cords_cnn *n = cords_cnn_new(&c->a, c->be, c->folded, B);
	if (!n || cords_cnn_set_params(n, ps)) {
		cords_cnn_free(n);
		return -1;
	}
	free_all(c);
	*c = *n;
	free(n);
	return 0;
}

int cords_cnn_forward(cords_cnn *c, cords_params *ps, int B, const float *x)
{
	return ensure_batch(c, ps, B) || forward(c, 0, x) ? -1 : 0;
}

const cords_buf *cords_cnn_ff(const cords_cnn *c, int i) { return c->f[i]; }
const cords_buf *cords_cnn_pre(const cords_cnn *c, int i) { return c->h[i]; }

double cords_cnn_step(cords_cnn *c, cords_params *ps, int train, int B, const float *x, cords_labels y, int grads,
		      float *logits)
{
	cords_backend *be = c->be;
	const int labelled = y.hard || y.soft;
	const cords_buf *h = NULL, *s = NULL, *fcb = cords_params_buf(ps, "out_fc.bias");
	if (!fcb)
		return NAN;
	if (grads && (c->folded || !train || !labelled)) {
		cords_err("gradients need the BN CNN in train mode, and labels");
		return NAN;
	}
	/* everything queued before the first download: the backward need not wait for the host */
	if (ensure_batch(c, ps, B) || forward(c, train && !c->folded, x) || (train && !c->folded && running_home(c, ps)) ||
	    CALL(linear, c->feat, c->fcw, fcb, c->logits) ||
	    (labelled && (cords_labels_upload(be, y, c->hard, c->soft, &h, &s) ||
			  CALL(xent, c->logits, h, s, 1, grads ? c->dlog : NULL, c->xout))) ||
	    (grads && backward(c, ps)) || (logits && CALL(download, c->logits, logits)) ||
	    (labelled && CALL(download, c->xout, c->xout_host)))
		return NAN;
	return labelled ? cords_xent_tally(c->xout_host, B, c->a.classes, y, NULL, NULL) : 0;
}
