/* Fuzz target: JPEG / PNG decode (full size and DCT-shrunk), and the
 * header-only check. */
#include "decode.h"
#include "outcome.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_image im = {0};
	int h, w;
	fuzz_note("check", cords_decode_check(data, size, &h, &w) < 0);
	int rc = cords_decode(data, size, &im, 0, 0);
	fuzz_note("decode", rc < 0);
	if (!rc) {
		fuzz_add(" %dx%dx%d", im.c, im.h, im.w);
		cords_image_free(&im);
	}
	rc = cords_decode(data, size, &im, 8, 8);
	fuzz_note("shrunk", rc < 0);
	if (!rc)
		cords_image_free(&im);
	return 0;
}
