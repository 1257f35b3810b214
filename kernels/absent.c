/* The CUDA backend's constructor when the CUDA objects are not built: the one
 * place that knows there is no GPU support. the CUDA sources (kernels/NAME.cu) define the same symbol. */
#include "backend.h"
#include "err.h"

#include <stddef.h>

cords_backend *cords_backend_cuda_new(int device)
{
	cords_err("device cuda:%d: built without CUDA (rebuild with CUDA=1 and nvcc)", device);
	return NULL;
}
