/* Fuzz target: an ImageNet train tar (a tar of per-class tars, read through
 * nested libarchive readers), and the same bytes as a devkit tarball (its
 * meta.mat and ground truth) for the val reader with itself as the val tar. */
#include "imagenet.h"
#include "memfile.h"
#include "outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfile(data, size, path);
	if (fd < 0)
		return 0;
	char *names = NULL;
	cords_sink s = {.put = memfile_put, .bad = memfile_bad, .skip_bad = 1};
	fuzz_note("train", cords_imagenet_train(path, &names, &s) < 0);
	free(names);
	names = NULL;
	cords_sink v = {.put = memfile_put, .bad = memfile_bad, .skip_bad = 1};
	fuzz_note("val", cords_imagenet_val(path, path, &names, &v) < 0);
	free(names);
	close(fd);
	return 0;
}
