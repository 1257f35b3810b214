/* Fuzz target: the whitelist unpickler, then the readers of its tree (a
 * state_dict walk is in pth.c; here the NumPy array conversion and lookups). */
#include "pickle.h"
#include "outcome.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_pkl_doc *d = cords_unpickle(data, size);
	fuzz_note("unpickle", !d);
	if (!d)
		return 0;
	const char *keys[] = {"data", "fortran", "f32", "labels"};
	for (int i = 0; i < 4; i++) {
		cords_tensor *x = NULL;
		const cords_pkl *v = cords_pkl_dict_get(d->root, keys[i]);
		int rc = cords_pkl_numpy_tensor(v, keys[i], &x);
		if (v)
			fuzz_note(keys[i], rc < 0);
		if (!rc)
			cords_tensor_free(x);
	}
	cords_tensor *x = NULL;
	int rc = cords_pkl_numpy_tensor(d->root, "root", &x);
	fuzz_note("array", rc < 0);
	if (!rc)
		cords_tensor_free(x);
	cords_pkl_free(d);
	return 0;
}
