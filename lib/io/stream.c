/* Reading and writing tensor streams: one zstd frame per record (stream.h). */
#include "stream.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>
#include <zstd_errors.h>

#define HDR_FIXED 8

struct cords_writer {
	FILE *f;
	const char *name;
	ZSTD_CCtx *cc;
	void *obuf;
	size_t osize;
	uint64_t remaining; /* data bytes the open record still expects */
	int open, failed;
	uint64_t written;
};

struct cords_reader {
	FILE *f;
	const char *name;
	ZSTD_DCtx *dc;
	unsigned char *ibuf, *obuf;
	size_t isize, osize;
	ZSTD_inBuffer in;
	size_t opos, olen;   /* decoded bytes not yet handed out */
	int eof;             /* fread hit the end of f */
	int frame_done;      /* last decompress call finished a frame */
	uint64_t consumed;   /* compressed bytes consumed before ibuf */
	uint64_t rec_start;  /* compressed offset of the current record */
	uint64_t index;      /* records started so far */
	uint64_t remaining;  /* data bytes left in the current record */
	unsigned long long frame_size; /* content size the frame declares, or ZSTD_CONTENTSIZE_UNKNOWN */
	int in_record;
};

static void put_u16(unsigned char *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static unsigned get_u16(const unsigned char *p) { return p[0] | (unsigned)p[1] << 8; }
static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- writer ---- */

cords_writer *cords_writer_new(FILE *f, const char *name, int level)
{
	cords_writer *w = calloc(1, sizeof *w);
	if (!w) {
		cords_err("out of memory");
		return NULL;
	}
	/* -1: about twice level 1's speed for a few percent of ratio; float
	 * data compresses little, and pipes want speed. */
	if (!level)
		level = -1;
	w->f = f;
	w->name = name;
	w->cc = ZSTD_createCCtx();
	w->osize = ZSTD_CStreamOutSize();
	w->obuf = malloc(w->osize);
	if (!w->cc || !w->obuf) {
		cords_writer_free(w);
		cords_err("out of memory");
		return NULL;
	}
	ZSTD_CCtx_setParameter(w->cc, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(w->cc, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(w->cc, ZSTD_c_contentSizeFlag, 1);
	return w;
}

int cords_writer_threads(cords_writer *w, int n)
{
	size_t rc = ZSTD_CCtx_setParameter(w->cc, ZSTD_c_nbWorkers, n);
	return ZSTD_isError(rc) ? cords_err("%s: %d compression threads: %s", w->name, n, ZSTD_getErrorName(rc)) : 0;
}

static int wfail(cords_writer *w, const char *what)
{
	w->failed = 1;
	return cords_err("%s: %s", w->name, what);
}

static int wpush(cords_writer *w, const void *p, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {p, n, 0};
	for (;;) {
		ZSTD_outBuffer out = {w->obuf, w->osize, 0};
		size_t left = ZSTD_compressStream2(w->cc, &out, &in, end);
		if (ZSTD_isError(left))
			return wfail(w, ZSTD_getErrorName(left));
		if (out.pos && fwrite(w->obuf, 1, out.pos, w->f) != out.pos)
			return wfail(w, errno ? strerror(errno) : "write error");
		w->written += out.pos;
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

int cords_write_begin(cords_writer *w, const char *name, cords_dtype t, int ndim, const int64_t *shape)
{
	unsigned char hdr[HDR_FIXED + 8 * CORDS_MAX_DIMS + CORDS_NAME_MAX];
	size_t nb, len = strlen(name);
	if (w->failed)
		return cords_err("%s: earlier write failed", w->name);
	if (w->open)
		return cords_err("%s: record '%s' begun inside another", w->name, name);
	if (len > CORDS_NAME_MAX)
		return cords_err("%s: record name too long (%zu bytes)", w->name, len);
	if (cords_shape_nbytes(t, ndim, shape, &nb))
		return cords_err_prefix("%s: record '%s': ", w->name, name);
	memcpy(hdr, CORDS_MAGIC, 4);
	hdr[4] = (unsigned char)t;
	hdr[5] = (unsigned char)ndim;
	put_u16(hdr + 6, (unsigned)len);
	for (int i = 0; i < ndim; i++)
		put_u64(hdr + HDR_FIXED + 8 * i, (uint64_t)shape[i]);
	memcpy(hdr + HDR_FIXED + 8 * ndim, name, len);
	size_t hlen = HDR_FIXED + 8 * (size_t)ndim + len;
	ZSTD_CCtx_reset(w->cc, ZSTD_reset_session_only);
	ZSTD_CCtx_setPledgedSrcSize(w->cc, hlen + nb);
	w->open = 1;
	w->remaining = nb;
	return wpush(w, hdr, hlen, ZSTD_e_continue);
}

int cords_write_data(cords_writer *w, const void *p, size_t n)
{
	if (!w->open || n > w->remaining)
		return wfail(w, "record data longer than its shape");
	w->remaining -= n;
	return n ? wpush(w, p, n, ZSTD_e_continue) : 0;
}

int cords_write_end(cords_writer *w)
{
	if (!w->open || w->remaining)
		return wfail(w, "record data shorter than its shape");
	w->open = 0;
	return wpush(w, NULL, 0, ZSTD_e_end);
}

int cords_write_tensor(cords_writer *w, const cords_tensor *x)
{
	if (cords_write_begin(w, x->name, x->dtype, x->ndim, x->shape) ||
	    cords_write_data(w, x->data, x->nbytes) || cords_write_end(w))
		return -1;
	return 0;
}

int cords_write_text(cords_writer *w, const char *name, const char *text)
{
	int64_t n = (int64_t)strlen(text);
	if (cords_write_begin(w, name, CORDS_TEXT, 1, &n) ||
	    cords_write_data(w, text, (size_t)n) || cords_write_end(w))
		return -1;
	return 0;
}

uint64_t cords_writer_bytes(const cords_writer *w) { return w->written; }

void cords_writer_free(cords_writer *w)
{
	if (!w)
		return;
	ZSTD_freeCCtx(w->cc);
	free(w->obuf);
	free(w);
}

int cords_writer_close(cords_writer *w)
{
	int rc = 0;
	if (w->open)
		rc = wfail(w, "stream closed inside a record");
	else if (w->failed)
		rc = cords_err("%s: earlier write failed", w->name);
	else if (fflush(w->f) || ferror(w->f))
		rc = wfail(w, errno ? strerror(errno) : "write error");
	cords_writer_free(w);
	return rc;
}

/* ---- reader ---- */

cords_reader *cords_reader_new(FILE *f, const char *name)
{
	cords_reader *r = calloc(1, sizeof *r);
	if (!r) {
		cords_err("out of memory");
		return NULL;
	}
	r->f = f;
	r->name = name;
	r->dc = ZSTD_createDCtx();
	r->isize = ZSTD_DStreamInSize();
	r->osize = ZSTD_DStreamOutSize();
	r->ibuf = malloc(r->isize);
	r->obuf = malloc(r->osize);
	if (!r->dc || !r->ibuf || !r->obuf) {
		cords_reader_free(r);
		cords_err("out of memory");
		return NULL;
	}
	r->in.src = r->ibuf;
	r->frame_done = 1;
	return r;
}

void cords_reader_free(cords_reader *r)
{
	if (!r)
		return;
	ZSTD_freeDCtx(r->dc);
	free(r->ibuf);
	free(r->obuf);
	free(r);
}

uint64_t cords_reader_offset(const cords_reader *r) { return r->rec_start; }
uint64_t cords_reader_record_index(const cords_reader *r) { return r->index ? r->index - 1 : 0; }

static uint64_t rpos(const cords_reader *r) { return r->consumed + r->in.pos; }

static int rerr(cords_reader *r, const char *what)
{
	return cords_err("%s: record %llu at byte %llu: %s", r->name,
			 (unsigned long long)cords_reader_record_index(r),
			 (unsigned long long)r->rec_start, what);
}

/* Refill compressed input; returns bytes now available (0 at end of file). */
static size_t refill(cords_reader *r)
{
	if (r->in.pos < r->in.size)
		return r->in.size - r->in.pos;
	r->consumed += r->in.size;
	r->in.size = r->in.pos = 0;
	if (r->eof)
		return 0;
	size_t n = fread(r->ibuf, 1, r->isize, r->f);
	if (n < r->isize) {
		if (ferror(r->f)) {
			rerr(r, strerror(errno));
			return 0;
		}
		r->eof = 1;
	}
	r->in.size = n;
	return n;
}

/* Decode into dst (up to cap bytes) from the current frame. Returns bytes
 * produced, or -1. Producing 0 with frame_done set means the frame ended. */
static long long decode(cords_reader *r, void *dst, size_t cap)
{
	ZSTD_outBuffer out = {dst, cap, 0};
	for (;;) {
		if (r->in.pos == r->in.size && !refill(r)) {
			if (ferror(r->f))
				return -1;
			if (r->frame_done)
				return (long long)out.pos;
			return rerr(r, "stream truncated (record cut short)");
		}
		size_t rc = ZSTD_decompressStream(r->dc, &out, &r->in);
		if (ZSTD_isError(rc)) {
			ZSTD_DCtx_reset(r->dc, ZSTD_reset_session_only);
			if (ZSTD_getErrorCode(rc) == ZSTD_error_prefix_unknown)
				return rerr(r, "not a zstd frame (garbage or not a cords stream)");
			if (ZSTD_getErrorCode(rc) == ZSTD_error_checksum_wrong)
				return rerr(r, "checksum mismatch (data corrupt)");
			return rerr(r, ZSTD_getErrorName(rc));
		}
		r->frame_done = rc == 0;
		if (out.pos == cap || r->frame_done)
			return (long long)out.pos;
	}
}

/* Exactly n decoded bytes of the current frame into p. */
static int pull(cords_reader *r, void *p, size_t n)
{
	unsigned char *d = p;
	while (n) {
		if (r->opos < r->olen) {
			size_t k = r->olen - r->opos < n ? r->olen - r->opos : n;
			memcpy(d, r->obuf + r->opos, k);
			r->opos += k, d += k, n -= k;
			continue;
		}
		if (r->frame_done)
			return rerr(r, "record shorter than its header says");
		/* Large reads decode straight into the destination. */
		long long k = n >= r->osize ? decode(r, d, n) : decode(r, r->obuf, r->osize);
		if (k < 0)
			return -1;
		if (n >= r->osize)
			d += k, n -= (size_t)k;
		else
			r->opos = 0, r->olen = (size_t)k;
	}
	return 0;
}

/* The content size in the frame header ahead, so that a record header that
 * claims more data than its frame holds is refused before any allocation. */
static unsigned long long peek_frame_size(cords_reader *r)
{
	size_t avail = r->in.size - r->in.pos;
	if (avail < ZSTD_FRAMEHEADERSIZE_MAX && !r->eof) {
		memmove(r->ibuf, r->ibuf + r->in.pos, avail);
		r->consumed += r->in.pos;
		r->in.pos = 0;
		r->in.size = avail + fread(r->ibuf + avail, 1, r->isize - avail, r->f);
		if (r->in.size < r->isize)
			r->eof = 1;
	}
	ZSTD_frameHeader fh;
	if (ZSTD_getFrameHeader(&fh, r->ibuf + r->in.pos, r->in.size - r->in.pos) != 0 ||
	    fh.frameType != ZSTD_frame)
		return ZSTD_CONTENTSIZE_UNKNOWN;
	return fh.frameContentSize;
}

/* After the last data byte: the frame must end here (checksum verified). */
static int finish_record(cords_reader *r)
{
	unsigned char extra;
	r->in_record = 0;
	if (r->opos < r->olen)
		return rerr(r, "record longer than its header says");
	while (!r->frame_done) {
		long long k = decode(r, &extra, 1);
		if (k < 0)
			return -1;
		if (k > 0)
			return rerr(r, "record longer than its header says");
	}
	return 0;
}

int cords_read_header(cords_reader *r, cords_tensor *h)
{
	unsigned char fixed[HDR_FIXED];
	if (r->in_record && cords_read_skip(r))
		return -1;
	/* Skip zero-length input at a frame boundary: a clean end of stream. */
	if (r->in.pos == r->in.size && !refill(r))
		return ferror(r->f) ? -1 : 0;
	r->rec_start = rpos(r);
	r->frame_size = peek_frame_size(r);
	r->index++;
	r->frame_done = 0;
	r->opos = r->olen = 0;
	if (pull(r, fixed, HDR_FIXED))
		return -1;
	if (memcmp(fixed, CORDS_MAGIC, 4))
		return rerr(r, "not a cords record (bad magic)");
	memset(h, 0, sizeof *h);
	h->dtype = (cords_dtype)fixed[4];
	h->ndim = fixed[5];
	unsigned nlen = get_u16(fixed + 6);
	if (!cords_dtype_size(h->dtype))
		return rerr(r, "unknown dtype code");
	if (h->ndim > CORDS_MAX_DIMS)
		return rerr(r, "more than 8 dimensions");
	if (nlen > CORDS_NAME_MAX)
		return rerr(r, "name too long");
	unsigned char buf[8 * CORDS_MAX_DIMS];
	if (pull(r, buf, 8 * (size_t)h->ndim) || pull(r, h->name, nlen))
		return -1;
	h->name[nlen] = 0;
	for (int i = 0; i < h->ndim; i++) {
		uint64_t v = get_u64(buf + 8 * i);
		if (v > (UINT64_C(1) << 62))
			return rerr(r, "dimension too large");
		h->shape[i] = (int64_t)v;
	}
	if (cords_shape_nbytes(h->dtype, h->ndim, h->shape, &h->nbytes)) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", cords_errmsg());
		return rerr(r, msg);
	}
	if (memchr(h->name, 0, nlen))
		return rerr(r, "name contains a NUL byte");
	if (r->frame_size != ZSTD_CONTENTSIZE_UNKNOWN &&
	    r->frame_size != HDR_FIXED + 8 * (uint64_t)h->ndim + nlen + h->nbytes)
		return rerr(r, "record size does not match its zstd frame (corrupt header)");
	r->remaining = h->nbytes;
	r->in_record = 1;
	if (!h->nbytes)
		return finish_record(r) ? -1 : 1;
	return 1;
}

int cords_read_data(cords_reader *r, void *p, size_t n)
{
	if (!r->in_record || n > r->remaining)
		return rerr(r, "read past the end of the record");
	if (pull(r, p, n))
		return -1;
	r->remaining -= n;
	return r->remaining ? 0 : finish_record(r);
}

int cords_read_skip(cords_reader *r)
{
	unsigned char tmp[1 << 14];
	while (r->in_record) {
		size_t k = r->remaining < sizeof tmp ? r->remaining : sizeof tmp;
		if (cords_read_data(r, tmp, k))
			return -1;
	}
	return 0;
}

/* Large records are read into a buffer that grows as data arrives, so a
 * header claiming terabytes fails on the missing data, not on memory. */
#define GROW_FROM ((size_t)64 << 20)

static int read_growing(cords_reader *r, cords_tensor *x)
{
	size_t have = 0, cap = GROW_FROM;
	unsigned char *buf = aligned_alloc(64, cap);
	while (buf && have < x->nbytes) {
		if (have == cap) {
			size_t ncap = cap > x->nbytes / 2 ? x->nbytes : 2 * cap;
			unsigned char *nb = aligned_alloc(64, (ncap + 63) & ~(size_t)63);
			if (nb)
				memcpy(nb, buf, have);
			free(buf);
			buf = nb, cap = ncap;
			if (!buf)
				break;
		}
		size_t k = (cap < x->nbytes ? cap : x->nbytes) - have;
		if (cords_read_data(r, buf + have, k)) {
			free(buf);
			return -1;
		}
		have += k;
	}
	if (!buf)
		return rerr(r, "out of memory for the record");
	x->data = buf;
	return 0;
}

int cords_read_tensor(cords_reader *r, cords_tensor **out)
{
	cords_tensor h;
	int rc = cords_read_header(r, &h);
	*out = NULL;
	if (rc <= 0)
		return rc;
	int grow = h.nbytes > GROW_FROM;
	int64_t zero = 0;
	/* A growing record starts as an empty tensor of the right name and dtype. */
	cords_tensor *x = grow ? cords_tensor_new(h.name, h.dtype, 1, &zero)
			       : cords_tensor_new_uninit(h.name, h.dtype, h.ndim, h.shape);
	if (!x)
		return rerr(r, "out of memory for the record");
	if (grow) {
		x->ndim = h.ndim;
		memcpy(x->shape, h.shape, sizeof h.shape);
		x->nbytes = h.nbytes;
		rc = read_growing(r, x);
	} else {
		rc = x->nbytes ? cords_read_data(r, x->data, x->nbytes) : 0;
	}
	if (rc) {
		if (grow)
			x->data = NULL;
		cords_tensor_free(x);
		return -1;
	}
	*out = x;
	return 1;
}

int cords_read_file(const char *path, cords_tensor_list *out)
{
	int stdin_ = !strcmp(path, "-");
	FILE *f = stdin_ ? stdin : fopen(path, "rb");
	if (!f)
		return cords_err("%s: %s", path, strerror(errno));
	cords_reader *r = cords_reader_new(f, stdin_ ? "<stdin>" : path);
	int rc = r ? 0 : -1;
	cords_tensor *x;
	while (r && (rc = cords_read_tensor(r, &x)) > 0)
		if ((rc = cords_list_push(out, x)) < 0)
			break;
	cords_reader_free(r);
	if (!stdin_)
		fclose(f);
	return rc < 0 ? -1 : 0;
}
