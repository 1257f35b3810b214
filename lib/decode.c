/* Sample decoding (decode.h). */
#include "decode.h"

#include "err.h"

#include <string.h>

int cords_item_decode(const cords_item *it, cords_image *im, int min_h, int min_w)
{
	if (it->kind != CORDS_ITEM_PIXELS)
		return cords_err("encoded images are not supported yet");
	if (cords_image_alloc(im, it->c, it->h, it->w))
		return -1;
	memcpy(im->p, it->data, it->n);
	return 0;
}
