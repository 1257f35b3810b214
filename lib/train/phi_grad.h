/* Backward of the nonlinearities (SPEC §2 phi): ReLU, identity and PReLU
 * with one shared slope, as one CPU float kernel. The derivative is 1 for
 * z > 0 and `neg` for z <= 0: neg = 0 (ReLU, as torch: 0 at z = 0),
 * 1 (identity), slope (PReLU, as torch's relu(z) + a*clamp(z, max=0)). */
#ifndef CORDS_PHI_GRAD_H
#define CORDS_PHI_GRAD_H

#include <stdint.h>

/* dz = dy * phi'(z), all [n]; dz may be dy. */
void cords_phi_backward_cpu(const float *z, const float *dy, float *dz, int64_t n, float neg);

#endif
