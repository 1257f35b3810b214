/* safetensors files: u64 LE header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {"key": "value"}}, then the data buffer. */
#ifndef CORDS_SAFETENSORS_H
#define CORDS_SAFETENSORS_H

#include "tensor.h"

#include <stdio.h>

/* Every tensor (dtypes BOOL U8 I8 I16 F16 BF16 I32 F32 F64 I64; U16 U32
 * U64 are refused) in header order. Checked: header size (<= 100 MB, inside
 * the file), valid JSON and UTF-8, no duplicate keys, sizes exact, offsets
 * contiguous without gaps or overlaps and covering the buffer. If meta is
 * not NULL it gets a text record "meta" of key=value lines from
 * __metadata__ (or NULL when there is none). */
int cords_safetensors_parse(const void *buf, size_t n, cords_tensor_list *out, cords_tensor **meta);

/* The non-text tensors of l, in order; meta (key=value lines, may be NULL)
 * becomes __metadata__. The header is space-padded to a multiple of 8. */
int cords_safetensors_write(FILE *f, const char *what, const cords_tensor_list *l,
			    const cords_tensor *meta);

#endif
