/* From a stored sample to 8-bit planar pixels: a copy for decoded samples;
 * JPEG (libjpeg-turbo) and PNG (libpng) recognised by their magic bytes, not
 * by the record name, and converted as PIL's Image.open(f).convert("RGB")
 * converts them: grayscale replicated, CMYK (Adobe-inverted) as PIL's
 * cmyk2rgb, alpha dropped, palettes expanded, 16-bit samples cut to 8. */
#ifndef CORDS_DECODE_H
#define CORDS_DECODE_H

#include "image.h"
#include "samplein.h"

#include <stddef.h>

/* Larger images are refused (PIL's decompression-bomb error limit, 2 x
 * 89478485 pixels): a few bytes of header must not cost gigabytes. */
#define CORDS_DECODE_MAX_PIXELS ((size_t)178956970)

enum { CORDS_ENC_UNKNOWN, CORDS_ENC_JPEG, CORDS_ENC_PNG };
int cords_sniff(const uint8_t *p, size_t n); /* by magic bytes */

/* Decodes a JPEG or PNG to 3 channels. min_h/min_w: a JPEG may be shrunk in
 * the DCT domain (1/2, 1/4, 1/8) while both sides stay at least twice these
 * (so the antialiased resize that follows still averages enough pixels); 0 =
 * full size. Errors: corrupt or truncated data, unsupported kinds. */
int cords_decode(const uint8_t *p, size_t n, cords_image *im, int min_h, int min_w);
/* Reads only the size (and checks the magic): for cords-unpack --skip-bad. */
int cords_decode_check(const uint8_t *p, size_t n, int *h, int *w);

int cords_item_decode(const cords_item *it, cords_image *im, int min_h, int min_w);

#endif
