/* Internals of the CPU backend, shared by its files (backend_cpu.c: buffers,
 * layouts, the primitive cache; cpu_conv.c, cpu_pool.c: oneDNN convolutions and pooling;
 * cpu_eltwise.c: our own fused OpenMP loops; cpu_linear.c: the read-out and
 * its loss). Not for the model code. */
#ifndef CORDS_BACKEND_CPU_H
#define CORDS_BACKEND_CPU_H

#include "backend.h"

#include <dnnl.h>
#include <stddef.h>

/* A CPU buffer. [B,C,H,W] activations with C % cpu_block() == 0 are stored
 * channel-blocked (oneDNN nChw8c / nChw16c: [B][C/blk][H][W][blk]), or, on a
 * bf16 backend, channels-last (NHWC: one block of all C channels, which is
 * what oneDNN's AMX convolutions read); all else plain row-major. Weights are plain [O,I,k,k]; the layout a convolution
 * wants is made from them on first use and cached (packed), until the next
 * upload changes `version`. */
typedef struct {
	cords_buf_head h;
	float *data;
	size_t n;    /* floats */
	int blocked; /* channel block size, 0 = plain; C for channels-last */
	int nhwc;    /* channels-last (blocked == C) */
	int view;    /* data belongs to another buffer (cpu_view) */
	uint64_t version;
	float *packed;
	dnnl_memory_desc_t packed_md;
	uint64_t packed_version;
	/* A second packed copy for the layout backward-data convolutions want
	 * (training), so forward and backward do not repack in turn. */
	float *packed_bwd;
	dnnl_memory_desc_t packed_bwd_md;
	uint64_t packed_bwd_version;
} cpu_buf;

/* A cached oneDNN primitive, found by a key of up to 20 integers. */
typedef struct cpu_prim {
	int64_t key[20];
	dnnl_primitive_t prim;
	const dnnl_memory_desc_t *wmd; /* weights md the primitive wants (conv) */
	struct cpu_prim *next;
} cpu_prim;

typedef struct {
	dnnl_engine_t engine;
	dnnl_stream_t stream;
	cpu_prim *prims;
	/* Scratch for backward convolutions that accumulate (grow-only, so
	 * training steps do not allocate and fault in fresh pages every call). */
	float *scratch[3];
	size_t scratch_n[3];
	cords_conv_algo conv_algo;
	/* bf16 (--precision bf16): activations channels-last, and the convolutions
	 * between them read bf16 copies of their input and weights and
	 * accumulate in f32 (oneDNN's AVX512_BF16 or AMX kernels). */
	int bf16;
} cpu_impl;

enum { CPU_FWD, CPU_BWD_DATA, CPU_BWD_WEIGHTS };

#define CPU_BUF(b) ((cpu_buf *)(b))
#define CPU_CBUF(b) ((const cpu_buf *)(b))
#define CPU_IMPL(be) ((cpu_impl *)(be)->impl)

int cpu_block(void); /* 8 on AVX2, 16 with AVX-512 */
int cpu_has_bf16(void); /* oneDNN has bf16 convolutions for this CPU */
/* The oneDNN memory descriptor of a buffer's physical layout. */
int cpu_md(const cpu_buf *b, dnnl_memory_desc_t *md);
/* oneDNN status to our error; 0 for success. */
int cpu_dnnl(dnnl_status_t s, const char *what);
/* The algorithm to ask oneDNN for first: Winograd for 3x3 stride-1
 * convolutions where it was measured faster, direct otherwise. oneDNN has
 * Winograd only for some CPUs (AVX-512); callers fall back to direct. */
dnnl_alg_kind_t cpu_conv_alg(const cpu_impl *c, int dir, const int64_t *wshape, int stride, int64_t oh);
/* A buffer's shape as 4 entries of a primitive's key (0 past its ndim). */
void cpu_key_shape(int64_t *k, const cpu_buf *b);
/* The cached primitive for key (NULL if none), and adding one (takes prim). */
cpu_prim *cpu_prim_find(cpu_impl *c, const int64_t *key);
cpu_prim *cpu_prim_add(cpu_impl *c, const int64_t *key, dnnl_primitive_t prim);
/* Execute with (arg, buffer pointer, md) triples. */
int cpu_exec(cpu_impl *c, dnnl_primitive_t p, int n, const int *args, void *const *ptrs,
	     const dnnl_memory_desc_t *const *mds);
/* The weights of b in the layout md, packing (and caching) them if needed. */
float *cpu_packed(cpu_impl *c, cpu_buf *b, const dnnl_memory_desc_t *md);

int cpu_conv2d(cords_backend *be, const cords_conv *cv, const cords_buf *x, const cords_buf *w,
	       const cords_buf *bias, cords_buf *y);
int cpu_avgpool(cords_backend *be, const cords_pool *p, const cords_buf *x, cords_buf *y);
int cpu_fill(cords_backend *be, cords_buf *b, float v);
int cpu_copy(cords_backend *be, cords_buf *dst, const cords_buf *src);
int cpu_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *r, cords_buf *z,
	      const cords_buf *bias, cords_buf *r_out);
int cpu_relu_add(cords_backend *be, const cords_buf *a, const cords_buf *b, int relu_b, cords_buf *y);
int cpu_spatial_mean(cords_backend *be, const cords_buf *x, cords_buf *y);
int cpu_linear(cords_backend *be, const cords_buf *x, const cords_buf *w, const cords_buf *bias,
	       cords_buf *y);
int cpu_linear_bwd_data(cords_backend *be, const cords_buf *dy, const cords_buf *w, cords_buf *dx);
int cpu_linear_bwd_weights(cords_backend *be, const cords_buf *dy, const cords_buf *x, cords_buf *dw,
			   cords_buf *db);
int cpu_xent(cords_backend *be, const cords_buf *logits, const cords_buf *hard, const cords_buf *soft, float scale,
	     cords_buf *dlogits, cords_buf *out);

/* Scratch slot i of at least n floats: 0 and 1 for the backward convolutions
 * (cpu_conv.c), 2 for the bf16 copy of a convolution's input. */
float *cpu_scratch(cpu_impl *c, int i, size_t n);
/* Training (cpu_conv.c, cpu_train_eltwise.c). */
int cpu_conv2d_bwd_data(cords_backend *be, const cords_conv *c, const cords_buf *dy, const cords_buf *w,
			cords_buf *dx);
int cpu_conv2d_bwd_weights(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *dy,
			   cords_buf *dw);
int cpu_avgpool_bwd(cords_backend *be, const cords_pool *p, const cords_buf *dy, cords_buf *dx);
int cpu_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *z, const cords_buf *dout,
		  cords_buf *dz, cords_buf *dr, float beta);
int cpu_relu_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx);
int cpu_readout_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx);
int cpu_batch_sum(cords_backend *be, const cords_buf *dz, cords_buf *db, float beta);
int cpu_axpby(cords_backend *be, float a, const cords_buf *x, float b, cords_buf *y);
int cpu_sqdiff_sum(cords_backend *be, const cords_buf *x, const cords_buf *y, double *out);
int cpu_wnorm(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w);
int cpu_wnorm_bwd(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw, cords_buf *dg,
		  cords_buf *dv);
int cpu_optim(cords_backend *be, const cords_optim *o, cords_buf *p, cords_buf *g, cords_buf *m, cords_buf *v);
int cpu_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *gamma,
		  const cords_buf *beta, cords_buf *rmean, cords_buf *rvar, cords_buf *save_mean,
		  cords_buf *save_invstd, cords_buf *y);
int cpu_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *dy,
		      const cords_buf *gamma, const cords_buf *save_mean, const cords_buf *save_invstd,
		      const cords_buf *rmean, const cords_buf *rvar, cords_buf *dx, cords_buf *dgamma,
		      cords_buf *dbeta, float beta);

#endif
