/* The metadata record (meta.h). */
#include "meta.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cords_tensor *cords_meta_new(void) { return cords_meta_copy(NULL); }

cords_tensor *cords_meta_copy(const cords_tensor *meta)
{
	int64_t n = meta ? (int64_t)meta->nbytes : 0;
	cords_tensor *m = cords_tensor_new("meta", CORDS_TEXT, 1, &n);
	if (m && n)
		memcpy(m->data, meta->data, (size_t)n);
	return m;
}

char *cords_meta_get(const cords_tensor *meta, const char *key)
{
	const char *p = meta->data, *end;
	size_t kl = strlen(key);
	if (!p) /* an empty record has no data: no offset from NULL */
		return NULL;
	end = p + meta->nbytes;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if ((size_t)(le - p) > kl && !memcmp(p, key, kl) && p[kl] == '=') {
			size_t vl = (size_t)(le - p) - kl - 1;
			char *v = malloc(vl + 1);
			if (v) {
				memcpy(v, p + kl + 1, vl);
				v[vl] = 0;
			}
			return v;
		}
		p = le + 1;
	}
	return NULL;
}

int cords_meta_set(cords_tensor *meta, const char *key, const char *value)
{
	const char *p = meta->data, *end = p ? p + meta->nbytes : NULL;
	size_t kl = strlen(key), vl = strlen(value), cap = meta->nbytes + kl + vl + 4, n = 0; /* + "=", two newlines, NUL */
	if (strchr(key, '=') || strchr(key, '\n') || strchr(value, '\n'))
		return cords_err("metadata key or value with '=' or newline: %s", key);
	char *d = malloc(cap);
	if (!d)
		return cords_err("out of memory");
	while (p && p < end) { /* copy every line but the old key */
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (!((size_t)(le - p) > kl && !memcmp(p, key, kl) && p[kl] == '=')) {
			memcpy(d + n, p, (size_t)(le - p));
			n += (size_t)(le - p);
			d[n++] = '\n';
		}
		p = le + 1;
	}
	n += (size_t)sprintf(d + n, "%s=%s\n", key, value);
	free(meta->data);
	meta->data = d;
	meta->nbytes = n;
	meta->shape[0] = (int64_t)n;
	meta->ndim = 1;
	meta->dtype = CORDS_TEXT;
	return 0;
}

int cords_meta_vsetf(cords_tensor *meta, const char *key, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	char *v = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (!v)
		return cords_err("out of memory");
	vsnprintf(v, (size_t)n + 1, fmt, ap);
	int rc = cords_meta_set(meta, key, v);
	free(v);
	return rc;
}

int cords_meta_setf(cords_tensor *meta, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = cords_meta_vsetf(meta, key, fmt, ap);
	va_end(ap);
	return rc;
}

int cords_meta_numbers(const char *s, double *v, int max)
{
	int n = 0;
	for (;;) {
		char *end;
		double d = strtod(s, &end); /* skips leading blanks */
		if (end == s || !isfinite(d) || n == max)
			return -1;
		v[n++] = d;
		s = end + strspn(end, " \t");
		if (!*s)
			return n;
		if (*s == ',')
			s++;
		else if (s == end) /* "0.5x": no separator */
			return -1;
	}
}
