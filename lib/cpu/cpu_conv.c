/* oneDNN convolutions for the CPU backend, forward and backward (the twin of
 * kernels/cuda_conv.cu). A primitive is made once per shape (and layout,
 * stride, padding, bias, accumulation) and kept; the convolution picks its
 * own weight layout (format "any"), and the weights are reordered into it
 * once and cached with the weight buffer (the backward passes' layouts
 * through the same cache). Weight gradients come back to the plain [O,I,k,k]
 * layout of the buffer. Accumulation (beta = 1) in the backward passes goes
 * through a scratch array, since backward primitives take no sum post-op.
 * On a bf16 backend a forward convolution between channels-last buffers
 * converts its input to bf16 (scratch slot 2) and its weights with their
 * packing, and accumulates in f32 into its f32 output. */
#include "backend_cpu.h"
#include "err.h"

#include <cblas.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_CONV = 1, KEY_BWD_DATA = 101, KEY_BWD_WEIGHTS = 102, KEY_REORDER_W = 104, KEY_TO_BF16 = 105 };

float *cpu_scratch(cpu_impl *c, int i, size_t n)
{
	if (c->scratch_n[i] < n) {
		free(c->scratch[i]);
		c->scratch_n[i] = 0;
		if (!(c->scratch[i] = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64))) {
			cords_err("out of memory");
			return NULL;
		}
		c->scratch_n[i] = n;
	}
	return c->scratch[i];
}

static int make_conv(cpu_impl *c, const cords_conv *cv, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *x,
		     const cpu_buf *w, const cpu_buf *bias, const dnnl_memory_desc_t *y, dnnl_primitive_t *out)
{
	dnnl_memory_desc_t wmd, bmd;
	dnnl_dims_t wd = {w->h.shape[0], w->h.shape[1], w->h.shape[2], w->h.shape[3]};
	dnnl_dims_t bd = {w->h.shape[0]};
	dnnl_dims_t st = {cv->stride, cv->stride}, pl = {cv->pad, cv->pad}, pr;
	/* Right padding so that the output size comes out as asked. */
	for (int i = 0; i < 2; i++)
		pr[i] = (y->dims[2 + i] - 1) * cv->stride + w->h.shape[2 + i] - x->dims[2 + i] - cv->pad;
	if (cpu_dnnl(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, x->data_type, dnnl_format_tag_any), "weights md") ||
	    cpu_dnnl(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a), "bias md"))
		return -1;
	dnnl_convolution_desc_t cd;
	if (cpu_dnnl(dnnl_convolution_forward_desc_init(&cd, cv->once ? dnnl_forward_training : dnnl_forward_inference, alg, x,
							&wmd, bias ? &bmd : NULL, y, st, pl, pr),
		     "convolution descriptor"))
		return -1;
	dnnl_primitive_attr_t attr;
	dnnl_post_ops_t po;
	if (cpu_dnnl(dnnl_primitive_attr_create(&attr), "attributes"))
		return -1;
	if (cv->beta != 0 && dnnl_post_ops_create(&po) == dnnl_success) {
		dnnl_post_ops_append_sum(po, cv->beta);
		dnnl_primitive_attr_set_post_ops(attr, po);
		dnnl_post_ops_destroy(po);
	}
	dnnl_primitive_desc_t pd;
	int rc = cpu_dnnl(dnnl_primitive_desc_create(&pd, &cd, attr, c->engine, NULL), "convolution");
	dnnl_primitive_attr_destroy(attr);
	if (rc)
		return -1;
	rc = cpu_dnnl(dnnl_primitive_create(out, pd), "convolution");
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

/* x (f32) reordered into md (bf16, channels-last), by a cached primitive. */
static float *to_bf16(cpu_impl *c, const cpu_buf *x, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *md)
{
	int64_t key[20] = {KEY_TO_BF16, x->blocked};
	cpu_key_shape(key + 8, x);
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_desc_t pd;
		dnnl_primitive_t r;
		if (cpu_dnnl(dnnl_reorder_primitive_desc_create(&pd, from, c->engine, md, c->engine, NULL), "reorder"))
			return NULL;
		int rc = cpu_dnnl(dnnl_primitive_create(&r, pd), "reorder");
		dnnl_primitive_desc_destroy(pd);
		if (rc || !(p = cpu_prim_add(c, key, r)))
			return NULL;
	}
	float *out = cpu_scratch(c, 2, (x->n + 1) / 2);
	int args[2] = {DNNL_ARG_FROM, DNNL_ARG_TO};
	void *ptrs[2] = {x->data, out};
	const dnnl_memory_desc_t *mds[2] = {from, md};
	return out && !cpu_exec(c, p->prim, 2, args, ptrs, mds) ? out : NULL;
}

int cpu_conv2d(cords_backend *be, const cords_conv *cv, const cords_buf *xb, const cords_buf *wb,
	       const cords_buf *bb, cords_buf *yb)
{
	cpu_impl *c = CPU_IMPL(be);
	const cpu_buf *x = CPU_CBUF(xb), *b = CPU_CBUF(bb);
	cpu_buf *w = CPU_BUF((cords_buf *)wb), *y = CPU_BUF(yb);
	/* bf16 into channels-last outputs (all but the read-out's); the input
	 * is reordered to channels-last bf16 whatever its layout (the image). */
	const int bf = c->bf16 && y->nhwc;
	int64_t key[20] = {KEY_CONV, cv->stride, cv->pad, b != NULL, cv->beta != 0, x->blocked, y->blocked, cv->once};
	cpu_key_shape(key + 8, x);
	cpu_key_shape(key + 12, w);
	cpu_key_shape(key + 16, y);
	dnnl_memory_desc_t xmd, ymd, bmd, x16;
	if (cpu_md(x, &xmd) || cpu_md(y, &ymd) || (b && cpu_md(b, &bmd)))
		return -1;
	if (bf && cpu_dnnl(dnnl_memory_desc_init_by_tag(&x16, 4, xmd.dims, dnnl_bf16, dnnl_nhwc), "bf16 md"))
		return -1;
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_t prim;
		const dnnl_memory_desc_t *src = bf ? &x16 : &xmd;
		dnnl_alg_kind_t alg = bf ? dnnl_convolution_direct : cpu_conv_alg(c, CPU_FWD, w->h.shape, cv->stride, ymd.dims[2]);
		if ((make_conv(c, cv, alg, src, w, b, &ymd, &prim) &&
		     (alg == dnnl_convolution_direct ||
		      make_conv(c, cv, dnnl_convolution_direct, src, w, b, &ymd, &prim))) ||
		    !(p = cpu_prim_add(c, key, prim)))
			return -1;
	}
	float *wp = cpu_packed(c, w, p->wmd), *xp = bf ? to_bf16(c, x, &xmd, &x16) : x->data;
	if (!wp || !xp)
		return -1;
	int args[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
	void *ptrs[4] = {xp, wp, y->data, b ? b->data : NULL};
	const dnnl_memory_desc_t *mds[4] = {bf ? &x16 : &xmd, p->wmd, &ymd, &bmd};
	return cpu_exec(c, p->prim, b ? 4 : 3, args, ptrs, mds);
}

/* Strides and paddings (right padding such that the sizes come out as given). */
static void geometry(const cords_conv *cv, const dnnl_memory_desc_t *x, const int64_t *wshape,
		     const dnnl_memory_desc_t *y, dnnl_dims_t st, dnnl_dims_t pl, dnnl_dims_t pr)
{
	for (int i = 0; i < 2; i++) {
		st[i] = cv->stride;
		pl[i] = cv->pad;
		pr[i] = (y->dims[2 + i] - 1) * cv->stride + wshape[2 + i] - x->dims[2 + i] - cv->pad;
	}
}

static int fwd_hint(cpu_impl *c, const cords_conv *cv, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *x,
		    const dnnl_memory_desc_t *w, const dnnl_memory_desc_t *y, const int64_t *wshape, dnnl_primitive_desc_t *pd)
{
	dnnl_dims_t st, pl, pr;
	geometry(cv, x, wshape, y, st, pl, pr);
	dnnl_convolution_desc_t cd;
	if (cpu_dnnl(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, alg, x, w, NULL, y, st, pl, pr),
		     "convolution descriptor"))
		return -1;
	return cpu_dnnl(dnnl_primitive_desc_create(pd, &cd, NULL, c->engine, NULL), "convolution (training)");
}

static int any_weights(const cpu_buf *w, dnnl_memory_desc_t *md)
{
	dnnl_dims_t wd = {w->h.shape[0], w->h.shape[1], w->h.shape[2], w->h.shape[3]};
	return cpu_dnnl(dnnl_memory_desc_init_by_tag(md, 4, wd, dnnl_f32, dnnl_format_tag_any), "weights md");
}

static int make_bwd(cpu_impl *c, int data, const cords_conv *cv, dnnl_alg_kind_t alg, const dnnl_memory_desc_t *x,
		    const cpu_buf *w, const dnnl_memory_desc_t *y, dnnl_primitive_t *out)
{
	dnnl_memory_desc_t wmd;
	dnnl_primitive_desc_t hint, pd;
	dnnl_dims_t st, pl, pr;
	if (any_weights(w, &wmd) || fwd_hint(c, cv, alg, x, &wmd, y, w->h.shape, &hint))
		return -1;
	geometry(cv, x, w->h.shape, y, st, pl, pr);
	dnnl_convolution_desc_t bd;
	dnnl_status_t s = data ? dnnl_convolution_backward_data_desc_init(&bd, alg, x, &wmd, y, st, pl, pr)
			       : dnnl_convolution_backward_weights_desc_init(&bd, alg, x, &wmd, NULL, y, st, pl, pr);
	int rc = cpu_dnnl(s, "backward convolution descriptor") ||
		 cpu_dnnl(dnnl_primitive_desc_create(&pd, &bd, NULL, c->engine, hint), "backward convolution");
	dnnl_primitive_desc_destroy(hint);
	if (rc)
		return -1;
	rc = cpu_dnnl(dnnl_primitive_create(out, pd), "backward convolution");
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

static cpu_prim *bwd_prim(cpu_impl *c, int data, const cords_conv *cv, const cpu_buf *x, const cpu_buf *w,
			  const cpu_buf *y, const dnnl_memory_desc_t *xmd, const dnnl_memory_desc_t *ymd)
{
	int64_t key[20] = {data ? KEY_BWD_DATA : KEY_BWD_WEIGHTS, cv->stride, cv->pad, x->blocked, y->blocked};
	cpu_key_shape(key + 8, x);
	cpu_key_shape(key + 12, w);
	cpu_key_shape(key + 16, y);
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_t prim;
		dnnl_alg_kind_t alg = cpu_conv_alg(c, data ? CPU_BWD_DATA : CPU_BWD_WEIGHTS, w->h.shape, cv->stride,
						   ymd->dims[2]);
		if (make_bwd(c, data, cv, alg, xmd, w, ymd, &prim) &&
		    (alg == dnnl_convolution_direct || make_bwd(c, data, cv, dnnl_convolution_direct, xmd, w, ymd, &prim)))
			return NULL;
		p = cpu_prim_add(c, key, prim);
	}
	return p;
}

/* dst = src + beta dst over n floats. */
static void add_into(float *dst, const float *src, size_t n, float beta)
{
#pragma omp parallel for simd schedule(static)
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] + beta * dst[i];
}

/* The weights packed for a backward-data primitive: cpu_packed on the
 * buffer's second slot. */
static float *packed_bwd(cpu_impl *c, cpu_buf *w, const dnnl_memory_desc_t *md)
{
	float *p0 = w->packed;
	dnnl_memory_desc_t m0 = w->packed_md;
	uint64_t v0 = w->packed_version;
	w->packed = w->packed_bwd, w->packed_md = w->packed_bwd_md, w->packed_version = w->packed_bwd_version;
	float *r = cpu_packed(c, w, md);
	w->packed_bwd = w->packed, w->packed_bwd_md = w->packed_md, w->packed_bwd_version = w->packed_version;
	w->packed = p0, w->packed_md = m0, w->packed_version = v0;
	return r;
}

int cpu_conv2d_bwd_data(cords_backend *be, const cords_conv *cv, const cords_buf *dyb, const cords_buf *wb,
			cords_buf *dxb)
{
	cpu_impl *c = CPU_IMPL(be);
	const cpu_buf *dy = CPU_CBUF(dyb);
	cpu_buf *w = CPU_BUF((cords_buf *)wb), *dx = CPU_BUF(dxb);
	dnnl_memory_desc_t xmd, ymd;
	if (cpu_md(dx, &xmd) || cpu_md(dy, &ymd))
		return -1;
	cpu_prim *p = bwd_prim(c, 1, cv, dx, w, dy, &xmd, &ymd);
	float *wp = p ? packed_bwd(c, w, p->wmd) : NULL;
	if (!wp)
		return -1;
	float *out = cv->beta != 0 ? cpu_scratch(c, 0, dx->n) : dx->data;
	if (!out)
		return -1;
	int args[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
	void *ptrs[3] = {dy->data, wp, out};
	const dnnl_memory_desc_t *mds[3] = {&ymd, p->wmd, &xmd};
	int rc = cpu_exec(c, p->prim, 3, args, ptrs, mds);
	if (out != dx->data && !rc)
		add_into(dx->data, out, dx->n, cv->beta);
	return rc;
}

/* Reorder from the layout oneDNN chose for the weight gradient to plain. */
static int to_plain(cpu_impl *c, const dnnl_memory_desc_t *from, const cpu_buf *dw, void *src, float *dst)
{
	dnnl_memory_desc_t plain;
	if (cpu_md(dw, &plain))
		return -1;
	int64_t key[20] = {KEY_REORDER_W};
	cpu_key_shape(key + 8, dw);
	memcpy(key + 12, from->format_desc.blocking.inner_blks, 4 * sizeof(int64_t));
	key[16] = from->format_desc.blocking.inner_nblks;
	key[17] = from->format_desc.blocking.strides[0];
	key[18] = from->format_desc.blocking.strides[1];
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_desc_t pd;
		dnnl_primitive_t r;
		if (cpu_dnnl(dnnl_reorder_primitive_desc_create(&pd, from, c->engine, &plain, c->engine, NULL), "reorder"))
			return -1;
		int rc = cpu_dnnl(dnnl_primitive_create(&r, pd), "reorder");
		dnnl_primitive_desc_destroy(pd);
		if (rc || !(p = cpu_prim_add(c, key, r)))
			return -1;
	}
	int args[2] = {DNNL_ARG_FROM, DNNL_ARG_TO};
	void *ptrs[2] = {src, dst};
	const dnnl_memory_desc_t *mds[2] = {from, &plain};
	return cpu_exec(c, p->prim, 2, args, ptrs, mds);
}

/* Plain [C,H,W] copy of batch item n of an activation. */
static void item_plain(const cpu_buf *b, int64_t n, float *out)
{
	const int64_t C = b->h.shape[1], HW = b->h.shape[2] * b->h.shape[3];
	const int k = b->blocked ? b->blocked : 1;
	for (int64_t c = 0; c < C; c++) {
		const float *q = b->data + (n * C + c / k * k) * HW + c % k;
		for (int64_t i = 0; i < HW; i++)
			out[c * HW + i] = q[i * k];
	}
}

/* im2col of x [Ci,H,W] for a k x k conv: cols [Ci k k, Ho Wo]. */
static void im2col(const float *x, int64_t Ci, int64_t H, int64_t W, int k, int s, int pad, int64_t Ho, int64_t Wo,
		   float *cols)
{
	for (int64_t ci = 0; ci < Ci; ci++)
		for (int ky = 0; ky < k; ky++)
			for (int kx = 0; kx < k; kx++) {
				float *row = cols + ((ci * k + ky) * k + kx) * Ho * Wo;
				for (int64_t oy = 0; oy < Ho; oy++)
					for (int64_t ox = 0; ox < Wo; ox++) {
						int64_t iy = oy * s - pad + ky, ix = ox * s - pad + kx;
						row[oy * Wo + ox] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[(ci * H + iy) * W + ix] : 0;
					}
			}
}

/* dW [O, Ci k k] (+)= sum_b dy_b [O, P] cols_b^T: for the shapes oneDNN has
 * only its reference kernel for (tiny maps), through OpenBLAS. Images are
 * split over the OpenMP threads, each with its own partial dW and a
 * single-threaded GEMM: OpenBLAS's own threads would spin against OpenMP's. */
static int bwd_weights_gemm(const cords_conv *cv, const cpu_buf *x, const cpu_buf *dy, cpu_buf *dw)
{
	const int64_t B = x->h.shape[0], Ci = x->h.shape[1], H = x->h.shape[2], W = x->h.shape[3];
	const int64_t O = dy->h.shape[1], Ho = dy->h.shape[2], Wo = dy->h.shape[3], P = Ho * Wo;
	const int k = (int)dw->h.shape[2];
	const int64_t K = Ci * k * k;
	int nt = omp_get_max_threads() < B ? omp_get_max_threads() : (int)B, failed = 0;
	float *part = calloc((size_t)nt * (size_t)(O * K), sizeof(float));
	if (!part)
		return cords_err("out of memory");
	int blas_threads = openblas_get_num_threads();
	openblas_set_num_threads(1);
#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();
		float *xi = malloc((size_t)(Ci * H * W) * sizeof(float)), *cols = malloc((size_t)(K * P) * sizeof(float));
		float *g = malloc((size_t)(O * P) * sizeof(float));
		if (!xi || !cols || !g) {
#pragma omp atomic write
			failed = 1;
		} else
			for (int64_t n = t * B / nt; n < (t + 1) * B / nt; n++) {
				item_plain(x, n, xi);
				item_plain(dy, n, g);
				im2col(xi, Ci, H, W, k, cv->stride, cv->pad, Ho, Wo, cols);
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)O, (int)K, (int)P, 1.0f, g, (int)P,
					    cols, (int)P, 1.0f, part + (size_t)t * (size_t)(O * K), (int)K);
			}
		free(xi), free(cols), free(g);
	}
	openblas_set_num_threads(blas_threads);
	if (!failed) {
		const float beta = cv->beta;
#pragma omp parallel for schedule(static)
		for (int64_t i = 0; i < O * K; i++) {
			float s = beta == 0 ? 0 : beta * dw->data[i];
			for (int t = 0; t < nt; t++)
				s += part[(size_t)t * (size_t)(O * K) + (size_t)i];
			dw->data[i] = s;
		}
	}
	free(part);
	if (failed)
		return cords_err("out of memory");
	dw->version++;
	return 0;
}

static int is_ref(dnnl_primitive_t prim)
{
	const_dnnl_primitive_desc_t pd;
	const char *impl = NULL;
	if (dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success ||
	    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
		return 0;
	return !strncmp(impl, "ref", 3);
}

int cpu_conv2d_bwd_weights(cords_backend *be, const cords_conv *cv, const cords_buf *xb, const cords_buf *dyb,
			   cords_buf *dwb)
{
	cpu_impl *c = CPU_IMPL(be);
	const cpu_buf *x = CPU_CBUF(xb), *dy = CPU_CBUF(dyb);
	cpu_buf *dw = CPU_BUF(dwb);
	dnnl_memory_desc_t xmd, ymd, plain;
	if (cpu_md(x, &xmd) || cpu_md(dy, &ymd) || cpu_md(dw, &plain))
		return -1;
	cpu_prim *p = bwd_prim(c, 0, cv, x, dw, dy, &xmd, &ymd);
	if (!p)
		return -1;
	if (is_ref(p->prim))
		return bwd_weights_gemm(cv, x, dy, dw);
	const_dnnl_primitive_desc_t pd;
	if (cpu_dnnl(dnnl_primitive_get_primitive_desc(p->prim, &pd), "query"))
		return -1;
	const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0);
	int direct = dnnl_memory_desc_equal(wmd, &plain) && cv->beta == 0;
	size_t nw = (dnnl_memory_desc_get_size(wmd) + sizeof(float) - 1) / sizeof(float);
	float *tmp = direct ? dw->data : cpu_scratch(c, 0, nw), *flat = NULL;
	if (!tmp)
		return -1;
	int args[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
	void *ptrs[3] = {x->data, dy->data, tmp};
	const dnnl_memory_desc_t *mds[3] = {&xmd, &ymd, wmd};
	int rc = cpu_exec(c, p->prim, 3, args, ptrs, mds);
	if (!rc && !direct) {
		if (dnnl_memory_desc_equal(wmd, &plain))
			flat = tmp;
		else if (!(flat = cpu_scratch(c, 1, dw->n)))
			rc = -1;
		else
			rc = to_plain(c, wmd, dw, tmp, flat);
		if (!rc)
			add_into(dw->data, flat, dw->n, cv->beta);
	}
	dw->version++;
	return rc;
}
