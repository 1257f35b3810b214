/* Zip archives for .pth and .npz: a reader over a file held in memory
 * (central directory, ZIP64 end records, data descriptors, stored or
 * deflated records, CRC checked unless it is 0 as torch 2.x may write) and
 * a sequential writer of stored records, each data start aligned as asked
 * (torch uses 64, with the 0x4246 padding extra field), with CRC-32 and
 * ZIP64 fields where a size, an offset or the record count needs them. */
#ifndef CORDS_ZIP_H
#define CORDS_ZIP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
	char *name;
	uint64_t local_off, csize, usize;
	uint32_t crc;
	int method; /* 0 stored, 8 deflated */
} cords_zip_entry;

typedef struct {
	const unsigned char *buf;
	size_t n;
	cords_zip_entry *e;
	int count;
} cords_zip;

/* 0, or -1 with a message ("not a zip file", "corrupt zip: ..."). */
int cords_zip_open(cords_zip *z, const void *buf, size_t n);
void cords_zip_close(cords_zip *z);
const cords_zip_entry *cords_zip_find(const cords_zip *z, const char *name);
/* The uncompressed bytes of e: *data points into the buffer for a stored
 * record (*owned = NULL) or at a malloc'd copy (*owned, to free). */
int cords_zip_data(const cords_zip *z, const cords_zip_entry *e, const unsigned char **data,
		   void **owned);

typedef struct cords_zipw cords_zipw;
/* Writes to f (not closed); align = 1 for none, else data starts at a
 * multiple of align. what names the output in messages. */
cords_zipw *cords_zipw_new(FILE *f, const char *what, unsigned align);
/* One stored record whose content is head[0..hn) then body[0..bn). */
int cords_zipw_add(cords_zipw *w, const char *name, const void *head, size_t hn, const void *body,
		   size_t bn);
/* Write ZIP64 fields and end records even where 32 bits suffice (tests). */
void cords_zipw_force_zip64(cords_zipw *w);
/* The central directory; frees w. -1 if anything failed. */
int cords_zipw_close(cords_zipw *w);
void cords_zipw_free(cords_zipw *w);

#endif
