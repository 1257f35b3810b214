/* From a stored sample to 8-bit planar pixels: a copy for decoded samples;
 * JPEG (libjpeg-turbo) and PNG (libpng) recognised by their magic bytes, not
 * by the record name. */
#ifndef CORDS_DECODE_H
#define CORDS_DECODE_H

#include "image.h"
#include "samplein.h"

/* min_h/min_w: the decoder may shrink the image (JPEG DCT scaling) as long as
 * it stays at least this large; 0 = full size. */
int cords_item_decode(const cords_item *it, cords_image *im, int min_h, int min_w);

#endif
