/* The cords tensor stream (man 5 cords-stream): a sequence of records, each
 * one standard zstd frame (content size and XXH64 checksum set) whose content
 * is a little-endian header followed by the raw data:
 *
 *   off 0  "CRD1"          magic and format version
 *   off 4  u8   dtype      (enum cords_dtype)
 *   off 5  u8   ndim       0..8
 *   off 6  u16  name_len   0..255
 *   off 8  u64  shape[ndim]
 *          name_len bytes of name (UTF-8, no NUL)
 *          data: prod(shape) * dtype size bytes, row-major, little-endian
 *
 * Frames concatenate, so `cat a b` is a stream; zstdcat decodes it. Readers
 * hold one decompression window, writers one record header: memory does not
 * grow with the stream, and a record's data may be written or read in parts. */
#ifndef CORDS_STREAM_H
#define CORDS_STREAM_H

#include "tensor.h"

#include <stdio.h>

#define CORDS_MAGIC "CRD1"

typedef struct cords_writer cords_writer;
typedef struct cords_reader cords_reader;

/* f stays the caller's (not closed); name is used in messages. level is the
 * zstd level; 0 means the default, -1 (the tools pass CORDS_ZSTD_LEVEL's). */
cords_writer *cords_writer_new(FILE *f, const char *name, int level);
int cords_write_tensor(cords_writer *w, const cords_tensor *x);
/* Write a text record (dtype text, shape [strlen(text)]). */
int cords_write_text(cords_writer *w, const char *name, const char *text);
/* A record in parts: begin, any number of data calls adding up to the size
 * the shape implies, end. */
int cords_write_begin(cords_writer *w, const char *name, cords_dtype t, int ndim, const int64_t *shape);
int cords_write_data(cords_writer *w, const void *p, size_t n);
int cords_write_end(cords_writer *w);
/* Flush everything to f (and fflush it); frees w. Returns -1 if any write failed. */
/* Compress each record on n background threads (zstd's own, n >= 1): the
 * bytes are the same for every n >= 1, but not those of the default (0,
 * compression on the calling thread). Worth it for records of megabytes. */
int cords_writer_threads(cords_writer *w, int n);
int cords_writer_close(cords_writer *w);
void cords_writer_free(cords_writer *w); /* without flushing, after an error */
uint64_t cords_writer_bytes(const cords_writer *w); /* compressed bytes written */

cords_reader *cords_reader_new(FILE *f, const char *name);
void cords_reader_free(cords_reader *r);
/* Next record's header into h (h->data stays NULL). Returns 1, 0 at a clean
 * end of stream, -1 on error (truncation, corruption, not a stream). */
int cords_read_header(cords_reader *r, cords_tensor *h);
/* n bytes of the current record's data (in order). When the last byte has
 * been read, the end of the frame and its checksum are verified. */
int cords_read_data(cords_reader *r, void *p, size_t n);
/* Skip the rest of the current record (verifying it). */
int cords_read_skip(cords_reader *r);
/* Header and data together: *out is a new tensor. Returns 1, 0 at end, -1. */
int cords_read_tensor(cords_reader *r, cords_tensor **out);
/* Compressed offset of the start of the current record, for messages. */
uint64_t cords_reader_offset(const cords_reader *r);
uint64_t cords_reader_record_index(const cords_reader *r); /* 0-based */

/* Read a whole file of records into a list ("-" = stdin). */
int cords_read_file(const char *path, cords_tensor_list *out);

#endif
