/* Fuzz target: an IDX file (raw or gzip) as images and as labels, then the
 * pair as MNIST samples. */
#include "idx.h"
#include "memfile.h"
#include "mnist.h"
#include "outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfile(data, size, path);
	if (fd < 0)
		return 0;
	cords_tensor *x = cords_idx_read(path, "x");
	fuzz_note("idx", !x);
	cords_tensor_free(x);
	cords_sink s = {.put = memfile_put, .bad = memfile_bad, .classes = 10, .skip_bad = 1};
	fuzz_note("mnist", cords_mnist_read(path, path, &s) < 0);
	close(fd);
	return 0;
}
