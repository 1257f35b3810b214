/* Fuzz target: JPEG / PNG decode (full size and DCT-shrunk), and the
 * header-only check. */
#include "decode.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_image im = {0};
	int h, w;
	cords_decode_check(data, size, &h, &w);
	if (!cords_decode(data, size, &im, 0, 0))
		cords_image_free(&im);
	if (!cords_decode(data, size, &im, 8, 8))
		cords_image_free(&im);
	return 0;
}
