/* 8-bit images, planar (C x H x W), as the transforms see them, and the
 * geometric operations that match PIL's (what torchvision uses on PIL images):
 * resize with antialias (PIL's bilinear: a triangle filter widened by the
 * scale factor, separable, horizontal pass first, 22-bit fixed point with
 * rounding to 8 bits between passes), crop, horizontal flip. */
#ifndef CORDS_IMAGE_H
#define CORDS_IMAGE_H

#include <stdint.h>

typedef struct {
	int c, h, w;
	uint8_t *p; /* owned: c*h*w bytes */
} cords_image;

int cords_image_alloc(cords_image *im, int c, int h, int w); /* -1 on overflow / no memory */
void cords_image_free(cords_image *im);

/* out (allocated here) = in resized to oh x ow, PIL Image.resize(BILINEAR). */
int cords_resize(const cords_image *in, cords_image *out, int oh, int ow);
/* The h x w window at (top, left) of that resized image, computing only it:
 * the same pixels as resizing and then cropping. */
int cords_resize_region(const cords_image *in, cords_image *out, int oh, int ow, int top, int left, int h, int w);
/* torchvision Resize(size) with an int: the shorter side becomes `size`,
 * the longer int(size * long / short). */
void cords_resize_shorter(int h, int w, int size, int *oh, int *ow);
/* out = in[:, top:top+h, left:left+w]; parts outside are 0 (as PIL's crop). */
int cords_crop(const cords_image *in, cords_image *out, int top, int left, int h, int w);
/* torchvision CenterCrop offsets: round((H - h) / 2) with Python's rounding. */
void cords_center_offsets(int H, int W, int h, int w, int *top, int *left);
void cords_hflip(cords_image *im); /* in place */
/* Replace *dst by *src (freeing dst's pixels); src is emptied. */
void cords_image_move(cords_image *dst, cords_image *src);

#endif
