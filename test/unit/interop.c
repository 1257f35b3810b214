/* PyTorch / safetensors / NumPy readers and writers against the fixtures
 * made by testdata/interop/gen.py (torch 1.13 + numpy), bit for bit. */
#include "blob.h"
#include "err.h"
#include "meta.h"
#include "npy.h"
#include "pickle.h"
#include "pth.h"
#include "safetensors.h"
#include "t.h"
#include "zip.h"

#include <unistd.h>
#include <zlib.h>

static char dir[4096];

static const char *fx(const char *name)
{
	static char p[8192];
	if (name[0] == '/')
		return name;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

typedef int (*reader)(const void *, size_t, cords_tensor_list *);

static int st_reader(const void *b, size_t n, cords_tensor_list *l)
{
	return cords_safetensors_parse(b, n, l, NULL);
}

static int load(const char *name, reader r, cords_tensor_list *l)
{
	cords_blob b;
	if (cords_blob_load(fx(name), &b))
		return -1;
	int rc = r(b.p, b.n, l);
	cords_blob_free(&b);
	return rc;
}

static unsigned long crc_f32(const cords_tensor *x)
{
	cords_tensor *y = cords_tensor_to_f32(x);
	unsigned long c = crc32(0, Z_NULL, 0);
	c = crc32(c, y->data, (uInt)y->nbytes);
	cords_tensor_free(y);
	return c;
}

/* Every "name crc32" line of the expectation file matches the tensor. */
static void check_crcs(const char *fixture, reader r, const char *crcfile)
{
	cords_tensor_list l = {0};
	CHECK(load(fixture, r, &l) == 0, "%s: %s", fixture, cords_errmsg());
	FILE *f = fopen(fx(crcfile), "r");
	CHECK(f != NULL, "no %s", crcfile);
	char name[512];
	unsigned long want;
	int lines = 0;
	while (f && fscanf(f, "%511s %lx", name, &want) == 2) {
		const cords_tensor *x = cords_list_find(&l, name);
		lines++;
		CHECK(x != NULL, "%s: %s missing", fixture, name);
		if (x)
			CHECK(crc_f32(x) == want, "%s: %s differs", fixture, name);
	}
	CHECK(lines > 10 && lines == l.n, "%s: %d expected, %d read", fixture, lines, l.n);
	if (f)
		fclose(f);
	cords_list_free(&l);
}

static int fails_with(const char *fixture, reader r, const char *msg)
{
	cords_tensor_list l = {0};
	int rc = load(fixture, r, &l);
	cords_list_free(&l);
	if (rc == 0 || !strstr(cords_errmsg(), msg)) {
		printf("    %s: '%s'\n", fixture, rc ? cords_errmsg() : "no error");
		return 0;
	}
	return 1;
}

static int npy_file(const char *name, cords_tensor **x)
{
	return cords_npy_read_file(fx(name), "x", x);
}

static cords_pkl_doc *unpickle_file(const char *name, cords_blob *b)
{
	if (cords_blob_load(fx(name), b))
		return NULL;
	return cords_unpickle(b->p, b->n);
}

/* A pickle from C bytes: 1 if it unpickles, 0 if refused (message kept). */
static int unpickles(const char *bytes, size_t n)
{
	cords_pkl_doc *d = cords_unpickle(bytes, n);
	cords_pkl_free(d);
	return d != NULL;
}

#define UNPICKLES(lit) unpickles(lit, sizeof lit - 1)

static void write_read(const cords_tensor_list *l, int (*w)(FILE *, const cords_tensor_list *),
		       reader r, cords_tensor_list *back)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	CHECK(w(f, l) == 0, "write: %s", cords_errmsg());
	fclose(f);
	CHECK(r(buf, n, back) == 0, "read back: %s", cords_errmsg());
	free(buf);
}

static int w_pth(FILE *f, const cords_tensor_list *l) { return cords_pth_write(f, "mem", l); }
static int w_st(FILE *f, const cords_tensor_list *l) { return cords_safetensors_write(f, "mem", l, NULL); }
static int w_npz(FILE *f, const cords_tensor_list *l)
{
	cords_zipw *z = cords_zipw_new(f, "mem", 1);
	for (int i = 0; i < l->n; i++)
		if (cords_npz_add(z, l->items[i]->name, l->items[i]))
			return -1;
	return cords_zipw_close(z);
}

static int same(const cords_tensor *a, const cords_tensor *b)
{
	return a && b && !strcmp(a->name, b->name) && a->dtype == b->dtype && a->ndim == b->ndim &&
	       !memcmp(a->shape, b->shape, sizeof a->shape[0] * (size_t)a->ndim) &&
	       a->nbytes == b->nbytes && (!a->nbytes || !memcmp(a->data, b->data, a->nbytes));
}

static void mixed_list(cords_tensor_list *l)
{
	int64_t s2[2] = {2, 3}, s0[1] = {0};
	cords_dtype types[] = {CORDS_F32, CORDS_F16, CORDS_BF16, CORDS_F64, CORDS_I64, CORDS_U8, CORDS_BOOL};
	for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
		char name[32];
		snprintf(name, sizeof name, "t%zu.%s", k, cords_dtype_name(types[k]));
		cords_tensor *x = cords_tensor_new(name, types[k], k == 4 ? 0 : 2, s2);
		for (size_t i = 0; i < x->nbytes; i++)
			((unsigned char *)x->data)[i] = (unsigned char)(i * 37 + k);
		if (types[k] == CORDS_BOOL)
			for (size_t i = 0; i < x->nbytes; i++)
				((unsigned char *)x->data)[i] &= 1;
		cords_list_push(l, x);
	}
	cords_list_push(l, cords_tensor_new("empty", CORDS_F32, 1, s0));
}

int main(void)
{
	const char *td = getenv("TESTDATA");
	snprintf(dir, sizeof dir, "%s/interop", td ? td : "testdata");

	CASE("torch.save state_dict, bit for bit") check_crcs("r2.pth", cords_pth_parse, "r2.crc");
	CASE("{state_dict}, module. prefix, bf16, Parameter")
		check_crcs("r2_module.pth", cords_pth_parse, "r2_module.crc");
	CASE("views into shared storages, f16, f64") check_crcs("r2_view.pth", cords_pth_parse, "r2_view.crc");
	CASE("safetensors F32/F16/BF16/F64") check_crcs("r2.safetensors", st_reader, "r2_safetensors.crc");
	CASE("npz (deflated) of f16/f32") check_crcs("r2.npz", cords_npz_parse, "r2_npz.crc");
	CASE("safetensors by the safetensors library (gen_safetensors.py): every dtype, 0-d, empty, __metadata__") {
		check_crcs("lib.safetensors", st_reader, "lib.crc");
		cords_blob b = {0};
		cords_tensor_list l = {0};
		cords_tensor *meta = NULL;
		CHECK(!cords_blob_load(fx("lib.safetensors"), &b) && !cords_safetensors_parse(b.p, b.n, &l, &meta), "%s",
		      cords_errmsg());
		FILE *f = fopen(fx("lib.meta"), "r");
		char line[512];
		int keys = 0;
		while (f && meta && fgets(line, sizeof line, f)) {
			line[strcspn(line, "\n")] = 0;
			char *eq = strchr(line, '='), *v;
			if (!eq)
				continue;
			*eq = 0;
			v = cords_meta_get(meta, line);
			CHECK(v && !strcmp(v, eq + 1), "__metadata__ %s: %s, expected %s", line, v ? v : "missing", eq + 1);
			free(v);
			keys++;
		}
		CHECK(keys == 3, "%d metadata keys compared", keys);
		if (f)
			fclose(f);
		const cords_tensor *s = cords_list_find(&l, "scalar"), *e = cords_list_find(&l, "empty");
		CHECK(s && s->ndim == 0 && e && e->ndim == 2 && e->shape[0] == 0 && e->shape[1] == 3, "0-d and empty shapes");
		cords_tensor_free(meta);
		cords_list_free(&l);
		cords_blob_free(&b);
	}

	CASE("torch 2.x style zip: ZIP64, descriptors, CRC 0, byteorder") {
		const char *files[] = {"torch2.pth", "torch2_big.pth"};
		for (int k = 0; k < 2; k++) {
			cords_tensor_list l = {0};
			CHECK(load(files[k], cords_pth_parse, &l) == 0, "%s: %s", files[k], cords_errmsg());
			const cords_tensor *w = cords_list_find(&l, "w"), *h = cords_list_find(&l, "h"),
					   *n = cords_list_find(&l, "n");
			CHECK(w && w->ndim == 2 && w->shape[0] == 3 && w->shape[1] == 4, "w shape");
			for (int i = 0; w && i < 12; i++)
				CHECK(((float *)w->data)[i] == (float)i / 8, "%s: w[%d]", files[k], i);
			CHECK(h && h->dtype == CORDS_F16 && cords_get_f64(h, 0) == 1.5 && cords_get_f64(h, 1) == -2.25,
			      "%s: h", files[k]);
			CHECK(n && n->dtype == CORDS_I64 && ((int64_t *)n->data)[0] == 5 && ((int64_t *)n->data)[1] == -6,
			      "%s: n", files[k]);
			cords_list_free(&l);
		}
	}

	CASE("malicious and broken checkpoints are refused, naming the problem") {
		CHECK(fails_with("bad/os_system.pth", cords_pth_parse, "global os.system is not allowed"), "os");
		CHECK(fails_with("bad/builtins_eval.pth", cords_pth_parse, "builtins.eval"), "eval");
		CHECK(fails_with("bad/subprocess_popen.pth", cords_pth_parse, "subprocess.Popen"), "Popen");
		CHECK(fails_with("bad/deep_nesting.pth", cords_pth_parse, "nesting deeper"), "deep");
		CHECK(fails_with("bad/many_marks.pth", cords_pth_parse, "MARK"), "marks");
		CHECK(fails_with("bad/huge_string.pth", cords_pth_parse, "past the end"), "huge string");
		CHECK(fails_with("bad/huge_bytes8.pth", cords_pth_parse, "past the end"), "huge bytes8");
		CHECK(fails_with("bad/unknown_opcode.pth", cords_pth_parse, "opcode 0x82"), "opcode");
		CHECK(fails_with("bad/not_a_dict.pth", cords_pth_parse, "not a state_dict"), "list");
		CHECK(fails_with("bad/missing_storage.pth", cords_pth_parse, "archive/data/0 is missing"), "storage");
		CHECK(fails_with("bad/legacy.pth", cords_pth_parse, "legacy"), "legacy");
		CHECK(fails_with("bad/expand.pth", cords_pth_parse, "4 times the file"), "stride-0 view");
		/* gen_malicious.py: by_hand.pth is the control those are made from */
		cords_tensor_list l = {0};
		CHECK(load("by_hand.pth", cords_pth_parse, &l) == 0 && l.n == 1 && l.items[0]->shape[1] == 3,
		      "by_hand: %s", cords_errmsg());
		cords_list_free(&l);
		CHECK(fails_with("bad/key_parent.pth", cords_pth_parse, "data/../../../etc/passwd is missing"), "..");
		CHECK(fails_with("bad/key_absolute.pth", cords_pth_parse, "data//etc/passwd is missing"), "/");
		CHECK(fails_with("bad/huge_numel.pth", cords_pth_parse, "holds 24 bytes, not 1099511627776"), "numel");
		CHECK(fails_with("bad/shape_overflow.pth", cords_pth_parse, "shape overflows"), "overflow");
		CHECK(fails_with("bad/negative_shape.pth", cords_pth_parse, "bad value"), "negative");
		CHECK(fails_with("bad/offset_past_end.pth", cords_pth_parse, "outside its storage"), "offset");
		CHECK(fails_with("bad/getattr.pth", cords_pth_parse, "getattr is not allowed"), "getattr");
		CHECK(fails_with("bad/import.pth", cords_pth_parse, "__import__ is not allowed"), "import");
		CHECK(fails_with("bad/overlap.safetensors", st_reader, "gap or overlap"), "overlap");
		CHECK(fails_with("bad/truncated.npz", cords_npz_parse, "not a zip"), "npz");
	}

	CASE("pickle: opcodes, memo, refusals") {
		static const char ok[] = "\x80\x02]q\x00(K\x01M\x00\x01J\xff\xff\xff\xff\x8a\x02\x00\x80"
					 "G?\xf8\x00\x00\x00\x00\x00\x00\x88\x89NC\x02hi\x8c\x02yo)h\x00"
					 "e.";
		cords_pkl_doc *d = cords_unpickle(ok, sizeof ok - 1);
		CHECK(d && d->root->type == CORDS_PKL_LIST && d->root->n == 12, "list: %s", cords_errmsg());
		if (d && d->root->n == 12) {
			cords_pkl **it = d->root->items;
			CHECK(it[0]->i == 1 && it[1]->i == 256 && it[2]->i == -1 && it[3]->i == -32768, "ints");
			CHECK(it[4]->f == 1.5 && it[5]->i == 1 && it[6]->i == 0 && it[7]->type == CORDS_PKL_NONE, "scalars");
			CHECK(cords_pkl_str_eq(it[8], "hi") && it[8]->type == CORDS_PKL_BYTES, "bytes");
			CHECK(cords_pkl_str_eq(it[9], "yo") && it[9]->type == CORDS_PKL_STR, "str");
			CHECK(it[10]->type == CORDS_PKL_TUPLE && it[11] == d->root, "memo refers to the list itself");
		}
		cords_pkl_free(d);
		CHECK(!UNPICKLES("\x80\x02h\x05.") && strstr(cords_errmsg(), "memo"), "undefined memo");
		CHECK(!UNPICKLES("\x80\x02.") && strstr(cords_errmsg(), "underflow"), "empty stack");
		CHECK(!UNPICKLES("\x80\x02N") && strstr(cords_errmsg(), "STOP"), "no STOP");
		CHECK(!UNPICKLES("\x80\x02\x8c\x05posix\x8c\x06system\x93.") &&
			      strstr(cords_errmsg(), "posix.system"), "STACK_GLOBAL refused: %s", cords_errmsg());
		CHECK(!UNPICKLES("\x80\x02\x8a\x09\x01\x01\x01\x01\x01\x01\x01\x01\x01."), "int > 64 bits");
		CHECK(!UNPICKLES("\x80\x02" "ctorch\nFloatStorage\n)R.") && strstr(cords_errmsg(), "storage"),
		      "calling a storage class");
		CHECK(!UNPICKLES("\x80\x02NNR.") && strstr(cords_errmsg(), "call of a None"), "call a None");
		CHECK(!UNPICKLES("\x80\x06N.") && strstr(cords_errmsg(), "protocol"), "protocol 6");
		CHECK(!UNPICKLES("\x80\x02S'a'\n.") && strstr(cords_errmsg(), "0x53"), "text STRING refused");
	}

	CASE("pickle: numpy arrays (Python 2 CIFAR, Python 3 protocols 2 and 4)") {
		const char *files[] = {"pickle/py2_cifar.pkl", "pickle/py3_p2.pkl", "pickle/py3_p4.pkl"};
		for (int k = 0; k < 3; k++) {
			cords_blob b;
			cords_pkl_doc *d = unpickle_file(files[k], &b);
			CHECK(d != NULL, "%s: %s", files[k], cords_errmsg());
			cords_tensor *x = NULL;
			const cords_pkl *lab = d ? cords_pkl_dict_get(d->root, "labels") : NULL;
			CHECK(d && cords_pkl_numpy_tensor(cords_pkl_dict_get(d->root, "data"), "x", &x) == 0,
			      "%s: %s", files[k], cords_errmsg());
			CHECK(x && x->dtype == CORDS_U8 && x->ndim == 2 && x->shape[0] == 2 && x->shape[1] == 3 &&
				      !memcmp(x->data, "\x00\x01\x02\x03\xfe\xff", 6), "%s: data", files[k]);
			CHECK(lab && lab->type == CORDS_PKL_LIST && lab->n == 2 && lab->items[1]->i == 2, "labels");
			cords_tensor *y = NULL;
			CHECK(!cords_pkl_int_tensor(lab, "y", &y) && y->dtype == CORDS_I64 && y->shape[0] == 2 &&
				      ((int64_t *)y->data)[0] == 1, "labels as i64");
			cords_tensor_free(y);
			CHECK(cords_pkl_int_tensor(d ? d->root : NULL, "y", &y) && !y, "a dict is not a list");
			cords_tensor_free(x);
			if (k) {
				cords_tensor *fo = NULL, *f = NULL;
				CHECK(!cords_pkl_numpy_tensor(cords_pkl_dict_get(d->root, "fortran"), "f", &fo), "fortran");
				for (int i = 0; fo && i < 6; i++)
					CHECK(((int32_t *)fo->data)[i] == i, "fortran[%d]", i);
				CHECK(!cords_pkl_numpy_tensor(cords_pkl_dict_get(d->root, "f32"), "g", &f) &&
					      ((float *)f->data)[1] == -0.25f, "f32");
				cords_tensor_free(fo);
				cords_tensor_free(f);
			}
			cords_pkl_free(d);
			cords_blob_free(&b);
		}
	}

	CASE(".npy: dtypes, Fortran order, 0-d, v2; big-endian and u4 refused") {
		cords_tensor *x = NULL;
		CHECK(!npy_file("npy/f32.npy", &x) && x->dtype == CORDS_F32 && x->ndim == 2 &&
			      ((float *)x->data)[5] == 1.25f, "f32");
		cords_tensor_free(x);
		CHECK(!npy_file("npy/v2.npy", &x) && ((float *)x->data)[5] == 1.25f, "v2");
		cords_tensor_free(x);
		CHECK(!npy_file("npy/fortran.npy", &x) && x->ndim == 3 && x->shape[2] == 4, "fortran");
		for (int i = 0; x && i < 24; i++)
			CHECK(((double *)x->data)[i] == i, "fortran[%d] = %g", i, ((double *)x->data)[i]);
		cords_tensor_free(x);
		CHECK(!npy_file("npy/scalar.npy", &x) && x->ndim == 0 && ((int64_t *)x->data)[0] == -7, "0-d");
		cords_tensor_free(x);
		CHECK(!npy_file("npy/bool.npy", &x) && x->dtype == CORDS_BOOL && !memcmp(x->data, "\1\0\1", 3), "bool");
		cords_tensor_free(x);
		CHECK(!npy_file("npy/i64.npy", &x) && ((int64_t *)x->data)[1] == INT64_C(1) << 40, "i64");
		cords_tensor_free(x);
		CHECK(!npy_file("npy/u8.npy", &x) && x->dtype == CORDS_U8 && ((uint8_t *)x->data)[23] == 23, "u8");
		cords_tensor_free(x);
		CHECK(npy_file("npy/big.npy", &x) && strstr(cords_errmsg(), "big-endian"), "big: %s", cords_errmsg());
		CHECK(npy_file("npy/u4.npy", &x) && strstr(cords_errmsg(), "<u4"), "u4: %s", cords_errmsg());
	}

	CASE(".npz (stored) from numpy") {
		cords_tensor_list l = {0};
		CHECK(load("npy/all.npz", cords_npz_parse, &l) == 0 && l.n == 4, "%s", cords_errmsg());
		const cords_tensor *f = cords_list_find(&l, "fortran"), *s = cords_list_find(&l, "scalar");
		for (int i = 0; f && i < 6; i++)
			CHECK(((double *)f->data)[i] == i, "fortran[%d]", i);
		CHECK(s && s->ndim == 0 && ((int64_t *)s->data)[0] == -7, "scalar");
		cords_list_free(&l);
	}

	CASE("write then read: pth, safetensors, npz keep every bit") {
		int (*writers[])(FILE *, const cords_tensor_list *) = {w_pth, w_st, w_npz};
		reader readers[] = {cords_pth_parse, st_reader, cords_npz_parse};
		for (int k = 0; k < 3; k++) {
			cords_tensor_list l = {0}, back = {0};
			mixed_list(&l);
			write_read(&l, writers[k], readers[k], &back);
			CHECK(back.n == l.n, "writer %d: %d of %d tensors", k, back.n, l.n);
			for (int i = 0; i < l.n && i < back.n; i++) {
				const cords_tensor *a = l.items[i], *b = back.items[i];
				if (k == 2 && a->dtype == CORDS_BF16) /* npy has no bf16: written as f4 */
					CHECK(b->dtype == CORDS_F32 && crc_f32(a) == crc_f32(b), "npz bf16");
				else
					CHECK(same(a, b), "writer %d: %s differs", k, a->name);
			}
			cords_list_free(&l);
			cords_list_free(&back);
		}
	}

	CASE("ZIP64 records (forced on a small .npz): we and numpy read them") {
		cords_tensor_list l = {0}, back = {0};
		mixed_list(&l);
		char path[] = "/tmp/cords-zip64-XXXXXX";
		int fd = mkstemp(path);
		FILE *f = fdopen(fd, "wb");
		cords_zipw *z = cords_zipw_new(f, path, 64);
		cords_zipw_force_zip64(z);
		for (int i = 0; i < l.n; i++)
			CHECK(!cords_npz_add(z, l.items[i]->name, l.items[i]), "%s", cords_errmsg());
		CHECK(!cords_zipw_close(z), "%s", cords_errmsg());
		fclose(f);
		CHECK(load(path, cords_npz_parse, &back) == 0 && back.n == l.n, "%s", cords_errmsg());
		CHECK(back.n > 0 && same(l.items[0], back.items[0]), "first tensor");
		char cmd[512];
		snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import numpy, zipfile; "
			 "assert zipfile.ZipFile('%s').testzip() is None; "
			 "assert len(numpy.load('%s').files) == %d\" 2>/dev/null", path, path, l.n);
		if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0)
			CHECK(system(cmd) == 0, "numpy cannot read the ZIP64 .npz");
		unlink(path);
		cords_list_free(&l);
		cords_list_free(&back);
	}

	CASE("safetensors metadata and header checks") {
		cords_tensor_list l = {0}, back = {0};
		mixed_list(&l);
		cords_tensor *meta = cords_tensor_new("meta", CORDS_TEXT, 1, (int64_t[]){0}), *m2 = NULL;
		cords_meta_set(meta, "depth", "8");
		cords_meta_set(meta, "note", "a \"quoted\" \\ value\t");
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);
		CHECK(!cords_safetensors_write(f, "mem", &l, meta), "%s", cords_errmsg());
		fclose(f);
		CHECK(n > 8 && (unsigned char)buf[0] % 8 == 0, "header padded to 8");
		CHECK(!cords_safetensors_parse(buf, n, &back, &m2), "%s", cords_errmsg());
		char *v = m2 ? cords_meta_get(m2, "note") : NULL;
		CHECK(v && !strcmp(v, "a \"quoted\" \\ value\t"), "metadata round trip: %s", v ? v : "none");
		free(v);
		buf[8] = '['; /* not an object */
		CHECK(cords_safetensors_parse(buf, n, &back, NULL), "bad JSON refused");
		buf[8] = '{';
		buf[0] = 0xff; /* header longer than the file */
		CHECK(cords_safetensors_parse(buf, n, &back, NULL) && strstr(cords_errmsg(), "header"), "%s",
		      cords_errmsg());
		free(buf);
		cords_tensor_free(meta);
		cords_tensor_free(m2);
		cords_list_free(&l);
		cords_list_free(&back);
	}
	T_DONE();
}
