/* Fuzz target: a MAT (level 5) file as the ImageNet devkit's meta.mat. */
#include "matfile.h"
#include "outcome.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_synset *syn = NULL;
	int n = cords_mat_synsets(data, size, "meta.mat", &syn);
	fuzz_note("synsets", n < 0);
	if (n >= 0) {
		fuzz_add(" %d", n);
		free(syn);
	}
	return 0;
}
