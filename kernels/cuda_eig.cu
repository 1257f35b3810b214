/* cords-eig on a CUDA device: the Krylov basis and its Gram-Schmidt
 * (lib/eig/eig.h), and area_conv as a double-precision operator (lib/eig/conv_op.h),
 * by cuBLAS. Arnoldi itself stays on the host: per step one vector goes to
 * the device and one comes back, while the basis (300 x 200,704 doubles for
 * R8's first area) and the convolution's nine products stay there. Separate
 * from the backend (cuda_backend.cu): everything here is double, and owns
 * its handle and buffers. */
#include "cuda.h"

extern "C" {
#include "conv_op.h"
#include "eig.h"
}

#include <math.h>
#include <mutex>
#include <stdio.h>
#include <string.h>

/* ---- the basis */

typedef struct {
	int device;
	int64_t n;
	int k;
	cublasHandle_t blas;
	double *V;      /* [k][n]: column col at V + col n */
	double *w, *h;  /* [n], [2 k]: the vector being orthogonalised, coefficients of two passes */
	double *Y, *C;  /* a block [n, CORDS_MAX_BLOCK] and its coefficients [2][k, CORDS_MAX_BLOCK]: on first use */
} dev_basis;

void cords_cuda_basis_free(void *p)
{
	dev_basis *d = (dev_basis *)p;
	if (!d)
		return;
	cudaSetDevice(d->device);
	if (d->blas)
		cublasDestroy(d->blas);
	cudaFree(d->V);
	cudaFree(d->w);
	cudaFree(d->h);
	cudaFree(d->Y);
	cudaFree(d->C);
	free(d);
}

extern "C" int cords_basis_init_cuda(cords_basis *B, int64_t n, int k, int device)
{
	memset(B, 0, sizeof *B);
	dev_basis *d = (dev_basis *)calloc(1, sizeof *d);
	if (!d)
		return cords_err("out of memory");
	d->device = device;
	d->n = n;
	d->k = k;
	size_t bytes = (size_t)n * (size_t)k * sizeof(double);
	char what[96];
	snprintf(what, sizeof what, "cuda:%d: a %d x %lld basis (%.0f MB)", device, k, (long long)n, bytes / 1e6);
	if (cu_select(device) || cu_check(cudaMalloc(&d->V, bytes), what) ||
	    cu_check(cudaMalloc(&d->w, (size_t)n * sizeof(double)), what) ||
	    cu_check(cudaMalloc(&d->h, (size_t)2 * k * sizeof(double)), what) || cu_blas(cublasCreate(&d->blas), "handle")) {
		cords_cuda_basis_free(d);
		return -1;
	}
	B->n = n;
	B->k = k;
	B->esize = sizeof(double);
	B->bytes = bytes;
	B->dev = d;
	return 0;
}

extern "C" int cords_cuda_basis_set(void *p, int col, const double *x)
{
	dev_basis *d = (dev_basis *)p;
	return cu_check(cudaSetDevice(d->device), "device") ||
	       cu_check(cudaMemcpy(d->V + (size_t)col * d->n, x, (size_t)d->n * sizeof *x, cudaMemcpyHostToDevice),
			"basis column to the device");
}

extern "C" int cords_cuda_basis_get(void *p, int col, double *x)
{
	dev_basis *d = (dev_basis *)p;
	return cu_check(cudaSetDevice(d->device), "device") ||
	       cu_check(cudaMemcpy(x, d->V + (size_t)col * d->n, (size_t)d->n * sizeof *x, cudaMemcpyDeviceToHost),
			"basis column from the device");
}

/* One classical Gram-Schmidt pass on the device: hj = V^T w, w -= V hj;
 * *nrm gets ||w|| after. */
static int cgs_pass(dev_basis *d, int j, double *hj, double *nrm)
{
	const double one = 1, zero = 0, minus = -1;
	int n = (int)d->n;
	return cu_blas(cublasDgemv(d->blas, CUBLAS_OP_T, n, j, &one, d->V, n, d->w, 1, &zero, hj, 1), "dgemv V^T w") ||
	       cu_blas(cublasDgemv(d->blas, CUBLAS_OP_N, n, j, &minus, d->V, n, hj, 1, &one, d->w, 1), "dgemv w - V h") ||
	       cu_blas(cublasDnrm2(d->blas, n, d->w, 1, nrm), "dnrm2");
}

/* As the host's cords_cgs2 (eig_basis.c): CGS2, or DGKS's second pass only
 * when the first left less than 1/sqrt(2) of ||w||. */
extern "C" double cords_cuda_cgs2(void *p, int j, double *w, double *h, int always, int *passes)
{
	dev_basis *d = (dev_basis *)p;
	int n = (int)d->n;
	double n0 = 0, n1 = 0, n2 = 0;
	*passes = 1;
	if (cu_check(cudaSetDevice(d->device), "device") ||
	    cu_check(cudaMemcpy(d->w, w, (size_t)n * sizeof *w, cudaMemcpyHostToDevice), "vector to the device"))
		return -1;
	if (j == 0) {
		if (cu_blas(cublasDnrm2(d->blas, n, d->w, 1, &n1), "dnrm2"))
			return -1;
		return n1;
	}
	if (!always && cu_blas(cublasDnrm2(d->blas, n, d->w, 1, &n0), "dnrm2"))
		return -1;
	if (cgs_pass(d, j, d->h, &n1))
		return -1;
	if (always || n1 * n1 <= 0.5 * n0 * n0) {
		if (cgs_pass(d, j, d->h + d->k, &n2))
			return -1;
		const double one = 1;
		if (cu_blas(cublasDaxpy(d->blas, j, &one, d->h + d->k, 1, d->h, 1), "daxpy h"))
			return -1;
		n1 = n2;
		*passes = 2;
	}
	if (cu_check(cudaMemcpy(w, d->w, (size_t)n * sizeof *w, cudaMemcpyDeviceToHost), "vector from the device") ||
	    cu_check(cudaMemcpy(h, d->h, (size_t)j * sizeof *h, cudaMemcpyDeviceToHost), "coefficients from the device"))
		return -1;
	return n1;
}

/* Block CGS2 (eig.h): Y to the device, C1 = V^T Y, Y -= V C1, C2 = V^T Y,
 * Y -= V C2, and Y and C1 + C2 back. */
extern "C" int cords_cuda_bcgs2(void *p, int j, double *Y, int s, double *C)
{
	dev_basis *d = (dev_basis *)p;
	const double one = 1, zero = 0, minus = -1;
	int n = (int)d->n;
	size_t ny = (size_t)n * s * sizeof *Y, nc = (size_t)j * s * sizeof *C;
	double *C2;
	if (cu_check(cudaSetDevice(d->device), "device") ||
	    (!d->Y && cu_check(cudaMalloc(&d->Y, (size_t)n * CORDS_MAX_BLOCK * sizeof *Y), "block")) ||
	    (!d->C && cu_check(cudaMalloc(&d->C, (size_t)2 * d->k * CORDS_MAX_BLOCK * sizeof *C), "block")) ||
	    cu_check(cudaMemcpy(d->Y, Y, ny, cudaMemcpyHostToDevice), "block to the device"))
		return -1;
	C2 = d->C + (size_t)d->k * CORDS_MAX_BLOCK;
	for (int pass = 0; pass < 2; pass++) {
		double *c = pass ? C2 : d->C;
		if (cu_blas(cublasDgemm(d->blas, CUBLAS_OP_T, CUBLAS_OP_N, j, s, n, &one, d->V, n, d->Y, n, &zero, c, j),
			    "dgemm V^T Y") ||
		    cu_blas(cublasDgemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_N, n, s, j, &minus, d->V, n, c, j, &one, d->Y, n),
			    "dgemm Y - V C"))
			return -1;
	}
	return cu_blas(cublasDaxpy(d->blas, j * s, &one, C2, 1, d->C, 1), "daxpy C") ||
	       cu_check(cudaMemcpy(Y, d->Y, ny, cudaMemcpyDeviceToHost), "block from the device") ||
	       cu_check(cudaMemcpy(C, d->C, nc, cudaMemcpyDeviceToHost), "block coefficients from the device");
}

/* The Krylov–Schur restart (eig.h): V[:, :p] = V[:, :m] Q in blocks of rows,
 * through a scratch of at most RESTART_ROWS x p, then column m to column p. */
#define RESTART_ROWS 16384

extern "C" int cords_cuda_basis_restart(void *p, int m, const double *Q, int ldq, int keep)
{
	dev_basis *d = (dev_basis *)p;
	const double one = 1, zero = 0;
	int n = (int)d->n, rows = n < RESTART_ROWS ? n : RESTART_ROWS, rc = -1;
	double *q = NULL, *s = NULL;
	if (cu_check(cudaSetDevice(d->device), "device") ||
	    cu_check(cudaMalloc(&q, (size_t)m * keep * sizeof *q), "restart coefficients") ||
	    cu_check(cudaMalloc(&s, (size_t)rows * keep * sizeof *s), "restart scratch"))
		goto out;
	for (int c = 0; c < keep; c++)
		if (cu_check(cudaMemcpy(q + (size_t)c * m, Q + (size_t)c * ldq, (size_t)m * sizeof *q,
					cudaMemcpyHostToDevice), "restart coefficients to the device"))
			goto out;
	for (int r0 = 0; r0 < n; r0 += rows) {
		int nr = n - r0 < rows ? n - r0 : rows;
		if (cu_blas(cublasDgemm(d->blas, CUBLAS_OP_N, CUBLAS_OP_N, nr, keep, m, &one, d->V + r0, n, q, m, &zero,
					s, nr), "restart dgemm"))
			goto out;
		for (int c = 0; c < keep; c++)
			if (cu_check(cudaMemcpy(d->V + (size_t)c * n + r0, s + (size_t)c * nr, (size_t)nr * sizeof *s,
						cudaMemcpyDeviceToDevice), "restart copy"))
				goto out;
	}
	rc = cu_check(cudaMemcpy(d->V + (size_t)keep * n, d->V + (size_t)m * n, (size_t)n * sizeof *s,
				 cudaMemcpyDeviceToDevice), "restart copy");
out:
	cudaFree(q);
	cudaFree(s);
	return rc;
}

/* ---- area_conv: the host's layout (conv_op.c) on the device: rows of
 * width w + 2 in zero-padded planes, so each tap is one strided dgemm */

typedef struct {
	int device, c, h, w;
	double a, b;
	cublasHandle_t blas;
	double *wt, *d;      /* [9][c][c] row-major per tap; [c h w] or NULL */
	double *x, *xp, *yp, *y; /* [c h w]; c padded planes; c rows of h (w + 2); [c h w] */
	size_t plane;
	std::mutex lock;     /* one apply at a time: power iteration's trials are threads */
} dev_conv;

void cords_conv_op_cuda_free(void *p)
{
	dev_conv *o = (dev_conv *)p;
	if (!o)
		return;
	cudaSetDevice(o->device);
	if (o->blas)
		cublasDestroy(o->blas);
	cudaFree(o->wt);
	cudaFree(o->d);
	cudaFree(o->x);
	cudaFree(o->xp);
	cudaFree(o->yp);
	cudaFree(o->y);
	delete o;
}

extern "C" void *cords_conv_op_cuda_new(const cords_conv_op *op, int device)
{
	dev_conv *o = new (std::nothrow) dev_conv();
	if (!o) {
		cords_err("out of memory");
		return NULL;
	}
	o->device = device;
	o->c = op->c, o->h = op->h, o->w = op->w, o->a = op->a, o->b = op->b;
	size_t hw = (size_t)op->h * op->w, c = (size_t)op->c, W2 = (size_t)op->w + 2;
	o->plane = (size_t)(op->h + 2) * W2 + 2;
	size_t wt = 9 * c * c * sizeof(double), map = c * hw * sizeof(double);
	size_t xp = c * o->plane * sizeof(double), yp = c * op->h * W2 * sizeof(double);
	if (cu_select(device) || cu_blas(cublasCreate(&o->blas), "handle") ||
	    cu_check(cudaMalloc(&o->wt, wt), "conv weights") || cu_check(cudaMalloc(&o->x, map), "conv input") ||
	    cu_check(cudaMalloc(&o->y, map), "conv result") ||
	    cu_check(cudaMalloc(&o->xp, xp), "conv padded input") || cu_check(cudaMalloc(&o->yp, yp), "conv output") ||
	    (op->d && cu_check(cudaMalloc(&o->d, map), "phi' at the state")) ||
	    cu_check(cudaMemset(o->xp, 0, xp), "conv padding") ||
	    cu_check(cudaMemcpy(o->wt, op->wt, wt, cudaMemcpyHostToDevice), "conv weights to the device") ||
	    (op->d && cu_check(cudaMemcpy(o->d, op->d, map, cudaMemcpyHostToDevice), "phi' to the device"))) {
		cords_conv_op_cuda_free(o);
		return NULL;
	}
	return o;
}

/* x [c h w] into the interiors of the padded planes (borders stay 0). */
__global__ static void pad_in(const double *x, double *xp, int c, int h, int w, size_t plane)
{
	size_t n = (size_t)c * h * w;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		size_t ch = i / ((size_t)h * w), r = i / w % h, q = i % w;
		xp[ch * plane + (r + 1) * (w + 2) + q + 1] = x[i];
	}
}

/* y = a x + b * d .* conv(x), dropping the two garbage columns of each row. */
__global__ static void combine(const double *x, const double *yp, const double *d, double a, double b, double *y,
			       int c, int h, int w)
{
	size_t n = (size_t)c * h * w;
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
		size_t ch = i / ((size_t)h * w), r = i / w % h, q = i % w;
		double cv = yp[ch * (size_t)h * (w + 2) + r * (w + 2) + q];
		y[i] = a * x[i] + b * (d ? d[i] * cv : cv);
	}
}

extern "C" int cords_conv_op_cuda_apply(void *ctx, const double *x, double *y)
{
	dev_conv *o = (dev_conv *)ctx;
	std::lock_guard<std::mutex> hold(o->lock);
	int c = o->c, W2 = o->w + 2, N = o->h * W2;
	size_t n = (size_t)c * o->h * o->w;
	if (cu_check(cudaSetDevice(o->device), "device") ||
	    cu_check(cudaMemcpy(o->x, x, n * sizeof *x, cudaMemcpyHostToDevice), "conv input to the device"))
		return -1;
	pad_in<<<cu_blocks(n), CU_THREADS>>>(o->x, o->xp, c, o->h, o->w, o->plane);
	if (cu_launched("conv padding"))
		return -1;
	/* Row-major Y[c, N] += W_t[c, c] X_t[c, N] is column-major Y^T = X_t^T W_t^T:
	 * the same memory, operands swapped. */
	for (int t = 0; t < 9; t++) {
		const double one = 1, beta = t ? 1 : 0;
		if (cu_blas(cublasDgemm(o->blas, CUBLAS_OP_N, CUBLAS_OP_N, N, c, c, &one, o->xp + (t / 3) * W2 + t % 3,
					(int)o->plane, o->wt + (size_t)t * c * c, c, &beta, o->yp, N),
			    "conv dgemm"))
			return -1;
	}
	combine<<<cu_blocks(n), CU_THREADS>>>(o->x, o->yp, o->d, o->a, o->b, o->y, c, o->h, o->w);
	return cu_launched("conv combine") ||
	       cu_check(cudaMemcpy(y, o->y, n * sizeof *y, cudaMemcpyDeviceToHost), "conv result from the device");
}
