/* IDX files (MNIST, Fashion-MNIST): big-endian magic 00 00 TT ND, ND u32
 * sizes, then row-major data. Read whole (the largest is 47 MB), gzip or raw
 * (zlib reads both), with every size checked against the header. */
#ifndef CORDS_IDX_H
#define CORDS_IDX_H

#include "tensor.h"

/* A new tensor named `name` holding the file's values in native byte order
 * (u8, i8, i16, i32, f32, f64). Errors name the file: wrong magic, unknown
 * type, truncated data, trailing bytes, corrupt gzip. */
cords_tensor *cords_idx_read(const char *path, const char *name);

#endif
