/* Tensor allocation, dtypes, shapes and value conversion. */
#include "tensor.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	cords_dtype t;
	const char *name;
	size_t size;
} dtypes[] = {
	{CORDS_F32, "f32", 4}, {CORDS_F64, "f64", 8}, {CORDS_F16, "f16", 2},
	{CORDS_BF16, "bf16", 2}, {CORDS_U8, "u8", 1}, {CORDS_I8, "i8", 1},
	{CORDS_I16, "i16", 2}, {CORDS_I32, "i32", 4}, {CORDS_I64, "i64", 8},
	{CORDS_BOOL, "bool", 1}, {CORDS_TEXT, "text", 1},
};
#define NDTYPES (sizeof dtypes / sizeof dtypes[0])

size_t cords_dtype_size(cords_dtype t)
{
	for (size_t i = 0; i < NDTYPES; i++)
		if (dtypes[i].t == t)
			return dtypes[i].size;
	return 0;
}

const char *cords_dtype_name(cords_dtype t)
{
	for (size_t i = 0; i < NDTYPES; i++)
		if (dtypes[i].t == t)
			return dtypes[i].name;
	return "?";
}

int cords_shape_numel(int ndim, const int64_t *shape, int64_t *numel)
{
	int64_t n = 1;
	if (ndim < 0 || ndim > CORDS_MAX_DIMS)
		return cords_err("%d dimensions (at most %d)", ndim, CORDS_MAX_DIMS);
	for (int i = 0; i < ndim; i++) {
		if (shape[i] < 0)
			return cords_err("negative dimension %lld", (long long)shape[i]);
		if (shape[i] && n > (INT64_C(1) << 62) / shape[i])
			return cords_err("shape overflows (dimension %d = %lld)", i, (long long)shape[i]);
		n *= shape[i];
	}
	*numel = n;
	return 0;
}

int cords_shape_nbytes(cords_dtype t, int ndim, const int64_t *shape, size_t *nbytes)
{
	int64_t n = 0;
	size_t es = cords_dtype_size(t);
	if (!es)
		return cords_err("unknown dtype code %d", (int)t);
	if (cords_shape_numel(ndim, shape, &n))
		return -1;
	if ((uint64_t)n > SIZE_MAX / es || (uint64_t)n > (UINT64_C(1) << 62) / es)
		return cords_err("shape overflows (%lld elements)", (long long)n);
	*nbytes = (size_t)n * es;
	return 0;
}

static cords_tensor *tensor_alloc(const char *name, cords_dtype t, int ndim, const int64_t *shape, int zero)
{
	size_t nb;
	if (cords_shape_nbytes(t, ndim, shape, &nb))
		return NULL;
	cords_tensor *x = calloc(1, sizeof *x);
	if (!x) {
		cords_err("out of memory");
		return NULL;
	}
	if (cords_set_name(x, name ? name : "")) {
		free(x);
		return NULL;
	}
	x->dtype = t;
	x->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		x->shape[i] = shape[i];
	x->nbytes = nb;
	/* 64-byte alignment: vector loads and oneDNN like it. */
	if (nb) {
		size_t rounded = (nb + 63) & ~(size_t)63;
		x->data = aligned_alloc(64, rounded);
		if (!x->data) {
			free(x);
			cords_err("out of memory allocating %zu bytes", nb);
			return NULL;
		}
		if (zero)
			memset(x->data, 0, rounded);
	}
	return x;
}

cords_tensor *cords_tensor_new(const char *name, cords_dtype t, int ndim, const int64_t *shape)
{
	return tensor_alloc(name, t, ndim, shape, 1);
}

/* For readers: pages are touched only as data arrives, so a header that
 * claims a huge size costs address space, not memory, until proven by data. */
cords_tensor *cords_tensor_new_uninit(const char *name, cords_dtype t, int ndim, const int64_t *shape)
{
	return tensor_alloc(name, t, ndim, shape, 0);
}

void cords_tensor_free(cords_tensor *x)
{
	if (!x)
		return;
	free(x->data);
	free(x);
}

int64_t cords_tensor_numel(const cords_tensor *x)
{
	int64_t n = 1;
	for (int i = 0; i < x->ndim; i++)
		n *= x->shape[i];
	return n;
}

int cords_set_name(cords_tensor *x, const char *name)
{
	size_t n = strlen(name);
	if (n > CORDS_NAME_MAX)
		return cords_err("name too long (%zu bytes, at most %d)", n, CORDS_NAME_MAX);
	memcpy(x->name, name, n + 1);
	return 0;
}

void cords_shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
	size_t k = 0;
	k += (size_t)snprintf(buf + k, n - k, "[");
	for (int i = 0; i < ndim && k < n; i++)
		k += (size_t)snprintf(buf + k, n - k, i ? ",%lld" : "%lld", (long long)shape[i]);
	if (k < n)
		snprintf(buf + k, n - k, "]");
}

float cords_half_to_float(uint16_t h)
{
	uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, u;
	if (e == 0x1f)
		u = s | 0x7f800000u | (m << 13);
	else if (e)
		u = s | ((e + 112) << 23) | (m << 13);
	else if (!m)
		u = s;
	else { /* subnormal: value = m * 2^-24 */
		float f = ldexpf((float)m, -24);
		return s ? -f : f;
	}
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t cords_float_to_half(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	uint32_t s = (u >> 16) & 0x8000;
	uint32_t e = (u >> 23) & 0xff, m = u & 0x7fffff;
	if (e == 0xff) /* inf / nan */
		return (uint16_t)(s | 0x7c00 | (m ? 0x200 | (m >> 13) : 0));
	int ex = (int)e - 127 + 15;
	if (ex >= 0x1f)
		return (uint16_t)(s | 0x7c00);
	if (ex <= 0) { /* subnormal or zero, round to nearest even */
		if (ex < -10)
			return (uint16_t)s;
		m |= 0x800000;
		int shift = 14 - ex;
		uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (r & 1)))
			r++;
		return (uint16_t)(s | r);
	}
	uint32_t r = ((uint32_t)ex << 10) | (m >> 13), rem = m & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (r & 1)))
		r++; /* may carry into the exponent, which is right */
	return (uint16_t)(s | r);
}

float cords_bf16_to_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

uint16_t cords_float_to_bf16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

double cords_get_f64(const cords_tensor *x, int64_t i)
{
	const void *p = x->data;
	switch (x->dtype) {
	case CORDS_F32: return ((const float *)p)[i];
	case CORDS_F64: return ((const double *)p)[i];
	case CORDS_F16: return cords_half_to_float(((const uint16_t *)p)[i]);
	case CORDS_BF16: return cords_bf16_to_float(((const uint16_t *)p)[i]);
	case CORDS_U8: case CORDS_BOOL: case CORDS_TEXT: return ((const uint8_t *)p)[i];
	case CORDS_I8: return ((const int8_t *)p)[i];
	case CORDS_I16: return ((const int16_t *)p)[i];
	case CORDS_I32: return ((const int32_t *)p)[i];
	case CORDS_I64: return (double)((const int64_t *)p)[i];
	}
	return NAN;
}

cords_tensor *cords_tensor_to_f32(const cords_tensor *x)
{
	cords_tensor *y = cords_tensor_new(x->name, CORDS_F32, x->ndim, x->shape);
	if (!y)
		return NULL;
	int64_t n = cords_tensor_numel(x);
	float *d = y->data;
	if (x->dtype != CORDS_F32)
		for (int64_t i = 0; i < n; i++)
			d[i] = (float)cords_get_f64(x, i);
	else if (x->nbytes) /* an empty tensor's data may be NULL */
		memcpy(d, x->data, x->nbytes);
	return y;
}

int cords_list_push(cords_tensor_list *l, cords_tensor *x)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 16;
		cords_tensor **p = realloc(l->items, (size_t)cap * sizeof *p);
		if (!p) {
			cords_tensor_free(x);
			return cords_err("out of memory");
		}
		l->items = p;
		l->cap = cap;
	}
	l->items[l->n++] = x;
	return 0;
}

cords_tensor *cords_list_find(const cords_tensor_list *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->items[i]->name, name))
			return l->items[i];
	return NULL;
}

void cords_list_free(cords_tensor_list *l)
{
	for (int i = 0; i < l->n; i++)
		cords_tensor_free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

int cords_argmax(const float *v, int64_t n)
{
	int64_t k = 0;
	for (int64_t i = 1; i < n; i++)
		if (v[i] > v[k])
			k = i;
	return (int)k;
}
