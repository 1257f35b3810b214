/* Random augmentations on 8-bit planar images, matching torchvision 0.14 on
 * PIL images: the parameters are drawn as torchvision draws them (from our
 * generator, so the distributions match, not the values) and applied as PIL
 * applies them (nearest-neighbour affine in 16.16 fixed point, ImageEnhance
 * blends truncated to 8 bits). */
#ifndef CORDS_AUGMENT_H
#define CORDS_AUGMENT_H

#include "image.h"
#include "rng.h"

/* RandomAffine parameters: angle and shear in degrees, translation in pixels. */
typedef struct {
	double angle, tx, ty, scale, shear_x, shear_y;
} cords_affine;

/* torchvision's _get_inverse_affine_matrix about the image centre (w/2, h/2):
 * output pixel -> input coordinates, PIL's AFFINE data. */
void cords_affine_matrix(const cords_affine *p, int h, int w, double a[6]);
/* The same about the point (cx, cy). */
void cords_affine_matrix_at(const cords_affine *p, double cx, double cy, double a[6]);
/* out[y][x] = in at (a0 (x+.5) + a1 (y+.5) + a2, a3 (x+.5) + a4 (y+.5) + a5),
 * nearest, 0 outside: PIL Image.transform(AFFINE, NEAREST). */
int cords_affine_nearest(const cords_image *in, cords_image *out, const double a[6]);

/* RandomAffine(degrees, translate=(t,t), scale=(s0,s1), shear=(-sh,sh)). */
void cords_affine_draw(cords_rng *r, int h, int w, double degrees, double translate, double s0, double s1,
		       double shear, cords_affine *p);
int cords_random_affine(cords_image *im, cords_rng *r, double degrees, double translate, double s0, double s1,
			double shear);

/* ImageEnhance.Brightness / Contrast with a factor (in place). */
void cords_brightness(cords_image *im, double f);
void cords_contrast(cords_image *im, double f);
/* ColorJitter(brightness=b, contrast=c): factors U(1-b, 1+b), U(1-c, 1+c),
 * applied in a random order: cords_jitter_draw then cords_jitter_apply. */
typedef struct {
	int brightness_first;
	double brightness, contrast;
} cords_jitter;
void cords_jitter_draw(cords_rng *r, double b, double c, cords_jitter *j);
void cords_jitter_apply(cords_image *im, const cords_jitter *j);
void cords_color_jitter(cords_image *im, cords_rng *r, double b, double c);
/* RandomHorizontalFlip(0.5). */
void cords_random_flip(cords_image *im, cords_rng *r);

/* ImageEnhance's blend: out = trunc(clip(a + f (b - a))) in float. */
static inline uint8_t cords_blend8(int a, int b, float f)
{
	float t = (float)a + f * (float)(b - a);
	return t <= 0.0f ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
}

#endif
