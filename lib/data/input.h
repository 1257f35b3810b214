/* Model input from a batch record: u8 pixels normalised ((v/255 - mean[c]) /
 * std[c], or v/255 without statistics), f32 taken as is; non-finite values
 * refused; optional Gaussian noise, reproducible from a seed. */
#ifndef CORDS_INPUT_H
#define CORDS_INPUT_H

#include "rng.h"
#include "tensor.h"

typedef struct {
	int n;           /* 0: no statistics; 1: one for all channels; else per channel */
	float mean[16], std[16];
} cords_norm;

/* From the metadata keys norm_mean and norm_std ("0.5" or "0.4914,0.4822,0.4465").
 * Returns 1 if found, 0 if absent, -1 if malformed. */
int cords_norm_from_meta(const cords_tensor *meta, cords_norm *n);

/* x: [B,C,H,W] u8 or f32 (any float dtype) into out (B*C*H*W floats). */
int cords_input_f32(const cords_tensor *x, const cords_norm *norm, float *out);
/* out[i] += sigma * N(0,1). */
void cords_input_noise(float *x, int64_t n, double sigma, cords_rng *r);

#endif
