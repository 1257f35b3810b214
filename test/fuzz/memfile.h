/* For fuzz targets whose library entry point takes a path: the input bytes
 * as an in-memory file (memfd), named /proc/self/fd/N. */
#ifndef CORDS_FUZZ_MEMFILE_H
#define CORDS_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fd >= 0 and path set, or -1. Close the fd when done. */
static int memfile(const uint8_t *data, size_t size, char path[64])
{
	int fd = (int)syscall(SYS_memfd_create, "fuzz", 0);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < size) {
		ssize_t k = write(fd, data + off, size - off);
		if (k <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)k;
	}
	snprintf(path, 64, "/proc/self/fd/%d", fd);
	return fd;
}

/* A sink that reads every pixel (so a short buffer shows under ASan). */
#include "sample.h"
static int memfile_put(cords_sink *s, const cords_sample *x)
{
	unsigned sum = 0;
	if (x->pix)
		for (size_t i = 0; i < (size_t)x->c * x->h * x->w; i++)
			sum += x->pix[i];
	for (size_t i = 0; x->enc && i < x->enc_n; i++)
		sum += x->enc[i];
	s->done += sum == 0xdeadbeef; /* keeps the reads */
	return 0;
}
static void memfile_bad(cords_sink *s, const char *msg) { (void)s, (void)msg; }

#endif
