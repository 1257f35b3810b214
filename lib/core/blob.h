/* A whole input file in memory, for the formats read by random access
 * (zip, safetensors, npy): a regular file is mapped, a pipe is read. */
#ifndef CORDS_BLOB_H
#define CORDS_BLOB_H

#include <stddef.h>

typedef struct {
	const unsigned char *p;
	size_t n;
	void *map;  /* mmap'd region or NULL */
	void *heap; /* malloc'd copy or NULL */
} cords_blob;

/* path "-" or NULL is stdin. -1 with "PATH: reason" on failure. */
int cords_blob_load(const char *path, cords_blob *b);
void cords_blob_free(cords_blob *b);

#endif
