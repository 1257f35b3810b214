/* Tensors: a name, a dtype, up to 8 dimensions and an owned, contiguous,
 * row-major buffer of native (little-endian) values. Text records (metadata)
 * are tensors of dtype CORDS_TEXT with one dimension: the byte count. */
#ifndef CORDS_TENSOR_H
#define CORDS_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define CORDS_MAX_DIMS 8
#define CORDS_NAME_MAX 255 /* bytes, without the terminating NUL */

/* The numeric codes are part of the stream format (man 5 cords-stream). */
typedef enum {
	CORDS_F32 = 1,
	CORDS_F64 = 2,
	CORDS_F16 = 3,
	CORDS_BF16 = 4,
	CORDS_U8 = 5,
	CORDS_I8 = 6,
	CORDS_I16 = 7,
	CORDS_I32 = 8,
	CORDS_I64 = 9,
	CORDS_BOOL = 10,
	CORDS_TEXT = 11,
} cords_dtype;

typedef struct {
	char name[CORDS_NAME_MAX + 1];
	cords_dtype dtype;
	int ndim;
	int64_t shape[CORDS_MAX_DIMS];
	void *data; /* owned; NULL only while nbytes == 0 */
	size_t nbytes;
} cords_tensor;

size_t cords_dtype_size(cords_dtype t);             /* 0 for an unknown code */
const char *cords_dtype_name(cords_dtype t);        /* "f32", ...; "?" if unknown */

/* Element count and byte size of a shape; -1 with a message on overflow
 * (either exceeding 2^62 elements or SIZE_MAX bytes) or a negative dim. */
int cords_shape_numel(int ndim, const int64_t *shape, int64_t *numel);
int cords_shape_nbytes(cords_dtype t, int ndim, const int64_t *shape, size_t *nbytes);

/* Allocate (zeroed) a tensor; the shape is copied. Returns NULL on error. */
cords_tensor *cords_tensor_new(const char *name, cords_dtype t, int ndim, const int64_t *shape);
/* The same without zeroing, for buffers about to be filled. */
cords_tensor *cords_tensor_new_uninit(const char *name, cords_dtype t, int ndim, const int64_t *shape);
void cords_tensor_free(cords_tensor *x);
int64_t cords_tensor_numel(const cords_tensor *x);
/* "f32 [2,3,4]" into buf. */
void cords_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);
int cords_set_name(cords_tensor *x, const char *name);

/* Conversion of one value to double / from float (for summaries and casts). */
double cords_get_f64(const cords_tensor *x, int64_t i);
float cords_half_to_float(uint16_t h);
uint16_t cords_float_to_half(float f);
float cords_bf16_to_float(uint16_t h);
uint16_t cords_float_to_bf16(float f);
/* A new f32 tensor with the values of x (any numeric dtype). */
cords_tensor *cords_tensor_to_f32(const cords_tensor *x);

/* A list of tensors, e.g. all records of a model file, looked up by name. */
typedef struct {
	cords_tensor **items;
	int n, cap;
} cords_tensor_list;

int cords_list_push(cords_tensor_list *l, cords_tensor *x); /* takes ownership */

/* The index of the largest of v[0..n) (the first of equals). */
int cords_argmax(const float *v, int64_t n);
cords_tensor *cords_list_find(const cords_tensor_list *l, const char *name);
void cords_list_free(cords_tensor_list *l);

#endif
