/* Fuzz target: a MAT (level 5) file as the ImageNet devkit's meta.mat. */
#include "matfile.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_synset *syn = NULL;
	if (cords_mat_synsets(data, size, "meta.mat", &syn) >= 0)
		free(syn);
	return 0;
}
