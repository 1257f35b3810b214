/* The whitelist unpickler (pickle.h): a loop over opcodes that builds a tree
 * of nodes in one arena. Nothing is ever looked up by name except the
 * globals below, and those are only recorded, never run. */
#include "pickle.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena: every node and array lives here; freed at once ---- */

typedef struct block {
	struct block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
} block;

typedef struct {
	block *head;
	size_t total, limit;
} arena;

static void *arena_alloc(arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!a->head || a->head->size - a->head->used < n) {
		size_t sz = n > 65536 ? n : 65536;
		if (a->total + sz > a->limit) {
			cords_err("pickle: needs more than %zu MB of memory (input too large for its size?)",
				  a->limit >> 20);
			return NULL;
		}
		block *b = malloc(sizeof *b + sz);
		if (!b) {
			cords_err("pickle: out of memory");
			return NULL;
		}
		b->next = a->head;
		b->used = 0;
		b->size = sz;
		a->head = b;
		a->total += sz;
	}
	void *p = a->head->data + a->head->used;
	a->head->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_free(arena *a)
{
	while (a->head) {
		block *b = a->head;
		a->head = b->next;
		free(b);
	}
}

/* ---- the machine ---- */

typedef struct {
	const unsigned char *p;
	size_t n, pos, op_pos;
	arena *a;
	cords_pkl **stack;
	size_t sp, scap;
	size_t *marks;
	size_t nmarks, mcap;
	cords_pkl **memo;
	size_t nmemo, nput; /* slots allocated, entries defined */
	int proto;
} vm;

#define MAX_MARKS 4096
#define MAX_STACK (1u << 24)

static int fail(vm *m, const char *fmt, ...) CORDS_PRINTF(2, 3);
static int fail(vm *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return cords_err("pickle: at byte %zu: %s", m->op_pos, msg);
}

static cords_pkl *node(vm *m, cords_pkl_type t)
{
	cords_pkl *x = arena_alloc(m->a, sizeof *x);
	if (x) {
		x->type = t;
		x->depth = 1;
	}
	return x;
}

static int push(vm *m, cords_pkl *x)
{
	if (!x)
		return -1;
	if (m->sp == m->scap) {
		if (m->scap >= MAX_STACK)
			return fail(m, "stack too deep");
		size_t cap = m->scap ? 2 * m->scap : 64;
		cords_pkl **s = realloc(m->stack, cap * sizeof *s);
		if (!s)
			return fail(m, "out of memory");
		m->stack = s;
		m->scap = cap;
	}
	m->stack[m->sp++] = x;
	return 0;
}

static cords_pkl *pop(vm *m)
{
	size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
	if (m->sp <= floor) {
		fail(m, "stack underflow");
		return NULL;
	}
	return m->stack[--m->sp];
}

static cords_pkl *top(vm *m)
{
	size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
	if (m->sp <= floor) {
		fail(m, "stack underflow");
		return NULL;
	}
	return m->stack[m->sp - 1];
}

static const unsigned char *take(vm *m, uint64_t k)
{
	if (k > m->n - m->pos) {
		fail(m, "truncated (a length runs past the end of the data)");
		return NULL;
	}
	const unsigned char *q = m->p + m->pos;
	m->pos += (size_t)k;
	return q;
}

static int read_uint(vm *m, int bytes, uint64_t *v)
{
	const unsigned char *q = take(m, (uint64_t)bytes);
	if (!q)
		return -1;
	*v = 0;
	for (int i = bytes - 1; i >= 0; i--)
		*v = *v << 8 | q[i];
	return 0;
}

/* A text line (GLOBAL, INT, FLOAT): up to '\n', which is consumed. */
static const char *read_line(vm *m, size_t *len)
{
	const unsigned char *q = m->p + m->pos;
	const unsigned char *e = memchr(q, '\n', m->n - m->pos);
	if (!e) {
		fail(m, "truncated text line");
		return NULL;
	}
	*len = (size_t)(e - q);
	m->pos += *len + 1;
	return (const char *)q;
}

/* Adds child to a container's depth; refuses too deep a tree. */
static int adopt(vm *m, cords_pkl *parent, const cords_pkl *child)
{
	if (child->depth + 1 > parent->depth)
		parent->depth = child->depth + 1;
	if (parent->depth > CORDS_PKL_MAX_DEPTH)
		return fail(m, "nesting deeper than %d levels", CORDS_PKL_MAX_DEPTH);
	return 0;
}

static int append_item(vm *m, cords_pkl *c, cords_pkl *x)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		cords_pkl **it = arena_alloc(m->a, cap * sizeof *it);
		if (!it)
			return -1;
		if (c->n)
			memcpy(it, c->items, c->n * sizeof *it);
		c->items = it;
		c->cap = cap;
	}
	c->items[c->n++] = x;
	return adopt(m, c, x);
}

/* The items above the last mark, which is removed. */
static int pop_mark(vm *m, cords_pkl ***items, size_t *k)
{
	if (!m->nmarks)
		return fail(m, "no MARK on the stack");
	size_t at = m->marks[--m->nmarks];
	*items = m->stack ? m->stack + at : NULL; /* a MARK before any push */
	*k = m->sp - at;
	m->sp = at;
	return 0;
}

static cords_pkl *make_seq(vm *m, cords_pkl_type t, cords_pkl **items, size_t k)
{
	cords_pkl *x = node(m, t);
	for (size_t i = 0; x && i < k; i++)
		if (append_item(m, x, items[i]))
			return NULL;
	return x;
}

static int op_tuple_n(vm *m, size_t k)
{
	cords_pkl *items[3];
	for (size_t i = k; i-- > 0;)
		if (!(items[i] = pop(m)))
			return -1;
	return push(m, make_seq(m, CORDS_PKL_TUPLE, items, k));
}

static int op_mark_seq(vm *m, cords_pkl_type t)
{
	cords_pkl **items = NULL;
	size_t k = 0;
	if (pop_mark(m, &items, &k))
		return -1;
	if (t == CORDS_PKL_DICT && k % 2)
		return fail(m, "DICT with an odd number of items");
	cords_pkl *x = make_seq(m, t, items, k);
	if (x && t == CORDS_PKL_DICT)
		x->n /= 2, x->cap /= 2; /* items hold key, value pairs */
	return push(m, x);
}

static int dict_set(vm *m, cords_pkl *d, cords_pkl *k, cords_pkl *v)
{
	if (d->type != CORDS_PKL_DICT)
		return fail(m, "SETITEM on a %s", cords_pkl_type_name(d->type));
	/* two slots per entry: grow by pushing both, then fix the count */
	d->n *= 2, d->cap *= 2;
	int rc = append_item(m, d, k) || append_item(m, d, v);
	d->n /= 2, d->cap /= 2;
	return rc ? -1 : 0;
}

static int op_setitems(vm *m)
{
	cords_pkl **items = NULL;
	size_t k = 0;
	if (pop_mark(m, &items, &k))
		return -1;
	if (k % 2)
		return fail(m, "SETITEMS with an odd number of items");
	cords_pkl *d = top(m);
	if (!d)
		return -1;
	for (size_t i = 0; i < k; i += 2)
		if (dict_set(m, d, items[i], items[i + 1]))
			return -1;
	return 0;
}

static int op_appends(vm *m)
{
	cords_pkl **items = NULL;
	size_t k = 0;
	if (pop_mark(m, &items, &k))
		return -1;
	cords_pkl *l = top(m);
	if (!l)
		return -1;
	if (l->type != CORDS_PKL_LIST)
		return fail(m, "APPENDS to a %s", cords_pkl_type_name(l->type));
	for (size_t i = 0; i < k; i++)
		if (append_item(m, l, items[i]))
			return -1;
	return 0;
}

/* ---- globals ---- */

static const struct {
	const char *module, *name;
	cords_pkl_global g;
	cords_dtype dtype;
} allowed[] = {
	{"collections", "OrderedDict", CORDS_G_ORDERED_DICT, 0},
	{"torch._utils", "_rebuild_tensor_v2", CORDS_G_REBUILD_TENSOR_V2, 0},
	{"torch._utils", "_rebuild_parameter", CORDS_G_REBUILD_PARAMETER, 0},
	{"torch", "FloatStorage", CORDS_G_STORAGE, CORDS_F32},
	{"torch", "DoubleStorage", CORDS_G_STORAGE, CORDS_F64},
	{"torch", "HalfStorage", CORDS_G_STORAGE, CORDS_F16},
	{"torch", "BFloat16Storage", CORDS_G_STORAGE, CORDS_BF16},
	{"torch", "LongStorage", CORDS_G_STORAGE, CORDS_I64},
	{"torch", "IntStorage", CORDS_G_STORAGE, CORDS_I32},
	{"torch", "ShortStorage", CORDS_G_STORAGE, CORDS_I16},
	{"torch", "CharStorage", CORDS_G_STORAGE, CORDS_I8},
	{"torch", "ByteStorage", CORDS_G_STORAGE, CORDS_U8},
	{"torch", "BoolStorage", CORDS_G_STORAGE, CORDS_BOOL},
	{"numpy.core.multiarray", "_reconstruct", CORDS_G_NP_RECONSTRUCT, 0},
	{"numpy._core.multiarray", "_reconstruct", CORDS_G_NP_RECONSTRUCT, 0},
	{"numpy", "ndarray", CORDS_G_NP_NDARRAY, 0},
	{"numpy", "dtype", CORDS_G_NP_DTYPE, 0},
	{"_codecs", "encode", CORDS_G_CODECS_ENCODE, 0},
};

static int eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && !memcmp(s, lit, n);
}

static int push_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		if (!eq(mod, ml, allowed[i].module) || !eq(name, nl, allowed[i].name))
			continue;
		cords_pkl *x = node(m, CORDS_PKL_GLOBAL);
		if (!x)
			return -1;
		x->global = allowed[i].g;
		x->storage_dtype = allowed[i].dtype;
		x->s = name;
		x->len = nl;
		return push(m, x);
	}
	char what[160];
	snprintf(what, sizeof what, "%.*s.%.*s", (int)(ml < 64 ? ml : 64), mod,
		 (int)(nl < 64 ? nl : 64), name);
	for (char *c = what; *c; c++)
		if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
			*c = '?';
	return fail(m, "global %s is not allowed (only the names a state_dict or a NumPy array uses)", what);
}

static int op_global(vm *m)
{
	size_t ml, nl;
	const char *mod = read_line(m, &ml), *name = mod ? read_line(m, &nl) : NULL;
	return name ? push_global(m, mod, ml, name, nl) : -1;
}

static int op_stack_global(vm *m)
{
	cords_pkl *name = pop(m), *mod = name ? pop(m) : NULL;
	if (!mod)
		return -1;
	if (mod->type != CORDS_PKL_STR || name->type != CORDS_PKL_STR)
		return fail(m, "STACK_GLOBAL needs two strings");
	return push_global(m, mod->s, mod->len, name->s, name->len);
}

/* _codecs.encode(text, "latin1"): how Python 3 pickles bytes at protocol 2. */
static cords_pkl *latin1_bytes(vm *m, const cords_pkl *args)
{
	const cords_pkl *t = cords_pkl_item(args, 0), *enc = cords_pkl_item(args, 1);
	if (!t || t->type != CORDS_PKL_STR || args->n != 2 ||
	    !(cords_pkl_str_eq(enc, "latin1") || cords_pkl_str_eq(enc, "latin-1"))) {
		fail(m, "_codecs.encode with arguments other than (str, 'latin1')");
		return NULL;
	}
	cords_pkl *x = node(m, CORDS_PKL_BYTES);
	char *out = x ? arena_alloc(m->a, t->len + 1) : NULL;
	if (!out)
		return NULL;
	const unsigned char *s = (const unsigned char *)t->s;
	size_t k = 0;
	for (size_t i = 0; i < t->len; i++) {
		if (s[i] < 0x80)
			out[k++] = (char)s[i];
		else if ((s[i] & 0xfe) == 0xc2 && i + 1 < t->len && (s[i + 1] & 0xc0) == 0x80) {
			out[k++] = (char)(((s[i] & 3) << 6) | (s[i + 1] & 0x3f));
			i++;
		} else {
			fail(m, "_codecs.encode: text is not latin-1");
			return NULL;
		}
	}
	x->s = out;
	x->len = k;
	return x;
}

/* REDUCE and NEWOBJ: only whitelisted callables; the call is recorded. */
static int op_call(vm *m)
{
	cords_pkl *args = pop(m), *f = args ? pop(m) : NULL;
	if (!f)
		return -1;
	if (f->type != CORDS_PKL_GLOBAL)
		return fail(m, "call of a %s (only whitelisted globals may be called)",
			    cords_pkl_type_name(f->type));
	if (args->type != CORDS_PKL_TUPLE)
		return fail(m, "call with %s arguments (expected a tuple)", cords_pkl_type_name(args->type));
	if (f->global == CORDS_G_STORAGE || f->global == CORDS_G_NP_NDARRAY)
		return fail(m, "%s may not be called",
			    f->global == CORDS_G_STORAGE ? "a torch storage class" : "numpy.ndarray");
	if (f->global == CORDS_G_CODECS_ENCODE)
		return push(m, latin1_bytes(m, args));
	if (f->global == CORDS_G_ORDERED_DICT) {
		if (args->n)
			return fail(m, "OrderedDict called with arguments");
		return push(m, node(m, CORDS_PKL_DICT));
	}
	cords_pkl *x = node(m, CORDS_PKL_CALL);
	if (!x)
		return -1;
	x->global = f->global;
	x->args = args;
	return adopt(m, x, args) ? -1 : push(m, x);
}

/* BUILD: a state for a call (numpy arrays, dtypes) or a dict (OrderedDict's
 * _metadata, ignored). */
static int op_build(vm *m)
{
	cords_pkl *state = pop(m), *x = state ? top(m) : NULL;
	if (!x)
		return -1;
	if (x->type == CORDS_PKL_DICT)
		return 0;
	if (x->type != CORDS_PKL_CALL || x->state)
		return fail(m, "BUILD on a %s", cords_pkl_type_name(x->type));
	x->state = state;
	return adopt(m, x, state);
}

/* ---- scalars and strings ---- */

static int push_int(vm *m, int64_t v, cords_pkl_type t)
{
	cords_pkl *x = node(m, t);
	if (x)
		x->i = v;
	return push(m, x);
}

/* LONG1 / LONG4: little-endian two's complement of k bytes. */
static int op_long(vm *m, int lenbytes)
{
	uint64_t k, v = 0;
	if (read_uint(m, lenbytes, &k))
		return -1;
	const unsigned char *q = take(m, k);
	if (!q)
		return -1;
	if (k > 8)
		return fail(m, "integer too large for 64 bits");
	for (size_t i = k; i-- > 0;)
		v = v << 8 | q[i];
	if (k && k < 8 && (q[k - 1] & 0x80))
		v |= ~UINT64_C(0) << (8 * k);
	return push_int(m, (int64_t)v, CORDS_PKL_INT);
}

static int op_str(vm *m, int lenbytes, cords_pkl_type t)
{
	uint64_t k;
	if (read_uint(m, lenbytes, &k))
		return -1;
	const unsigned char *q = take(m, k);
	cords_pkl *x = q ? node(m, t) : NULL;
	if (x) {
		x->s = (const char *)q;
		x->len = (size_t)k;
	}
	return push(m, x);
}

/* Text INT (protocol 0/1; Python 2 also writes True as "I01"). */
static int op_text_int(vm *m)
{
	size_t n;
	const char *s = read_line(m, &n);
	if (!s)
		return -1;
	if (eq(s, n, "01") || eq(s, n, "00"))
		return push_int(m, s[1] == '1', CORDS_PKL_BOOL);
	char buf[32], *end;
	if (n == 0 || n >= sizeof buf)
		return fail(m, "bad INT");
	memcpy(buf, s, n);
	buf[n] = 0;
	long long v = strtoll(buf, &end, 10);
	if (*end)
		return fail(m, "bad INT");
	return push_int(m, v, CORDS_PKL_INT);
}

static int op_binfloat(vm *m)
{
	uint64_t bits;
	const unsigned char *q = take(m, 8);
	if (!q)
		return -1;
	bits = 0;
	for (int i = 0; i < 8; i++)
		bits = bits << 8 | q[i]; /* big-endian */
	cords_pkl *x = node(m, CORDS_PKL_FLOAT);
	if (x)
		memcpy(&x->f, &bits, 8);
	return push(m, x);
}

/* ---- memo ---- */

static int memo_put(vm *m, uint64_t idx)
{
	cords_pkl *x = top(m);
	if (!x)
		return -1;
	if (idx > m->n) /* sequential writers never exceed the op count */
		return fail(m, "memo index out of range");
	if (idx >= m->nmemo) {
		size_t k = (size_t)idx + 1 > 2 * m->nmemo ? (size_t)idx + 1 : 2 * m->nmemo;
		cords_pkl **p = realloc(m->memo, k * sizeof *p);
		if (!p)
			return fail(m, "out of memory");
		memset(p + m->nmemo, 0, (k - m->nmemo) * sizeof *p);
		m->memo = p;
		m->nmemo = k;
	}
	m->nput += !m->memo[idx];
	m->memo[idx] = x;
	return 0;
}

static int memo_get(vm *m, uint64_t idx)
{
	if (idx >= m->nmemo || !m->memo[idx])
		return fail(m, "memo entry not defined");
	return push(m, m->memo[idx]);
}

static int with_uint(vm *m, int bytes, int (*f)(vm *, uint64_t))
{
	uint64_t v;
	return read_uint(m, bytes, &v) ? -1 : f(m, v);
}

static int op_mark(vm *m)
{
	if (m->nmarks == MAX_MARKS)
		return fail(m, "too many nested MARKs");
	if (m->nmarks == m->mcap) {
		size_t cap = m->mcap ? 2 * m->mcap : 16;
		size_t *p = realloc(m->marks, cap * sizeof *p);
		if (!p)
			return fail(m, "out of memory");
		m->marks = p;
		m->mcap = cap;
	}
	m->marks[m->nmarks++] = m->sp;
	return 0;
}

static int op_persid(vm *m)
{
	cords_pkl *pid = pop(m), *x = pid ? node(m, CORDS_PKL_PERSID) : NULL;
	if (!x)
		return -1;
	x->args = pid;
	return adopt(m, x, pid) ? -1 : push(m, x);
}

static int op_proto(vm *m)
{
	uint64_t v;
	if (read_uint(m, 1, &v))
		return -1;
	if (v < 2 || v > 5)
		return fail(m, "protocol %u (2 to 5 are read)", (unsigned)v);
	m->proto = (int)v;
	return 0;
}

static int op_frame(vm *m)
{
	uint64_t v;
	if (read_uint(m, 8, &v))
		return -1;
	if (v > m->n - m->pos)
		return fail(m, "FRAME runs past the end of the data");
	return 0;
}

static int op_pop_mark(vm *m)
{
	cords_pkl **items = NULL;
	size_t k = 0;
	return pop_mark(m, &items, &k);
}

static int op_dup(vm *m)
{
	cords_pkl *x = top(m);
	return x ? push(m, x) : -1;
}

static int op_pop(vm *m)
{
	return pop(m) ? 0 : -1;
}

/* One opcode; 1 at STOP. */
static int step(vm *m, cords_pkl **result)
{
	m->op_pos = m->pos;
	if (m->pos >= m->n)
		return fail(m, "truncated (no STOP opcode)");
	unsigned op = m->p[m->pos++];
	switch (op) {
	case 0x80: return op_proto(m);
	case 0x95: return op_frame(m);
	case '.':
		if (!(*result = pop(m)))
			return -1;
		return 1;
	case '(': return op_mark(m);
	case '0': return op_pop(m);
	case '1': return op_pop_mark(m);
	case '2': return op_dup(m);
	case 'N': return push(m, node(m, CORDS_PKL_NONE));
	case 0x88: return push_int(m, 1, CORDS_PKL_BOOL);
	case 0x89: return push_int(m, 0, CORDS_PKL_BOOL);
	case 'I': return op_text_int(m);
	case 'J': {
		uint64_t v;
		return read_uint(m, 4, &v) ? -1 : push_int(m, (int32_t)(uint32_t)v, CORDS_PKL_INT);
	}
	case 'K': case 'M': {
		uint64_t v;
		return read_uint(m, op == 'K' ? 1 : 2, &v) ? -1 : push_int(m, (int64_t)v, CORDS_PKL_INT);
	}
	case 0x8a: return op_long(m, 1);
	case 0x8b: return op_long(m, 4);
	case 'G': return op_binfloat(m);
	case 'X': return op_str(m, 4, CORDS_PKL_STR);
	case 0x8c: return op_str(m, 1, CORDS_PKL_STR);
	case 0x8d: return op_str(m, 8, CORDS_PKL_STR);
	case 'T': return op_str(m, 4, CORDS_PKL_BYTES);
	case 'U': return op_str(m, 1, CORDS_PKL_BYTES);
	case 'B': return op_str(m, 4, CORDS_PKL_BYTES);
	case 'C': return op_str(m, 1, CORDS_PKL_BYTES);
	case 0x8e: return op_str(m, 8, CORDS_PKL_BYTES);
	case 0x96: return op_str(m, 8, CORDS_PKL_BYTES);
	case ')': return push(m, node(m, CORDS_PKL_TUPLE));
	case 0x85: return op_tuple_n(m, 1);
	case 0x86: return op_tuple_n(m, 2);
	case 0x87: return op_tuple_n(m, 3);
	case 't': return op_mark_seq(m, CORDS_PKL_TUPLE);
	case ']': return push(m, node(m, CORDS_PKL_LIST));
	case 'l': return op_mark_seq(m, CORDS_PKL_LIST);
	case '}': return push(m, node(m, CORDS_PKL_DICT));
	case 'd': return op_mark_seq(m, CORDS_PKL_DICT);
	case 'a': {
		cords_pkl *x = pop(m), *l = x ? top(m) : NULL;
		if (!l)
			return -1;
		if (l->type != CORDS_PKL_LIST)
			return fail(m, "APPEND to a %s", cords_pkl_type_name(l->type));
		return append_item(m, l, x);
	}
	case 'e': return op_appends(m);
	case 's': {
		cords_pkl *v = pop(m), *k = v ? pop(m) : NULL, *d = k ? top(m) : NULL;
		return d ? dict_set(m, d, k, v) : -1;
	}
	case 'u': return op_setitems(m);
	case 'c': return op_global(m);
	case 0x93: return op_stack_global(m);
	case 'R': case 0x81: return op_call(m);
	case 'b': return op_build(m);
	case 'Q': return op_persid(m);
	case 'q': return with_uint(m, 1, memo_put);
	case 'r': return with_uint(m, 4, memo_put);
	case 0x94: return memo_put(m, m->nput);
	case 'h': return with_uint(m, 1, memo_get);
	case 'j': return with_uint(m, 4, memo_get);
	}
	if (op >= 32 && op < 127)
		return fail(m, "unsupported opcode 0x%02x ('%c')", op, (char)op);
	return fail(m, "unsupported opcode 0x%02x", op);
}

cords_pkl_doc *cords_unpickle(const void *buf, size_t n)
{
	cords_pkl_doc *doc = calloc(1, sizeof *doc);
	arena *a = calloc(1, sizeof *a);
	if (!doc || !a) {
		free(doc);
		free(a);
		cords_err("out of memory");
		return NULL;
	}
	/* Each opcode byte makes at most one node and a few pointers. */
	a->limit = (n < (SIZE_MAX >> 8) ? n * 128 : SIZE_MAX >> 1) + (64u << 20);
	doc->arena = a;
	vm m = {.p = buf, .n = n, .a = a};
	cords_pkl *root = NULL;
	int rc;
	while ((rc = step(&m, &root)) == 0)
		;
	free(m.stack);
	free(m.marks);
	free(m.memo);
	if (rc < 0) {
		cords_pkl_free(doc);
		return NULL;
	}
	doc->root = root;
	return doc;
}

void cords_pkl_free(cords_pkl_doc *doc)
{
	if (!doc)
		return;
	arena_free(doc->arena);
	free(doc->arena);
	free(doc);
}

/* ---- reading the tree ---- */

const char *cords_pkl_type_name(cords_pkl_type t)
{
	static const char *names[] = {"None", "bool", "int", "float", "str", "bytes", "tuple",
				      "list", "dict", "global", "call", "persistent id"};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

int cords_pkl_str_eq(const cords_pkl *x, const char *lit)
{
	return x && (x->type == CORDS_PKL_STR || x->type == CORDS_PKL_BYTES) && eq(x->s, x->len, lit);
}

const cords_pkl *cords_pkl_dict_get(const cords_pkl *d, const char *key)
{
	if (!d || d->type != CORDS_PKL_DICT)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		if (cords_pkl_str_eq(d->items[2 * i], key))
			return d->items[2 * i + 1];
	return NULL;
}

const cords_pkl *cords_pkl_item(const cords_pkl *x, size_t i)
{
	if (!x || (x->type != CORDS_PKL_TUPLE && x->type != CORDS_PKL_LIST) || i >= x->n)
		return NULL;
	return x->items[i];
}
