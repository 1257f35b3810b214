/* NumPy .npy / .npz reading and writing (npy.h). The header is a Python
 * dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
#include "npy.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER 65536

static const struct {
	const char *code; /* descr without the byte-order character */
	cords_dtype t;
} codes[] = {
	{"f4", CORDS_F32}, {"f8", CORDS_F64}, {"f2", CORDS_F16}, {"u1", CORDS_U8},
	{"i1", CORDS_I8}, {"i2", CORDS_I16}, {"i4", CORDS_I32}, {"i8", CORDS_I64},
	{"b1", CORDS_BOOL},
};

int cords_npy_descr(const char *d, cords_dtype *t)
{
	char o = d[0];
	if (o != '<' && o != '>' && o != '|' && o != '=')
		return cords_err("dtype '%s' has no byte order", d);
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		if (strcmp(d + 1, codes[i].code))
			continue;
		if (o == '>' && strcmp(codes[i].code, "u1") && strcmp(codes[i].code, "i1") &&
		    strcmp(codes[i].code, "b1"))
			return cords_err("big-endian dtype '%s' is not supported (convert with "
					 "a.astype(a.dtype.newbyteorder('<')))", d);
		*t = codes[i].t;
		return 0;
	}
	return cords_err("unsupported dtype '%s' (b1 u1 i1 i2 i4 i8 f2 f4 f8 are read)", d);
}

int cords_fortran_to_c(cords_tensor *x)
{
	if (x->ndim < 2 || !x->nbytes)
		return 0;
	size_t es = cords_dtype_size(x->dtype);
	unsigned char *src = x->data, *dst = malloc(x->nbytes);
	if (!dst)
		return cords_err("out of memory");
	int64_t idx[CORDS_MAX_DIMS] = {0}, n = cords_tensor_numel(x);
	int64_t fstride[CORDS_MAX_DIMS], s = 1;
	for (int k = 0; k < x->ndim; k++) {
		fstride[k] = s;
		s *= x->shape[k];
	}
	/* walk the C-order index; its Fortran offset moves by fstride */
	int64_t off = 0;
	for (int64_t i = 0; i < n; i++) {
		memcpy(dst + (size_t)i * es, src + (size_t)off * es, es);
		for (int k = x->ndim - 1; k >= 0; k--) {
			if (++idx[k] < x->shape[k]) {
				off += fstride[k];
				break;
			}
			off -= (idx[k] - 1) * fstride[k];
			idx[k] = 0;
		}
	}
	memcpy(src, dst, x->nbytes);
	free(dst);
	return 0;
}

/* ---- header parsing: a tiny tokenizer over the dict literal ---- */

typedef struct {
	const char *p, *end;
} lex;

static void skip_ws(lex *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n'))
		l->p++;
}

static int expect(lex *l, char c)
{
	skip_ws(l);
	if (l->p >= l->end || *l->p != c)
		return cords_err("bad .npy header (expected '%c')", c);
	l->p++;
	return 0;
}

static int accept(lex *l, char c)
{
	skip_ws(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return 1;
	}
	return 0;
}

static int quoted(lex *l, char *out, size_t cap)
{
	skip_ws(l);
	if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
		return cords_err("bad .npy header (expected a string)");
	char q = *l->p++;
	size_t k = 0;
	while (l->p < l->end && *l->p != q) {
		if (k + 1 >= cap)
			return cords_err("bad .npy header (string too long)");
		out[k++] = *l->p++;
	}
	if (l->p >= l->end)
		return cords_err("bad .npy header (unterminated string)");
	l->p++;
	out[k] = 0;
	return 0;
}

static int shape_tuple(lex *l, int *ndim, int64_t *shape)
{
	if (expect(l, '('))
		return -1;
	*ndim = 0;
	while (!accept(l, ')')) {
		skip_ws(l);
		/* digits parsed within the header: it is not NUL-terminated */
		int64_t v = 0;
		const char *d = l->p;
		for (; l->p < l->end && *l->p >= '0' && *l->p <= '9'; l->p++) {
			if (v > (INT64_MAX - (*l->p - '0')) / 10)
				return cords_err("bad .npy header (dimension too large)");
			v = v * 10 + (*l->p - '0');
		}
		if (l->p == d)
			return cords_err("bad .npy header (shape)");
		if (*ndim == CORDS_MAX_DIMS)
			return cords_err(".npy array has more than %d dimensions", CORDS_MAX_DIMS);
		shape[(*ndim)++] = v;
		if (!accept(l, ',') && (skip_ws(l), l->p >= l->end || *l->p != ')'))
			return cords_err("bad .npy header (shape)");
	}
	return 0;
}

static int parse_header(const char *h, size_t n, char *descr, int *fortran, int *ndim, int64_t *shape)
{
	lex l = {h, h + n};
	int seen = 0;
	char key[32];
	if (expect(&l, '{'))
		return -1;
	while (!accept(&l, '}')) {
		if (quoted(&l, key, sizeof key) || expect(&l, ':'))
			return -1;
		skip_ws(&l);
		if (!strcmp(key, "descr")) {
			if (quoted(&l, descr, 32))
				return -1;
			seen |= 1;
		} else if (!strcmp(key, "fortran_order")) {
			size_t left = (size_t)(l.end - l.p);
			if (left >= 4 && !memcmp(l.p, "True", 4))
				*fortran = 1, l.p += 4;
			else if (left >= 5 && !memcmp(l.p, "False", 5))
				*fortran = 0, l.p += 5;
			else
				return cords_err("bad .npy header (fortran_order)");
			seen |= 2;
		} else if (!strcmp(key, "shape")) {
			if (shape_tuple(&l, ndim, shape))
				return -1;
			seen |= 4;
		} else {
			return cords_err("bad .npy header (unknown key '%s')", key);
		}
		if (!accept(&l, ',') && (skip_ws(&l), l.p >= l.end || *l.p != '}'))
			return cords_err("bad .npy header (expected ',')");
	}
	if (seen != 7)
		return cords_err("bad .npy header (descr, fortran_order or shape missing)");
	return 0;
}

/* "|S5" byte strings become text records (how we write metadata). */
static int text_descr(const char *d, size_t *len)
{
	char *e;
	if (d[0] != '|' || d[1] != 'S')
		return 0;
	errno = 0;
	long long v = strtoll(d + 2, &e, 10);
	if (*e || errno || v < 0 || v > (1 << 30))
		return 0;
	*len = (size_t)v;
	return 1;
}

int cords_npy_parse(const void *buf, size_t n, const char *name, cords_tensor **out)
{
	const unsigned char *p = buf;
	*out = NULL;
	if (n < 10 || memcmp(p, "\x93NUMPY", 6))
		return cords_err("not a .npy file (bad magic)");
	int major = p[6];
	size_t hl, at;
	if (major == 1) {
		hl = p[8] | (size_t)p[9] << 8, at = 10;
	} else if (major == 2 || major == 3) {
		if (n < 12)
			return cords_err("truncated .npy header");
		hl = p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24, at = 12;
	} else {
		return cords_err(".npy format version %d.%d is not supported", major, p[7]);
	}
	if (hl > NPY_MAX_HEADER || hl > n - at)
		return cords_err("truncated or oversized .npy header (%zu bytes)", hl);
	char descr[32];
	int fortran = 0, ndim = 0;
	int64_t shape[CORDS_MAX_DIMS];
	size_t tl;
	cords_dtype t;
	if (parse_header((const char *)p + at, hl, descr, &fortran, &ndim, shape))
		return -1;
	at += hl;
	if (text_descr(descr, &tl)) {
		if (ndim)
			return cords_err(".npy byte strings are read only as a 0-d array");
		t = CORDS_TEXT, ndim = 1, shape[0] = (int64_t)tl;
	} else if (cords_npy_descr(descr, &t)) {
		return -1;
	}
	size_t want;
	if (cords_shape_nbytes(t, ndim, shape, &want))
		return -1;
	if (want != n - at) /* checked before allocating: the header may claim anything */
		return cords_err(".npy data is %zu bytes, the header says %zu", n - at, want);
	cords_tensor *x = cords_tensor_new(name, t, ndim, shape);
	if (!x)
		return -1;
	if (x->nbytes)
		memcpy(x->data, p + at, x->nbytes);
	if (t == CORDS_TEXT) /* numpy pads byte strings with NULs */
		while (x->shape[0] && !((char *)x->data)[x->shape[0] - 1])
			x->shape[0]--, x->nbytes--;
	if (fortran && cords_fortran_to_c(x)) {
		cords_tensor_free(x);
		return -1;
	}
	*out = x;
	return 0;
}

int cords_npy_read_file(const char *path, const char *name, cords_tensor **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cords_err("%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			char *b = realloc(buf, cap);
			if (!b) {
				free(buf);
				fclose(f);
				return cords_err("%s: out of memory", path);
			}
			buf = b;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	int rc = bad ? cords_err("read error") : cords_npy_parse(buf, n, name, out);
	free(buf);
	return rc ? cords_err_prefix("%s: ", path) : 0;
}

/* ---- writing ---- */

static const char *descr_of(cords_dtype t)
{
	switch (t) {
	case CORDS_F32: case CORDS_BF16: return "<f4";
	case CORDS_F64: return "<f8";
	case CORDS_F16: return "<f2";
	case CORDS_U8: return "|u1";
	case CORDS_I8: return "|i1";
	case CORDS_I16: return "<i2";
	case CORDS_I32: return "<i4";
	case CORDS_I64: return "<i8";
	case CORDS_BOOL: return "|b1";
	case CORDS_TEXT: return "|S";
	}
	return NULL;
}

int cords_npy_header(const cords_tensor *x, char **hdr, size_t *hlen)
{
	char dict[1024], dims[512] = "";
	size_t k = 0;
	const char *d = descr_of(x->dtype);
	if (!d)
		return cords_err("%s: dtype %s has no .npy equivalent", x->name, cords_dtype_name(x->dtype));
	if (x->dtype == CORDS_TEXT) {
		snprintf(dict, sizeof dict, "{'descr': '|S%lld', 'fortran_order': False, 'shape': (), }",
			 (long long)(x->nbytes ? x->nbytes : 1));
	} else {
		for (int i = 0; i < x->ndim; i++)
			k += (size_t)snprintf(dims + k, sizeof dims - k, "%lld,%s", (long long)x->shape[i],
					      i + 1 < x->ndim ? " " : "");
		if (x->ndim > 1)
			dims[k - 1] = 0; /* (2, 3) but (6,) */
		snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", d,
			 dims);
	}
	size_t dl = strlen(dict), pre = 10;
	size_t total = (pre + dl + 1 + 63) / 64 * 64;
	char *h = malloc(total);
	if (!h)
		return cords_err("out of memory");
	memcpy(h, "\x93NUMPY\x01\x00", 8);
	h[8] = (char)((total - pre) & 0xff);
	h[9] = (char)((total - pre) >> 8);
	memcpy(h + pre, dict, dl);
	memset(h + pre + dl, ' ', total - pre - dl - 1);
	h[total - 1] = '\n';
	*hdr = h;
	*hlen = total;
	return 0;
}

/* The bytes to write after the header: bf16 widened to f32, a NUL for an
 * empty text. *owned is freed by the caller. */
static int npy_body(const cords_tensor *x, const void **body, size_t *n, void **owned)
{
	*owned = NULL;
	*body = x->data;
	*n = x->nbytes;
	if (x->dtype == CORDS_TEXT && !x->nbytes) {
		*owned = calloc(1, 1);
		*body = *owned;
		*n = 1;
	} else if (x->dtype == CORDS_BF16) {
		cords_tensor *y = cords_tensor_to_f32(x);
		if (!y)
			return -1;
		*owned = y->data, *body = y->data, *n = y->nbytes;
		y->data = NULL;
		cords_tensor_free(y);
	}
	return *n && !*body ? cords_err("out of memory") : 0;
}

int cords_npy_write(FILE *f, const char *what, const cords_tensor *x)
{
	char *h;
	size_t hl, n;
	const void *body;
	void *owned;
	if (cords_npy_header(x, &h, &hl))
		return -1;
	if (npy_body(x, &body, &n, &owned)) {
		free(h);
		return -1;
	}
	int bad = fwrite(h, 1, hl, f) != hl || (n && fwrite(body, 1, n, f) != n);
	free(h);
	free(owned);
	return bad ? cords_err("%s: write error", what) : 0;
}

int cords_npz_add(cords_zipw *w, const char *key, const cords_tensor *x)
{
	char *h, name[CORDS_NAME_MAX + 16];
	size_t hl, n;
	const void *body;
	void *owned;
	snprintf(name, sizeof name, "%s.npy", key);
	if (cords_npy_header(x, &h, &hl))
		return -1;
	if (npy_body(x, &body, &n, &owned)) {
		free(h);
		return -1;
	}
	int rc = cords_zipw_add(w, name, h, hl, body, n);
	free(h);
	free(owned);
	return rc;
}

int cords_npz_parse(const void *buf, size_t n, cords_tensor_list *out)
{
	cords_zip z;
	if (cords_zip_open(&z, buf, n))
		return -1;
	int rc = 0;
	for (int i = 0; i < z.count && !rc; i++) {
		const cords_zip_entry *e = &z.e[i];
		size_t nl = strlen(e->name);
		char key[CORDS_NAME_MAX + 1];
		if (nl < 4 || strcmp(e->name + nl - 4, ".npy") || nl - 4 > CORDS_NAME_MAX) {
			rc = cords_err(".npz member %s is not a .npy file", e->name);
			break;
		}
		memcpy(key, e->name, nl - 4);
		key[nl - 4] = 0;
		const unsigned char *data;
		void *owned;
		cords_tensor *x = NULL;
		rc = cords_zip_data(&z, e, &data, &owned) ||
		     cords_npy_parse(data, (size_t)e->usize, key, &x) || cords_list_push(out, x);
		free(owned);
		if (rc)
			cords_err_prefix("%s: ", e->name);
	}
	cords_zip_close(&z);
	return rc ? -1 : 0;
}
