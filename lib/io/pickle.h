/* A whitelist unpickler: it reads Python pickles (protocols 2-5) into a tree
 * of plain values and NEVER executes anything. The only globals it accepts
 * are the ones a PyTorch state_dict and a NumPy array pickle use; a call to
 * one of them (REDUCE, NEWOBJ) becomes a CALL node that the reader of the
 * tree interprets (pth.c for tensors, cords_pkl_numpy_tensor for arrays).
 * Any other global (os.system, builtins.eval, ...) or opcode is an error
 * naming it. Nesting depth, memo size and memory are bounded, and every
 * declared length is checked against the bytes that remain.
 *
 * Typical use (the CIFAR python batches, a dict with b"data" and b"labels"):
 *
 *   cords_pkl_doc *doc = cords_unpickle(buf, n);      // buf outlives doc
 *   const cords_pkl *d = cords_pkl_dict_get(doc->root, "data");
 *   cords_tensor *x;
 *   if (!d || cords_pkl_numpy_tensor(d, "x", &x)) ...  // x: u8 [10000,3072]
 *   cords_tensor *y;                                   // i64 [10000]
 *   if (cords_pkl_int_tensor(cords_pkl_dict_get(doc->root, "labels"), "y", &y)) ...
 *   cords_pkl_free(doc);                               // x and y stay valid
 */
#ifndef CORDS_PICKLE_H
#define CORDS_PICKLE_H

#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

#define CORDS_PKL_MAX_DEPTH 100 /* containers inside containers */

typedef enum {
	CORDS_PKL_NONE,
	CORDS_PKL_BOOL,   /* i: 0 or 1 */
	CORDS_PKL_INT,    /* i (must fit in int64) */
	CORDS_PKL_FLOAT,  /* f */
	CORDS_PKL_STR,    /* s, len: UTF-8 text */
	CORDS_PKL_BYTES,  /* s, len: Python 3 bytes, Python 2 str, bytearray */
	CORDS_PKL_TUPLE,  /* items[n] */
	CORDS_PKL_LIST,   /* items[n] */
	CORDS_PKL_DICT,   /* items[2n]: key, value, key, value ... in order */
	CORDS_PKL_GLOBAL, /* global (a whitelisted name, not called) */
	CORDS_PKL_CALL,   /* global called with args (a TUPLE); state from BUILD or NULL */
	CORDS_PKL_PERSID, /* a persistent id: args is the pid object */
} cords_pkl_type;

typedef enum {
	CORDS_G_ORDERED_DICT,  /* collections.OrderedDict (called: becomes a DICT) */
	CORDS_G_REBUILD_TENSOR_V2, /* torch._utils._rebuild_tensor_v2 */
	CORDS_G_REBUILD_PARAMETER, /* torch._utils._rebuild_parameter */
	CORDS_G_STORAGE,       /* torch.<T>Storage: storage_dtype says which */
	CORDS_G_NP_RECONSTRUCT, /* numpy.core.multiarray._reconstruct */
	CORDS_G_NP_NDARRAY,    /* numpy.ndarray */
	CORDS_G_NP_DTYPE,      /* numpy.dtype */
	CORDS_G_CODECS_ENCODE, /* _codecs.encode (called: becomes BYTES) */
} cords_pkl_global;

typedef struct cords_pkl cords_pkl;
struct cords_pkl {
	cords_pkl_type type;
	int depth;           /* 1 for a leaf, 1 + the deepest child otherwise */
	int64_t i;
	double f;
	const char *s;       /* not NUL-terminated; may point into the input */
	size_t len;
	cords_pkl **items;
	size_t n, cap;
	cords_pkl_global global;
	cords_dtype storage_dtype; /* for CORDS_G_STORAGE */
	cords_pkl *args, *state;
};

typedef struct {
	cords_pkl *root;
	void *arena; /* every node and array of the tree */
} cords_pkl_doc;

/* Unpickle buf[0..n). The tree may point into buf: keep buf alive until
 * cords_pkl_free. NULL with a message ("pickle: ...") on error. */
cords_pkl_doc *cords_unpickle(const void *buf, size_t n);
void cords_pkl_free(cords_pkl_doc *doc);

const char *cords_pkl_type_name(cords_pkl_type t);
/* 1 if x is a STR or BYTES equal to the C string lit. */
int cords_pkl_str_eq(const cords_pkl *x, const char *lit);
/* Value of a DICT entry whose key is a STR or BYTES equal to key; NULL if none. */
const cords_pkl *cords_pkl_dict_get(const cords_pkl *dict, const char *key);
/* Item i of a TUPLE or LIST, or NULL. */
const cords_pkl *cords_pkl_item(const cords_pkl *x, size_t i);

/* A NumPy array pickled as numpy.core.multiarray._reconstruct(ndarray, ...)
 * with BUILD state (version, shape, dtype, fortran, raw bytes) into a new
 * row-major tensor called name. dtypes: b1 u1 i1 i2 i4 i8 f2 f4 f8,
 * little-endian or '|'/'=' ('>' is refused); Fortran order is transposed. */
int cords_pkl_numpy_tensor(const cords_pkl *arr, const char *name, cords_tensor **out);
/* A LIST or TUPLE of INT (Python labels) into a new i64 tensor [n]. */
int cords_pkl_int_tensor(const cords_pkl *list, const char *name, cords_tensor **out);

#endif
