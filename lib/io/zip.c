/* Zip reading (from memory) and writing (stored records), see zip.h.
 * Little-endian fields throughout; offsets from the APPNOTE. */
#include "zip.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The end of central directory record: last 22..22+65535 bytes. */
static int find_eocd(const cords_zip *z, size_t *at)
{
	if (z->n < 22)
		return cords_err("not a zip file (too short)");
	size_t lo = z->n > 22 + 65535 ? z->n - 22 - 65535 : 0;
	for (size_t i = z->n - 22 + 1; i-- > lo;)
		if (!memcmp(z->buf + i, "PK\5\6", 4)) {
			*at = i;
			return 0;
		}
	return cords_err("not a zip file (no end of central directory)");
}

/* Central directory position and count, from ZIP64 records if present. */
static int find_cd(const cords_zip *z, uint64_t *cd_off, uint64_t *cd_size, uint64_t *count)
{
	size_t e = 0;
	if (find_eocd(z, &e))
		return -1;
	const unsigned char *p = z->buf + e;
	*count = le(p + 10, 2);
	*cd_size = le(p + 12, 4);
	*cd_off = le(p + 16, 4);
	if (e >= 20 && !memcmp(z->buf + e - 20, "PK\6\7", 4)) {
		uint64_t off = le(z->buf + e - 20 + 8, 8);
		if (off > z->n - 56 || z->n < 56 || memcmp(z->buf + off, "PK\6\6", 4))
			return cords_err("corrupt zip: bad ZIP64 end record");
		const unsigned char *q = z->buf + off;
		*count = le(q + 32, 8);
		*cd_size = le(q + 40, 8);
		*cd_off = le(q + 48, 8);
	}
	if (*cd_off > z->n || *cd_size > z->n - *cd_off)
		return cords_err("corrupt zip: central directory outside the file");
	if (*count > *cd_size / 46)
		return cords_err("corrupt zip: %llu records cannot fit the central directory",
				 (unsigned long long)*count);
	return 0;
}

/* ZIP64 extra field (id 1): the 0xffffffff fields, in order. */
static int zip64_extra(const unsigned char *x, size_t n, cords_zip_entry *e)
{
	while (n >= 4) {
		size_t id = le(x, 2), len = le(x + 2, 2);
		if (len > n - 4)
			return cords_err("corrupt zip: extra field overruns");
		if (id == 1) {
			const unsigned char *q = x + 4, *end = q + len;
			uint64_t *f[3] = {&e->usize, &e->csize, &e->local_off};
			for (int i = 0; i < 3; i++) {
				if (*f[i] != 0xffffffffu)
					continue;
				if (end - q < 8)
					return cords_err("corrupt zip: short ZIP64 extra field");
				*f[i] = le(q, 8);
				q += 8;
			}
		}
		x += 4 + len;
		n -= 4 + len;
	}
	return 0;
}

static int read_entry(const cords_zip *z, const unsigned char *p, size_t room, cords_zip_entry *e,
		      size_t *used)
{
	if (room < 46 || memcmp(p, "PK\1\2", 4))
		return cords_err("corrupt zip: bad central directory entry");
	size_t nl = le(p + 28, 2), xl = le(p + 30, 2), cl = le(p + 32, 2);
	if (46 + nl + xl + cl > room)
		return cords_err("corrupt zip: central directory entry overruns");
	e->method = (int)le(p + 10, 2);
	e->crc = (uint32_t)le(p + 16, 4);
	e->csize = le(p + 20, 4);
	e->usize = le(p + 24, 4);
	e->local_off = le(p + 42, 4);
	if (!(e->name = malloc(nl + 1)))
		return cords_err("out of memory");
	memcpy(e->name, p + 46, nl);
	e->name[nl] = 0;
	if (memchr(e->name, 0, nl))
		return cords_err("corrupt zip: NUL in a record name");
	*used = 46 + nl + xl + cl;
	if (zip64_extra(p + 46 + nl, xl, e))
		return -1;
	if (e->local_off > z->n || e->csize > z->n)
		return cords_err("corrupt zip: record %s outside the file", e->name);
	return 0;
}

int cords_zip_open(cords_zip *z, const void *buf, size_t n)
{
	uint64_t off, size, count;
	memset(z, 0, sizeof *z);
	z->buf = buf;
	z->n = n;
	if (find_cd(z, &off, &size, &count))
		return -1;
	if (!(z->e = calloc(count ? (size_t)count : 1, sizeof *z->e)))
		return cords_err("out of memory");
	const unsigned char *p = z->buf + off;
	size_t room = (size_t)size;
	for (uint64_t i = 0; i < count; i++) {
		size_t used = 0;
		z->count++;
		if (read_entry(z, p, room, &z->e[i], &used)) {
			cords_zip_close(z);
			return -1;
		}
		p += used;
		room -= used;
	}
	return 0;
}

void cords_zip_close(cords_zip *z)
{
	for (int i = 0; i < z->count; i++)
		free(z->e[i].name);
	free(z->e);
	z->e = NULL;
	z->count = 0;
}

const cords_zip_entry *cords_zip_find(const cords_zip *z, const char *name)
{
	for (int i = 0; i < z->count; i++)
		if (!strcmp(z->e[i].name, name))
			return &z->e[i];
	return NULL;
}

static int inflate_raw(const unsigned char *src, uint64_t n, unsigned char *dst, uint64_t m,
		       const char *name)
{
	z_stream s = {0};
	if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
		return cords_err("zlib: cannot start inflate");
	uint64_t in = 0, out = 0;
	int rc;
	do { /* zlib counts in uInt: feed and drain in pieces of at most 1 GiB */
		if (!s.avail_in) {
			s.avail_in = (uInt)(n - in < (1u << 30) ? n - in : (1u << 30));
			s.next_in = (unsigned char *)src + in;
			in += s.avail_in;
		}
		if (!s.avail_out) {
			s.avail_out = (uInt)(m - out < (1u << 30) ? m - out : (1u << 30));
			s.next_out = dst + out;
			out += s.avail_out;
		}
		rc = inflate(&s, Z_NO_FLUSH);
	} while (rc == Z_OK);
	int ok = rc == Z_STREAM_END && s.total_out == m;
	inflateEnd(&s);
	if (!ok)
		return cords_err("corrupt zip: record %s does not inflate to its size", name);
	return 0;
}

int cords_zip_data(const cords_zip *z, const cords_zip_entry *e, const unsigned char **data,
		   void **owned)
{
	*owned = NULL;
	uint64_t lo = e->local_off;
	if (lo > z->n - 30 || z->n < 30 || memcmp(z->buf + lo, "PK\3\4", 4))
		return cords_err("corrupt zip: bad local header for %s", e->name);
	/* Sizes come from the central directory: the local ones may be 0
	 * when a data descriptor follows (flags 0x08). */
	uint64_t start = lo + 30 + le(z->buf + lo + 26, 2) + le(z->buf + lo + 28, 2);
	if (start > z->n || e->csize > z->n - start)
		return cords_err("corrupt zip: record %s runs past the end of the file", e->name);
	const unsigned char *src = z->buf + start;
	if (e->method == 0) {
		if (e->csize != e->usize)
			return cords_err("corrupt zip: stored record %s has two sizes", e->name);
		*data = src;
	} else if (e->method == 8) {
		if (e->usize > (uint64_t)1 << 40 || e->usize / 1032 > e->csize + 1)
			return cords_err("corrupt zip: record %s claims %llu bytes", e->name,
					 (unsigned long long)e->usize);
		unsigned char *d = malloc(e->usize ? (size_t)e->usize : 1);
		if (!d)
			return cords_err("out of memory (%llu bytes for %s)", (unsigned long long)e->usize,
					 e->name);
		if (inflate_raw(src, e->csize, d, e->usize, e->name)) {
			free(d);
			return -1;
		}
		*data = d;
		*owned = d;
	} else {
		return cords_err("zip record %s: compression method %d (only stored and deflate)",
				 e->name, e->method);
	}
	/* torch 2.x writes CRC 0: check only a non-zero one. */
	if (e->crc) {
		uLong c = crc32_z(0, Z_NULL, 0);
		c = crc32_z(c, *data, (z_size_t)e->usize);
		if (c != e->crc) {
			free(*owned);
			*owned = NULL;
			return cords_err("corrupt zip: CRC mismatch in %s", e->name);
		}
	}
	return 0;
}

/* ---- writer ---- */

#define LIM 0xffffffffu /* a 32-bit field at this value means "see ZIP64" */

typedef struct {
	char *name;
	uint64_t off, size;
	uint32_t crc;
} wentry;

struct cords_zipw {
	FILE *f;
	char *what;
	unsigned align;
	uint64_t pos;
	wentry *e;
	size_t n, cap;
	int failed, zip64;
};

cords_zipw *cords_zipw_new(FILE *f, const char *what, unsigned align)
{
	cords_zipw *w = calloc(1, sizeof *w);
	if (!w || !(w->what = strdup(what))) {
		free(w);
		cords_err("out of memory");
		return NULL;
	}
	w->f = f;
	w->align = align ? align : 1;
	return w;
}

void cords_zipw_force_zip64(cords_zipw *w)
{
	w->zip64 = 1;
}

static void put(unsigned char **p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

static int wr(cords_zipw *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->f) != n) {
		w->failed = 1;
		return cords_err("%s: write error", w->what);
	}
	w->pos += n;
	return 0;
}

static int big(const cords_zipw *w, uint64_t v)
{
	return w->zip64 || v >= LIM;
}

/* Local header: sizes in a ZIP64 extra field when they need it, then a
 * 0x4246 padding field so the data starts at a multiple of align. */
static int local_header(cords_zipw *w, const wentry *e)
{
	size_t nl = strlen(e->name), z64 = big(w, e->size) ? 20 : 0;
	uint64_t data_at = w->pos + 30 + nl + z64;
	size_t pad = 0;
	if (w->align > 1 && data_at % w->align)
		pad = w->align - data_at % w->align;
	if (pad && pad < 4)
		pad += w->align; /* the padding field needs its own 4-byte header */
	unsigned char h[30 + 20 + 4], zeros[256] = {0}, *p = h;
	put(&p, 0x04034b50, 4);
	put(&p, z64 ? 45 : 20, 2);
	put(&p, 0, 2); /* flags */
	put(&p, 0, 2); /* stored */
	put(&p, 0, 4); /* time, date */
	put(&p, e->crc, 4);
	put(&p, z64 ? LIM : e->size, 4);
	put(&p, z64 ? LIM : e->size, 4);
	put(&p, nl, 2);
	put(&p, z64 + pad, 2);
	size_t hn = 30;
	if (z64) {
		put(&p, 1, 2);
		put(&p, 16, 2);
		put(&p, e->size, 8);
		put(&p, e->size, 8);
	}
	if (pad) {
		put(&p, 0x4246, 2);
		put(&p, pad - 4, 2);
	}
	return wr(w, h, hn) || wr(w, e->name, nl) || wr(w, h + hn, z64 + (pad ? 4 : 0)) ||
	       (pad && wr(w, zeros, pad - 4));
}

int cords_zipw_add(cords_zipw *w, const char *name, const void *head, size_t hn, const void *body,
		   size_t bn)
{
	if (w->failed)
		return -1;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		wentry *e = realloc(w->e, cap * sizeof *e);
		if (!e)
			return cords_err("out of memory");
		w->e = e;
		w->cap = cap;
	}
	wentry *e = &w->e[w->n];
	if (strlen(name) > 65535 || !(e->name = strdup(name)))
		return cords_err("zip record name too long or out of memory");
	w->n++;
	uLong c = crc32_z(0, Z_NULL, 0); /* (a NULL buffer would reset it) */
	if (hn)
		c = crc32_z(c, head, hn);
	if (bn)
		c = crc32_z(c, body, bn);
	e->crc = (uint32_t)c;
	e->size = hn + bn;
	e->off = w->pos;
	return local_header(w, e) || wr(w, head, hn) || wr(w, body, bn) ? -1 : 0;
}

static int central_entry(cords_zipw *w, const wentry *e)
{
	unsigned char h[46 + 28], *p = h, *x = h + 46;
	size_t nl = strlen(e->name), xl = 0;
	int bs = big(w, e->size), bo = big(w, e->off);
	if (bs || bo) {
		unsigned char *q = x + 4;
		if (bs) {
			put(&q, e->size, 8);
			put(&q, e->size, 8);
		}
		if (bo)
			put(&q, e->off, 8);
		xl = (size_t)(q - x);
		q = x;
		put(&q, 1, 2);
		put(&q, xl - 4, 2);
	}
	put(&p, 0x02014b50, 4);
	put(&p, 45, 2); /* made by */
	put(&p, xl ? 45 : 20, 2); /* needed */
	put(&p, 0, 2);
	put(&p, 0, 2);
	put(&p, 0, 4);
	put(&p, e->crc, 4);
	put(&p, bs ? LIM : e->size, 4);
	put(&p, bs ? LIM : e->size, 4);
	put(&p, nl, 2);
	put(&p, xl, 2);
	put(&p, 0, 2); /* comment */
	put(&p, 0, 2); /* disk */
	put(&p, 0, 2); /* internal attributes */
	put(&p, 0, 4); /* external attributes */
	put(&p, bo ? LIM : e->off, 4);
	return wr(w, h, 46) || wr(w, e->name, nl) || wr(w, x, xl);
}

/* ZIP64 end of central directory record and its locator. */
static int end64(cords_zipw *w, uint64_t start, uint64_t size)
{
	unsigned char h[56 + 20], *p = h;
	uint64_t at = w->pos;
	put(&p, 0x06064b50, 4);
	put(&p, 44, 8);
	put(&p, 45, 2);
	put(&p, 45, 2);
	put(&p, 0, 4);
	put(&p, 0, 4);
	put(&p, w->n, 8);
	put(&p, w->n, 8);
	put(&p, size, 8);
	put(&p, start, 8);
	put(&p, 0x07064b50, 4);
	put(&p, 0, 4);
	put(&p, at, 8);
	put(&p, 1, 4);
	return wr(w, h, sizeof h);
}

static int central(cords_zipw *w)
{
	uint64_t start = w->pos;
	for (size_t i = 0; i < w->n; i++)
		if (central_entry(w, &w->e[i]))
			return -1;
	uint64_t size = w->pos - start;
	int z64 = big(w, start) || big(w, size) || w->n >= 0xffff;
	if (z64 && end64(w, start, size))
		return -1;
	unsigned char h[22], *p = h;
	put(&p, 0x06054b50, 4);
	put(&p, 0, 4);
	put(&p, z64 ? 0xffff : w->n, 2);
	put(&p, z64 ? 0xffff : w->n, 2);
	put(&p, z64 ? LIM : size, 4);
	put(&p, z64 ? LIM : start, 4);
	put(&p, 0, 2);
	return wr(w, h, 22);
}

int cords_zipw_close(cords_zipw *w)
{
	int rc = w->failed ? -1 : central(w);
	if (!rc && fflush(w->f))
		rc = cords_err("%s: write error", w->what);
	cords_zipw_free(w);
	return rc;
}

void cords_zipw_free(cords_zipw *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->e[i].name);
	free(w->e);
	free(w->what);
	free(w);
}
