/* Writing a state_dict as torch.save does (pth.h). data.pkl uses only the
 * opcodes torch 1.13's weights_only unpickler knows (no SHORT_BINUNICODE):
 *   OrderedDict() ( name _rebuild_tensor_v2((persid), 0, size, stride,
 *   False, OrderedDict()) ... SETITEMS STOP */
#include "bytebuf.h"
#include "err.h"
#include "pth.h"
#include "zip.h"

#include <stdlib.h>
#include <string.h>

typedef cords_bytebuf buf;

static void put(buf *b, const void *s, size_t k) { cords_bytebuf_put(b, s, k); }

static void op(buf *b, unsigned char c) { put(b, &c, 1); }

static void le(buf *b, uint64_t v, int k)
{
	unsigned char t[8];
	for (int i = 0; i < k; i++)
		t[i] = (unsigned char)(v >> (8 * i));
	put(b, t, (size_t)k);
}

static void str(buf *b, const char *s)
{
	op(b, 'X'); /* BINUNICODE */
	le(b, strlen(s), 4);
	put(b, s, strlen(s));
}

static void global(buf *b, const char *mod, const char *name)
{
	op(b, 'c');
	put(b, mod, strlen(mod));
	op(b, '\n');
	put(b, name, strlen(name));
	op(b, '\n');
}

static void integer(buf *b, int64_t v)
{
	if (v >= 0 && v < 256) {
		op(b, 'K');
		le(b, (uint64_t)v, 1);
	} else if (v >= 0 && v < 65536) {
		op(b, 'M');
		le(b, (uint64_t)v, 2);
	} else if (v >= INT32_MIN && v <= INT32_MAX) {
		op(b, 'J');
		le(b, (uint64_t)v, 4);
	} else {
		op(b, 0x8a); /* LONG1, 8 bytes two's complement */
		op(b, 8);
		le(b, (uint64_t)v, 8);
	}
}

static void int_tuple(buf *b, int n, const int64_t *v)
{
	op(b, '(');
	for (int i = 0; i < n; i++)
		integer(b, v[i]);
	op(b, 't');
}

static const char *storage_class(cords_dtype t)
{
	switch (t) {
	case CORDS_F32: return "FloatStorage";
	case CORDS_F64: return "DoubleStorage";
	case CORDS_F16: return "HalfStorage";
	case CORDS_BF16: return "BFloat16Storage";
	case CORDS_I64: return "LongStorage";
	case CORDS_I32: return "IntStorage";
	case CORDS_I16: return "ShortStorage";
	case CORDS_I8: return "CharStorage";
	case CORDS_U8: return "ByteStorage";
	case CORDS_BOOL: return "BoolStorage";
	case CORDS_TEXT: break;
	}
	return NULL;
}

static void tensor(buf *b, const cords_tensor *x, int key)
{
	char k[32];
	int64_t stride[CORDS_MAX_DIMS], s = 1;
	for (int i = x->ndim - 1; i >= 0; i--) {
		stride[i] = s;
		s *= x->shape[i];
	}
	snprintf(k, sizeof k, "%d", key);
	str(b, x->name);
	global(b, "torch._utils", "_rebuild_tensor_v2");
	op(b, '(');
	op(b, '(');
	str(b, "storage");
	global(b, "torch", storage_class(x->dtype));
	str(b, k);
	str(b, "cpu");
	integer(b, cords_tensor_numel(x));
	op(b, 't');
	op(b, 'Q'); /* BINPERSID */
	integer(b, 0);
	int_tuple(b, x->ndim, x->shape);
	int_tuple(b, x->ndim, stride);
	op(b, 0x89); /* requires_grad False */
	global(b, "collections", "OrderedDict");
	op(b, ')');
	op(b, 'R');
	op(b, 't');
	op(b, 'R');
}

static int pickle_state_dict(const cords_tensor_list *l, buf *b)
{
	op(b, 0x80);
	op(b, 2);
	global(b, "collections", "OrderedDict");
	op(b, ')');
	op(b, 'R');
	op(b, '(');
	for (int i = 0, key = 0; i < l->n; i++) {
		const cords_tensor *x = l->items[i];
		if (x->dtype == CORDS_TEXT)
			continue;
		if (!storage_class(x->dtype))
			return cords_err("%s: dtype %s cannot be saved for torch", x->name,
					 cords_dtype_name(x->dtype));
		for (int j = 0; j < i; j++)
			if (!strcmp(l->items[j]->name, x->name))
				return cords_err("tensor %s appears twice (a state_dict needs unique names)",
						 x->name);
		tensor(b, x, key++);
	}
	op(b, 'u');
	op(b, '.');
	return b->oom ? cords_err("out of memory") : 0;
}

int cords_pth_write(FILE *f, const char *what, const cords_tensor_list *l)
{
	buf b = {0};
	if (pickle_state_dict(l, &b)) {
		free(b.p);
		return -1;
	}
	cords_zipw *w = cords_zipw_new(f, what, 64);
	if (!w) {
		free(b.p);
		return -1;
	}
	int rc = cords_zipw_add(w, "archive/data.pkl", NULL, 0, b.p, b.n) ||
		 cords_zipw_add(w, "archive/byteorder", NULL, 0, "little", 6);
	free(b.p);
	char name[64];
	for (int i = 0, key = 0; i < l->n && !rc; i++) {
		if (l->items[i]->dtype == CORDS_TEXT)
			continue;
		snprintf(name, sizeof name, "archive/data/%d", key++);
		rc = cords_zipw_add(w, name, NULL, 0, l->items[i]->data, l->items[i]->nbytes);
	}
	if (rc || cords_zipw_add(w, "archive/version", NULL, 0, "3\n", 2)) {
		cords_zipw_free(w);
		return -1;
	}
	return cords_zipw_close(w);
}
