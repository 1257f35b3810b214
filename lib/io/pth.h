/* PyTorch checkpoints in the torch.save zip format (torch 1.6 to 2.x).
 * Reading goes through the whitelist unpickler (pickle.h): nothing in the
 * file is ever executed. The writer produces what torch.save would for an
 * OrderedDict state_dict, readable by torch.load(f, weights_only=True). */
#ifndef CORDS_PTH_H
#define CORDS_PTH_H

#include "tensor.h"

#include <stdio.h>

/* The tensors of a checkpoint in memory, in file order, with their stored
 * dtypes (f32 f64 f16 bf16 i64 i32 i16 i8 u8 bool; views gathered into
 * contiguous row-major data, big-endian storages swapped). The pickle may
 * hold the state_dict itself or {"state_dict": ...}; a "module." prefix
 * (DataParallel) is dropped. Errors: the legacy non-zip format, a global
 * or opcode outside the whitelist, a storage record that is missing or
 * too short, a view outside its storage, views adding up to more than
 * 4 x the file size + 64 MB. On an error out is emptied. */
int cords_pth_parse(const void *buf, size_t n, cords_tensor_list *out);

/* Write the non-text tensors of l as an OrderedDict state_dict: a stored
 * zip (records 64-byte aligned) holding archive/data.pkl (protocol 2),
 * archive/byteorder, archive/data/<i>, archive/version. */
int cords_pth_write(FILE *f, const char *what, const cords_tensor_list *l);

#endif
