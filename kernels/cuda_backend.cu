/* The CUDA backend: the device, its stream and library handles, buffers
 * (upload, download), error helpers, and the table that makes it a
 * cords_backend. The operations live in cuda_eltwise.cu, cuda_conv.cu,
 * cuda_pool.cu, cuda_linear.cu, (training) cuda_train.cu, (CUDA graphs)
 * cuda_graph.cu and (many GPUs) cuda_nccl.cu. */
#include "cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cu_check(cudaError_t e, const char *what)
{
	if (e == cudaSuccess)
		return 0;
	/* A failed call is also the runtime's "last error": reset it (when it is
	 * not sticky), or the next cu_launched would report it again. */
	cudaGetLastError();
	return cords_err("CUDA: %s: %s", what, cudaGetErrorString(e));
}

int cu_dnn(cudnnStatus_t s, const char *what)
{
	if (s == CUDNN_STATUS_SUCCESS)
		return 0;
	return cords_err("cuDNN: %s: %s", what, cudnnGetErrorString(s));
}

int cu_blas(cublasStatus_t s, const char *what)
{
	if (s == CUBLAS_STATUS_SUCCESS)
		return 0;
	return cords_err("cuBLAS: %s: %s", what, cublasGetStatusString(s));
}

int cu_launched(const char *what)
{
	return cu_check(cudaGetLastError(), what);
}

unsigned cu_blocks(size_t n)
{
	size_t b = (n + CU_THREADS - 1) / CU_THREADS;
	return (unsigned)(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

void *cu_grow(cu_impl *c, void **buf, size_t *have, size_t bytes, const char *what)
{
	if (bytes <= *have)
		return *buf;
	/* Work queued on this stream may still use the old buffer, and graphs
	 * hold its address. */
	if (cu_check(cudaStreamSynchronize(c->stream), "synchronize"))
		return NULL;
	cu_graphs_drop(c);
	cudaFree(*buf);
	*buf = NULL;
	*have = 0;
	cudaError_t e = cudaMalloc(buf, bytes);
	if (e != cudaSuccess) {
		/* Callers may fall back to a smaller need: clear the error, or the
		 * next launch's check (cudaGetLastError) would report it. */
		cudaGetLastError();
		cu_check(e, what);
		*buf = NULL;
		return NULL;
	}
	*have = bytes;
	return *buf;
}

void *cu_workspace(cu_impl *c, size_t bytes)
{
	cu_lane *l = &c->lane[c->cur];
	return cu_grow(c, &l->work, &l->work_bytes, bytes, "workspace");
}

void *cu_bf16_scratch(cu_impl *c, int slot, size_t n)
{
	cu_lane *l = &c->lane[c->cur];
	return cu_grow(c, &l->bf[slot], &l->bf_bytes[slot], n * 2, "bf16 scratch");
}

/* ---- lanes (lib/core/backend.h) */

static int set_lane(cu_impl *c, int k)
{
	c->cur = k;
	c->stream = c->lane[k].stream;
	return cu_dnn(cudnnSetStream(c->dnn, c->stream), "stream") ||
			       cu_blas(cublasSetStream(c->blas, c->stream), "stream")
		       ? -1
		       : 0;
}

int cu_join(cu_impl *c)
{
	for (int k = 1; k < CU_LANES; k++)
		if ((c->forked >> k & 1) && (cu_check(cudaEventRecord(c->lane[k].done, c->lane[k].stream), "joining lanes") ||
					    cu_check(cudaStreamWaitEvent(c->lane[0].stream, c->lane[k].done, 0), "joining lanes")))
			return -1;
	c->forked = 0;
	return c->cur ? set_lane(c, 0) : 0;
}

static int cu_lane_to(cords_backend *be, int k)
{
	cu_impl *c = CU_IMPL(be);
	if (k == 0)
		return cu_join(c);
	if (k == c->cur)
		return 0;
	cu_lane *l = &c->lane[k];
	if (!l->stream && cu_check(cudaStreamCreateWithFlags(&l->stream, cudaStreamNonBlocking), "lane stream"))
		return -1;
	if (!l->done && cu_check(cudaEventCreateWithFlags(&l->done, cudaEventDisableTiming), "lane event"))
		return -1;
	if (!c->forked && cu_check(cudaEventRecord(c->fork, c->lane[0].stream), "starting lanes"))
		return -1;
	if (!(c->forked >> k & 1)) {
		if (cu_check(cudaStreamWaitEvent(l->stream, c->fork, 0), "starting lanes"))
			return -1;
		c->forked |= 1u << k;
	}
	return set_lane(c, k);
}

void cu_lanes_reset(cu_impl *c)
{
	c->forked = 0;
	set_lane(c, 0);
}

static cords_buf *cu_alloc(cords_backend *be, cords_buf_kind kind, int ndim, const int64_t *shape)
{
	cu_impl *c = CU_IMPL(be);
	if (cu_join(c))
		return NULL;
	cu_buf *b = (cu_buf *)calloc(1, sizeof *b);
	if (!b) {
		cords_err("out of memory");
		return NULL;
	}
	b->n = cords_buf_head_init(&b->h, kind, ndim, shape);
	size_t bytes = (b->n ? b->n : 1) * sizeof(float);
	if (cu_check(cudaMalloc((void **)&b->d, bytes), "allocating device memory") ||
	    cu_check(cudaMemsetAsync(b->d, 0, bytes, c->stream), "zeroing a buffer")) {
		cudaFree(b->d);
		free(b);
		return NULL;
	}
	return (cords_buf *)b;
}

static void cu_free(cords_backend *be, cords_buf *buf)
{
	cu_buf *b = CU_BUF(buf);
	if (!b)
		return;
	/* Queued work, in any lane, may still use the buffer; a view owns no memory. */
	if (!b->view) {
		cu_impl *c = CU_IMPL(be);
		cu_join(c);
		cudaStreamSynchronize(c->stream);
		cu_graphs_drop(c);
		cudaFree(b->d);
	}
	free(b);
}

static cords_buf *cu_view(cords_backend *be, cords_buf *buf, int64_t at, int64_t n)
{
	const cu_buf *b = CU_BUF(buf);
	cu_buf *v = (cu_buf *)calloc(1, sizeof *v);
	size_t off;
	if (!v) {
		cords_err("out of memory");
		return NULL;
	}
	cords_buf_view_head(&b->h, at, n, &v->h, &off, &v->n);
	v->d = b->d + off;
	v->view = 1;
	return (cords_buf *)v;
}

/* Host arrays are the caller's and may be freed on return: both directions
 * complete before returning. */
static int cu_upload(cords_backend *be, cords_buf *buf, const float *host)
{
	cu_impl *c = CU_IMPL(be);
	cu_buf *b = CU_BUF(buf);
	if (cu_join(c))
		return -1;
	return cu_check(cudaMemcpyAsync(b->d, host, b->n * sizeof(float), cudaMemcpyHostToDevice, c->stream),
			"upload") ||
	       cu_check(cudaStreamSynchronize(c->stream), "upload")
		       ? -1
		       : 0;
}

static int cu_download(cords_backend *be, const cords_buf *buf, float *host)
{
	cu_impl *c = CU_IMPL(be);
	const cu_buf *b = CU_CBUF(buf);
	if (cu_join(c))
		return -1;
	return cu_check(cudaMemcpyAsync(host, b->d, b->n * sizeof(float), cudaMemcpyDeviceToHost, c->stream),
			"download") ||
	       cu_check(cudaStreamSynchronize(c->stream), "download")
		       ? -1
		       : 0;
}

static int cu_mem_free(cords_backend *be, size_t *bytes)
{
	size_t total;
	return cu_check(cudaMemGetInfo(bytes, &total), "free memory");
}

static int cu_sync(cords_backend *be)
{
	cu_impl *c = CU_IMPL(be);
	if (cu_join(c))
		return -1;
	return cu_check(cudaStreamSynchronize(c->stream), "synchronize");
}

static void cu_destroy(cords_backend *be)
{
	cu_impl *c = CU_IMPL(be);
	cudaDeviceSynchronize();
	cu_graphs_drop(c);
	cu_plans_free(c);
	cu_nccl_free(c->nccl);
	if (c->blas)
		cublasDestroy(c->blas);
	if (c->dnn)
		cudnnDestroy(c->dnn);
	for (int k = 0; k < CU_LANES; k++) {
		cu_lane *l = &c->lane[k];
		cudaFree(l->work);
		for (int i = 0; i < 3; i++)
			cudaFree(l->bf[i]);
		if (l->done)
			cudaEventDestroy(l->done);
		if (l->stream)
			cudaStreamDestroy(l->stream);
	}
	if (c->fork)
		cudaEventDestroy(c->fork);
	free(c);
	free(be);
}

extern "C" int cords_cuda_device_count(void)
{
	int n = 0;
	if (cudaGetDeviceCount(&n) != cudaSuccess) {
		cudaGetLastError();
		return 0;
	}
	return n;
}

int cu_select(int device)
{
	int n = 0;
	cudaError_t e = cudaGetDeviceCount(&n);
	if (e != cudaSuccess || n == 0) {
		cudaGetLastError(); /* clear the sticky "no device" error */
		return cords_err("device cuda:%d: no CUDA device available (%s)", device,
				 e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
	}
	if (device >= n)
		return cords_err("device cuda:%d: only %d CUDA device%s", device, n, n == 1 ? "" : "s");
	return cu_check(cudaSetDevice(device), "selecting the device");
}

/* The device, the main stream and the handles bound to it. */
static int open_device(cu_impl *c, int device)
{
	if (cu_select(device) || cu_check(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "stream"))
		return -1;
	c->lane[0].stream = c->stream;
	if (cu_check(cudaEventCreateWithFlags(&c->fork, cudaEventDisableTiming), "event"))
		return -1;
	if (cu_dnn(cudnnCreate(&c->dnn), "handle") || cu_dnn(cudnnSetStream(c->dnn, c->stream), "stream"))
		return -1;
	cublasMath_t math = c->precision != CORDS_PREC_FP32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
	return cu_blas(cublasCreate(&c->blas), "handle") || cu_blas(cublasSetStream(c->blas, c->stream), "stream") ||
			       cu_blas(cublasSetMathMode(c->blas, math), "math mode")
		       ? -1
		       : 0;
}

extern "C" cords_backend *cords_backend_cuda_new(int device, const cords_backend_opts *o)
{
	cords_backend *be = (cords_backend *)calloc(1, sizeof *be);
	cu_impl *c = (cu_impl *)calloc(1, sizeof *c);
	if (!be || !c) {
		free(be);
		free(c);
		cords_err("out of memory");
		return NULL;
	}
	c->device = device;
	c->precision = o->precision;
	c->deterministic = o->deterministic;
	c->graphs_on = o->graphs;
	be->impl = c;
	if (open_device(c, device)) {
		if (c->lane[0].stream)
			cu_destroy(be);
		else {
			free(c);
			free(be);
		}
		return NULL;
	}
	snprintf(c->name, sizeof c->name, "cuda:%d", device);
	be->name = c->name;
	be->alloc = cu_alloc;
	be->free = cu_free;
	be->view = cu_view;
	be->mem_free = cu_mem_free;
	be->upload = cu_upload;
	be->download = cu_download;
	be->fill = cu_fill;
	be->copy = cu_copy;
	be->conv2d = cu_conv2d;
	be->avgpool = cu_avgpool;
	be->leaky = cu_leaky;
	be->relu_add = cu_relu_add;
	be->spatial_mean = cu_spatial_mean;
	be->linear = cu_linear;
	be->sync = cu_sync;
	be->destroy = cu_destroy;
	be->conv2d_bwd_data = cu_conv2d_bwd_data;
	be->conv2d_bwd_weights = cu_conv2d_bwd_weights;
	be->avgpool_bwd = cu_avgpool_bwd;
	be->leaky_bwd = cu_leaky_bwd;
	be->relu_bwd_add = cu_relu_bwd_add;
	be->readout_bwd_add = cu_readout_bwd_add;
	be->batch_sum = cu_batch_sum;
	be->axpby = cu_axpby;
	be->sqdiff_sum = cu_sqdiff_sum;
	be->wnorm = cu_wnorm;
	be->wnorm_bwd = cu_wnorm_bwd;
	be->optim = cu_optim;
	be->linear_bwd_data = cu_linear_bwd_data;
	be->linear_bwd_weights = cu_linear_bwd_weights;
	be->xent = cu_xent;
	be->batchnorm = cu_batchnorm;
	be->batchnorm_bwd = cu_batchnorm_bwd;
	be->allreduce = cu_allreduce;
	be->lane = o->lanes ? cu_lane_to : NULL;
	be->replay = cu_replay;
	return be;
}
