/* NumPy .npy (format 1.0 and 2.0) and .npz (a zip of NAME.npy) files.
 * Read: dtypes b1 u1 i1 i2 i4 i8 f2 f4 f8 little-endian ('<', '|', '='),
 * and |S<n> byte strings (0-d, as a text record); Fortran order is
 * transposed to row-major; big-endian data is refused with a clear error.
 * Write: v1.0 headers (v2.0 when over 65535 bytes) padded so data starts
 * at a multiple of 64; bf16 is written as f4 (exact), text as a 0-d |S<n>. */
#ifndef CORDS_NPY_H
#define CORDS_NPY_H

#include "tensor.h"
#include "zip.h"

#include <stdio.h>

/* A descr such as "<f4" to a dtype; -1 with a message for an odd or
 * big-endian one. */
int cords_npy_descr(const char *descr, cords_dtype *t);
/* Reorder a tensor's data from column-major (Fortran) to row-major. */
int cords_fortran_to_c(cords_tensor *x);

/* A whole .npy file in memory to a new tensor called name. */
int cords_npy_parse(const void *buf, size_t n, const char *name, cords_tensor **out);
int cords_npy_read_file(const char *path, const char *name, cords_tensor **out);

/* The header (magic .. '\n') for x into a malloc'd buffer. */
int cords_npy_header(const cords_tensor *x, char **hdr, size_t *hlen);
int cords_npy_write(FILE *f, const char *what, const cords_tensor *x);

/* Every NAME.npy of an .npz in memory into out, called NAME. */
int cords_npz_parse(const void *buf, size_t n, cords_tensor_list *out);
/* Add x as KEY.npy to an .npz being written. */
int cords_npz_add(cords_zipw *w, const char *key, const cords_tensor *x);

#endif
