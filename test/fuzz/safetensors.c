/* Fuzz target: a safetensors file (header JSON, offsets, metadata). */
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_tensor_list l = {0};
	cords_tensor *meta = NULL;
	if (!cords_safetensors_parse(data, size, &l, &meta))
		cords_tensor_free(meta);
	cords_list_free(&l);
	return 0;
}
