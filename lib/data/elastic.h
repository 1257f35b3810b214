/* ElasticTransform(alpha, sigma) as torchvision 0.14 applies it to a PIL
 * image: noise U(-1,1) per pixel and axis, Gaussian-blurred (kernel
 * int(8 sigma + 1) made odd, reflect padding), dx scaled by alpha/H and dy by
 * alpha/W in grid units, then grid_sample (bilinear, zeros outside,
 * align_corners=False) and round-half-even back to 8 bits. */
#ifndef CORDS_ELASTIC_H
#define CORDS_ELASTIC_H

#include "image.h"
#include "rng.h"

/* noise: [2, H, W] (dx then dy), blurred and scaled in place into the
 * displacement in grid units. */
int cords_elastic_field(float *noise, int h, int w, double alpha, double sigma);
/* im resampled at identity grid + displacement ([2, H, W]). */
int cords_elastic_apply(cords_image *im, const float *disp);
int cords_elastic(cords_image *im, cords_rng *r, double alpha, double sigma);

#endif
