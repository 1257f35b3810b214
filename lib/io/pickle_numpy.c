/* Pickled values to tensors. A NumPy array (a CALL of numpy.core.multiarray._reconstruct with
 * BUILD state) to a tensor: the pickle.h tree read, nothing executed.
 *   _reconstruct(ndarray, (0,), b'b') + BUILD (1, shape, dtype, fortran, raw)
 *   dtype = numpy.dtype('f4', 0, 1) + BUILD (3, '<', None, None, None, -1, -1, 0) */
#include "err.h"
#include "npy.h"
#include "pickle.h"

#include <string.h>

/* The descr ("<f4") of a pickled numpy.dtype. */
static int dtype_descr(const cords_pkl *d, char *out, size_t cap)
{
	if (!d || d->type != CORDS_PKL_CALL || d->global != CORDS_G_NP_DTYPE)
		return cords_err("numpy array without a numpy.dtype");
	const cords_pkl *code = cords_pkl_item(d->args, 0);
	const cords_pkl *order = cords_pkl_item(d->state, 1);
	if (!code || (code->type != CORDS_PKL_STR && code->type != CORDS_PKL_BYTES) ||
	    code->len + 2 > cap || code->len < 2)
		return cords_err("numpy.dtype without a type code");
	char o = '|';
	if (order && (order->type == CORDS_PKL_STR || order->type == CORDS_PKL_BYTES) && order->len == 1)
		o = order->s[0];
	out[0] = o;
	memcpy(out + 1, code->s, code->len);
	out[code->len + 1] = 0;
	return 0;
}

static int shape_of(const cords_pkl *t, int *ndim, int64_t *shape)
{
	if (!t || t->type != CORDS_PKL_TUPLE || t->n > CORDS_MAX_DIMS)
		return cords_err("numpy array shape is not a tuple of at most %d ints", CORDS_MAX_DIMS);
	for (size_t i = 0; i < t->n; i++) {
		if (t->items[i]->type != CORDS_PKL_INT || t->items[i]->i < 0)
			return cords_err("numpy array shape holds a %s",
					 cords_pkl_type_name(t->items[i]->type));
		shape[i] = t->items[i]->i;
	}
	*ndim = (int)t->n;
	return 0;
}

int cords_pkl_numpy_tensor(const cords_pkl *arr, const char *name, cords_tensor **out)
{
	*out = NULL;
	if (!arr || arr->type != CORDS_PKL_CALL || arr->global != CORDS_G_NP_RECONSTRUCT)
		return cords_err("%s: not a pickled numpy array", name);
	const cords_pkl *st = arr->state, *fo = cords_pkl_item(st, 3), *raw = cords_pkl_item(st, 4);
	const cords_pkl *cls = cords_pkl_item(arr->args, 0);
	if (!cls || cls->type != CORDS_PKL_GLOBAL || cls->global != CORDS_G_NP_NDARRAY)
		return cords_err("%s: _reconstruct of something other than numpy.ndarray", name);
	if (!st || st->type != CORDS_PKL_TUPLE || st->n != 5 || !fo || fo->type != CORDS_PKL_BOOL)
		return cords_err("%s: numpy array state is not (version, shape, dtype, fortran, data)", name);
	if (raw->type != CORDS_PKL_BYTES && raw->type != CORDS_PKL_STR)
		return cords_err("%s: numpy array data is a %s (object arrays are not read)", name,
				 cords_pkl_type_name(raw->type));
	char descr[16];
	cords_dtype t;
	int ndim = 0;
	int64_t shape[CORDS_MAX_DIMS];
	if (dtype_descr(cords_pkl_item(st, 2), descr, sizeof descr) || cords_npy_descr(descr, &t) ||
	    shape_of(cords_pkl_item(st, 1), &ndim, shape))
		return cords_err_prefix("%s: ", name);
	cords_tensor *x = cords_tensor_new(name, t, ndim, shape);
	if (!x)
		return cords_err_prefix("%s: ", name);
	if (x->nbytes != raw->len) {
		size_t want = x->nbytes;
		cords_tensor_free(x);
		return cords_err("%s: numpy array data is %zu bytes, its shape needs %zu", name, raw->len,
				 want);
	}
	if (x->nbytes)
		memcpy(x->data, raw->s, x->nbytes);
	if (fo->i && cords_fortran_to_c(x)) {
		cords_tensor_free(x);
		return -1;
	}
	*out = x;
	return 0;
}

int cords_pkl_int_tensor(const cords_pkl *list, const char *name, cords_tensor **out)
{
	*out = NULL;
	if (!list || (list->type != CORDS_PKL_LIST && list->type != CORDS_PKL_TUPLE))
		return cords_err("%s: not a list of integers", name);
	int64_t n = (int64_t)list->n;
	cords_tensor *x = cords_tensor_new(name, CORDS_I64, 1, &n);
	if (!x)
		return cords_err_prefix("%s: ", name);
	for (size_t i = 0; i < list->n; i++) {
		if (list->items[i]->type != CORDS_PKL_INT) {
			cords_tensor_free(x);
			return cords_err("%s: item %zu is a %s, not an int", name, i,
					 cords_pkl_type_name(list->items[i]->type));
		}
		((int64_t *)x->data)[i] = list->items[i]->i;
	}
	*out = x;
	return 0;
}
