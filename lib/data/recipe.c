/* Per-dataset transform recipes (recipe.h). */
#include "recipe.h"

#include "augment.h"
#include "elastic.h"
#include "randaug.h"
#include "err.h"
#include "input.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int cords_recipe_init(cords_recipe *rc, const cords_dataset *d, int split, int size)
{
	int train = split == CORDS_TRAIN, mnist = !strcmp(d->name, "mnist"), fashion = !strcmp(d->name, "fashion-mnist");
	int cifar = !strncmp(d->name, "cifar", 5);
	memset(rc, 0, sizeof *rc);
	rc->size = size ? size : d->size ? d->size : 224;
	rc->channels = d->channels;
	memcpy(rc->mean, d->mean, sizeof rc->mean);
	memcpy(rc->std, d->std, sizeof rc->std);
	if (rc->size < 1 || rc->size > 4096)
		return cords_err("size %d out of range", rc->size);
	if (mnist || fashion || cifar) {
		rc->ops = CORDS_OP_RESIZE;
		if (train)
			rc->ops |= mnist ? CORDS_OP_AFFINE | CORDS_OP_JITTER | CORDS_OP_ELASTIC
				 : fashion ? CORDS_OP_FLIP | CORDS_OP_AFFINE | CORDS_OP_JITTER
					   : CORDS_OP_FLIP | CORDS_OP_RANDAUG;
		rc->mix = train && !mnist;
	} else {
		rc->ops = train ? CORDS_OP_RRC | CORDS_OP_FLIP | CORDS_OP_RANDAUG : CORDS_OP_RESIZE | CORDS_OP_CENTER;
		rc->resize = (int)floor(rc->size * 256.0 / 224.0 + 0.5);
	}
	return 0;
}

void cords_recipe_describe(const cords_recipe *rc, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = 0;
#define ADD(...) (o += (size_t)snprintf(buf + o, o < n ? n - o : 0, __VA_ARGS__))
	if (rc->ops & CORDS_OP_RRC)
		ADD("random_resized_crop(%d,0.08-1,3/4-4/3)", rc->size);
	if (rc->ops & CORDS_OP_CENTER)
		ADD("resize(%d),center_crop(%d)", rc->resize, rc->size);
	else if (rc->ops & CORDS_OP_RESIZE)
		ADD("resize(%d)", rc->size);
	if (rc->ops & CORDS_OP_FLIP)
		ADD(",hflip(0.5)");
	if (rc->ops & CORDS_OP_AFFINE)
		ADD(",affine(5,0.05,0.95-1.05,5)");
	if (rc->ops & CORDS_OP_JITTER)
		ADD(",color_jitter(0.1,0.1)");
	if (rc->ops & CORDS_OP_ELASTIC)
		ADD(",elastic(20,5)");
	if (rc->ops & CORDS_OP_RANDAUG)
		ADD(",randaugment(2,9)");
	ADD(",normalize");
#undef ADD
}

void cords_rrc_draw(cords_rng *r, int h, int w, int box[4])
{
	double area = (double)h * w, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
	for (int t = 0; t < 10; t++) {
		double ta = area * cords_rng_range(r, 0.08, 1.0), ar = exp(cords_rng_range(r, lr0, lr1));
		int cw = (int)nearbyint(sqrt(ta * ar)), ch = (int)nearbyint(sqrt(ta / ar));
		if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
			box[0] = (int)cords_rng_below(r, (uint64_t)(h - ch + 1));
			box[1] = (int)cords_rng_below(r, (uint64_t)(w - cw + 1));
			box[2] = ch, box[3] = cw;
			return;
		}
	}
	double in_ratio = (double)w / h;
	int cw = w, ch = h;
	if (in_ratio < 3.0 / 4.0)
		ch = (int)nearbyint(cw / (3.0 / 4.0));
	else if (in_ratio > 4.0 / 3.0)
		cw = (int)nearbyint(ch * (4.0 / 3.0));
	box[0] = (h - ch) / 2, box[1] = (w - cw) / 2, box[2] = ch, box[3] = cw;
}

/* PIL's convert("RGB") from L, or convert("L") from RGB. */
static int to_channels(cords_image *im, int c)
{
	cords_image o;
	size_t n = (size_t)im->h * im->w;
	if (im->c == c)
		return 0;
	if ((im->c != 1 && im->c != 3) || cords_image_alloc(&o, c, im->h, im->w))
		return cords_err("cannot convert a %d-channel image to %d channels", im->c, c);
	for (size_t i = 0; i < n; i++) {
		if (c == 3)
			o.p[i] = o.p[n + i] = o.p[2 * n + i] = im->p[i];
		else
			o.p[i] = (uint8_t)((im->p[i] * 19595 + im->p[n + i] * 38470 + im->p[2 * n + i] * 7471 + 0x8000) >> 16);
	}
	cords_image_move(im, &o);
	return 0;
}

static int crop_resize(cords_image *im, int top, int left, int h, int w, int oh, int ow)
{
	cords_image c = {0}, o = {0};
	const cords_image *src = im;
	if (top || left || h != im->h || w != im->w) {
		if (cords_crop(im, &c, top, left, h, w))
			return -1;
		src = &c;
	}
	int rc = cords_resize(src, &o, oh, ow);
	cords_image_free(&c);
	if (!rc)
		cords_image_move(im, &o);
	return rc;
}

static int geometry(const cords_recipe *rc, cords_image *im, cords_rng *r)
{
	int S = rc->size, oh, ow, top, left;
	if (rc->ops & CORDS_OP_RRC) {
		int b[4];
		cords_rrc_draw(r, im->h, im->w, b);
		return crop_resize(im, b[0], b[1], b[2], b[3], S, S);
	}
	cords_resize_shorter(im->h, im->w, rc->ops & CORDS_OP_CENTER ? rc->resize : S, &oh, &ow);
	if (!(rc->ops & CORDS_OP_CENTER)) {
		if (oh != S || ow != S)
			return cords_err("a %dx%d image resized to %dx%d, not %dx%d", im->h, im->w, oh, ow, S, S);
		return crop_resize(im, 0, 0, im->h, im->w, oh, ow);
	}
	/* resize then centre crop, computing only the crop */
	cords_image o;
	cords_center_offsets(oh, ow, S, S, &top, &left);
	if (cords_resize_region(im, &o, oh, ow, top, left, S, S))
		return -1;
	cords_image_move(im, &o);
	return 0;
}

int cords_recipe_image(const cords_recipe *rc, cords_image *im, cords_rng *r)
{
	if (to_channels(im, rc->channels) || geometry(rc, im, r))
		return -1;
	if (rc->ops & CORDS_OP_FLIP)
		cords_random_flip(im, r);
	if ((rc->ops & CORDS_OP_AFFINE) && cords_random_affine(im, r, 5, 0.05, 0.95, 1.05, 5))
		return -1;
	if (rc->ops & CORDS_OP_JITTER)
		cords_color_jitter(im, r, 0.1, 0.1);
	if ((rc->ops & CORDS_OP_ELASTIC) && cords_elastic(im, r, 20, 5))
		return -1;
	if ((rc->ops & CORDS_OP_RANDAUG) && cords_randaugment(im, r))
		return -1;
	return 0;
}

int cords_recipe_apply(const cords_recipe *rc, cords_image *im, cords_rng *r, float *out)
{
	if (cords_recipe_image(rc, im, r))
		return -1;
	size_t n = (size_t)rc->size * rc->size;
	for (int c = 0; c < rc->channels; c++)
		cords_norm_u8(im->p + c * n, (int64_t)n, (float)rc->mean[c], (float)rc->std[c], out + c * n);
	return 0;
}
