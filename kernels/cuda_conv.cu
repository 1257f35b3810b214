/* Convolutions through cuDNN (NCHW f32): forward, backward data and backward
 * filter. A plan (tensor, filter and convolution descriptors, and for each
 * direction the algorithm cudnnFind measured fastest among those the
 * precision allows; deterministic ones only for the backward passes, so a
 * run repeats itself, unless CORDS_DETERMINISTIC=0; another process may measure another algorithm fastest
 * and round differently) is made once per shape and kept in a list on the
 * backend; each lane's workspace grows to the largest need there.
 *
 * In bf16 (CORDS_PREC_BF16) a convolution's two operands are rounded to bf16 copies
 * in the lane's scratch, cuDNN sums in f32 on tensor cores into a bf16
 * result, and our kernel widens that into the f32 output (with beta). */
#include "cuda.h"

#include <cuda_bf16.h>
#include <stdlib.h>
#include <string.h>

struct cu_plan {
	int64_t key[10]; /* x shape, w shape, stride, pad */
	cudnnTensorDescriptor_t x, y;
	cudnnFilterDescriptor_t w;
	cudnnTensorDescriptor_t x16, y16; /* the same shapes in bf16 (CORDS_PREC_BF16 only) */
	cudnnFilterDescriptor_t w16;
	cudnnConvolutionDescriptor_t conv;
	int have[3]; /* algorithm found: forward, backward data, backward filter */
	int f32[3];  /* CORDS_PREC_BF16, but cuDNN has no bf16 algorithm for this shape: f32 operands, TF32 */
	cudnnConvolutionFwdAlgo_t fwd;
	cudnnConvolutionBwdDataAlgo_t bwd_data;
	cudnnConvolutionBwdFilterAlgo_t bwd_filter;
	cudnnMathType_t math[3];
	size_t ws[3]; /* workspace bytes each algorithm needs */
	cu_plan *next;
};

static void plan_free(cu_plan *p)
{
	if (p->x)
		cudnnDestroyTensorDescriptor(p->x);
	if (p->y)
		cudnnDestroyTensorDescriptor(p->y);
	if (p->w)
		cudnnDestroyFilterDescriptor(p->w);
	if (p->x16)
		cudnnDestroyTensorDescriptor(p->x16);
	if (p->y16)
		cudnnDestroyTensorDescriptor(p->y16);
	if (p->w16)
		cudnnDestroyFilterDescriptor(p->w16);
	if (p->conv)
		cudnnDestroyConvolutionDescriptor(p->conv);
	free(p);
}

void cu_plans_free(cu_impl *c)
{
	for (cu_plan *p = c->plans, *next; p; p = next) {
		next = p->next;
		plan_free(p);
	}
	c->plans = NULL;
}

static int is_tensor_op(cudnnMathType_t m)
{
	return m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
}

static int tensor4(cudnnTensorDescriptor_t *d, const int64_t *s, cudnnDataType_t t)
{
	return cu_dnn(cudnnCreateTensorDescriptor(d), "tensor descriptor") ||
			       cu_dnn(cudnnSetTensor4dDescriptor(*d, CUDNN_TENSOR_NCHW, t, (int)s[0], (int)s[1], (int)s[2],
								 (int)s[3]),
				      "tensor descriptor")
		       ? -1
		       : 0;
}

static int filter4(cudnnFilterDescriptor_t *d, const int64_t *s, cudnnDataType_t t)
{
	return cu_dnn(cudnnCreateFilterDescriptor(d), "filter descriptor") ||
			       cu_dnn(cudnnSetFilter4dDescriptor(*d, t, CUDNN_TENSOR_NCHW, (int)s[0], (int)s[1], (int)s[2],
								 (int)s[3]),
				      "filter descriptor")
		       ? -1
		       : 0;
}

/* The descriptors of one shape (and their bf16 twins when bf16 asks). */
static int plan_describe(cu_plan *p, const cords_conv *cv, const cu_buf *x, const cu_buf *w,
			 const cu_buf *y, int half)
{
	const cudnnDataType_t F = CUDNN_DATA_FLOAT, H = CUDNN_DATA_BFLOAT16;
	return tensor4(&p->x, x->h.shape, F) || tensor4(&p->y, y->h.shape, F) || filter4(&p->w, w->h.shape, F) ||
			       (half && (tensor4(&p->x16, x->h.shape, H) || tensor4(&p->y16, y->h.shape, H) ||
					 filter4(&p->w16, w->h.shape, H))) ||
			       cu_dnn(cudnnCreateConvolutionDescriptor(&p->conv), "convolution descriptor") ||
			       cu_dnn(cudnnSetConvolution2dDescriptor(p->conv, cv->pad, cv->pad, cv->stride, cv->stride,
								      1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
				      "convolution descriptor")
		       ? -1
		       : 0;
}

/* Whether direction dir runs on bf16 copies (CORDS_PREC_BF16, and cuDNN has an
 * algorithm for it), and the descriptors it runs on. */
static int bf16(const cu_impl *c, const cu_plan *p, int dir)
{
	return c->precision == CORDS_PREC_BF16 && !p->f32[dir];
}
static cudnnTensorDescriptor_t xdesc(const cu_impl *c, const cu_plan *p, int dir)
{
	return bf16(c, p, dir) ? p->x16 : p->x;
}
static cudnnTensorDescriptor_t ydesc(const cu_impl *c, const cu_plan *p, int dir)
{
	return bf16(c, p, dir) ? p->y16 : p->y;
}
static cudnnFilterDescriptor_t wdesc(const cu_impl *c, const cu_plan *p, int dir)
{
	return bf16(c, p, dir) ? p->w16 : p->w;
}

enum { FWD = 0, BWD_DATA = 1, BWD_FILTER = 2 };

static cudnnMathType_t base_math(const cu_impl *c)
{
	return c->precision == CORDS_PREC_FP32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

/* Of perf results (fastest first), the first usable one: successful, in fp32
 * not on tensor cores, for the backward passes deterministic (unless
 * CORDS_DETERMINISTIC=0). Fills the
 * plan's math type and workspace for direction dir; the index, or -1. */
template <typename Perf> static int pick(cu_impl *c, cu_plan *p, int dir, const Perf *perf, int n)
{
	for (int i = 0; i < n; i++) {
		if (perf[i].status != CUDNN_STATUS_SUCCESS)
			continue;
		if (c->precision == CORDS_PREC_FP32 && is_tensor_op(perf[i].mathType))
			continue;
		if (dir != FWD && c->deterministic && perf[i].determinism != CUDNN_DETERMINISTIC)
			continue;
		p->math[dir] = c->precision == CORDS_PREC_FP32 ? CUDNN_FMA_MATH : perf[i].mathType;
		p->ws[dir] = perf[i].memory;
		return i;
	}
	return -1;
}

/* cudnnFind's choice for direction dir: 1 found, 0 none usable, -1 error. */
static int find(cu_impl *c, cu_plan *p, int dir)
{
	int n = 0, i = -1;
	const char *what = "finding a convolution algorithm";
	const cudnnTensorDescriptor_t x = xdesc(c, p, dir), y = ydesc(c, p, dir);
	const cudnnFilterDescriptor_t w = wdesc(c, p, dir);
	if (dir == FWD) {
		cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
		if (cu_dnn(cudnnFindConvolutionForwardAlgorithm(c->dnn, x, w, p->conv, y,
								 CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf),
			   what))
			return -1;
		if ((i = pick(c, p, dir, perf, n)) >= 0)
			p->fwd = perf[i].algo;
	} else if (dir == BWD_DATA) {
		cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
		if (cu_dnn(cudnnFindConvolutionBackwardDataAlgorithm(c->dnn, w, y, p->conv, x,
								      CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf),
			   what))
			return -1;
		if ((i = pick(c, p, dir, perf, n)) >= 0)
			p->bwd_data = perf[i].algo;
	} else {
		cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
		if (cu_dnn(cudnnFindConvolutionBackwardFilterAlgorithm(c->dnn, x, y, p->conv, w,
									CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf),
			   what))
			return -1;
		if ((i = pick(c, p, dir, perf, n)) >= 0)
			p->bwd_filter = perf[i].algo;
	}
	return i >= 0;
}

/* When cudnnFind fails or offers nothing usable, or its choice's workspace
 * does not fit: for direction dir, the implicit-GEMM algorithm, which is
 * deterministic, takes every shape and needs little workspace, with the math
 * the precision asks. */
static int fallback(cu_impl *c, cu_plan *p, int dir)
{
	p->f32[dir] = c->precision == CORDS_PREC_BF16; /* implicit GEMM takes every shape in f32 */
	p->math[dir] = base_math(c);
	const char *what = "workspace size";
	const cudnnTensorDescriptor_t x = xdesc(c, p, dir), y = ydesc(c, p, dir);
	const cudnnFilterDescriptor_t w = wdesc(c, p, dir);
	if (cu_dnn(cudnnSetConvolutionMathType(p->conv, p->math[dir]), "math type"))
		return -1;
	if (dir == FWD) {
		p->fwd = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
		return cu_dnn(cudnnGetConvolutionForwardWorkspaceSize(c->dnn, x, w, p->conv, y, p->fwd,
								       &p->ws[dir]),
			      what);
	}
	if (dir == BWD_DATA) {
		p->bwd_data = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
		return cu_dnn(cudnnGetConvolutionBackwardDataWorkspaceSize(c->dnn, w, y, p->conv, x,
									    p->bwd_data, &p->ws[dir]),
			      what);
	}
	p->bwd_filter = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
	return cu_dnn(cudnnGetConvolutionBackwardFilterWorkspaceSize(c->dnn, x, y, p->conv, w,
								      p->bwd_filter, &p->ws[dir]),
		      what);
}

/* The algorithm for direction dir, measured on first use; the descriptor's
 * math type and the workspace set for it (one descriptor serves the three
 * directions). */
static int plan_algo(cu_impl *c, cu_plan *p, int dir)
{
	if (!p->have[dir]) {
		/* cudnnFind times its trials: on an idle device, not beside other lanes' work. */
		if (cu_check(cudaDeviceSynchronize(), "synchronize") ||
		    cu_dnn(cudnnSetConvolutionMathType(p->conv, base_math(c)), "math type"))
			return -1;
		int found = find(c, p, dir);
		if (found <= 0 && c->precision == CORDS_PREC_BF16) { /* no bf16 algorithm: f32 operands on TF32 */
			p->f32[dir] = 1;
			found = find(c, p, dir);
		}
		if ((found <= 0 || (p->ws[dir] && !cu_workspace(c, p->ws[dir]))) && fallback(c, p, dir))
			return -1;
		p->have[dir] = 1;
	}
	if (cu_dnn(cudnnSetConvolutionMathType(p->conv, p->math[dir]), "math type"))
		return -1;
	if (!p->ws[dir] || cu_workspace(c, p->ws[dir]))
		return 0;
	/* Found on another lane, whose workspace could grow: this lane's cannot
	 * (the memory is the activations' now). The plan falls back for good. */
	return fallback(c, p, dir) || (p->ws[dir] && !cu_workspace(c, p->ws[dir])) ? -1 : 0;
}

static cu_plan *plan_get(cu_impl *c, const cords_conv *cv, const cu_buf *x, const cu_buf *w, const cu_buf *y)
{
	int64_t key[10];
	memcpy(key, x->h.shape, 4 * sizeof *key);
	memcpy(key + 4, w->h.shape, 4 * sizeof *key);
	key[8] = cv->stride;
	key[9] = cv->pad;
	for (cu_plan *p = c->plans; p; p = p->next)
		if (!memcmp(p->key, key, sizeof key))
			return p;
	cu_plan *p = (cu_plan *)calloc(1, sizeof *p);
	if (!p) {
		cords_err("out of memory");
		return NULL;
	}
	memcpy(p->key, key, sizeof key);
	if (plan_describe(p, cv, x, w, y, c->precision == CORDS_PREC_BF16)) {
		plan_free(p);
		return NULL;
	}
	p->next = c->plans;
	c->plans = p;
	return p;
}

__global__ static void k_to_bf16(const float *x, __nv_bfloat16 *y, size_t n)
{
	FOR_EACH(i, n) y[i] = __float2bfloat16(x[i]);
}

/* y = widened x + beta y; beta 0 overwrites (whatever y held). */
__global__ static void k_from_bf16(const __nv_bfloat16 *x, float *y, size_t n, float beta)
{
	FOR_EACH(i, n) y[i] = beta != 0.0f ? __bfloat162float(x[i]) + beta * y[i] : __bfloat162float(x[i]);
}

/* Where a convolution reads its two operands and writes its result, and
 * the beta it adds with: the f32 buffers themselves, or in CORDS_PREC_BF16 bf16
 * copies in the lane's scratch (result with beta 0, widened by finish). */
typedef struct {
	const void *a, *b;
	void *out;
	float beta;
} operands;

static int operands_for(cu_impl *c, int half, const cu_buf *a, const cu_buf *b, cu_buf *out, float beta,
			operands *o)
{
	if (!half) {
		*o = {a->d, b->d, out->d, beta};
		return 0;
	}
	void *ah, *bh, *oh;
	if (!(ah = cu_bf16_scratch(c, 0, a->n)) || !(bh = cu_bf16_scratch(c, 1, b->n)) ||
	    !(oh = cu_bf16_scratch(c, 2, out->n)))
		return -1;
	k_to_bf16<<<cu_blocks(a->n), CU_THREADS, 0, c->stream>>>(a->d, (__nv_bfloat16 *)ah, a->n);
	k_to_bf16<<<cu_blocks(b->n), CU_THREADS, 0, c->stream>>>(b->d, (__nv_bfloat16 *)bh, b->n);
	*o = {ah, bh, oh, 0.0f};
	return cu_launched("rounding to bf16");
}

static int finish(cu_impl *c, int half, const operands *o, cu_buf *out, float beta)
{
	if (!half)
		return 0;
	k_from_bf16<<<cu_blocks(out->n), CU_THREADS, 0, c->stream>>>((const __nv_bfloat16 *)o->out, out->d, out->n,
								       beta);
	return cu_launched("widening from bf16");
}

/* Direction dir of a planned convolution: out (+ beta out) = the
 * convolution of a and b, which are x and w (FWD), dy and w (BWD_DATA), or
 * x and dy (BWD_FILTER), in the math the precision asks. */
static int run(cu_impl *c, cu_plan *p, int dir, const cu_buf *a, const cu_buf *b, cu_buf *out, float beta)
{
	static const char *const what[] = {"convolution", "convolution backward data", "convolution backward filter"};
	if (!p || plan_algo(c, p, dir))
		return -1;
	const int half = bf16(c, p, dir);
	const float one = 1.0f;
	operands o;
	if (operands_for(c, half, a, b, out, beta, &o))
		return -1;
	void *work = c->lane[c->cur].work;
	const cudnnTensorDescriptor_t x = xdesc(c, p, dir), y = ydesc(c, p, dir);
	const cudnnFilterDescriptor_t w = wdesc(c, p, dir);
	cudnnStatus_t st;
	if (dir == FWD)
		st = cudnnConvolutionForward(c->dnn, &one, x, o.a, w, o.b, p->conv, p->fwd, work, p->ws[dir], &o.beta, y,
					     o.out);
	else if (dir == BWD_DATA)
		st = cudnnConvolutionBackwardData(c->dnn, &one, w, o.b, y, o.a, p->conv, p->bwd_data, work, p->ws[dir],
						  &o.beta, x, o.out);
	else
		st = cudnnConvolutionBackwardFilter(c->dnn, &one, x, o.a, y, o.b, p->conv, p->bwd_filter, work, p->ws[dir],
						    &o.beta, w, o.out);
	return cu_dnn(st, what[dir]) || finish(c, half, &o, out, beta) ? -1 : 0;
}

int cu_conv2d(cords_backend *be, const cords_conv *cv, const cords_buf *xb, const cords_buf *wb,
	      const cords_buf *bb, cords_buf *yb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb), *w = CU_CBUF(wb), *b = CU_CBUF(bb);
	cu_buf *y = CU_BUF(yb);
	if (run(c, plan_get(c, cv, x, w, y), FWD, x, w, y, cv->beta))
		return -1;
	return b ? cu_bias_channels(c, b, y) : 0;
}

int cu_conv2d_bwd_data(cords_backend *be, const cords_conv *cv, const cords_buf *dyb, const cords_buf *wb,
		       cords_buf *dxb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *dy = CU_CBUF(dyb), *w = CU_CBUF(wb);
	cu_buf *dx = CU_BUF(dxb);
	return run(c, plan_get(c, cv, dx, w, dy), BWD_DATA, dy, w, dx, cv->beta);
}

int cu_conv2d_bwd_weights(cords_backend *be, const cords_conv *cv, const cords_buf *xb, const cords_buf *dyb,
			  cords_buf *dwb)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *x = CU_CBUF(xb), *dy = CU_CBUF(dyb);
	cu_buf *dw = CU_BUF(dwb);
	return run(c, plan_get(c, cv, x, dw, dy), BWD_FILTER, x, dy, dw, cv->beta);
}
