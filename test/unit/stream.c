/* Tensor stream: round trips, records in parts, concatenation, metadata, and
 * every kind of damage detected. */
#include "stream.h"
#include "err.h"
#include "meta.h"
#include "t.h"

static cords_tensor *ramp(const char *name, int ndim, const int64_t *shape)
{
	cords_tensor *x = cords_tensor_new(name, CORDS_F32, ndim, shape);
	float *d = x->data;
	for (int64_t i = 0; i < cords_tensor_numel(x); i++)
		d[i] = (float)i * 0.5f - 3.0f;
	return x;
}

/* Write tensors into a memory buffer. */
static size_t write_mem(char **buf, cords_tensor **xs, int n)
{
	size_t len;
	FILE *f = open_memstream(buf, &len);
	cords_writer *w = cords_writer_new(f, "mem", 0);
	for (int i = 0; i < n; i++)
		cords_write_tensor(w, xs[i]);
	cords_writer_close(w);
	fclose(f);
	return len;
}

static int read_all(const char *buf, size_t len, cords_tensor_list *l)
{
	FILE *f = fmemopen((void *)buf, len, "rb");
	cords_reader *r = cords_reader_new(f, "mem");
	cords_tensor *x;
	int rc;
	while ((rc = cords_read_tensor(r, &x)) > 0)
		cords_list_push(l, x);
	cords_reader_free(r);
	fclose(f);
	return rc;
}

int main(void)
{
	int64_t s1[] = {2, 3, 4}, s2[] = {1000, 37}, s0[] = {0, 5};
	cords_tensor *xs[3] = {ramp("a", 3, s1), ramp("bb/with.dots", 2, s2), ramp("empty", 2, s0)};
	char *buf;
	size_t len = write_mem(&buf, xs, 3);

	CASE("round trip keeps names, shapes, bytes") {
		cords_tensor_list l = {0};
		CHECK(read_all(buf, len, &l) == 0, "read: %s", cords_errmsg());
		CHECK(l.n == 3, "%d records", l.n);
		for (int i = 0; i < l.n && i < 3; i++) {
			CHECK(!strcmp(l.items[i]->name, xs[i]->name), "name %s", l.items[i]->name);
			CHECK(l.items[i]->ndim == xs[i]->ndim, "ndim");
			CHECK(l.items[i]->nbytes == xs[i]->nbytes, "nbytes");
			CHECK(!xs[i]->nbytes || !memcmp(l.items[i]->data, xs[i]->data, xs[i]->nbytes), "data %d", i);
		}
		cords_list_free(&l);
	}
	CASE("frames are standard zstd with a content checksum") {
		CHECK((unsigned char)buf[0] == 0x28 && (unsigned char)buf[1] == 0xb5, "zstd magic");
		CHECK(buf[4] & 0x04, "checksum flag in frame header");
	}
	CASE("concatenated streams are one stream") {
		char *two = malloc(2 * len);
		memcpy(two, buf, len);
		memcpy(two + len, buf, len);
		cords_tensor_list l = {0};
		CHECK(read_all(two, 2 * len, &l) == 0, "read: %s", cords_errmsg());
		CHECK(l.n == 6, "%d records", l.n);
		cords_list_free(&l);
		free(two);
	}
	CASE("truncation anywhere is an error, never a short success") {
		int bad = 0;
		for (size_t cut = 1; cut < len; cut += 7) {
			cords_tensor_list l = {0};
			int rc = read_all(buf, cut, &l);
			int complete = l.n == 3; /* cutting exactly at a record end is a valid stream */
			if (rc == 0 && !complete) {
				/* then the cut must be at a record boundary */
				size_t ends = 0;
				char *b1;
				for (int k = 1; k <= 3; k++) {
					size_t lk = write_mem(&b1, xs, k);
					free(b1);
					if (lk == cut)
						ends = 1;
				}
				if (!ends)
					bad++;
			}
			cords_list_free(&l);
		}
		CHECK(bad == 0, "%d truncations read without error", bad);
	}
	CASE("a flipped byte in the data is detected") {
		int missed = 0;
		for (size_t pos = 20; pos < len; pos += len / 17) {
			char *c = malloc(len);
			memcpy(c, buf, len);
			c[pos] ^= 0x5a;
			cords_tensor_list l = {0};
			int rc = read_all(c, len, &l);
			if (rc == 0) { /* must then at least equal the original */
				for (int i = 0; i < l.n && i < 3; i++)
					if (l.items[i]->nbytes != xs[i]->nbytes ||
					    (xs[i]->nbytes && memcmp(l.items[i]->data, xs[i]->data, xs[i]->nbytes)))
						missed++;
			}
			cords_list_free(&l);
			free(c);
		}
		CHECK(missed == 0, "%d corruptions went unnoticed", missed);
	}
	CASE("garbage is reported with a record index and offset") {
		char g[64];
		memset(g, 'x', sizeof g);
		cords_tensor_list l = {0};
		CHECK(read_all(g, sizeof g, &l) < 0, "garbage accepted");
		CHECK(strstr(cords_errmsg(), "byte 0") != NULL, "message: %s", cords_errmsg());
		cords_list_free(&l);
	}
	CASE("records written and read in parts") {
		size_t mlen;
		char *mbuf;
		FILE *f = open_memstream(&mbuf, &mlen);
		cords_writer *w = cords_writer_new(f, "mem", 0);
		int64_t sh[] = {10, 4};
		CHECK(cords_write_begin(w, "r0", CORDS_F32, 2, sh) == 0, "begin");
		for (int t = 0; t < 10; t++) {
			float row[4] = {(float)t, 1, 2, 3};
			CHECK(cords_write_data(w, row, sizeof row) == 0, "data");
		}
		CHECK(cords_write_end(w) == 0, "end");
		CHECK(cords_write_begin(w, "short", CORDS_F32, 2, sh) == 0, "begin");
		CHECK(cords_write_end(w) < 0, "short record accepted");
		cords_writer_free(w);
		fclose(f);
		FILE *g = fmemopen(mbuf, mlen, "rb");
		cords_reader *r = cords_reader_new(g, "mem");
		cords_tensor h;
		CHECK(cords_read_header(r, &h) == 1, "header");
		float row[4];
		for (int t = 0; t < 10; t++) {
			CHECK(cords_read_data(r, row, sizeof row) == 0, "row %d", t);
			CHECK(row[0] == (float)t, "row %d value", t);
		}
		cords_reader_free(r);
		fclose(g);
		free(mbuf);
	}
	CASE("metadata set, replace, get") {
		int64_t z = 0;
		cords_tensor *m = cords_tensor_new("meta", CORDS_TEXT, 1, &z);
		CHECK(cords_meta_set(m, "depth", "4") == 0, "set");
		CHECK(cords_meta_set(m, "stage", "cnn") == 0, "set");
		CHECK(cords_meta_set(m, "depth", "8") == 0, "replace");
		char *v = cords_meta_get(m, "depth"), *s = cords_meta_get(m, "stage");
		CHECK(v && !strcmp(v, "8"), "depth=%s", v ? v : "(null)");
		CHECK(s && !strcmp(s, "cnn"), "stage=%s", s ? s : "(null)");
		CHECK(cords_meta_get(m, "dept") == NULL, "prefix matched");
		CHECK(cords_meta_set(m, "a=b", "1") < 0, "bad key accepted");
		free(v);
		free(s);
		cords_tensor_free(m);
	}
	CASE("overflowing shapes are refused") {
		int64_t big[] = {INT64_C(1) << 40, INT64_C(1) << 40};
		CHECK(cords_tensor_new("x", CORDS_F32, 2, big) == NULL, "allocated");
		CHECK(strstr(cords_errmsg(), "overflow") != NULL, "%s", cords_errmsg());
	}
	CASE("half and bfloat16 conversions") {
		float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.96e-08f, 0.333251953125f};
		for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
			CHECK_CLOSE(cords_half_to_float(cords_float_to_half(vals[i])), vals[i], 1e-3, 1e-7);
			CHECK_CLOSE(cords_bf16_to_float(cords_float_to_bf16(vals[i])), vals[i], 1e-2, 1e-30);
		}
		CHECK(cords_float_to_half(1.0f) == 0x3c00, "1.0 -> %x", cords_float_to_half(1.0f));
		CHECK(cords_float_to_bf16(1.0f) == 0x3f80, "bf16 1.0");
	}
	for (int i = 0; i < 3; i++)
		cords_tensor_free(xs[i]);
	free(buf);
	T_DONE();
}
