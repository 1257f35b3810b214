/* Batches: u8 pixels normalised from the stream's metadata, hard and soft
 * labels, rewinding a file, and the errors for bad records. */
#include "arch.h"
#include "batch.h"
#include "err.h"
#include "input.h"
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
	CASE("list values: commas, blanks or both, the same numbers") {
		static const char *same[] = {"0.1,0.2,0.3", "0.1 0.2 0.3", "0.1, 0.2, 0.3", " 0.1 ,0.2\t0.3 "};
		for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
			double v[3] = {0};
			CHECK(cords_meta_numbers(same[i], v, 3) == 3 && v[0] == 0.1 && v[1] == 0.2 && v[2] == 0.3, "'%s'", same[i]);
		}
		static const char *bad[] = {"", " ", "0.1,", ",0.1", "0.1,,0.2", "0.1x", "0.1,x", "nan", "1,inf", "1 2 3 4"};
		for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
			double v[3];
			CHECK(cords_meta_numbers(bad[i], v, 3) < 0, "'%s' accepted", bad[i]);
		}
	}
	CASE("norm_mean/norm_std: one parser, the same rules") {
		cords_norm a, c;
		CHECK(cords_norm_parse("0.5 0.25", "0.1, 0.2", &a) == 0 && cords_norm_parse("0.5,0.25", "0.1,0.2", &c) == 0 &&
			      a.n == 2 && !memcmp(&a, &c, sizeof a), "%s", cords_errmsg());
		CHECK(cords_norm_parse("0.5", NULL, &a) < 0 && strstr(cords_errmsg(), "go together"), "%s", cords_errmsg());
		CHECK(cords_norm_parse("0.5,0.5", "0.2", &a) < 0 && strstr(cords_errmsg(), "do not match"), "%s", cords_errmsg());
		CHECK(cords_norm_parse("0.5", "0", &a) < 0 && strstr(cords_errmsg(), "positive"), "%s", cords_errmsg());
	}
	cords_batch_free(&b);
	cords_batches_close(r);
	unlink(path);
	CASE("the record rules: meta taken anywhere, other records and a stray y skipped, y optional") {
		unsigned char u[4] = {0, 51, 102, 255};
		int64_t y1 = 7;
		float pr[4] = {0.25f, 0.75f, 1, 0};
		f = fopen(path, "wb");
		w = cords_writer_new(f, path, 0);
		put(w, "y", CORDS_I64, 1, 1, 0, 0, 0, &y1);                 /* a y without its x */
		put(w, "x", CORDS_U8, 4, 1, 1, 2, 2, u);                    /* batch 1: no labels */
		put(w, "notes", CORDS_I64, 1, 1, 0, 0, 0, &y1);
		m = cords_meta_new();
		cords_meta_set(m, "norm_mean", "0.2");
		cords_meta_set(m, "norm_std", "0.5");
		cords_write_tensor(w, m);
		cords_tensor_free(m);
		put(w, "x", CORDS_U8, 4, 2, 1, 2, 1, u);                    /* batch 2: y after another record */
		put(w, "logits", CORDS_F32, 2, 2, 2, 0, 0, pr);
		put(w, "y", CORDS_I32, 1, 2, 0, 0, 0, (int32_t[]){1, 2});
		put(w, "x", CORDS_F32, 4, 2, 1, 1, 1, pr);                /* batch 3: soft labels */
		put(w, "y", CORDS_F32, 2, 2, 2, 0, 0, pr);
		put(w, "x", CORDS_F32, 4, 1, 1, 1, 1, pr);                /* batch 4: no labels, at the end */
		cords_writer_close(w);
		fclose(f);
		r = cords_batches_open(path, NULL, NULL);
		cords_batches_expect(r, 0, 0, 0, 0, 1);
		CHECK(cords_batches_next(r, &b) == 1 && b.B == 1 && !b.hard && !b.soft, "batch 1: %s", cords_errmsg());
		CHECK(b.x && b.x[1] == 51 / 255.0f, "batch 1: plain x/255 before any meta");
		CHECK(cords_batches_next(r, &b) == 1 && b.B == 2 && b.hard && b.hard[1] == 2, "batch 2: %s", cords_errmsg());
		CHECK(b.x && b.x[1] == (51 / 255.0f - 0.2f) / 0.5f, "batch 2: normalised by the meta before it");
		CHECK(cords_batches_next(r, &b) == 1 && b.soft && b.N == 2 && b.soft[1] == 0.75f, "batch 3: %s", cords_errmsg());
		CHECK(cords_batches_next(r, &b) == 1 && b.B == 1 && !b.hard && !b.soft, "batch 4: %s", cords_errmsg());
		CHECK(cords_batches_next(r, &b) == 0, "end: %s", cords_errmsg());
		char *v = cords_batches_meta(r, "norm_std");
		CHECK(v && !strcmp(v, "0.5"), "the stream's meta");
		free(v);
		CHECK(cords_batches_rewind(r) == 0, "%s", cords_errmsg());
		cords_batches_expect(r, 0, 0, 0, 0, 0);
		CHECK(cords_batches_next(r, &b) < 0 && strstr(cords_errmsg(), "batch 1: x without y"), "%s", cords_errmsg());
		CHECK(cords_batches_rewind(r) == 0, "%s", cords_errmsg());
		cords_batches_expect(r, 1, 2, 2, 2, 1);
		CHECK(cords_batches_next(r, &b) == 1, "%s", cords_errmsg());
		CHECK(cords_batches_next(r, &b) < 0 && strstr(cords_errmsg(), "batch x [2,1,2,1] does not fit the model (expects [B,1,2,2])"),
		      "checked at the header: %s", cords_errmsg());
		CHECK(cords_batches_rewind(r) == 0, "%s", cords_errmsg());
		cords_batches_expect(r, 0, 0, 0, 3, 1);
		CHECK(cords_batches_next(r, &b) == 1 && cords_batches_next(r, &b) == 1 && cords_batches_next(r, &b) < 0 &&
			      strstr(cords_errmsg(), "batch 3: batch y has 2 classes but the model has 3"), "%s", cords_errmsg());
		cords_batch_free(&b);
		cords_batches_close(r);
		unlink(path);
	}
	CASE("training batches and inference input normalise u8 alike, as torchvision (f32)") {
		/* every pixel value in each of 3 channels; the statistics written
		 * with blanks for the training reader, with commas for inference */
		static const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, sd[3] = {0.2470f, 0.2435f, 0.2616f};
		cords_tensor *x = cords_tensor_new("x", CORDS_U8, 4, (int64_t[]){1, 3, 16, 16});
		int64_t y1 = 0;
		for (int i = 0; i < 3 * 256; i++)
			((uint8_t *)x->data)[i] = (uint8_t)(i * 7 + i / 256);
		f = fopen(path, "wb");
		w = cords_writer_new(f, path, 0);
		m = cords_meta_new();
		cords_meta_set(m, "norm_mean", "0.4914 0.4822 0.4465");
		cords_meta_set(m, "norm_std", "0.2470  0.2435 0.2616");
		cords_write_tensor(w, m);
		cords_write_tensor(w, x);
		put(w, "y", CORDS_I64, 1, 1, 0, 0, 0, &y1);
		cords_writer_close(w);
		fclose(f);
		cords_tensor_free(m);
		r = cords_batches_open(path, NULL, NULL);
		CHECK(r && cords_batches_next(r, &b) == 1, "%s", cords_errmsg());
		cords_norm nm;
		m = cords_meta_new();
		cords_meta_set(m, "norm_mean", "0.4914,0.4822,0.4465");
		cords_meta_set(m, "norm_std", "0.2470,0.2435,0.2616");
		float in[3 * 256], want[3 * 256];
		CHECK(cords_norm_from_meta(m, &nm) == 1 && cords_input_f32(x, &nm, in) == 0, "%s", cords_errmsg());
		for (int i = 0; i < 3 * 256; i++) {
			volatile float v = ((uint8_t *)x->data)[i] / 255.0f; /* ToTensor: x.float().div(255) */
			v = v - mean[i / 256];                                  /* Normalize: sub_(mean) */
			want[i] = v / sd[i / 256];                              /* then div_(std) */
		}
		CHECK(b.x && !memcmp(b.x, in, sizeof in), "training and inference differ");
		CHECK(!memcmp(in, want, sizeof in), "not torchvision's f32 arithmetic");
		cords_tensor_free(m);
		cords_tensor_free(x);
		cords_batch_free(&b);
		cords_batches_close(r);
		unlink(path);
	}
	T_DONE();
}
