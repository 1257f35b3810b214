/* CordsNet architecture: sizes, parameter names and shapes, metadata. */
#include "arch.h"
#include "err.h"
#include "meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int cords_ch[9] = {64, 64, 64, 128, 128, 256, 256, 512, 512};
const int cords_stride[8] = {1, 1, 2, 1, 2, 1, 2, 1};
const int cords_skip_ch[4] = {64, 128, 256, 512};

int cords_arch_init(cords_arch *a, int depth, int in_ch, int height, int width, int classes)
{
	memset(a, 0, sizeof *a);
	if (depth != 2 && depth != 4 && depth != 6 && depth != 8)
		return cords_err("depth %d (must be 2, 4, 6 or 8)", depth);
	if (in_ch < 1 || in_ch > 4096)
		return cords_err("%d input channels", in_ch);
	if (classes < 1 || classes > 1000000)
		return cords_err("%d classes", classes);
	if (height < 1 || width < 1 || height > 65536 || width > 65536)
		return cords_err("input size %dx%d", height, width);
	a->depth = depth;
	a->in_ch = in_ch;
	a->height = height;
	a->width = width;
	a->classes = classes;
	a->stem_h = cords_conv_out(height, 7, 2, 3);
	a->stem_w = cords_conv_out(width, 7, 2, 3);
	int h = cords_conv_out(a->stem_h, 3, 2, 1), w = cords_conv_out(a->stem_w, 3, 2, 1);
	for (int i = 0; i < depth; i++) {
		a->cin[i] = cords_ch[i];
		a->c[i] = cords_ch[i + 1];
		a->stride[i] = cords_stride[i];
		if (cords_stride[i] == 2) {
			h = cords_conv_out(h, 3, 2, 1);
			w = cords_conv_out(w, 3, 2, 1);
		}
		a->h[i] = h;
		a->w[i] = w;
	}
	a->nskip = depth / 2 - 1;
	for (int k = 0; k < a->nskip; k++) {
		a->skip_in[k] = cords_skip_ch[k];
		a->skip_out[k] = cords_skip_ch[k + 1];
	}
	return 0;
}

cords_feed cords_arch_feed(const cords_arch *a, int i)
{
	if (i == 0)
		return (cords_feed){.kind = CORDS_FEED_STEM, .prev = -1, .side = -1, .skip = -1};
	if (i == 1)
		return (cords_feed){.kind = CORDS_FEED_STEM_SKIP, .prev = 0, .side = -1, .skip = -1};
	/* r_{i-2} and r_{i-1} have one shape for even i; for odd i the channels
	 * double and the map halves between them. */
	if (i % 2 == 0)
		return (cords_feed){.kind = CORDS_FEED_SAME, .prev = i - 1, .side = i - 2, .skip = -1};
	return (cords_feed){.kind = CORDS_FEED_SKIP, .prev = i - 1, .side = i - 2, .skip = (i - 3) / 2};
}

int cords_skip_area(const cords_arch *a, int k)
{
	for (int i = 0; i < a->depth; i++)
		if (cords_arch_feed(a, i).skip == k)
			return i;
	return -1;
}

int cords_arch_nparams(const cords_arch *a)
{
	return 4 + 5 * a->depth + 2 * a->nskip + 3;
}

#define WN ".parametrizations.weight.original"

static void set_shape(int *ndim, int64_t *shape, int n, int64_t s0, int64_t s1, int64_t s2, int64_t s3)
{
	int64_t s[4] = {s0, s1, s2, s3};
	*ndim = n;
	for (int i = 0; i < n; i++)
		shape[i] = s[i];
}

/* A weight-normalised conv: g [out,1,1,1] then v [out,in,k,k]. */
static void wn_conv(int which, const char *base, int out, int in, int k, char *name, size_t ns,
		    int *ndim, int64_t *shape)
{
	snprintf(name, ns, "%s" WN "%d", base, which);
	if (which == 0)
		set_shape(ndim, shape, 4, out, 1, 1, 1);
	else
		set_shape(ndim, shape, 4, out, in, k, k);
}

int cords_arch_param(const cords_arch *a, int i, char *name, size_t ns, int *ndim, int64_t *shape)
{
	char base[64];
	int D = a->depth;
	if (i < 0 || i >= cords_arch_nparams(a))
		return cords_err("parameter index %d out of range", i);
	if (i < 2) {
		wn_conv(i, "inp_conv", 64, a->in_ch, 7, name, ns, ndim, shape);
		return 0;
	}
	if (i < 4) {
		wn_conv(i - 2, "inp_skip", 64, 64, 3, name, ns, ndim, shape);
		return 0;
	}
	i -= 4;
	if (i < 5 * D) { /* per area: area_conv g, v, conv_bias, area_area g, v */
		int ar = i / 5, j = i % 5, c = a->c[ar];
		if (j < 2) {
			snprintf(base, sizeof base, "area_conv.%d", ar);
			wn_conv(j, base, c, c, 3, name, ns, ndim, shape);
		} else if (j == 2) {
			snprintf(name, ns, "conv_bias.%d", ar);
			set_shape(ndim, shape, 3, c, a->h[ar], a->w[ar], 0);
		} else {
			snprintf(base, sizeof base, "area_area.%d", ar);
			wn_conv(j - 3, base, c, a->cin[ar], 3, name, ns, ndim, shape);
		}
		return 0;
	}
	i -= 5 * D;
	if (i < 2 * a->nskip) {
		int k = i / 2;
		snprintf(base, sizeof base, "skip_area.%d", k);
		wn_conv(i % 2, base, a->skip_out[k], a->skip_in[k], 1, name, ns, ndim, shape);
		return 0;
	}
	i -= 2 * a->nskip;
	int last = a->c[D - 1];
	if (i == 0) {
		snprintf(name, ns, "out_fc" WN "0");
		set_shape(ndim, shape, 2, a->classes, 1, 0, 0);
	} else if (i == 1) {
		snprintf(name, ns, "out_fc" WN "1");
		set_shape(ndim, shape, 2, a->classes, last, 0, 0);
	} else {
		snprintf(name, ns, "out_fc.bias");
		set_shape(ndim, shape, 1, a->classes, 0, 0, 0);
	}
	return 0;
}

static int is_float(cords_dtype t)
{
	return t == CORDS_F32 || t == CORDS_F64 || t == CORDS_F16 || t == CORDS_BF16;
}

int cords_arch_check(const cords_arch *a, const cords_tensor_list *l)
{
	char name[CORDS_NAME_MAX + 1], want[160], got[160];
	int64_t shape[CORDS_MAX_DIMS];
	int ndim;
	for (int i = 0; i < cords_arch_nparams(a); i++) {
		cords_arch_param(a, i, name, sizeof name, &ndim, shape);
		const cords_tensor *x = cords_list_find(l, name);
		cords_shape_str(ndim, shape, want, sizeof want);
		if (!x)
			return cords_err("missing tensor %s %s (CordsNet-R%d)", name, want, a->depth);
		cords_shape_str(x->ndim, x->shape, got, sizeof got);
		if (x->ndim != ndim || memcmp(x->shape, shape, (size_t)ndim * sizeof *shape))
			return cords_err("tensor %s has shape %s, expected %s", name, got, want);
		if (!is_float(x->dtype))
			return cords_err("tensor %s has dtype %s, expected a float type", name, cords_dtype_name(x->dtype));
	}
	return 0;
}

int cords_arch_infer(const cords_tensor_list *l, cords_arch *a)
{
	int depth = 0;
	char name[64];
	for (int d = 0; d < CORDS_MAX_DEPTH; d++) {
		snprintf(name, sizeof name, "conv_bias.%d", d);
		if (cords_list_find(l, name))
			depth = d + 1;
	}
	if (!depth)
		return cords_err("no conv_bias.0 tensor: not a CordsNet model");
	const cords_tensor *v = cords_list_find(l, "inp_conv" WN "1");
	const cords_tensor *fc = cords_list_find(l, "out_fc" WN "1");
	const cords_tensor *b0 = cords_list_find(l, "conv_bias.0");
	if (!v || v->ndim != 4)
		return cords_err("missing or mis-shaped inp_conv" WN "1 (expected [64,Cin,7,7])");
	if (!fc || fc->ndim != 2)
		return cords_err("missing or mis-shaped out_fc" WN "1 (expected [N,C])");
	if (b0->ndim != 3)
		return cords_err("conv_bias.0 has %d dimensions, expected 3", b0->ndim);
	int height = a->height > 0 ? a->height : 4 * (int)b0->shape[1];
	int width = a->width > 0 ? a->width : 4 * (int)b0->shape[2];
	if (cords_arch_init(a, depth, (int)v->shape[1], height, width, (int)fc->shape[0]))
		return -1;
	return cords_arch_check(a, l);
}

int cords_arch_to_meta(const cords_arch *a, cords_tensor *meta)
{
	if (cords_meta_set(meta, CORDS_KEY_FORMAT, "cords-model") || cords_meta_setf(meta, CORDS_KEY_DEPTH, "%d", a->depth) ||
	    cords_meta_setf(meta, CORDS_KEY_IN_CHANNELS, "%d", a->in_ch) ||
	    cords_meta_setf(meta, CORDS_KEY_HEIGHT, "%d", a->height) || cords_meta_setf(meta, CORDS_KEY_WIDTH, "%d", a->width) ||
	    cords_meta_setf(meta, CORDS_KEY_CLASSES, "%d", a->classes))
		return -1;
	return 0;
}

static int meta_int(const cords_tensor *meta, const char *key, int *out)
{
	char *s = cords_meta_get(meta, key), *end;
	if (!s)
		return cords_err("model metadata lacks '%s'", key);
	long v = strtol(s, &end, 10);
	int bad = end == s || *end || v < 0 || v > 1 << 30;
	free(s);
	if (bad)
		return cords_err("model metadata: bad value for '%s'", key);
	*out = (int)v;
	return 0;
}

int cords_arch_from_meta(const cords_tensor *meta, cords_arch *a)
{
	int d = 0, c = 0, h = 0, w = 0, n = 0;
	if (meta_int(meta, CORDS_KEY_DEPTH, &d) || meta_int(meta, CORDS_KEY_IN_CHANNELS, &c) ||
	    meta_int(meta, CORDS_KEY_HEIGHT, &h) || meta_int(meta, CORDS_KEY_WIDTH, &w) || meta_int(meta, CORDS_KEY_CLASSES, &n))
		return -1;
	return cords_arch_init(a, d, c, h, w, n);
}
