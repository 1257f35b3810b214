/* RandAugment as torchvision 0.14 on PIL images: num_ops 2, magnitude bin 9
 * of 31; each op drawn uniformly (with replacement) from the 14 below, signed
 * magnitudes negated with probability 1/2; geometric ops nearest, fill 0.
 * Magnitudes at bin 9: shear 0.09 (as atan, in degrees, about the origin),
 * translate int(150/331 * side * 0.3) pixels, rotate 9 degrees (PIL's
 * Image.rotate), brightness/colour/contrast/sharpness factor 1 +- 0.27,
 * posterize 7 bits, solarize at 178.5, autocontrast, equalize (ImageOps). */
#ifndef CORDS_RANDAUG_H
#define CORDS_RANDAUG_H

#include "image.h"
#include "rng.h"

enum { CORDS_RA_IDENTITY, CORDS_RA_SHEAR_X, CORDS_RA_SHEAR_Y, CORDS_RA_TRANSLATE_X, CORDS_RA_TRANSLATE_Y,
       CORDS_RA_ROTATE, CORDS_RA_BRIGHTNESS, CORDS_RA_COLOR, CORDS_RA_CONTRAST, CORDS_RA_SHARPNESS,
       CORDS_RA_POSTERIZE, CORDS_RA_SOLARIZE, CORDS_RA_AUTOCONTRAST, CORDS_RA_EQUALIZE, CORDS_RA_NOPS };

typedef struct {
	int op;
	double magnitude; /* signed, as passed to torchvision's _apply_op */
} cords_ra_op;

/* The magnitude of op at bin `bin` of 31 for an h x w image (unsigned). */
double cords_ra_magnitude(int op, int bin, int h, int w);
void cords_randaug_draw(cords_rng *r, int h, int w, cords_ra_op ops[2]);
int cords_randaug_apply(cords_image *im, const cords_ra_op *op);
int cords_randaugment(cords_image *im, cords_rng *r);

/* The ImageEnhance / ImageOps pieces, usable alone. */
void cords_saturation(cords_image *im, double f);
void cords_sharpness(cords_image *im, double f);
void cords_autocontrast(cords_image *im);
void cords_equalize(cords_image *im);
int cords_rotate_nearest(cords_image *im, double degrees);

#endif
