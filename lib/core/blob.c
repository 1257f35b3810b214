/* Whole-file input (blob.h). */
#include "blob.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_all(int fd, cords_blob *b, const char *name)
{
	size_t cap = 1 << 20, n = 0;
	unsigned char *p = malloc(cap);
	for (;;) {
		if (!p)
			return cords_err("%s: out of memory", name);
		if (n == cap) {
			unsigned char *q = realloc(p, cap *= 2);
			if (!q)
				free(p);
			p = q;
			continue;
		}
		ssize_t k = read(fd, p + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(p);
			return cords_err("%s: %s", name, strerror(errno));
		}
		if (!k)
			break;
		n += (size_t)k;
	}
	b->p = b->heap = p;
	b->n = n;
	return 0;
}

int cords_blob_load(const char *path, cords_blob *b)
{
	memset(b, 0, sizeof *b);
	if (!path || !strcmp(path, "-"))
		return read_all(STDIN_FILENO, b, "<stdin>");
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return cords_err("%s: %s", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			rc = read_all(fd, b, path);
		} else {
			b->p = b->map = m;
			b->n = (size_t)st.st_size;
		}
	} else {
		rc = read_all(fd, b, path);
	}
	close(fd);
	return rc;
}

void cords_blob_free(cords_blob *b)
{
	if (b->map)
		munmap(b->map, b->n);
	free(b->heap);
	memset(b, 0, sizeof *b);
}
