/* Fuzz target: a torch.save zip (zip directory, records, data.pkl through the
 * whitelist unpickler, storages and views). */
#include "pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_tensor_list l = {0};
	cords_pth_parse(data, size, &l);
	cords_list_free(&l);
	return 0;
}
