/* Inverse initialisation on the backend (inverse.h). Per area, with A the
 * RNN's recurrent conv and c its bias:
 *   s_0 = c + f,  s_k = A s_{k-1} + c + f (k = 1..K),  e_k = A e_{k-1} (e_0 = s_0)
 * and the backward runs the same chains in reverse; f is a constant. */
#include "inverse.h"
#include "cnn_train.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXK 8

struct cords_inverse {
	cords_arch a;
	cords_backend *be;
	cords_params *folded; /* the folded CNN's, on be */
	cords_cnn *cnn;
	int batch, K;
	double eig_weight;
	cords_buf *A[CORDS_MAX_DEPTH], *dA[CORDS_MAX_DEPTH], *cb[CORDS_MAX_DEPTH], *dcb[CORDS_MAX_DEPTH];
	cords_buf *s[CORDS_MAX_DEPTH][MAXK + 1], *e[CORDS_MAX_DEPTH][MAXK + 1], *d1[CORDS_MAX_DEPTH], *d2[CORDS_MAX_DEPTH];
};

static cords_buf *act(cords_backend *be, int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t s[4] = {a, b, c, d};
	return be->alloc(be, CORDS_BUF_ACT, 4, s);
}

static void free_batch(cords_inverse *v)
{
	cords_backend *be = v->be;
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		for (int k = 0; k <= MAXK; k++) {
			CALL(free, v->s[i][k]);
			CALL(free, v->e[i][k]);
			v->s[i][k] = v->e[i][k] = NULL;
		}
		CALL(free, v->d1[i]);
		CALL(free, v->d2[i]);
		v->d1[i] = v->d2[i] = NULL;
	}
}

static int alloc_batch(cords_inverse *v, int B)
{
	cords_backend *be = v->be;
	const cords_arch *a = &v->a;
	int ok = 1;
	v->batch = B;
	for (int i = 0; ok && i < a->depth; i++) {
		for (int k = 0; ok && k <= v->K; k++)
			ok = (v->s[i][k] = act(be, B, a->c[i], a->h[i], a->w[i])) &&
			     (v->e[i][k] = act(be, B, a->c[i], a->h[i], a->w[i]));
		ok = ok && (v->d1[i] = act(be, B, a->c[i], a->h[i], a->w[i])) &&
		     (v->d2[i] = act(be, B, a->c[i], a->h[i], a->w[i]));
	}
	return ok ? 0 : -1;
}

cords_inverse *cords_inverse_new(const cords_arch *a, cords_backend *be, const cords_tensor_list *folded, int batch,
				 int iterations, double eig_weight)
{
	if (iterations < 1 || iterations > MAXK) {
		cords_err("inverse: %d iterations (1..%d)", iterations, MAXK);
		return NULL;
	}
	cords_inverse *v = calloc(1, sizeof *v);
	if (!v) {
		cords_err("out of memory");
		return NULL;
	}
	v->a = *a, v->be = be, v->K = iterations, v->eig_weight = eig_weight;
	int ok = (v->folded = cords_params_new(be, (cords_tensor_list *)folded, NULL)) &&
		 (v->cnn = cords_cnn_new(a, be, 1, batch)) && !cords_cnn_set_params(v->cnn, v->folded);
	for (int i = 0; ok && i < a->depth; i++) {
		int64_t w[4] = {a->c[i], a->c[i], 3, 3};
		ok = (v->A[i] = be->alloc(be, CORDS_BUF_WEIGHT, 4, w)) && (v->dA[i] = be->alloc(be, CORDS_BUF_WEIGHT, 4, w)) &&
		     (v->cb[i] = act(be, 1, a->c[i], a->h[i], a->w[i])) && (v->dcb[i] = act(be, 1, a->c[i], a->h[i], a->w[i]));
	}
	if (!ok || alloc_batch(v, batch)) {
		cords_inverse_free(v);
		return NULL;
	}
	return v;
}

void cords_inverse_free(cords_inverse *v)
{
	if (!v)
		return;
	cords_backend *be = v->be;
	free_batch(v);
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		CALL(free, v->A[i]);
		CALL(free, v->dA[i]);
		CALL(free, v->cb[i]);
		CALL(free, v->dcb[i]);
	}
	cords_cnn_free(v->cnn);
	cords_params_free(v->folded);
	free(v);
}

/* Area i's recurrent weights and bias from the RNN's parameters. */
static int resolve_rnn(cords_inverse *v, const cords_params *rnn, int i)
{
	char base[40];
	snprintf(base, sizeof base, "area_conv.%d", i);
	if (cords_params_wnorm(rnn, base, v->A[i]))
		return -1;
	snprintf(base, sizeof base, "conv_bias.%d", i);
	const cords_buf *b = cords_params_buf(rnn, base);
	return b ? v->be->copy(v->be, v->cb[i], b) : -1;
}

/* The chains of area i; *fit and *eig get its mse and stability term. */
static int area_fwd(cords_inverse *v, int i, double *fit, double *eig)
{
	cords_backend *be = v->be;
	const cords_conv c3 = {.stride = 1, .pad = 1};
	const cords_buf *f = cords_cnn_ff(v->cnn, i), *t = cords_cnn_pre(v->cnn, i);
	cords_buf **s = v->s[i], **e = v->e[i];
	if (CALL(copy, s[0], f) || CALL(axpby, 1, v->cb[i], 1, s[0]) || CALL(copy, e[0], s[0]))
		return -1;
	for (int k = 1; k <= v->K; k++)
		if (CALL(conv2d, &c3, s[k - 1], v->A[i], NULL, s[k]) || CALL(axpby, 1, v->cb[i], 1, s[k]) ||
		    CALL(axpby, 1, f, 1, s[k]) || CALL(conv2d, &c3, e[k - 1], v->A[i], NULL, e[k]))
			return -1;
	double n = (double)cords_buf_numel(s[0]), sf, se;
	if (CALL(sqdiff_sum, s[v->K], t, &sf) || CALL(sqdiff_sum, e[v->K], NULL, &se))
		return -1;
	*fit = sf / n;
	*eig = se / n;
	return 0;
}

static int area_bwd(cords_inverse *v, int i)
{
	cords_backend *be = v->be;
	const cords_conv w1 = {.stride = 1, .pad = 1, .beta = 1}, d0 = {.stride = 1, .pad = 1},
			 d1 = {.stride = 1, .pad = 1, .beta = 1};
	const int D = v->a.depth, K = v->K;
	const cords_buf *t = cords_cnn_pre(v->cnn, i);
	cords_buf **s = v->s[i], **e = v->e[i], *g = v->d1[i], *h = v->d2[i], *x;
	double n = (double)cords_buf_numel(s[0]);
	float cs = (float)(2 / (n * D)), ce = (float)(2 * v->eig_weight / (n * D));
	if (CALL(fill, v->dA[i], 0) || CALL(fill, v->dcb[i], 0) || CALL(axpby, cs, s[K], 0, g) ||
	    CALL(axpby, -cs, t, 1, g))
		return -1;
	for (int k = K; k >= 1; k--) { /* g = d s_k -> d s_{k-1} */
		if (CALL(batch_sum, g, v->dcb[i], 1) || CALL(conv2d_bwd_weights, &w1, s[k - 1], g, v->dA[i]) ||
		    CALL(conv2d_bwd_data, &d0, g, v->A[i], h))
			return -1;
		x = g, g = h, h = x;
	}
	/* g = d s_0 from the fit; now the stability chain back to s_0. d e_{k-1}
	 * goes into e_k, whose value is no longer needed. */
	cords_buf *de = h;
	if (CALL(axpby, ce, e[K], 0, h))
		return -1;
	for (int k = K; k >= 1; k--) {
		if (CALL(conv2d_bwd_weights, &w1, e[k - 1], de, v->dA[i]))
			return -1;
		if (k > 1) {
			if (CALL(conv2d_bwd_data, &d0, de, v->A[i], e[k]))
				return -1;
			de = e[k];
		} else if (CALL(conv2d_bwd_data, &d1, de, v->A[i], g)) {
			return -1;
		}
	}
	return CALL(batch_sum, g, v->dcb[i], 1);
}

static int area_grads(cords_inverse *v, cords_params *rnn, int i)
{
	char base[40], bn[40];
	snprintf(base, sizeof base, "area_conv.%d", i);
	snprintf(bn, sizeof bn, "conv_bias.%d", i);
	cords_buf *db = cords_params_grad(rnn, bn);
	if (!db)
		return cords_err("inverse: %s is not trained", bn);
	return cords_params_wnorm_bwd(rnn, base, v->dA[i]) || v->be->copy(v->be, db, v->dcb[i]) ? -1 : 0;
}

double cords_inverse_step(cords_inverse *v, cords_params *rnn, int B, const float *x, int grads, double *fit,
			  double *eig)
{
	const int D = v->a.depth;
	if (B != v->batch && (free_batch(v), alloc_batch(v, B)))
		return NAN;
	if (cords_cnn_forward(v->cnn, v->folded, B, x))
		return NAN;
	double sf = 0, se = 0;
	for (int i = 0; i < D; i++) {
		double f, e;
		if (resolve_rnn(v, rnn, i) || area_fwd(v, i, &f, &e))
			return NAN;
		sf += f / D;
		se += e / D;
	}
	for (int i = 0; grads && i < D; i++)
		if (area_bwd(v, i) || area_grads(v, rnn, i))
			return NAN;
	*fit = sf;
	*eig = se;
	return sf + v->eig_weight * se;
}
