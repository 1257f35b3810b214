/* Model input from a batch record, the one normalisation that training and
 * inference share: u8 pixels become (v/255 - mean[c]) / std[c] in f32
 * arithmetic, as torchvision's ToTensor then Normalize compute them (v/255
 * without statistics); f32 is taken as is (other float dtypes converted);
 * non-finite values are refused. */
#ifndef CORDS_INPUT_H
#define CORDS_INPUT_H

#include "tensor.h"

#define CORDS_NORM_MAX 16 /* channels */

typedef struct {
	int n;           /* 0: no statistics; 1: one for all channels; else per channel */
	float mean[CORDS_NORM_MAX], std[CORDS_NORM_MAX];
} cords_norm;

/* From two list values (meta.h: "0.5" or "0.4914,0.4822,0.4465"): as many
 * means as stds, every std > 0. Both NULL: no statistics (n = 0). -1 with a
 * message naming both. */
int cords_norm_parse(const char *mean, const char *std, cords_norm *n);
/* From the metadata keys norm_mean and norm_std. Returns 1 if found, 0 if
 * absent, -1 if malformed. */
int cords_norm_from_meta(const cords_tensor *meta, cords_norm *n);

/* One channel plane of n u8 pixels into out. */
void cords_norm_u8(const uint8_t *p, int64_t n, float mean, float std, float *out);
/* x: [B,C,H,W] u8 or f32 (any float dtype) into out (B*C*H*W floats). */
int cords_input_f32(const cords_tensor *x, const cords_norm *norm, float *out);

#endif
