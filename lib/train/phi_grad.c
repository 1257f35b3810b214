/* phi backward (phi_grad.h). */
#include "phi_grad.h"

void cords_phi_backward_cpu(const float *z, const float *dy, float *dz, int64_t n, float neg)
{
#pragma omp parallel for schedule(static) if (n > 65536)
	for (int64_t i = 0; i < n; i++)
		dz[i] = z[i] > 0 ? dy[i] : dy[i] * neg;
}
