/* Tensor stream corners: the record index, a name of CORDS_NAME_MAX bytes,
 * compression threads, an empty record whose frame checksum
 * is damaged (an error, not an early end), and a record above 64 MiB read
 * into a growing buffer. */
#include "err.h"
#include "stream.h"
#include "t.h"

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
