/* The state a linearisation is taken at (cords-eig --at): the spontaneous
 * state (spont_steps blank steps from zero), or the state after the
 * spontaneous phase and stim_steps steps with one image. Host copies of the
 * states r_i and of the pre-activations z_i at that state (what one more
 * step computes: z_i = area_conv_i(r_i) + conv_bias_i + area_area_i(u_i)),
 * plus how far the state is from a fixed point of the one-step map. */
#ifndef CORDS_EIG_STATE_H
#define CORDS_EIG_STATE_H

#include "input.h"
#include "model.h"

typedef struct {
	int depth;
	int64_t n[CORDS_MAX_DEPTH];
	float *r[CORDS_MAX_DEPTH], *z[CORDS_MAX_DEPTH];
	double step_change; /* ||F(r) - r|| / ||r|| for the one-step map F (0/0 -> 0) */
	double norm;        /* ||r|| over all areas */
} cords_eig_state;

/* image: NULL (spontaneous) or a [1,C,H,W] record, made model input by
 * cords_input_f32 with norm (NULL: none; u8 is then v/255, floats as is). */
int cords_eig_state_compute(const cords_model *m, const cords_tensor *image, const cords_norm *norm,
			    cords_eig_state *st);
void cords_eig_state_free(cords_eig_state *st);

#endif
