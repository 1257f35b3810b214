/* Fuzz target: the whitelist unpickler, then the readers of its tree (a
 * state_dict walk is in pth.c; here the NumPy array conversion and lookups). */
#include "pickle.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_pkl_doc *d = cords_unpickle(data, size);
	if (!d)
		return 0;
	const char *keys[] = {"data", "fortran", "f32", "labels"};
	for (int i = 0; i < 4; i++) {
		cords_tensor *x = NULL;
		if (!cords_pkl_numpy_tensor(cords_pkl_dict_get(d->root, keys[i]), keys[i], &x))
			cords_tensor_free(x);
	}
	cords_tensor *x = NULL;
	if (!cords_pkl_numpy_tensor(d->root, "root", &x))
		cords_tensor_free(x);
	cords_pkl_free(d);
	return 0;
}
