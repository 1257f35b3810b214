/* What the CUDA objects define, when they are not built: the one place that
 * knows there is no GPU support. The constructors fail with "built without
 * CUDA"; the CUDA sources in kernels/ define the same symbols. */
#include "backend.h"
#include "conv_op.h"
#include "eig.h"
#include "err.h"

#include <stddef.h>

static int absent(int device)
{
	return cords_err("device cuda:%d: built without CUDA (rebuild with CUDA=1 and nvcc)", device);
}

cords_backend *cords_backend_cuda_new(int device, const cords_backend_opts *o)
{
	(void)o;
	absent(device);
	return NULL;
}

int cords_cuda_device_count(void) { return 0; }

/* cords-eig --device cuda (kernels/cuda_eig.cu) */
int cords_basis_init_cuda(cords_basis *B, int64_t n, int k, int device)
{
	(void)B, (void)n, (void)k;
	return absent(device);
}

void *cords_conv_op_cuda_new(const cords_conv_op *op, int device)
{
	(void)op;
	absent(device);
	return NULL;
}

/* Unreachable without the two constructors above succeeding. */
void cords_cuda_basis_free(void *dev) { (void)dev; }
int cords_cuda_basis_set(void *dev, int col, const double *x) { (void)dev, (void)col, (void)x; return -1; }
int cords_cuda_basis_get(void *dev, int col, double *x) { (void)dev, (void)col, (void)x; return -1; }
double cords_cuda_cgs2(void *dev, int j, double *w, double *h, int always, int *passes)
{
	(void)dev, (void)j, (void)w, (void)h, (void)always, (void)passes;
	return -1;
}
int cords_cuda_basis_restart(void *dev, int m, const double *Q, int ldq, int p)
{
	(void)dev, (void)m, (void)Q, (void)ldq, (void)p;
	return -1;
}
int cords_cuda_bcgs2(void *dev, int j, double *Y, int s, double *C)
{
	(void)dev, (void)j, (void)Y, (void)s, (void)C;
	return -1;
}
void cords_conv_op_cuda_free(void *ctx) { (void)ctx; }
int cords_conv_op_cuda_apply(void *ctx, const double *x, double *y) { (void)ctx, (void)x, (void)y; return -1; }
