/* safetensors reading and writing (safetensors.h), with a small JSON
 * reader that knows exactly the shapes of value the header may hold. */
#include "safetensors.h"
#include "bytebuf.h"
#include "err.h"
#include "meta.h"

#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100u << 20)

static const struct {
	const char *name;
	cords_dtype t;
} st_dtypes[] = {
	{"BOOL", CORDS_BOOL}, {"U8", CORDS_U8}, {"I8", CORDS_I8}, {"I16", CORDS_I16},
	{"F16", CORDS_F16}, {"BF16", CORDS_BF16}, {"I32", CORDS_I32}, {"F32", CORDS_F32},
	{"F64", CORDS_F64}, {"I64", CORDS_I64},
};

/* ---- JSON ---- */

typedef struct {
	const unsigned char *p, *end;
} js;

static void ws(js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int eat(js *j, char c)
{
	ws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return 1;
	}
	return 0;
}

static int need(js *j, char c)
{
	return eat(j, c) ? 0 : cords_err("safetensors header: expected '%c'", c);
}

static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : (c & 0xf0) == 0xe0 ? 2
			 : c >= 0xf0 && c < 0xf5 ? 3 : 9;
		if (k == 9 || k >= n - i)
			return 0;
		for (size_t m = 1; m <= k; m++)
			if ((s[i + m] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

static void put_utf8(char *o, size_t *k, unsigned long cp)
{
	if (cp < 0x80) {
		o[(*k)++] = (char)cp;
	} else if (cp < 0x800) {
		o[(*k)++] = (char)(0xc0 | cp >> 6);
		o[(*k)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		o[(*k)++] = (char)(0xe0 | cp >> 12);
		o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*k)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[(*k)++] = (char)(0xf0 | cp >> 18);
		o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*k)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int hex4(js *j, unsigned long *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, j->p++) {
		if (j->p >= j->end)
			return -1;
		unsigned c = *j->p;
		unsigned d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : 99;
		if (d > 15)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static int escape(js *j, char *o, size_t *k)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e = j->p < j->end ? strchr(from, *j->p) : NULL;
	if (e && *e) {
		o[(*k)++] = to[e - from];
		j->p++;
		return 0;
	}
	unsigned long cp, lo;
	if (j->p >= j->end || *j->p++ != 'u' || hex4(j, &cp))
		return cords_err("safetensors header: bad escape in a string");
	if (cp >= 0xd800 && cp < 0xdc00) {
		if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u')
			return cords_err("safetensors header: lone surrogate");
		j->p += 2;
		if (hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return cords_err("safetensors header: bad surrogate pair");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp < 0xe000) {
		return cords_err("safetensors header: lone surrogate");
	}
	put_utf8(o, k, cp);
	return 0;
}

/* A string into a malloc'd, NUL-terminated copy (no NULs inside). */
static int string(js *j, char **out)
{
	ws(j);
	if (j->p >= j->end || *j->p != '"')
		return cords_err("safetensors header: expected a string");
	j->p++;
	const unsigned char *q = memchr(j->p, '"', (size_t)(j->end - j->p));
	if (!q)
		return cords_err("safetensors header: unterminated string");
	/* the output is never longer than the input up to the end */
	char *o = malloc((size_t)(j->end - j->p) + 1);
	size_t k = 0;
	if (!o)
		return cords_err("out of memory");
	while (j->p < j->end && *j->p != '"') {
		if (*j->p < 0x20) {
			free(o);
			return cords_err("safetensors header: control character in a string");
		}
		if (*j->p == '\\') {
			j->p++;
			if (escape(j, o, &k)) {
				free(o);
				return -1;
			}
			continue;
		}
		o[k++] = (char)*j->p++;
	}
	if (j->p >= j->end || memchr(o, 0, k)) {
		free(o);
		return cords_err("safetensors header: bad string");
	}
	j->p++;
	o[k] = 0;
	*out = o;
	return 0;
}

static int json_uint(js *j, uint64_t *v)
{
	ws(j);
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return cords_err("safetensors header: expected a non-negative integer");
	*v = 0;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		if (*v > (UINT64_C(1) << 62) / 10)
			return cords_err("safetensors header: integer too large");
		*v = *v * 10 + (uint64_t)(*j->p++ - '0');
	}
	return 0;
}

/* [a, b, ...] of at most max integers. */
static int uint_array(js *j, uint64_t *v, int max, int *n)
{
	*n = 0;
	if (need(j, '['))
		return -1;
	if (eat(j, ']'))
		return 0;
	do {
		if (*n == max)
			return cords_err("safetensors header: array longer than %d", max);
		if (json_uint(j, &v[(*n)++]))
			return -1;
	} while (eat(j, ','));
	return need(j, ']');
}

/* ---- entries ---- */

typedef struct {
	uint64_t begin, end;
	int index;
} span;

static int parse_dtype(const char *s, cords_dtype *t)
{
	for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
		if (!strcmp(s, st_dtypes[i].name)) {
			*t = st_dtypes[i].t;
			return 0;
		}
	return cords_err("unsupported dtype %s", s);
}

/* {"dtype": .., "shape": [..], "data_offsets": [b, e]} */
static int entry(js *j, const char *name, cords_tensor **out, span *sp, uint64_t size)
{
	char *key = NULL, *dt = NULL;
	uint64_t shape[CORDS_MAX_DIMS], off[2];
	int ndim = -1, noff = 0, rc = need(j, '{');
	while (!rc && !eat(j, '}')) {
		if (key && (rc = need(j, ',')))
			break;
		free(key);
		key = NULL;
		if ((rc = string(j, &key)) || (rc = need(j, ':')))
			break;
		if (!strcmp(key, "dtype") && !dt)
			rc = string(j, &dt);
		else if (!strcmp(key, "shape") && ndim < 0)
			rc = uint_array(j, shape, CORDS_MAX_DIMS, &ndim);
		else if (!strcmp(key, "data_offsets") && !noff)
			rc = uint_array(j, off, 2, &noff) || (noff != 2 && cords_err("data_offsets needs 2 values"));
		else
			rc = cords_err("unexpected or repeated key '%s'", key);
	}
	free(key);
	cords_dtype t = CORDS_F32;
	if (!rc && (!dt || ndim < 0 || noff != 2))
		rc = cords_err("dtype, shape or data_offsets missing");
	if (!rc)
		rc = parse_dtype(dt, &t);
	free(dt);
	int64_t s[CORDS_MAX_DIMS];
	for (int i = 0; i < ndim; i++)
		s[i] = (int64_t)shape[i];
	/* The offsets are checked against the shape and the buffer before anything is
	 * allocated: the header may claim any shape. */
	size_t nb = 0;
	if (!rc)
		rc = cords_shape_nbytes(t, ndim, s, &nb);
	if (!rc && (off[1] < off[0] || off[1] - off[0] != nb || off[1] > size))
		rc = cords_err("data_offsets [%llu, %llu] do not hold %zu bytes within the %llu-byte data buffer",
			       (unsigned long long)off[0], (unsigned long long)off[1], nb, (unsigned long long)size);
	if (!rc && !(*out = cords_tensor_new(name, t, ndim, s)))
		rc = -1;
	sp->begin = off[0];
	sp->end = off[1];
	return rc ? cords_err_prefix("tensor %s: ", name) : 0;
}

/* __metadata__: {"k": "v", ...} into key=value lines. */
static int metadata(js *j, cords_tensor **meta)
{
	cords_tensor *m = cords_tensor_new("meta", CORDS_TEXT, 1, (int64_t[]){0});
	int rc = m ? need(j, '{') : -1, first = 1;
	while (!rc && !eat(j, '}')) {
		char *k = NULL, *v = NULL;
		rc = (!first && need(j, ',')) || string(j, &k) || need(j, ':') || string(j, &v);
		first = 0;
		if (!rc && (strchr(k, '=') || strchr(k, '\n') || strchr(v, '\n')))
			rc = cords_err("__metadata__ key '%s' cannot be a key=value line", k);
		if (!rc)
			rc = cords_meta_set(m, k, v);
		free(k);
		free(v);
	}
	if (rc || !meta)
		cords_tensor_free(m);
	else
		*meta = m;
	return rc;
}

static int cmp_span(const void *a, const void *b)
{
	const span *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Offsets contiguous from 0 to the end of the buffer. */
static int check_spans(span *s, int n, uint64_t size, const cords_tensor_list *l)
{
	if (n > 1) /* s may be NULL when there are no tensors */
		qsort(s, (size_t)n, sizeof *s, cmp_span);
	uint64_t at = 0;
	for (int i = 0; i < n; i++) {
		if (s[i].begin != at)
			return cords_err("tensor %s starts at %llu, expected %llu (gap or overlap)",
					 l->items[s[i].index]->name, (unsigned long long)s[i].begin,
					 (unsigned long long)at);
		at = s[i].end;
	}
	if (at != size)
		return cords_err("the tensors cover %llu bytes of a %llu-byte data buffer",
				 (unsigned long long)at, (unsigned long long)size);
	return 0;
}

static int header(js *j, const unsigned char *data, uint64_t size, cords_tensor_list *out,
		  cords_tensor **meta)
{
	span *sp = NULL;
	int n = 0, cap = 0, rc = need(j, '{'), seen_meta = 0;
	while (!rc && !eat(j, '}')) {
		char *name = NULL;
		if ((n || seen_meta) && (rc = need(j, ',')))
			break;
		if ((rc = string(j, &name)))
			break;
		if ((rc = need(j, ':'))) { /* name is freed below */
		} else if (!strcmp(name, "__metadata__")) {
			rc = seen_meta++ ? cords_err("__metadata__ appears twice") : metadata(j, meta);
		} else if (strlen(name) > CORDS_NAME_MAX || cords_list_find(out, name)) {
			rc = cords_err("tensor name '%.64s' is repeated or too long", name);
		} else {
			cords_tensor *x = NULL;
			if (n == cap) {
				span *s = realloc(sp, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *s);
				if (!s)
					rc = cords_err("out of memory");
				else
					sp = s;
			}
			if (!rc && !(rc = entry(j, name, &x, &sp[n], size)) && !(rc = cords_list_push(out, x)))
				sp[n].index = n, n++;
		}
		free(name);
	}
	ws(j);
	if (!rc && j->p != j->end)
		rc = cords_err("safetensors header: data after the JSON object");
	if (!rc)
		rc = check_spans(sp, n, size, out);
	for (int i = 0; !rc && i < n; i++)
		if (out->items[i]->nbytes)
			memcpy(out->items[i]->data, data + sp[i].begin, out->items[i]->nbytes);
	free(sp);
	return rc;
}

int cords_safetensors_parse(const void *buf, size_t n, cords_tensor_list *out, cords_tensor **meta)
{
	const unsigned char *p = buf;
	uint64_t hl = 0;
	if (meta)
		*meta = NULL;
	if (n < 8)
		return cords_err("not a safetensors file (too short)");
	for (int i = 7; i >= 0; i--)
		hl = hl << 8 | p[i];
	if (hl > ST_MAX_HEADER || hl > n - 8)
		return cords_err("safetensors header of %llu bytes (file %zu bytes, limit 100 MB)",
				 (unsigned long long)hl, n);
	if (!utf8_ok(p + 8, (size_t)hl))
		return cords_err("safetensors header is not UTF-8");
	js j = {p + 8, p + 8 + hl};
	cords_tensor_list l = {0};
	if (header(&j, p + 8 + hl, n - 8 - hl, &l, meta)) {
		cords_list_free(&l);
		if (meta) {
			cords_tensor_free(*meta);
			*meta = NULL;
		}
		return -1;
	}
	for (int i = 0; i < l.n; i++)
		if (cords_list_push(out, l.items[i])) {
			for (int k = i + 1; k < l.n; k++)
				cords_tensor_free(l.items[k]);
			free(l.items);
			return -1;
		}
	free(l.items);
	return 0;
}

/* ---- writing ---- */

typedef cords_bytebuf sbuf;

static void add(sbuf *b, const char *s, size_t k) { cords_bytebuf_put(b, s, k); }

static void adds(sbuf *b, const char *s) { add(b, s, strlen(s)); }

static void json_str(sbuf *b, const char *s, size_t k)
{
	adds(b, "\"");
	for (size_t i = 0; i < k; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[8];
		if (c == '"' || c == '\\') {
			e[0] = '\\', e[1] = (char)c;
			add(b, e, 2);
		} else if (c < 0x20) {
			snprintf(e, sizeof e, "\\u%04x", c);
			adds(b, e);
		} else {
			add(b, s + i, 1);
		}
	}
	adds(b, "\"");
}

static const char *st_name(cords_dtype t)
{
	for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
		if (st_dtypes[i].t == t)
			return st_dtypes[i].name;
	return NULL;
}

static void meta_json(sbuf *b, const cords_tensor *meta)
{
	const char *s = meta->data, *end = s + meta->nbytes;
	int first = 1;
	adds(b, "\"__metadata__\":{");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;
		const char *eq = memchr(s, '=', (size_t)(e - s));
		if (eq) {
			adds(b, first ? "" : ",");
			json_str(b, s, (size_t)(eq - s));
			adds(b, ":");
			json_str(b, eq + 1, (size_t)(e - eq - 1));
			first = 0;
		}
		s = e + 1;
	}
	adds(b, "}");
}

static int build_header(sbuf *b, const cords_tensor_list *l, const cords_tensor *meta)
{
	uint64_t off = 0;
	char num[64];
	adds(b, "{");
	if (meta && meta->nbytes)
		meta_json(b, meta);
	int first = !(meta && meta->nbytes);
	for (int i = 0; i < l->n; i++) {
		const cords_tensor *x = l->items[i];
		if (x->dtype == CORDS_TEXT)
			continue;
		if (!st_name(x->dtype))
			return cords_err("%s: dtype %s has no safetensors equivalent", x->name,
					 cords_dtype_name(x->dtype));
		for (int k = 0; k < i; k++)
			if (!strcmp(l->items[k]->name, x->name) && l->items[k]->dtype != CORDS_TEXT)
				return cords_err("tensor %s appears twice", x->name);
		adds(b, first ? "" : ",");
		first = 0;
		json_str(b, x->name, strlen(x->name));
		adds(b, ":{\"dtype\":\"");
		adds(b, st_name(x->dtype));
		adds(b, "\",\"shape\":[");
		for (int d = 0; d < x->ndim; d++) {
			snprintf(num, sizeof num, d ? ",%lld" : "%lld", (long long)x->shape[d]);
			adds(b, num);
		}
		snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
			 (unsigned long long)(off + x->nbytes));
		adds(b, num);
		off += x->nbytes;
	}
	adds(b, "}");
	while (b->n % 8)
		adds(b, " ");
	return b->oom ? cords_err("out of memory") : 0;
}

int cords_safetensors_write(FILE *f, const char *what, const cords_tensor_list *l,
			    const cords_tensor *meta)
{
	sbuf b = {0};
	if (build_header(&b, l, meta)) {
		free(b.p);
		return -1;
	}
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)b.n >> (8 * i));
	int bad = fwrite(len, 1, 8, f) != 8 || fwrite(b.p, 1, b.n, f) != b.n;
	free(b.p);
	for (int i = 0; i < l->n && !bad; i++)
		if (l->items[i]->dtype != CORDS_TEXT && l->items[i]->nbytes)
			bad = fwrite(l->items[i]->data, 1, l->items[i]->nbytes, f) != l->items[i]->nbytes;
	return bad ? cords_err("%s: write error", what) : 0;
}
