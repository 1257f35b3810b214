/* Fuzz target: an IDX file (raw or gzip) as images and as labels, then the
 * pair as MNIST samples. */
#include "idx.h"
#include "memfile.h"
#include "mnist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfile(data, size, path);
	if (fd < 0)
		return 0;
	cords_tensor_free(cords_idx_read(path, "x"));
	cords_sink s = {.put = memfile_put, .bad = memfile_bad, .classes = 10, .skip_bad = 1};
	cords_mnist_read(path, path, &s);
	close(fd);
	return 0;
}
