/* oneDNN convolutions and pooling for the CPU backend. A primitive is made
 * once per shape (and layout, stride, padding, bias, accumulation) and kept;
 * the convolution picks its own weight layout (format "any"), and the weights
 * are reordered into it once and cached with the weight buffer. */
#include "backend_cpu.h"
#include "err.h"

#include <string.h>

enum { KEY_CONV = 1, KEY_POOL = 2 };

static void key_shape(int64_t *k, const cpu_buf *b)
{
	for (int i = 0; i < 4; i++)
		k[i] = i < b->h.ndim ? b->h.shape[i] : 0;
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
	if (cpu_dnnl(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any), "weights md") ||
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

static int conv_check(const cords_conv *cv, const cpu_buf *x, const cpu_buf *w, const cpu_buf *b,
		      const cpu_buf *y)
{
	if (x->h.ndim != 4 || w->h.ndim != 4 || y->h.ndim != 4 || w->h.kind != CORDS_BUF_WEIGHT)
		return cords_err("conv2d: expects 4-d x, y and a weight buffer");
	int64_t oh = (x->h.shape[2] + 2 * cv->pad - w->h.shape[2]) / cv->stride + 1;
	int64_t ow = (x->h.shape[3] + 2 * cv->pad - w->h.shape[3]) / cv->stride + 1;
	if (x->h.shape[1] != w->h.shape[1] || y->h.shape[1] != w->h.shape[0] || y->h.shape[0] != x->h.shape[0] ||
	    y->h.shape[2] != oh || y->h.shape[3] != ow)
		return cords_err("conv2d: shapes do not fit ([%lld,%lld,%lld,%lld] * [%lld,%lld,%lld,%lld] -> [%lld,%lld,%lld,%lld])",
				 (long long)x->h.shape[0], (long long)x->h.shape[1], (long long)x->h.shape[2],
				 (long long)x->h.shape[3], (long long)w->h.shape[0], (long long)w->h.shape[1],
				 (long long)w->h.shape[2], (long long)w->h.shape[3], (long long)y->h.shape[0],
				 (long long)y->h.shape[1], (long long)y->h.shape[2], (long long)y->h.shape[3]);
	if (b && (b->h.ndim != 1 || b->h.shape[0] != w->h.shape[0]))
		return cords_err("conv2d: bias must be [%lld]", (long long)w->h.shape[0]);
	return 0;
}

int cpu_conv2d(cords_backend *be, const cords_conv *cv, const cords_buf *xb, const cords_buf *wb,
	       const cords_buf *bb, cords_buf *yb)
{
	cpu_impl *c = CPU_IMPL(be);
	const cpu_buf *x = CPU_CBUF(xb), *b = CPU_CBUF(bb);
	cpu_buf *w = CPU_BUF((cords_buf *)wb), *y = CPU_BUF(yb);
	if (conv_check(cv, x, w, b, y))
		return -1;
	int64_t key[20] = {KEY_CONV, cv->stride, cv->pad, b != NULL, cv->beta != 0, x->blocked, y->blocked, cv->once};
	key_shape(key + 8, x);
	key_shape(key + 12, w);
	key_shape(key + 16, y);
	dnnl_memory_desc_t xmd, ymd, bmd;
	if (cpu_md(x, &xmd) || cpu_md(y, &ymd) || (b && cpu_md(b, &bmd)))
		return -1;
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_t prim;
		dnnl_alg_kind_t alg = cpu_conv_alg(c, CPU_FWD, w->h.shape, cv->stride, ymd.dims[2]);
		if ((make_conv(c, cv, alg, &xmd, w, b, &ymd, &prim) &&
		     (alg == dnnl_convolution_direct ||
		      make_conv(c, cv, dnnl_convolution_direct, &xmd, w, b, &ymd, &prim))) ||
		    !(p = cpu_prim_add(c, key, prim)))
			return -1;
	}
	float *wp = cpu_packed(c, w, p->wmd);
	if (!wp)
		return -1;
	int args[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
	void *ptrs[4] = {x->data, wp, y->data, b ? b->data : NULL};
	const dnnl_memory_desc_t *mds[4] = {&xmd, p->wmd, &ymd, &bmd};
	return cpu_exec(c, p->prim, b ? 4 : 3, args, ptrs, mds);
}

static int make_pool(cpu_impl *c, const cords_pool *pp, const dnnl_memory_desc_t *x,
		     const dnnl_memory_desc_t *y, dnnl_primitive_t *out)
{
	dnnl_dims_t st = {pp->stride, pp->stride}, k = {pp->k, pp->k}, dil = {0, 0}, pl = {pp->pad, pp->pad}, pr;
	for (int i = 0; i < 2; i++)
		pr[i] = (y->dims[2 + i] - 1) * pp->stride + pp->k - x->dims[2 + i] - pp->pad;
	dnnl_pooling_v2_desc_t pdsc;
	if (cpu_dnnl(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference, dnnl_pooling_avg_include_padding,
						       x, y, st, k, dil, pl, pr),
		     "pooling descriptor"))
		return -1;
	dnnl_primitive_desc_t pd;
	if (cpu_dnnl(dnnl_primitive_desc_create(&pd, &pdsc, NULL, c->engine, NULL), "pooling"))
		return -1;
	int rc = cpu_dnnl(dnnl_primitive_create(out, pd), "pooling");
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

int cpu_avgpool(cords_backend *be, const cords_pool *pp, const cords_buf *xb, cords_buf *yb)
{
	cpu_impl *c = CPU_IMPL(be);
	const cpu_buf *x = CPU_CBUF(xb);
	cpu_buf *y = CPU_BUF(yb);
	if (x->h.ndim != 4 || y->h.ndim != 4 || x->h.shape[0] != y->h.shape[0] || x->h.shape[1] != y->h.shape[1] ||
	    y->h.shape[2] != (x->h.shape[2] + 2 * pp->pad - pp->k) / pp->stride + 1 ||
	    y->h.shape[3] != (x->h.shape[3] + 2 * pp->pad - pp->k) / pp->stride + 1)
		return cords_err("avgpool: shapes do not fit");
	int64_t key[20] = {KEY_POOL, pp->k, pp->stride, pp->pad, x->blocked, y->blocked};
	key_shape(key + 8, x);
	key_shape(key + 16, y);
	dnnl_memory_desc_t xmd, ymd;
	if (cpu_md(x, &xmd) || cpu_md(y, &ymd))
		return -1;
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_t prim;
		if (make_pool(c, pp, &xmd, &ymd, &prim) || !(p = cpu_prim_add(c, key, prim)))
			return -1;
	}
	int args[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
	void *ptrs[2] = {x->data, y->data};
	const dnnl_memory_desc_t *mds[2] = {&xmd, &ymd};
	return cpu_exec(c, p->prim, 2, args, ptrs, mds);
}
