/* oneDNN average pooling for the CPU backend, forward and backward (the twin
 * of kernels/cuda_pool.cu). A primitive is made once per shape and kept. */
#include "backend_cpu.h"
#include "err.h"

enum { KEY_POOL = 2, KEY_POOL_BWD = 103 };

/* The primitive that pools x [B,C,H,W] into y, or (bwd) takes y's gradient
 * back to x's, which oneDNN makes from the forward's description as a hint. */
static int make_pool(cpu_impl *c, const cords_pool *pp, int bwd, const dnnl_memory_desc_t *x,
		     const dnnl_memory_desc_t *y, dnnl_primitive_t *out)
{
	const dnnl_alg_kind_t alg = dnnl_pooling_avg_include_padding;
	dnnl_dims_t st = {pp->stride, pp->stride}, k = {pp->k, pp->k}, dil = {0, 0}, pl = {pp->pad, pp->pad}, pr;
	for (int i = 0; i < 2; i++)
		pr[i] = (y->dims[2 + i] - 1) * pp->stride + pp->k - x->dims[2 + i] - pp->pad;
	dnnl_pooling_v2_desc_t fd, bd;
	dnnl_primitive_desc_t hint, pd;
	if (cpu_dnnl(dnnl_pooling_v2_forward_desc_init(&fd, bwd ? dnnl_forward_training : dnnl_forward_inference, alg, x,
						       y, st, k, dil, pl, pr),
		     "pooling descriptor") ||
	    cpu_dnnl(dnnl_primitive_desc_create(bwd ? &hint : &pd, &fd, NULL, c->engine, NULL), "pooling"))
		return -1;
	if (bwd) {
		int rc = cpu_dnnl(dnnl_pooling_v2_backward_desc_init(&bd, alg, x, y, st, k, dil, pl, pr),
				  "pooling backward descriptor") ||
			 cpu_dnnl(dnnl_primitive_desc_create(&pd, &bd, NULL, c->engine, hint), "pooling backward");
		dnnl_primitive_desc_destroy(hint);
		if (rc)
			return -1;
	}
	int rc = cpu_dnnl(dnnl_primitive_create(out, pd), bwd ? "pooling backward" : "pooling");
	dnnl_primitive_desc_destroy(pd);
	return rc;
}

/* y = avgpool(x), or (bwd) x = its backward from the gradient y. */
static int pool(cords_backend *be, const cords_pool *pp, int bwd, const cpu_buf *x, const cpu_buf *y)
{
	cpu_impl *c = CPU_IMPL(be);
	int64_t key[20] = {bwd ? KEY_POOL_BWD : KEY_POOL, pp->k, pp->stride, pp->pad, x->blocked, y->blocked};
	cpu_key_shape(key + 8, x);
	cpu_key_shape(key + 16, y);
	dnnl_memory_desc_t xmd, ymd;
	if (cpu_md(x, &xmd) || cpu_md(y, &ymd))
		return -1;
	cpu_prim *p = cpu_prim_find(c, key);
	if (!p) {
		dnnl_primitive_t prim;
		if (make_pool(c, pp, bwd, &xmd, &ymd, &prim) || !(p = cpu_prim_add(c, key, prim)))
			return -1;
	}
	int args[2] = {bwd ? DNNL_ARG_DIFF_DST : DNNL_ARG_SRC, bwd ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST};
	void *ptrs[2] = {bwd ? y->data : x->data, bwd ? x->data : y->data};
	const dnnl_memory_desc_t *mds[2] = {bwd ? &ymd : &xmd, bwd ? &xmd : &ymd};
	return cpu_exec(c, p->prim, 2, args, ptrs, mds);
}

int cpu_avgpool(cords_backend *be, const cords_pool *pp, const cords_buf *x, cords_buf *y)
{
	return pool(be, pp, 0, CPU_CBUF(x), CPU_CBUF(y));
}

int cpu_avgpool_bwd(cords_backend *be, const cords_pool *pp, const cords_buf *dy, cords_buf *dx)
{
	return pool(be, pp, 1, CPU_CBUF(dx), CPU_CBUF(dy));
}
