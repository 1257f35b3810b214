/* The state a linearisation is taken at (cords-eig --at): the spontaneous
 * state (spont_steps blank steps from zero), or the state after the
 * spontaneous phase and stim_steps steps with one image. Host copies of the
 * states r_i and of the pre-activations z_i at that state (what one more
 * step computes: z_i = area_conv_i(r_i) + conv_bias_i + area_area_i(u_i)),
 * plus how far the state is from a fixed point of the one-step map. */
#ifndef CORDS_EIG_STATE_H
#define CORDS_EIG_STATE_H

#include "model.h"

typedef struct {
	int depth;
	int64_t n[CORDS_MAX_DEPTH];
	float *r[CORDS_MAX_DEPTH], *z[CORDS_MAX_DEPTH];
	double step_change; /* ||F(r) - r|| / ||r|| for the one-step map F (0/0 -> 0) */
	double norm;        /* ||r|| over all areas */
} cords_eig_state;

/* image: NULL (spontaneous) or one image as model input, [1,C,H,W] floats
 * (as cords_infer_batches reads it). */
int cords_eig_state_compute(const cords_model *m, const float *image, cords_eig_state *st);
void cords_eig_state_free(cords_eig_state *st);

#endif
