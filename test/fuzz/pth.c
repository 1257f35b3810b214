/* Fuzz target: a torch.save zip (zip directory, records, data.pkl through the
 * whitelist unpickler, storages and views). */
#include "pth.h"
#include "outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_tensor_list l = {0};
	int rc = cords_pth_parse(data, size, &l);
	fuzz_note("pth", rc < 0);
	if (!rc)
		fuzz_add(" %d tensors", l.n);
	cords_list_free(&l);
	return 0;
}
