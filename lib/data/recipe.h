/* The per-sample transforms of each dataset and split (cords-data(7)), from a
 * decoded 8-bit image to a normalised f32 [C,S,S] tensor:
 *   MNIST        train: resize S, random affine, colour jitter, elastic; test: resize S
 *   Fashion-MNIST train: resize S, flip, random affine, colour jitter;     test: resize S
 *   CIFAR        train: resize S, flip, RandAugment(2, 9);                 test: resize S
 *   ImageNet-like train: random-resized crop S, flip, RandAugment(2, 9);
 *                test: resize shorter side to S*256/224, centre crop S
 * then x/255, (x - mean) / std. Batch-level MixUp/CutMix is separate (mix.h). */
#ifndef CORDS_RECIPE_H
#define CORDS_RECIPE_H

#include "dataset.h"
#include "image.h"
#include "rng.h"

enum { CORDS_OP_RESIZE = 1, CORDS_OP_CENTER = 2, CORDS_OP_RRC = 4, CORDS_OP_FLIP = 8, CORDS_OP_AFFINE = 16,
       CORDS_OP_JITTER = 32, CORDS_OP_ELASTIC = 64, CORDS_OP_RANDAUG = 128 };

typedef struct {
	int size, channels, ops, mix; /* mix: the recipe wants MixUp/CutMix */
	int resize;                   /* resize target before a centre crop (shorter side) */
	double mean[3], std[3];
} cords_recipe;

/* size 0 = the dataset's native size (224 for images of any size). */
int cords_recipe_init(cords_recipe *rc, const cords_dataset *d, int split, int size);
/* A readable list of the operations ("resize(28),flip,affine,...") for metadata. */
void cords_recipe_describe(const cords_recipe *rc, char *buf, size_t n);
/* The 8-bit part: im (replaced) becomes the transformed [channels, size, size] image. */
int cords_recipe_image(const cords_recipe *rc, cords_image *im, cords_rng *r);
/* The same, then x/255 and normalised into out [channels, size, size]. */
int cords_recipe_apply(const cords_recipe *rc, cords_image *im, cords_rng *r, float *out);

/* RandomResizedCrop(scale 0.08-1, ratio 3/4-4/3) box: top, left, height, width. */
void cords_rrc_draw(cords_rng *r, int h, int w, int box[4]);

#endif
