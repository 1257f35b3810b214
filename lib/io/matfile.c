/* MAT level 5 reader for the devkit's synsets (matfile.h). An element is a
 * tag (u32 type, u32 size; or, when the upper half of the first word is not
 * zero, a small element: size in the upper 16 bits, type in the lower, data
 * in the next 4 bytes) followed by its data padded to 8 bytes. */
#include "matfile.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { MI_INT8 = 1, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_SINGLE, MI_DOUBLE = 9,
       MI_INT64 = 12, MI_UINT64, MI_MATRIX, MI_COMPRESSED, MI_UTF8, MI_UTF16, MI_UTF32 };
enum { MX_CELL = 1, MX_STRUCT = 2, MX_CHAR = 4 };

typedef struct {
	uint32_t type;
	const uint8_t *data;
	size_t size, next; /* next: offset of the following element */
} elem;

static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static int next_elem(const uint8_t *p, size_t n, size_t off, elem *e)
{
	if (off + 8 > n)
		return cords_err("truncated MAT element");
	uint32_t w = u32(p + off);
	if (w >> 16) { /* small element */
		e->type = w & 0xffff, e->size = w >> 16, e->data = p + off + 4, e->next = off + 8;
		return e->size <= 4 ? 0 : cords_err("bad small MAT element");
	}
	e->type = w, e->size = u32(p + off + 4), e->data = p + off + 8;
	if (e->size > n - off - 8)
		return cords_err("truncated MAT element");
	e->next = off + 8 + (e->type == MI_COMPRESSED ? e->size : (e->size + 7) / 8 * 8);
	return 0;
}

static size_t type_size(uint32_t t)
{
	switch (t) {
	case MI_INT8: case MI_UINT8: case MI_UTF8: return 1;
	case MI_INT16: case MI_UINT16: case MI_UTF16: return 2;
	case MI_INT32: case MI_UINT32: case MI_SINGLE: case MI_UTF32: return 4;
	case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
	}
	return 0;
}

/* Element i of a numeric data element as a double; 0 past its end (fuzzing:
 * a short or non-numeric element must not be read beyond its size). */
static double num_at(const elem *e, size_t i)
{
	size_t es = type_size(e->type);
	if (!es || i >= e->size / es)
		return 0;
	const uint8_t *q = e->data + i * es;
	uint64_t v8;
	uint32_t v4 = es >= 4 ? u32(q) : 0;
	float f;
	double d;
	switch (e->type) {
	case MI_INT8: return (int8_t)q[0];
	case MI_UINT8: case MI_UTF8: return q[0];
	case MI_INT16: return (int16_t)(q[0] | q[1] << 8);
	case MI_UINT16: case MI_UTF16: return q[0] | q[1] << 8;
	case MI_INT32: return (int32_t)v4;
	case MI_UINT32: case MI_UTF32: return v4;
	case MI_SINGLE: memcpy(&f, q, 4); return f;
	}
	v8 = (uint64_t)v4 | (uint64_t)u32(q + 4) << 32;
	if (e->type == MI_DOUBLE)
		return memcpy(&d, &v8, 8), d;
	return e->type == MI_INT64 ? (double)(int64_t)v8 : (double)v8;
}

/* A parsed miMATRIX: class, element count, name, and where its contents start. */
typedef struct {
	int cls;
	size_t count;
	char name[64];
	const uint8_t *p;
	size_t n, off; /* contents: p[off..n) */
} matrix;

static int open_matrix(const elem *m, matrix *x)
{
	elem flags, dims, name;
	const uint8_t *p = m->data;
	size_t n = m->size;
	if (next_elem(p, n, 0, &flags) || next_elem(p, n, flags.next, &dims) || next_elem(p, n, dims.next, &name))
		return -1;
	if (flags.size < 4 || dims.type != MI_INT32)
		return cords_err("bad MAT array header");
	x->cls = flags.data[0];
	x->count = 1;
	/* Each element takes at least a byte of the file (chars may be packed
	 * UTF-8 in a small data element), so the count cannot exceed its size. */
	for (size_t i = 0; i < dims.size / 4; i++) {
		uint32_t d = u32(dims.data + 4 * i);
		if (d && x->count > n / d)
			return cords_err("MAT array dimensions larger than the file");
		x->count *= d;
	}
	size_t k = name.size < sizeof x->name - 1 ? name.size : sizeof x->name - 1;
	memcpy(x->name, name.data, k);
	x->name[k] = 0;
	x->p = p, x->n = n, x->off = name.next;
	return 0;
}

/* The contents of a char array (ASCII) or a scalar numeric array. */
static int matrix_text(const matrix *x, char *out, size_t len)
{
	elem d;
	out[0] = 0;
	if (x->count == 0)
		return 0;
	if (next_elem(x->p, x->n, x->off, &d))
		return -1;
	size_t es = type_size(d.type), k = es ? d.size / es : 0;
	if (x->cls == MX_CHAR) {
		for (size_t i = 0; i < k && i < len - 1; i++) { /* ASCII; anything else is '?' */
			double c = num_at(&d, i);
			out[i] = c >= 1 && c < 128 ? (char)c : '?', out[i + 1] = 0;
		}
	} else if (k) {
		snprintf(out, len, "%.17g", num_at(&d, 0));
	}
	return 0;
}

/* Walks the synsets struct array: nf fields of up to 64 bytes each. */
static int read_struct(const matrix *s, cords_synset **out)
{
	elem flen, fnames, e;
	if (next_elem(s->p, s->n, s->off, &flen) || next_elem(s->p, s->n, flen.next, &fnames))
		return -1;
	double fld = num_at(&flen, 0);
	size_t fl = fld >= 1 && fld <= 4096 ? (size_t)fld : 0, nf = fl ? fnames.size / fl : 0, off = fnames.next;
	if (!fl || !nf)
		return cords_err("MAT struct without fields");
	if (!s->count) /* 0 would read as "not found" to scan() */
		return cords_err("MAT struct array 'synsets' is empty");
	if (off > s->n || s->count > (s->n - off) / 8 / nf) /* every field of every element: >= 8 bytes */
		return cords_err("MAT struct array larger than the file");
	cords_synset *v = calloc(s->count, sizeof *v);
	if (!v)
		return cords_err("out of memory");
	e.next = off;
	for (size_t i = 0; i < s->count; i++)
		for (size_t f = 0; f < nf; f++, off = e.next) {
			matrix x;
			char val[64];
			const char *field = (const char *)fnames.data + f * fl;
			if (next_elem(s->p, s->n, off, &e) || e.type != MI_MATRIX || open_matrix(&e, &x) ||
			    matrix_text(&x, val, sizeof val)) {
				free(v);
				return cords_err_prefix("synsets(%zu): ", i + 1);
			}
			if (!strncmp(field, "ILSVRC2012_ID", fl))
				v[i].id = atoi(val);
			else if (!strncmp(field, "WNID", fl))
				snprintf(v[i].wnid, sizeof v[i].wnid, "%.15s", val);
			else if (!strncmp(field, "num_children", fl))
				v[i].num_children = atoi(val);
		}
	*out = v;
	return (int)s->count;
}

/* Finds the variable `synsets` among the top-level elements. */
static int scan(const uint8_t *p, size_t n, size_t off, cords_synset **out)
{
	elem e = {0};
	while (off < n) {
		if (next_elem(p, n, off, &e))
			return -1;
		if (e.type == MI_COMPRESSED) {
			uLongf cap = 1 << 20;
			uint8_t *buf = NULL;
			int zr;
			do { /* grow until the element fits */
				free(buf);
				cap *= 4;
				buf = malloc(cap);
				uLongf got = cap;
				zr = buf ? uncompress(buf, &got, e.data, e.size) : Z_MEM_ERROR;
				if (zr == Z_OK) {
					int rc = scan(buf, got, 0, out);
					free(buf);
					if (rc)
						return rc;
					buf = NULL;
				}
			} while (zr == Z_BUF_ERROR && cap < (1u << 30));
			free(buf);
			if (zr != Z_OK)
				return cords_err("corrupt compressed MAT element");
		} else if (e.type == MI_MATRIX) {
			matrix x;
			if (open_matrix(&e, &x))
				return -1;
			if (!strcmp(x.name, "synsets") && x.cls == MX_STRUCT)
				return read_struct(&x, out);
		}
		off = e.next;
	}
	return 0;
}

int cords_mat_synsets(const uint8_t *p, size_t n, const char *name, cords_synset **out)
{
	*out = NULL;
	if (n < 128 || p[126] != 'I' || p[127] != 'M')
		return cords_err("%s: not a little-endian MAT level-5 file", name);
	int rc = scan(p, n, 128, out);
	if (rc == 0)
		return cords_err("%s: no struct array 'synsets'", name);
	return rc < 0 ? cords_err_prefix("%s: ", name) : rc;
}
