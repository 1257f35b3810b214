/* Reading torch.save zip checkpoints (pth.h): find PREFIX/data.pkl, read it
 * with the whitelist unpickler, then resolve every
 *   _rebuild_tensor_v2(persid('storage', <T>Storage, key, location, numel),
 *                      offset, size, stride, requires_grad, hooks[, meta])
 * against the record PREFIX/data/<key>. */
#include "pth.h"
#include "err.h"
#include "pickle.h"
#include "zip.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	cords_zip z;
	char prefix[256]; /* "archive/" */
	int big_endian;
	/* Views may share a storage, so the tensors can outgrow the file; a
	 * tiny file must not ask for terabytes (stride-0 views): the bytes
	 * made are capped at 4 x the file + 64 MB. */
	uint64_t made, budget;
} pth;

static int find_prefix(pth *p)
{
	for (int i = 0; i < p->z.count; i++) {
		const char *nm = p->z.e[i].name, *slash = strchr(nm, '/');
		if (slash && !strcmp(slash, "/data.pkl") && (size_t)(slash - nm) < sizeof p->prefix - 1) {
			memcpy(p->prefix, nm, (size_t)(slash - nm) + 1);
			p->prefix[slash - nm + 1] = 0;
			return 0;
		}
	}
	return cords_err("no data.pkl record: a zip file, but not a torch.save checkpoint");
}

static const cords_zip_entry *record(const pth *p, const char *name)
{
	char full[512];
	snprintf(full, sizeof full, "%s%s", p->prefix, name);
	return cords_zip_find(&p->z, full);
}

/* torch 2.1+ writes "little" or "big"; absent means little. */
static int read_byteorder(pth *p)
{
	const cords_zip_entry *e = record(p, "byteorder");
	const unsigned char *d;
	void *owned;
	if (!e)
		return 0;
	if (cords_zip_data(&p->z, e, &d, &owned))
		return -1;
	int rc = 0;
	if (e->usize == 6 && !memcmp(d, "little", 6))
		p->big_endian = 0;
	else if (e->usize == 3 && !memcmp(d, "big", 3))
		p->big_endian = 1;
	else
		rc = cords_err("byteorder record is neither 'little' nor 'big'");
	free(owned);
	return rc;
}

/* The view's shape and strides; checks it stays inside numel elements. */
static int view_of(const cords_pkl *size, const cords_pkl *stride, int64_t offset, int64_t numel,
		   int *ndim, int64_t *shape, int64_t *st)
{
	if (!size || !stride || size->type != CORDS_PKL_TUPLE || stride->type != CORDS_PKL_TUPLE ||
	    size->n != stride->n || size->n > CORDS_MAX_DIMS)
		return cords_err("tensor size/stride are not two tuples of equal length (at most %d)",
				 CORDS_MAX_DIMS);
	int64_t last = offset, n = 1;
	for (size_t i = 0; i < size->n; i++) {
		const cords_pkl *a = size->items[i], *b = stride->items[i];
		if (a->type != CORDS_PKL_INT || b->type != CORDS_PKL_INT || a->i < 0 || b->i < 0 ||
		    a->i > (INT64_C(1) << 40) || b->i > (INT64_C(1) << 40))
			return cords_err("tensor size/stride hold a bad value");
		shape[i] = a->i;
		st[i] = b->i;
		n = n > 0 && a->i > 0 && n <= (INT64_C(1) << 62) / a->i ? n * a->i : 0;
		last += a->i ? (a->i - 1) * b->i : 0;
	}
	*ndim = (int)size->n;
	if (offset < 0 || (n && last >= numel))
		return cords_err("tensor view (offset %lld, last element %lld) lies outside its storage "
				 "of %lld elements", (long long)offset, (long long)last, (long long)numel);
	return 0;
}

static int contiguous(const cords_tensor *x, const int64_t *st)
{
	int64_t want = 1;
	for (int k = x->ndim - 1; k >= 0; k--) {
		if (x->shape[k] != 1 && st[k] != want)
			return 0;
		want *= x->shape[k];
	}
	return 1;
}

/* Copy the strided view out of the storage bytes into x (row-major). */
static void gather(cords_tensor *x, const unsigned char *src, int64_t offset, const int64_t *st)
{
	size_t es = cords_dtype_size(x->dtype);
	int64_t n = cords_tensor_numel(x), idx[CORDS_MAX_DIMS] = {0}, off = offset;
	unsigned char *dst = x->data;
	if (contiguous(x, st)) { /* the usual case: one copy */
		if (x->nbytes)
			memcpy(dst, src + (size_t)offset * es, x->nbytes);
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		memcpy(dst + (size_t)i * es, src + (size_t)off * es, es);
		for (int k = x->ndim - 1; k >= 0; k--) {
			if (++idx[k] < x->shape[k]) {
				off += st[k];
				break;
			}
			off -= (idx[k] - 1) * st[k];
			idx[k] = 0;
		}
	}
}

static void swap_bytes(cords_tensor *x)
{
	size_t es = cords_dtype_size(x->dtype);
	unsigned char *p = x->data;
	for (size_t i = 0; es > 1 && i < x->nbytes; i += es)
		for (size_t a = 0, b = es - 1; a < b; a++, b--) {
			unsigned char t = p[i + a];
			p[i + a] = p[i + b];
			p[i + b] = t;
		}
}

/* ('storage', <T>Storage, key, location, numel) */
static int storage_of(const cords_pkl *pid, cords_dtype *t, const char **key, size_t *keylen,
		      int64_t *numel)
{
	const cords_pkl *tag = cords_pkl_item(pid, 0), *cls = cords_pkl_item(pid, 1);
	const cords_pkl *k = cords_pkl_item(pid, 2), *n = cords_pkl_item(pid, 4);
	if (!cords_pkl_str_eq(tag, "storage") || !cls || cls->type != CORDS_PKL_GLOBAL ||
	    cls->global != CORDS_G_STORAGE || !k || k->type != CORDS_PKL_STR || k->len > 200 || !n ||
	    n->type != CORDS_PKL_INT || n->i < 0)
		return cords_err("persistent id is not ('storage', <T>Storage, key, location, numel)");
	*t = cls->storage_dtype;
	*key = k->s;
	*keylen = k->len;
	*numel = n->i;
	return 0;
}

static int load_tensor(pth *p, const cords_pkl *v, const char *name, cords_tensor_list *out)
{
	if (v->type == CORDS_PKL_CALL && v->global == CORDS_G_REBUILD_PARAMETER)
		v = cords_pkl_item(v->args, 0);
	if (!v || v->type != CORDS_PKL_CALL || v->global != CORDS_G_REBUILD_TENSOR_V2 || v->args->n < 6)
		return cords_err("%s is a %s, not a tensor", name, v ? cords_pkl_type_name(v->type) : "?");
	const cords_pkl *pid = cords_pkl_item(v->args, 0), *off = cords_pkl_item(v->args, 1);
	if (pid->type != CORDS_PKL_PERSID || off->type != CORDS_PKL_INT)
		return cords_err("%s: tensor without a storage and offset", name);
	cords_dtype t = CORDS_F32;
	const char *key = NULL;
	size_t kl = 0;
	int64_t numel = 0, shape[CORDS_MAX_DIMS], st[CORDS_MAX_DIMS];
	int ndim = 0;
	if (storage_of(pid->args, &t, &key, &kl, &numel) ||
	    view_of(cords_pkl_item(v->args, 2), cords_pkl_item(v->args, 3), off->i, numel, &ndim, shape, st))
		return cords_err_prefix("%s: ", name);
	char rec[256];
	snprintf(rec, sizeof rec, "data/%.*s", (int)kl, key);
	const cords_zip_entry *e = record(p, rec);
	if (!e)
		return cords_err("%s: storage record %s%s is missing from the zip", name, p->prefix, rec);
	size_t es = cords_dtype_size(t);
	if ((uint64_t)numel > e->usize / es)
		return cords_err("%s: storage record %s%s holds %llu bytes, not %lld elements of %s", name,
				 p->prefix, rec, (unsigned long long)e->usize, (long long)numel,
				 cords_dtype_name(t));
	size_t nb;
	if (cords_shape_nbytes(t, ndim, shape, &nb))
		return cords_err_prefix("%s: ", name);
	if ((p->made += nb) > p->budget)
		return cords_err("%s: the tensors' views add up to more than 4 times the file's size", name);
	cords_tensor *x = cords_tensor_new(name, t, ndim, shape);
	const unsigned char *d;
	void *owned = NULL;
	if (!x || cords_zip_data(&p->z, e, &d, &owned)) {
		cords_tensor_free(x);
		return cords_err_prefix("%s: ", name);
	}
	gather(x, d, off->i, st);
	free(owned);
	if (p->big_endian)
		swap_bytes(x);
	return cords_list_push(out, x);
}

/* The dict of tensors: the root, or root["state_dict"]. */
static const cords_pkl *state_dict(const cords_pkl *root)
{
	const cords_pkl *sd = cords_pkl_dict_get(root, "state_dict");
	if (sd && sd->type == CORDS_PKL_DICT)
		return sd;
	return root && root->type == CORDS_PKL_DICT ? root : NULL;
}

static int load_all(pth *p, const cords_pkl *root, cords_tensor_list *out)
{
	const cords_pkl *sd = state_dict(root);
	if (!sd)
		return cords_err("data.pkl holds a %s, not a state_dict",
				 root ? cords_pkl_type_name(root->type) : "nothing");
	for (size_t i = 0; i < sd->n; i++) {
		const cords_pkl *k = sd->items[2 * i], *v = sd->items[2 * i + 1];
		char name[CORDS_NAME_MAX + 1];
		if (k->type != CORDS_PKL_STR || k->len > CORDS_NAME_MAX || memchr(k->s, 0, k->len))
			return cords_err("state_dict key %zu is not a short string", i);
		size_t skip = k->len > 7 && !memcmp(k->s, "module.", 7) ? 7 : 0;
		memcpy(name, k->s + skip, k->len - skip);
		name[k->len - skip] = 0;
		if (cords_list_find(out, name))
			return cords_err("tensor %s appears twice", name);
		if (load_tensor(p, v, name, out))
			return -1;
	}
	return 0;
}

int cords_pth_parse(const void *buf, size_t n, cords_tensor_list *out)
{
	const unsigned char *b = buf;
	if (n >= 2 && b[0] == 0x80 && b[1] <= 5)
		return cords_err("legacy (pre-1.6, non-zip) torch.save format is not supported; "
				 "re-save it with torch.save(torch.load(f), f2) in torch >= 1.6");
	pth p = {.budget = 4 * (uint64_t)n + (64u << 20)};
	if (cords_zip_open(&p.z, buf, n))
		return -1;
	const cords_zip_entry *e;
	const unsigned char *d;
	void *owned = NULL;
	cords_pkl_doc *doc = NULL;
	int rc = find_prefix(&p) || read_byteorder(&p) || !(e = record(&p, "data.pkl")) ||
		 cords_zip_data(&p.z, e, &d, &owned) || !(doc = cords_unpickle(d, (size_t)e->usize)) ||
		 load_all(&p, doc->root, out);
	cords_pkl_free(doc);
	free(owned);
	cords_zip_close(&p.z);
	if (rc) {
		cords_list_free(out);
		return -1;
	}
	return 0;
}
