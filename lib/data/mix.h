/* MixUp and CutMix on a batch (cords-data(7), torchvision's references RandomMixup
 * / RandomCutmix): one of the two per batch with probability 1/2 each,
 * lambda ~ Beta(1,1), the partner of image i is image i-1 (the batch rolled
 * by one). Labels become distributions: lambda onehot(y) + (1-lambda) onehot(y'). */
#ifndef CORDS_MIX_H
#define CORDS_MIX_H

#include "rng.h"

#include <stdint.h>

typedef struct {
	int cutmix;         /* 1 = CutMix, 0 = MixUp */
	double lambda;      /* label weight of the image itself (after CutMix clipping) */
	int x1, y1, x2, y2; /* CutMix box [y1,y2) x [x1,x2) */
} cords_mix;

/* Draws the choice, lambda and box for a batch of h x w images. */
void cords_mix_draw(cords_rng *r, int h, int w, cords_mix *m);
/* x: [B,C,H,W] in place; soft: [B,classes] out. tmp: B*C*H*W floats of scratch. */
void cords_mix_apply(const cords_mix *m, float *x, float *tmp, int B, int C, int H, int W, const int64_t *y,
		     int classes, float *soft);

#endif
