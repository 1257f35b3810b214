/* The CPU backend: buffers and their layouts, the cache of oneDNN primitives
 * (created once per shape), and the table that makes it a cords_backend. */
#include "backend_cpu.h"
#include "err.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

/* Channel blocks of 16 floats where oneDNN's JIT uses AVX-512, of 8 where it
 * uses AVX2: its JIT convolutions take only their own ISA's block, and any other
 * layout falls to its reference code, ~100x slower. oneDNN's effective ISA, not
 * the CPU's flags, because DNNL_MAX_CPU_ISA may cap it. */
int cpu_block(void)
{
	static int blk;
	if (!blk) {
		dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
		blk = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
	}
	return blk;
}

/* oneDNN's bf16 convolutions with f32 accumulation: AVX512_BF16 (Cooper
 * Lake, Zen 4) or AMX (Sapphire Rapids and later). */
int cpu_has_bf16(void)
{
	dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
	return (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
}

int cpu_dnnl(dnnl_status_t s, const char *what)
{
	if (s == dnnl_success)
		return 0;
	return cords_err("oneDNN: %s failed (status %d)", what, (int)s);
}

/* Measured with oneDNN 2.6 on Zen 4 (bench/conv/run.sh, results in
 * bench/results/conv-cpu.txt): Winograd (F(4x4,3x3), F(2x2,3x3)) won every
 * weight-gradient pass, 1.1-2x, and the forward and backward-data passes up to
 * 256 channels. At 512 channels its transformed weights (36 x 512 x 512
 * floats) made backward-data 2x slower at batch 2, and the forward, though
 * 10 % faster, needs them made anew after every update by a slow reorder
 * (86 ms for one 512 x 512 weight, more than it saves in an R8 training step).
 * The choice does not depend on the batch, so a weight keeps one packed layout
 * per pass. Maps smaller than one 4x4 output tile would compute mostly padding. */
dnnl_alg_kind_t cpu_conv_alg(const cpu_impl *c, int dir, const int64_t *wshape, int stride, int64_t oh)
{
	if (c->conv_algo == CORDS_CONV_DIRECT || wshape[2] != 3 || wshape[3] != 3 || stride != 1)
		return dnnl_convolution_direct;
	if (c->conv_algo == CORDS_CONV_WINOGRAD || (oh >= 4 && (dir == CPU_BWD_WEIGHTS || wshape[0] * wshape[1] <= 256 * 256)))
		return dnnl_convolution_winograd;
	return dnnl_convolution_direct;
}

int cpu_md(const cpu_buf *b, dnnl_memory_desc_t *md)
{
	dnnl_dims_t d;
	static const dnnl_format_tag_t plain[5] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd};
	for (int i = 0; i < b->h.ndim; i++)
		d[i] = b->h.shape[i];
	dnnl_format_tag_t tag = plain[b->h.ndim];
	if (b->blocked)
		tag = b->nhwc ? dnnl_nhwc : b->blocked == 16 ? dnnl_nChw16c : dnnl_nChw8c;
	return cpu_dnnl(dnnl_memory_desc_init_by_tag(md, b->h.ndim, d, dnnl_f32, tag), "memory descriptor");
}

void cpu_key_shape(int64_t *k, const cpu_buf *b)
{
	for (int i = 0; i < 4; i++)
		k[i] = i < b->h.ndim ? b->h.shape[i] : 0;
}

static cords_buf *cpu_alloc(cords_backend *be, cords_buf_kind kind, int ndim, const int64_t *shape)
{
	cpu_buf *b = calloc(1, sizeof *b);
	if (!b) {
		cords_err("out of memory");
		return NULL;
	}
	b->n = cords_buf_head_init(&b->h, kind, ndim, shape);
	if (kind == CORDS_BUF_ACT && ndim == 4 && shape[1] % cpu_block() == 0) {
		b->nhwc = CPU_IMPL(be)->bf16;
		b->blocked = b->nhwc ? (int)shape[1] : cpu_block();
	}
	size_t bytes = (b->n * sizeof(float) + 63) / 64 * 64;
	b->data = aligned_alloc(64, bytes ? bytes : 64);
	if (!b->data) {
		free(b);
		cords_err("out of memory (%zu bytes)", bytes);
		return NULL;
	}
	memset(b->data, 0, bytes);
	return (cords_buf *)b;
}

static void cpu_free(cords_backend *be, cords_buf *buf)
{
	cpu_buf *b = CPU_BUF(buf);
	if (!b)
		return;
	free(b->packed);
	free(b->packed_bwd);
	if (!b->view)
		free(b->data);
	free(b);
}

static cords_buf *cpu_view(cords_backend *be, cords_buf *buf, int64_t at, int64_t n)
{
	const cpu_buf *b = CPU_CBUF(buf);
	cpu_buf *v = calloc(1, sizeof *v);
	size_t off;
	if (!v) {
		cords_err("out of memory");
		return NULL;
	}
	cords_buf_view_head(&b->h, at, n, &v->h, &off, &v->n);
	v->blocked = b->blocked;
	v->nhwc = b->nhwc;
	v->data = b->data + off;
	v->view = 1;
	return (cords_buf *)v;
}

/* Plain [B,C,H,W] <-> blocked [B][C/k][H][W][k]; to_blocked picks the direction. */
static void convert(const cpu_buf *b, float *plain, float *blocked, int to_blocked)
{
	int64_t B = b->h.shape[0], C = b->h.shape[1], HW = b->h.shape[2] * b->h.shape[3];
	int k = b->blocked;
#pragma omp parallel for collapse(2) schedule(static)
	for (int64_t n = 0; n < B; n++)
		for (int64_t c = 0; c < C; c++) {
			float *p = plain + (n * C + c) * HW;
			float *q = blocked + (n * C + c / k * k) * HW + c % k;
			for (int64_t i = 0; i < HW; i++) {
				if (to_blocked)
					q[i * k] = p[i];
				else
					p[i] = q[i * k];
			}
		}
}

static int cpu_upload(cords_backend *be, cords_buf *buf, const float *host)
{
	cpu_buf *b = CPU_BUF(buf);
	if (b->blocked)
		convert(b, (float *)host, b->data, 1);
	else
		memcpy(b->data, host, b->n * sizeof(float));
	b->version++;
	return 0;
}

static int cpu_download(cords_backend *be, const cords_buf *buf, float *host)
{
	const cpu_buf *b = CPU_CBUF(buf);
	if (b->blocked)
		convert(b, host, b->data, 0);
	else
		memcpy(host, b->data, b->n * sizeof(float));
	return 0;
}

cpu_prim *cpu_prim_find(cpu_impl *c, const int64_t *key)
{
	for (cpu_prim *p = c->prims; p; p = p->next)
		if (!memcmp(p->key, key, sizeof p->key))
			return p;
	return NULL;
}

cpu_prim *cpu_prim_add(cpu_impl *c, const int64_t *key, dnnl_primitive_t prim)
{
	cpu_prim *p = calloc(1, sizeof *p);
	if (!p) {
		dnnl_primitive_destroy(prim);
		cords_err("out of memory");
		return NULL;
	}
	memcpy(p->key, key, sizeof p->key);
	p->prim = prim;
	const_dnnl_primitive_desc_t pd;
	if (dnnl_primitive_get_primitive_desc(prim, &pd) == dnnl_success)
		p->wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	p->next = c->prims;
	c->prims = p;
	return p;
}

int cpu_exec(cpu_impl *c, dnnl_primitive_t p, int n, const int *args, void *const *ptrs,
	     const dnnl_memory_desc_t *const *mds)
{
	dnnl_exec_arg_t ea[8];
	int made = 0, rc = 0;
	for (; made < n && !rc; made++) {
		ea[made].arg = args[made];
		rc = cpu_dnnl(dnnl_memory_create(&ea[made].memory, mds[made], c->engine, ptrs[made]), "memory");
		if (rc)
			break;
	}
	if (!rc)
		rc = cpu_dnnl(dnnl_primitive_execute(p, c->stream, n, ea), "execute");
	if (!rc)
		rc = cpu_dnnl(dnnl_stream_wait(c->stream), "stream wait");
	for (int i = 0; i < made; i++)
		dnnl_memory_destroy(ea[i].memory);
	return rc;
}

/* Reorder plain [O,I,k,k] weights into the layout a convolution chose. */
float *cpu_packed(cpu_impl *c, cpu_buf *b, const dnnl_memory_desc_t *md)
{
	if (b->packed && b->packed_version == b->version && dnnl_memory_desc_equal(&b->packed_md, md))
		return b->packed;
	dnnl_memory_desc_t src;
	if (cpu_md(b, &src))
		return NULL;
	size_t bytes = (dnnl_memory_desc_get_size(md) + 63) / 64 * 64;
	free(b->packed);
	b->packed = aligned_alloc(64, bytes);
	if (!b->packed) {
		cords_err("out of memory");
		return NULL;
	}
	dnnl_primitive_desc_t pd;
	dnnl_primitive_t r;
	if (cpu_dnnl(dnnl_reorder_primitive_desc_create(&pd, &src, c->engine, md, c->engine, NULL), "reorder"))
		return NULL;
	int rc = cpu_dnnl(dnnl_primitive_create(&r, pd), "reorder");
	dnnl_primitive_desc_destroy(pd);
	if (rc)
		return NULL;
	const dnnl_memory_desc_t *mds[2] = {&src, md};
	void *ptrs[2] = {b->data, b->packed};
	int args[2] = {DNNL_ARG_FROM, DNNL_ARG_TO};
	rc = cpu_exec(c, r, 2, args, ptrs, mds);
	dnnl_primitive_destroy(r);
	if (rc)
		return NULL;
	b->packed_md = *md;
	b->packed_version = b->version;
	return b->packed;
}

static int cpu_sync(cords_backend *be)
{
	return 0;
}

static void cpu_destroy(cords_backend *be)
{
	cpu_impl *c = CPU_IMPL(be);
	for (cpu_prim *p = c->prims, *next; p; p = next) {
		next = p->next;
		dnnl_primitive_destroy(p->prim);
		free(p);
	}
	for (int i = 0; i < 3; i++)
		free(c->scratch[i]);
	dnnl_stream_destroy(c->stream);
	dnnl_engine_destroy(c->engine);
	free(c);
	free(be);
}

/* Denormals flushed to zero (FTZ, DAZ) on this thread and on every thread
 * of OpenMP's team, which oneDNN's and our loops run on (the team's threads
 * live on from one parallel region to the next). */
static void flush_to_zero(void)
{
#if defined(__SSE__)
#pragma omp parallel
	_mm_setcsr(_mm_getcsr() | 0x8040);
	_mm_setcsr(_mm_getcsr() | 0x8040);
#endif
}

cords_backend *cords_backend_cpu_new(const cords_backend_opts *o)
{
	cords_backend *be = calloc(1, sizeof *be);
	cpu_impl *c = calloc(1, sizeof *c);
	if (!be || !c) {
		free(be);
		free(c);
		cords_err("out of memory");
		return NULL;
	}
	c->conv_algo = o->conv;
	c->bf16 = o->precision == CORDS_PREC_BF16;
	if (o->precision == CORDS_PREC_TF32 || (c->bf16 && !cpu_has_bf16())) {
		cords_err(c->bf16 ? "bf16 on the CPU needs AVX512_BF16 or AMX, which this CPU lacks (use fp32)"
				  : "tf32 is a CUDA precision; the CPU computes in fp32 or bf16");
		free(be);
		free(c);
		return NULL;
	}
	if (o->threads > 0)
		omp_set_num_threads(o->threads);
	flush_to_zero();
	if (cpu_dnnl(dnnl_engine_create(&c->engine, dnnl_cpu, 0), "CPU engine") ||
	    cpu_dnnl(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags), "stream")) {
		free(be);
		free(c);
		return NULL;
	}
	*be = (cords_backend){
		.name = "cpu",
		.impl = c,
		.alloc = cpu_alloc,
		.free = cpu_free,
		.view = cpu_view,
		.upload = cpu_upload,
		.download = cpu_download,
		.fill = cpu_fill,
		.copy = cpu_copy,
		.conv2d = cpu_conv2d,
		.avgpool = cpu_avgpool,
		.leaky = cpu_leaky,
		.relu_add = cpu_relu_add,
		.spatial_mean = cpu_spatial_mean,
		.linear = cpu_linear,
		.sync = cpu_sync,
		.destroy = cpu_destroy,
		.conv2d_bwd_data = cpu_conv2d_bwd_data,
		.conv2d_bwd_weights = cpu_conv2d_bwd_weights,
		.avgpool_bwd = cpu_avgpool_bwd,
		.leaky_bwd = cpu_leaky_bwd,
		.relu_bwd_add = cpu_relu_bwd_add,
		.readout_bwd_add = cpu_readout_bwd_add,
		.batch_sum = cpu_batch_sum,
		.axpby = cpu_axpby,
		.sqdiff_sum = cpu_sqdiff_sum,
		.batchnorm = cpu_batchnorm,
		.batchnorm_bwd = cpu_batchnorm_bwd,
		.wnorm = cpu_wnorm,
		.wnorm_bwd = cpu_wnorm_bwd,
		.optim = cpu_optim,
		.linear_bwd_data = cpu_linear_bwd_data,
		.linear_bwd_weights = cpu_linear_bwd_weights,
		.xent = cpu_xent,
	};
	return be;
}
