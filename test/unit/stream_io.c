/* Tensor stream corners: the record index, a name of CORDS_NAME_MAX bytes,
 * compression threads, an empty record whose frame checksum
 * is damaged (an error, not an early end) or whose frame holds a byte
 * more, skipping a record, and a record above 64 MiB read into a growing
 * buffer. */
#include "err.h"
#include "stream.h"
#include "t.h"

#include <zstd.h>

static char *buf;
static size_t len;

static cords_writer *open_mem(FILE **f)
{
	*f = open_memstream(&buf, &len);
	return cords_writer_new(*f, "mem", 0);
}

static void close_mem(cords_writer *w, FILE *f)
{
	cords_writer_close(w);
	fclose(f);
}

int main(void)
{
	FILE *f;
	cords_writer *w;
	int64_t s3 = 3, s0 = 0;
	CASE("the index of the record being read; a name of CORDS_NAME_MAX bytes")
	{
		char name[CORDS_NAME_MAX + 1];
		memset(name, 'n', CORDS_NAME_MAX);
		name[CORDS_NAME_MAX] = 0;
		w = open_mem(&f);
		CHECK(cords_writer_threads(w, 2) == 0, "%s", cords_errmsg());
		cords_tensor *a = cords_tensor_new("a", CORDS_F32, 1, &s3), *b = cords_tensor_new(name, CORDS_F32, 1, &s3);
		cords_write_tensor(w, a);
		cords_write_tensor(w, b);
		close_mem(w, f);
		f = fmemopen(buf, len, "rb");
		cords_reader *r = cords_reader_new(f, "mem");
		cords_tensor *x = NULL, *y = NULL, *z = NULL;
		CHECK(cords_reader_record_index(r) == 0, "before any: %llu", (unsigned long long)cords_reader_record_index(r));
		CHECK(cords_read_tensor(r, &x) == 1 && cords_reader_record_index(r) == 0, "first: %llu",
		      (unsigned long long)cords_reader_record_index(r));
		CHECK(cords_read_tensor(r, &y) == 1 && cords_reader_record_index(r) == 1 && y && !strcmp(y->name, name),
		      "second: %llu, %s", (unsigned long long)cords_reader_record_index(r), cords_errmsg());
		CHECK(cords_read_tensor(r, &z) == 0 && !z, "end");
		cords_reader_free(r);
		fclose(f);
		free(buf);
		cords_tensor_free(x), cords_tensor_free(y), cords_tensor_free(a), cords_tensor_free(b);
	}
	CASE("an empty record whose frame checksum is damaged: an error, not the end of the stream")
	{
		w = open_mem(&f);
		cords_tensor *a = cords_tensor_new("a", CORDS_F32, 1, &s3), *e = cords_tensor_new("e", CORDS_F32, 1, &s0);
		cords_write_tensor(w, a);
		cords_write_tensor(w, e);
		cords_write_tensor(w, a);
		close_mem(w, f);
		/* the second frame's checksum: the 4 bytes before the third frame's magic */
		size_t third = 0;
		for (size_t i = len - 8; i > 4; i--)
			if (!memcmp(buf + i, "\x28\xb5\x2f\xfd", 4)) {
				third = i;
				break;
			}
		CHECK(third > 8, "no third frame");
		buf[third - 1] ^= 0x5a;
		f = fmemopen(buf, len, "rb");
		cords_reader *r = cords_reader_new(f, "mem");
		cords_tensor *x = NULL;
		int n = 0, rc;
		while ((rc = cords_read_tensor(r, &x)) > 0)
			n++, cords_tensor_free(x);
		CHECK(rc < 0 && n == 1, "%d records, then %d: %s", n, rc, cords_errmsg());
		cords_reader_free(r);
		fclose(f);
		free(buf);
		cords_tensor_free(a), cords_tensor_free(e);
	}
	CASE("an empty record with a byte after it in a frame of unknown size: an error")
	{
		w = open_mem(&f);
		cords_tensor *e = cords_tensor_new("e", CORDS_F32, 1, &s0);
		cords_write_tensor(w, e);
		close_mem(w, f);
		unsigned char raw[64], frame[256];
		size_t n = ZSTD_decompress(raw, sizeof raw - 1, buf, len);
		CHECK(!ZSTD_isError(n) && n < sizeof raw - 1, "decompress");
		raw[n++] = 0; /* one byte the record does not own */
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
		ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
		size_t fl = ZSTD_compress2(cc, frame, sizeof frame, raw, n);
		ZSTD_freeCCtx(cc);
		CHECK(!ZSTD_isError(fl), "compress");
		FILE *g = fmemopen(frame, fl, "rb");
		cords_reader *r = cords_reader_new(g, "mem");
		cords_tensor *x = NULL;
		CHECK(cords_read_tensor(r, &x) < 0 && !x, "the extra byte went unnoticed");
		cords_reader_free(r);
		fclose(g);
		/* skipping a record's data: the next record is read whole */
		free(buf);
		w = open_mem(&f);
		cords_tensor *a = cords_tensor_new("a", CORDS_F32, 1, &s3);
		((float *)a->data)[2] = 7;
		cords_write_tensor(w, a);
		cords_write_tensor(w, a);
		close_mem(w, f);
		g = fmemopen(buf, len, "rb");
		r = cords_reader_new(g, "mem");
		cords_tensor h;
		CHECK(cords_read_header(r, &h) == 1 && cords_read_skip(r) == 0 && cords_read_tensor(r, &x) == 1 && x &&
			      ((float *)x->data)[2] == 7,
		      "skip: %s", cords_errmsg());
		cords_tensor_free(x);
		cords_reader_free(r);
		fclose(g);
		free(buf);
		cords_tensor_free(a), cords_tensor_free(e);
	}
	CASE("reads of every length around the decoder's block: the data past the first block, byte for byte")
	{
		/* After the header a block of ZSTD_DStreamOutSize() bytes is decoded; what the record
		 * still lacks is then read straight into the tensor when it is a block or more. Lengths
		 * around two blocks less the header put that read at one block exactly. */
		const size_t blk = ZSTD_DStreamOutSize(), hlen = 8 + 8 + 1;
		int bad = 0;
		for (size_t n = 2 * blk - hlen - 2; n <= 2 * blk - hlen + 2 && !bad; n++) {
			int64_t sn = (int64_t)n;
			cords_tensor *a = cords_tensor_new("x", CORDS_U8, 1, &sn), *x = NULL;
			for (size_t i = 0; i < n; i++)
				((unsigned char *)a->data)[i] = (unsigned char)(i * 7 % 251);
			w = open_mem(&f);
			cords_write_tensor(w, a);
			close_mem(w, f);
			f = fmemopen(buf, len, "rb");
			cords_reader *r = cords_reader_new(f, "mem");
			bad = !(cords_read_tensor(r, &x) == 1 && x && x->nbytes == n && !memcmp(x->data, a->data, n));
			CHECK(!bad, "%zu bytes read back differ: %s", n, cords_errmsg());
			cords_reader_free(r);
			fclose(f);
			free(buf);
			cords_tensor_free(x), cords_tensor_free(a);
		}
	}
	CASE("a record above 64 MiB, read into a buffer that grows")
	{
		int64_t n = (64 << 20) / 4 + 3;
		cords_tensor *a = cords_tensor_new("big", CORDS_F32, 1, &n);
		float *d = a->data;
		for (int64_t i = 0; i < n; i += 4096)
			d[i] = (float)i;
		d[n - 1] = -1;
		w = open_mem(&f);
		CHECK(cords_write_tensor(w, a) == 0, "%s", cords_errmsg());
		close_mem(w, f);
		f = fmemopen(buf, len, "rb");
		cords_reader *r = cords_reader_new(f, "mem");
		cords_tensor *x = NULL;
		CHECK(cords_read_tensor(r, &x) == 1 && x && x->nbytes == a->nbytes && x->ndim == 1 && x->shape[0] == n &&
			      !strcmp(x->name, "big") && !memcmp(x->data, a->data, a->nbytes),
		      "read back: %s", cords_errmsg());
		cords_tensor_free(x);
		cords_reader_free(r);
		fclose(f);
		/* cut short: an error, and nothing returned */
		f = fmemopen(buf, len / 2, "rb");
		r = cords_reader_new(f, "mem");
		x = NULL;
		CHECK(cords_read_tensor(r, &x) < 0 && !x, "a truncated big record read");
		cords_reader_free(r);
		fclose(f);
		free(buf);
		cords_tensor_free(a);
	}
	T_DONE();
}
