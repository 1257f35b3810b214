/* oneDNN average pooling for the CPU backend, forward and backward (the twin
 * of kernels/cuda_pool.cu). A primitive is made once per shape and kept. */
#include "backend_cpu.h"
#include "err.h"

enum { KEY_POOL = 2, KEY_POOL_BWD = 103 };

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
	int64_t key[20] = {KEY_POOL, pp->k, pp->stride, pp->pad, x->blocked, y->blocked};
	cpu_key_shape(key + 8, x);
	cpu_key_shape(key + 16, y);
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

static int make_pool_bwd(cpu_impl *c, const cords_pool *pp, const dnnl_memory_desc_t *x,
			 const dnnl_memory_desc_t *y, dnnl_primitive_t *out)
{
	dnnl_dims_t st = {pp->stride, pp->stride}, k = {pp->k, pp->k}, dil = {0, 0}, pl = {pp->pad, pp->pad}, pr;
	for (int i = 0; i < 2; i++)
		pr[i] = (y->dims[2 + i] - 1) * pp->stride + pp->k - x->dims[2 + i] - pp->pad;
	dnnl_pooling_v2_desc_t fd, bd;
	dnnl_primitive_desc_t hint, pd;
	if (cpu_dnnl(dnnl_pooling_v2_forward_desc_init(&fd, dnnl_forward_training, dnnl_pooling_avg_include_padding, x,
						       y, st, k, dil, pl, pr),
		     "pooling descriptor") ||
	    cpu_dnnl(dnnl_primitive_desc_create(&hint, &fd, NULL, c->engine, NULL), "pooling"))
		return -1;
	int rc = cpu_dnnl(dnnl_pooling_v2_backward_desc_init(&bd, dnnl_pooling_avg_include_padding, x, y, st, k, dil,
							     pl, pr),
			  "pooling backward descriptor") ||
		 cpu_dnnl(dnnl_primitive_desc_create(&pd, &bd, NULL, c->engine, hint), "pooling backward");
	dnnl_primitive_desc_destroy(hint);
	if (rc)
		return -1;
	rc = cpu_dnnl(dnnl_primitive_create(out, pd), "pooling backward");
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

int cpu_avgpool_bwd(cords_backend *be, const cords_pool *pp, const cords_buf *dyb, cords_buf *dxb)
{
	cpu_impl *c = CPU_IMPL(be);
	const cpu_buf *dy = CPU_CBUF(dyb);
	cpu_buf *dx = CPU_BUF(dxb);
	int64_t key[20] = {KEY_POOL_BWD, pp->k, pp->stride, pp->pad, dx->blocked, dy->blocked};
	cpu_key_shape(key + 8, dx);
	cpu_key_shape(key + 16, dy);
	dnnl_memory_desc_t xmd, ymd;
	if (cpu_md(dx, &xmd) || cpu_md(dy, &ymd))
		return -1;
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_t prim;
		if (make_pool_bwd(c, pp, &xmd, &ymd, &prim) || !(p = cpu_prim_add(c, key, prim)))
			return -1;
	}
	int args[2] = {DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC};
	void *ptrs[2] = {dy->data, dx->data};
	const dnnl_memory_desc_t *mds[2] = {&ymd, &xmd};
	return cpu_exec(c, p->prim, 2, args, ptrs, mds);
}
