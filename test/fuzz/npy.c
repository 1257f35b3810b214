/* Fuzz target: a .npy file, and the same bytes as an .npz (zip of .npy). */
#include "npy.h"
#include "outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_tensor *x = NULL;
	int rc = cords_npy_parse(data, size, "x", &x);
	fuzz_note("npy", rc < 0);
	if (!rc) {
		fuzz_add(" %lld values", (long long)cords_tensor_numel(x));
		cords_tensor_free(x);
	}
	cords_tensor_list l = {0};
	rc = cords_npz_parse(data, size, &l);
	fuzz_note("npz", rc < 0);
	if (!rc)
		fuzz_add(" %d arrays", l.n);
	cords_list_free(&l);
	return 0;
}
