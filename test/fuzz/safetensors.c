/* Fuzz target: a safetensors file (header JSON, offsets, metadata). */
#include "safetensors.h"
#include "outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_tensor_list l = {0};
	cords_tensor *meta = NULL;
	int rc = cords_safetensors_parse(data, size, &l, &meta);
	fuzz_note("safetensors", rc < 0);
	if (!rc) {
		fuzz_add(" %d tensors", l.n);
		cords_tensor_free(meta);
	}
	cords_list_free(&l);
	return 0;
}
