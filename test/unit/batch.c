/* Batches: u8 pixels normalised from the stream's metadata, hard and soft
 * labels, rewinding a file, and the errors for bad records. */
#include "arch.h"
#include "batch.h"
#include "err.h"
#include "meta.h"
#include "stream.h"
#include "t.h"

#include <unistd.h>

static void put(cords_writer *w, const char *name, cords_dtype t, int nd, int64_t s0, int64_t s1, int64_t s2,
		int64_t s3, const void *data)
{
	int64_t s[4] = {s0, s1, s2, s3};
	cords_tensor *x = cords_tensor_new(name, t, nd, s);
	memcpy(x->data, data, x->nbytes);
	cords_write_tensor(w, x);
	cords_tensor_free(x);
}

int main(void)
{
	char path[] = "/tmp/cords-batch-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "wb");
	cords_writer *w = cords_writer_new(f, path, 0);
	cords_tensor *m = cords_meta_new();
	cords_meta_set(m, "norm_mean", "0.5");
	cords_meta_set(m, "norm_std", "0.25");
	cords_write_tensor(w, m);
	unsigned char px[2 * 1 * 2 * 2] = {0, 255, 51, 102, 0, 0, 0, 255};
	int64_t y[2] = {3, 1};
	float soft[2 * 3] = {0.5f, 0.5f, 0, 0, 0, 1};
	float xf[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8};
	put(w, "x", CORDS_U8, 4, 2, 1, 2, 2, px);
	put(w, "y", CORDS_I64, 1, 2, 0, 0, 0, y);
	put(w, "x", CORDS_F32, 4, 2, 1, 2, 2, xf);
	put(w, "y", CORDS_F32, 2, 2, 3, 0, 0, soft);
	put(w, "x", CORDS_F32, 4, 2, 1, 2, 2, xf);
	put(w, "y", CORDS_I64, 1, 1, 0, 0, 0, y);
	cords_writer_close(w);
	fclose(f);
	cords_tensor_free(m);
	cords_batches *r = cords_batches_open(path, NULL, NULL);
	cords_batch b = {0};
	CASE("u8 pixels normalised by the stream's metadata, hard labels") {
		CHECK(r && cords_batches_next(r, &b) == 1, "%s", cords_errmsg());
		CHECK(b.B == 2 && b.C == 1 && b.H == 2 && b.hard && b.hard[0] == 3, "shape or labels");
		CHECK_CLOSE(b.x[0], -2, 1e-6, 0);
		CHECK_CLOSE(b.x[1], 2, 1e-6, 0);
		CHECK_CLOSE(b.x[2], (0.2 - 0.5) / 0.25, 1e-6, 0);
	}
	CASE("float pixels kept, soft labels") {
		CHECK(cords_batches_next(r, &b) == 1 && b.soft && b.N == 3 && b.x[7] == 8, "%s", cords_errmsg());
	}
	CASE("y rows must match x") {
		CHECK(cords_batches_next(r, &b) < 0 && strstr(cords_errmsg(), "y has 1 rows, x has 2"), "%s", cords_errmsg());
	}
	CASE("a file can be read again") {
		CHECK(cords_batches_rewind(r) == 0 && cords_batches_next(r, &b) == 1 && b.hard, "%s", cords_errmsg());
	}
	CASE("float list parsing") {
		float v[3];
		CHECK(cords_parse_floats("0.1,0.2,0.3", v, 3) == 3 && v[2] == 0.3f, "three");
		CHECK(cords_parse_floats("0.1,x", v, 3) < 0, "junk accepted");
	}
	cords_batch_free(&b);
	cords_batches_close(r);
	unlink(path);
	T_DONE();
}
