/* IDX reader (idx.h). */
#include "idx.h"

#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static int idx_dtype(int code, cords_dtype *t)
{
	switch (code) {
	case 0x08: *t = CORDS_U8; return 0;
	case 0x09: *t = CORDS_I8; return 0;
	case 0x0B: *t = CORDS_I16; return 0;
	case 0x0C: *t = CORDS_I32; return 0;
	case 0x0D: *t = CORDS_F32; return 0;
	case 0x0E: *t = CORDS_F64; return 0;
	}
	return -1;
}

/* Reads exactly n bytes; returns the count read (short at end of data) or -1. */
static long long read_full(gzFile g, void *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		unsigned k = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
		int r = gzread(g, (char *)p + done, k);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (long long)done;
}

static void to_native(cords_tensor *x)
{
	size_t es = cords_dtype_size(x->dtype), n = x->nbytes / es;
	uint8_t *p = x->data;
	for (size_t i = 0; es > 1 && i < n; i++, p += es)
		for (size_t a = 0, b = es - 1; a < b; a++, b--) {
			uint8_t t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
}

/* deflate's best ratio is about 1032:1: no IDX file of `file` bytes can hold
 * more data than this, so a header claiming more is refused before any
 * allocation (fuzzing: 30 bytes declared 6 GB). */
static int too_big(const int64_t *shape, int nd, cords_dtype t, uint64_t file)
{
	uint64_t n = cords_dtype_size(t), cap = 1032 * file + 4096;
	for (int i = 0; i < nd; i++) {
		if (shape[i] && n > cap / (uint64_t)shape[i])
			return 1;
		n *= (uint64_t)shape[i];
	}
	return n > cap;
}

static cords_tensor *read_body(gzFile g, const char *path, const char *name, uint64_t file)
{
	uint8_t head[4], dims[4 * CORDS_MAX_DIMS];
	long long r = read_full(g, head, 4);
	if (r < 0)
		return cords_err("%s: corrupt gzip data", path), NULL;
	cords_dtype t;
	if (r < 4 || head[0] || head[1] || idx_dtype(head[2], &t) || head[3] < 1 || head[3] > CORDS_MAX_DIMS)
		return cords_err("%s: not an IDX file (magic %02x %02x %02x %02x)", path, r > 0 ? head[0] : 0,
				 r > 1 ? head[1] : 0, r > 2 ? head[2] : 0, r > 3 ? head[3] : 0), NULL;
	int nd = head[3];
	if (read_full(g, dims, 4u * (unsigned)nd) != 4 * nd)
		return cords_err("%s: truncated IDX header", path), NULL;
	int64_t shape[CORDS_MAX_DIMS];
	for (int i = 0; i < nd; i++)
		shape[i] = (int64_t)dims[4 * i] << 24 | dims[4 * i + 1] << 16 | dims[4 * i + 2] << 8 | dims[4 * i + 3];
	if (too_big(shape, nd, t, file))
		return cords_err("%s: the IDX header declares more data than a file of %llu bytes holds", path,
				 (unsigned long long)file), NULL;
	cords_tensor *x = cords_tensor_new(name, t, nd, shape);
	if (!x)
		return cords_err_prefix("%s: ", path), NULL;
	r = read_full(g, x->data, x->nbytes);
	uint8_t extra;
	long long tail = r == (long long)x->nbytes ? read_full(g, &extra, 1) : 0;
	if (r < 0 || tail < 0) {
		cords_err("%s: corrupt or truncated gzip data", path);
	} else if (r < (long long)x->nbytes) {
		cords_err("%s: truncated: %lld of %zu data bytes", path, r, x->nbytes);
	} else if (tail) {
		cords_err("%s: trailing bytes after %zu data bytes", path, x->nbytes);
	} else {
		to_native(x);
		return x;
	}
	cords_tensor_free(x);
	return NULL;
}

cords_tensor *cords_idx_read(const char *path, const char *name)
{
	gzFile g = gzopen(path, "rb");
	if (!g)
		return cords_err("%s: %s", path, errno ? strerror(errno) : "cannot open"), NULL;
	gzbuffer(g, 1u << 17);
	struct stat st;
	cords_tensor *x = read_body(g, path, name, stat(path, &st) ? 0 : (uint64_t)st.st_size);
	gzclose(g);
	return x;
}
