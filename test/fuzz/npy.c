/* Fuzz target: a .npy file, and the same bytes as an .npz (zip of .npy). */
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_tensor *x = NULL;
	if (!cords_npy_parse(data, size, "x", &x))
		cords_tensor_free(x);
	cords_tensor_list l = {0};
	cords_npz_parse(data, size, &l);
	cords_list_free(&l);
	return 0;
}
