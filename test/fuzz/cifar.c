/* Fuzz target: a CIFAR tarball (any compression libarchive reads), as the
 * binary and the python kinds, CIFAR-10 and CIFAR-100: class names and the
 * test split (its one member keeps each run short). */
#include "cifar.h"
#include "dataset.h"
#include "memfile.h"
#include "outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	int fd = memfile(data, size, path);
	if (fd < 0)
		return 0;
	for (int c100 = 0; c100 < 2; c100++) {
		cords_sink s = {.put = memfile_put, .bad = memfile_bad, .classes = c100 ? 100 : 10, .skip_bad = 1};
		char *names = cords_cifar_classes(path, c100, c100);
		fuzz_note(c100 ? "classes100" : "classes10", !names);
		free(names);
		fuzz_note(c100 ? "cifar100" : "cifar10", cords_cifar_read(path, c100, CORDS_TEST, 0, &s) < 0);
		names = cords_cifar_py_classes(path, c100, 0);
		fuzz_note(c100 ? "py_classes100" : "py_classes10", !names);
		free(names);
		fuzz_note(c100 ? "py_cifar100" : "py_cifar10", cords_cifar_py_read(path, c100, CORDS_TEST, c100, &s) < 0);
	}
	close(fd);
	return 0;
}
