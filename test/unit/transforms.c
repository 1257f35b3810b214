/* Transforms against PIL/torchvision: exact results on the fixtures of
 * testdata/data/gen.py (the files in pil/), and the random parameters' distributions
 * against torchvision's (dist.txt quantiles). */
#include "augment.h"
#include "elastic.h"
#include "image.h"
#include "mix.h"
#include "randaug.h"
#include "recipe.h"
#include "t.h"

#include <stdint.h>

typedef struct {
	cords_image in, want;
	int np;
	double *p;
} fixture;

static int load(const char *name, fixture *f)
{
	char path[512];
	int32_t h[7];
	snprintf(path, sizeof path, "%s/data/pil/%s.bin", getenv("TESTDATA") ? getenv("TESTDATA") : "testdata", name);
	memset(f, 0, sizeof *f);
	FILE *fp = fopen(path, "rb");
	char magic[4];
	int ok = fp && fread(magic, 1, 4, fp) == 4 && !memcmp(magic, "PILT", 4) && fread(h, 4, 7, fp) == 7 &&
		 h[6] <= 4096 && (f->p = malloc(8 * (size_t)h[6] + 8)) && fread(f->p, 8, (size_t)h[6], fp) == (size_t)h[6] &&
		 !cords_image_alloc(&f->in, h[0], h[1], h[2]) && !cords_image_alloc(&f->want, h[3], h[4], h[5]) &&
		 fread(f->in.p, 1, (size_t)h[0] * h[1] * h[2], fp) == (size_t)h[0] * h[1] * h[2] &&
		 fread(f->want.p, 1, (size_t)h[3] * h[4] * h[5], fp) == (size_t)h[3] * h[4] * h[5];
	f->np = h[6];
	if (fp)
		fclose(fp);
	return ok ? 0 : -1;
}

/* Largest absolute difference, or 999 if the shapes differ. */
static int maxdiff(const cords_image *a, const cords_image *b)
{
	if (a->c != b->c || a->h != b->h || a->w != b->w)
		return 999;
	int m = 0;
	for (size_t i = 0; i < (size_t)a->c * a->h * a->w; i++) {
		int d = abs(a->p[i] - b->p[i]);
		m = d > m ? d : m;
	}
	return m;
}

static void done(fixture *f, cords_image *got)
{
	free(f->p);
	cords_image_free(&f->in);
	cords_image_free(&f->want);
	cords_image_free(got);
}

static void check_resize(const char *name)
{
	fixture f;
	cords_image got = {0};
	CASE(name) {
		CHECK(!load(name, &f), "cannot load fixture %s", name);
		CHECK(!cords_resize(&f.in, &got, (int)f.p[0], (int)f.p[1]), "resize failed");
		CHECK(maxdiff(&got, &f.want) == 0, "differs from PIL by %d", maxdiff(&got, &f.want));
		done(&f, &got);
	}
}

/* The slow, obvious resize: Pillow's bilinear filter straight from its
 * definition (both passes in one loop per output pixel, doubles for the
 * weights), to check the tiled, transposed, vectorised one on many sizes. */
static void taps(int n, int m, int i, int *lo, int *cnt, int32_t *k)
{
	double scale = (double)n / m, fs = scale < 1 ? 1 : scale, centre = (i + 0.5) * scale, w[512], sum = 0; /* n <= 300 here */
	int a = (int)(centre - fs + 0.5), b = (int)(centre + fs + 0.5);
	a = a < 0 ? 0 : a, b = b > n ? n : b;
	for (int t = a; t < b; t++) {
		double d = fabs((t - centre + 0.5) / fs);
		sum += w[t - a] = d < 1 ? 1 - d : 0;
	}
	for (int t = a; t < b; t++)
		k[t - a] = (int32_t)(0.5 + (sum != 0 ? w[t - a] / sum : w[t - a]) * (1 << 22));
	*lo = a, *cnt = b - a;
}

static uint8_t to8(int32_t v)
{
	v >>= 22;
	return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

static void ref_resize(const cords_image *in, cords_image *out, int oh, int ow)
{
	cords_image mid;
	cords_image_alloc(&mid, in->c, in->h, ow);
	cords_image_alloc(out, in->c, oh, ow);
	int lo, n;
	int32_t k[512];
	for (int c = 0; c < in->c; c++)
		for (int y = 0; y < in->h; y++)
			for (int x = 0; x < ow; x++) {
				int32_t s = 1 << 21;
				if (ow == in->w)
					s += in->p[((size_t)c * in->h + y) * in->w + x] << 22;
				else {
					taps(in->w, ow, x, &lo, &n, k);
					for (int t = 0; t < n; t++)
						s += in->p[((size_t)c * in->h + y) * in->w + lo + t] * k[t];
				}
				mid.p[((size_t)c * in->h + y) * ow + x] = to8(s);
			}
	for (int c = 0; c < in->c; c++)
		for (int y = 0; y < oh; y++)
			for (int x = 0; x < ow; x++) {
				int32_t s = 1 << 21;
				if (oh == in->h)
					s += mid.p[((size_t)c * in->h + y) * ow + x] << 22;
				else {
					taps(in->h, oh, y, &lo, &n, k);
					for (int t = 0; t < n; t++)
						s += mid.p[((size_t)c * in->h + lo + t) * ow + x] * k[t];
				}
				out->p[((size_t)c * oh + y) * ow + x] = to8(s);
			}
	cords_image_free(&mid);
}

static void check_affine(const char *name)
{
	fixture f;
	cords_image got = {0};
	CASE(name) {
		CHECK(!load(name, &f), "cannot load fixture %s", name);
		cords_affine p = {f.p[0], f.p[1], f.p[2], f.p[3], f.p[4], 0};
		double a[6];
		cords_affine_matrix(&p, f.in.h, f.in.w, a);
		CHECK(!cords_affine_nearest(&f.in, &got, a), "affine failed");
		CHECK(maxdiff(&got, &f.want) == 0, "differs from PIL by %d", maxdiff(&got, &f.want));
		done(&f, &got);
	}
}

static void check_enhance(const char *name, int contrast)
{
	fixture f;
	cords_image got = {0};
	CASE(name) {
		CHECK(!load(name, &f), "cannot load fixture %s", name);
		if (contrast)
			cords_contrast(&f.in, f.p[0]);
		else
			cords_brightness(&f.in, f.p[0]);
		CHECK(maxdiff(&f.in, &f.want) == 0, "differs from PIL by %d", maxdiff(&f.in, &f.want));
		done(&f, &got);
	}
}

/* One RandAugment op with torchvision's magnitude, which must also be ours. */
static void check_ra(const char *name)
{
	fixture f;
	cords_image got = {0};
	char full[64];
	snprintf(full, sizeof full, "ra_%s", name);
	CASE(full) {
		CHECK(!load(full, &f), "cannot load fixture %s", full);
		cords_ra_op op = {(int)f.p[0], f.p[1]};
		CHECK_CLOSE(fabs(op.magnitude), cords_ra_magnitude(op.op, 9, f.in.h, f.in.w), 0, 1e-12);
		CHECK(!cords_randaug_apply(&f.in, &op), "apply");
		CHECK(maxdiff(&f.in, &f.want) == 0, "differs from torchvision by %d", maxdiff(&f.in, &f.want));
		done(&f, &got);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Quantiles and mean of v against dist.txt's line `name`, within tol. */
static void check_dist(const char *name, double *v, int n, double tol)
{
	char path[512], line[512], key[64];
	double want[6], got[6], q[5] = {0.1, 0.25, 0.5, 0.75, 0.9}, sum = 0;
	snprintf(path, sizeof path, "%s/data/dist.txt", getenv("TESTDATA") ? getenv("TESTDATA") : "testdata");
	FILE *fp = fopen(path, "r");
	int found = 0;
	while (!found && fp && fgets(line, sizeof line, fp))
		if (sscanf(line, "%63s %lf %lf %lf %lf %lf %lf", key, &want[0], &want[1], &want[2], &want[3], &want[4],
			   &want[5]) == 7 && !strcmp(key, name))
			found = 1;
	if (fp)
		fclose(fp);
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	for (int i = 0; i < n; i++)
		sum += v[i];
	for (int k = 0; k < 5; k++) /* numpy's linear quantile */
	{
		double pos = q[k] * (n - 1);
		int lo = (int)pos;
		got[k] = v[lo] + (pos - lo) * (v[lo + 1 < n ? lo + 1 : lo] - v[lo]);
	}
	got[5] = sum / n;
	CASE(name) {
		CHECK(found, "%s not in dist.txt", name);
		for (int k = 0; k < 6; k++)
			CHECK(fabs(got[k] - want[k]) <= tol, "%s %s: %g, torchvision %g", name,
			      k < 5 ? "quantile" : "mean", got[k], want[k]);
	}
}

#define N 20000

static void random_params(void)
{
	static double a[N], b[N], c[N], d[N];
	cords_rng r;
	cords_rng_seed(&r, 7);
	for (int i = 0; i < N; i++) {
		int box[4];
		cords_rrc_draw(&r, 80, 100, box);
		a[i] = (double)box[2] * box[3] / 8000.0;
		b[i] = (double)box[3] / box[2];
		c[i] = box[0] / (double)(80 - box[2] > 1 ? 80 - box[2] : 1);
	}
	check_dist("rrc_area", a, N, 0.02);
	check_dist("rrc_ratio", b, N, 0.02);
	check_dist("rrc_top", c, N, 0.03);
	for (int i = 0; i < N; i++) {
		cords_affine p;
		cords_affine_draw(&r, 28, 28, 5, 0.05, 0.95, 1.05, 5, &p);
		a[i] = p.angle, b[i] = p.tx, c[i] = p.scale, d[i] = p.shear_x;
	}
	check_dist("affine_angle", a, N, 0.15);
	check_dist("affine_tx", b, N, 0.02);
	check_dist("affine_scale", c, N, 0.003);
	check_dist("affine_shear", d, N, 0.15);
}

/* Jitter: the order and factor draws of cords_jitter_draw against
 * torchvision's (its contrast factor is U(0.9, 1.1) as well), then
 * cords_color_jitter applies those draws, in that order. */
static void jitter_params(void)
{
	static double fb[N], fc[N], first[N];
	cords_rng r;
	for (int i = 0; i < N; i++) {
		cords_jitter j;
		cords_rng_split(&r, 9, (uint64_t)i);
		cords_jitter_draw(&r, 0.1, 0.1, &j);
		first[i] = j.brightness_first, fb[i] = j.brightness, fc[i] = j.contrast;
	}
	check_dist("jitter_brightness", fb, N, 0.004);
	check_dist("jitter_contrast", fc, N, 0.004);
	check_dist("jitter_first_is_brightness", first, N, 0.02);
	CASE("colour jitter: brightness then contrast, or contrast then brightness, by its draws") {
		cords_image im, want;
		int orders[2] = {0, 0};
		for (int k = 0; k < 40; k++) {
			cords_image_alloc(&im, 3, 4, 5);
			cords_image_alloc(&want, 3, 4, 5);
			for (int i = 0; i < 60; i++) /* values clipped by either op in one order only */
				im.p[i] = want.p[i] = (uint8_t)(i % 2 ? 250 - 3 * i : 5 * i);
			cords_rng_seed(&r, 100 + (uint64_t)k);
			cords_rng t = r;
			cords_jitter j;
			cords_jitter_draw(&t, 0.1, 0.1, &j);
			if (j.brightness_first)
				cords_brightness(&want, j.brightness);
			cords_contrast(&want, j.contrast);
			if (!j.brightness_first)
				cords_brightness(&want, j.brightness);
			orders[j.brightness_first]++;
			cords_color_jitter(&im, &r, 0.1, 0.1);
			CHECK(maxdiff(&im, &want) == 0, "seed %d: differs by %d from its draws applied", 100 + k, maxdiff(&im, &want));
			CHECK(cords_rng_u64(&r) == cords_rng_u64(&t), "seed %d: another number of draws", 100 + k);
			cords_image_free(&im);
			cords_image_free(&want);
		}
		CHECK(orders[0] > 5 && orders[1] > 5, "orders drawn: %d, %d", orders[0], orders[1]);
	}
	CASE("jitter on a flat image is a brightness scaling") {
		cords_image im;
		cords_image_alloc(&im, 1, 4, 4);
		memset(im.p, 200, 16);
		cords_rng_seed(&r, 3);
		cords_rng t = r;
		cords_jitter j;
		cords_jitter_draw(&t, 0.1, 0.1, &j);
		cords_color_jitter(&im, &r, 0.1, 0.1);
		CHECK(im.p[5] == cords_blend8(0, 200, (float)j.brightness), "got %d, want %d", im.p[5],
		      cords_blend8(0, 200, (float)j.brightness));
		cords_image_free(&im);
	}
}

static void mix_checks(void)
{
	CASE("CutMix: box area matches lambda, labels follow, partner is i-1") {
		cords_rng r;
		cords_rng_seed(&r, 5);
		cords_mix m;
		do
			cords_mix_draw(&r, 8, 8, &m);
		while (!m.cutmix || m.x2 == m.x1 || m.y2 == m.y1);
		float x[3 * 64], tmp[3 * 64], soft[3 * 4];
		int64_t y[3] = {0, 1, 3};
		for (int i = 0; i < 3 * 64; i++)
			x[i] = (float)(i / 64);
		cords_mix_apply(&m, x, tmp, 3, 1, 8, 8, y, 4, soft);
		int pasted = 0;
		for (int i = 0; i < 64; i++)
			pasted += x[64 + i] == 0.0f;
		CHECK(pasted == (m.x2 - m.x1) * (m.y2 - m.y1), "pasted %d", pasted);
		CHECK_CLOSE(m.lambda, 1 - pasted / 64.0, 0, 1e-12);
		CHECK_CLOSE(soft[4 + 1], m.lambda, 0, 1e-6);
		CHECK_CLOSE(soft[4 + 0], 1 - m.lambda, 0, 1e-6);
		CHECK_CLOSE(soft[0 + 3], 1 - m.lambda, 0, 1e-6); /* image 0's partner is the last */
	}
	CASE("MixUp/CutMix chosen half the time, lambda ~ U(0,1)") {
		cords_rng r;
		cords_rng_seed(&r, 6);
		int cut = 0;
		double s = 0;
		for (int i = 0; i < N; i++) {
			cords_mix m;
			cords_mix_draw(&r, 32, 32, &m);
			cut += m.cutmix;
			if (!m.cutmix)
				s += m.lambda;
		}
		CHECK(fabs(cut / (double)N - 0.5) < 0.02, "CutMix share %g", cut / (double)N);
		CHECK(fabs(s / (N - cut) - 0.5) < 0.02, "MixUp mean lambda %g", s / (N - cut));
	}
}

int main(void)
{
	check_resize("resize_gray_up");
	check_resize("resize_rgb_down");
	check_resize("resize_rgb_one_axis");
	CASE("resize and resize-then-crop equal the slow reference on 200 random sizes") {
		cords_rng r;
		cords_rng_seed(&r, 5);
		int bad = 0;
		for (int i = 0; i < 200 && !bad; i++) {
			int c = i % 2 ? 3 : 1, h = 1 + (int)cords_rng_below(&r, 300), w = 1 + (int)cords_rng_below(&r, 300);
			int oh = 1 + (int)cords_rng_below(&r, 2 * h < 300 ? 2 * h : 300);
			int ow = 1 + (int)cords_rng_below(&r, 2 * w < 300 ? 2 * w : 300);
			cords_image in, want, got = {0}, part = {0};
			cords_image_alloc(&in, c, h, w);
			for (size_t j = 0; j < (size_t)c * h * w; j++)
				in.p[j] = (uint8_t)cords_rng_below(&r, 256);
			ref_resize(&in, &want, oh, ow);
			int top = (int)cords_rng_below(&r, (uint64_t)oh), left = (int)cords_rng_below(&r, (uint64_t)ow);
			int ph = 1 + (int)cords_rng_below(&r, (uint64_t)(oh - top)), pw = 1 + (int)cords_rng_below(&r, (uint64_t)(ow - left));
			bad = cords_resize(&in, &got, oh, ow) || maxdiff(&got, &want) ||
			      cords_resize_region(&in, &part, oh, ow, top, left, ph, pw);
			for (int y = 0; !bad && y < c * ph; y++)
				bad = memcmp(part.p + (size_t)y * pw,
					     want.p + ((size_t)(y / ph) * oh + top + y % ph) * ow + left, (size_t)pw) != 0;
			CHECK(!bad, "%dx%dx%d -> %dx%d (region %d,%d %dx%d) differs", c, h, w, oh, ow, top, left, ph, pw);
			cords_image_free(&in), cords_image_free(&want), cords_image_free(&got), cords_image_free(&part);
		}
	}
	for (int k = 0; k < 4; k++) {
		char n[32];
		snprintf(n, sizeof n, "affine_gray_%d", k);
		check_affine(n);
	}
	check_affine("affine_rgb");
	check_enhance("brightness_rgb_0.9", 0);
	check_enhance("brightness_rgb_1.07", 0);
	check_enhance("contrast_rgb_0.9", 1);
	check_enhance("contrast_rgb_1.07", 1);
	check_enhance("contrast_gray_0.9", 1);
	check_enhance("contrast_gray_1.07", 1);
	CASE("imagenet test recipe geometry: resize 64, centre crop 56 (as torchvision)") {
		fixture f;
		CHECK(!load("resize64_crop56", &f), "fixture");
		cords_recipe rc;
		const cords_dataset *d = cords_dataset_find("imagenet");
		CHECK(!cords_recipe_init(&rc, d, CORDS_TEST, 56) && rc.resize == 64, "resize %d", rc.resize);
		float out[3 * 56 * 56];
		cords_rng r;
		cords_rng_seed(&r, 1);
		CHECK(!cords_recipe_apply(&rc, &f.in, &r, out), "apply");
		static double want[3 * 56 * 56];
		for (int c = 0; c < 3; c++)
			for (int i = 0; i < 56 * 56; i++)
				want[c * 56 * 56 + i] = (f.want.p[c * 56 * 56 + i] / 255.0 - d->mean[c]) / d->std[c];
		t_worst e = {0, ""};
		CHECK(t_cmp(&e, "x", out, want, 3 * 56 * 56, .abs = 1e-5) <= 1, "%s", e.at);
		cords_image got = {0};
		done(&f, &got);
	}
	static const char *ra[] = {"Identity", "ShearX", "ShearX_neg", "ShearY", "ShearY_neg", "TranslateX",
				   "TranslateX_neg", "TranslateY", "TranslateY_neg", "Rotate", "Rotate_neg", "Brightness",
				   "Brightness_neg", "Color", "Color_neg", "Contrast", "Contrast_neg", "Sharpness",
				   "Sharpness_neg", "Posterize", "Solarize", "AutoContrast", "Equalize"};
	for (size_t i = 0; i < sizeof ra / sizeof *ra; i++)
		check_ra(ra[i]);
	CASE("RandAugment: ops uniform over 14, signs balanced") {
		cords_rng r;
		cords_rng_seed(&r, 11);
		int count[CORDS_RA_NOPS] = {0}, neg = 0, signed_n = 0;
		for (int i = 0; i < N; i++) {
			cords_ra_op ops[2];
			cords_randaug_draw(&r, 32, 32, ops);
			for (int k = 0; k < 2; k++) {
				count[ops[k].op]++;
				if (ops[k].op >= CORDS_RA_SHEAR_X && ops[k].op <= CORDS_RA_SHARPNESS)
					signed_n++, neg += ops[k].magnitude < 0;
			}
		}
		for (int k = 0; k < CORDS_RA_NOPS; k++)
			CHECK(fabs(count[k] / (2.0 * N) - 1 / 14.0) < 0.006, "op %d share %g", k, count[k] / (2.0 * N));
		CHECK(fabs(neg / (double)signed_n - 0.5) < 0.02, "negative share %g", neg / (double)signed_n);
	}
	CASE("elastic (alpha 20, sigma 5) as torchvision given the noise") {
		fixture f;
		CHECK(!load("elastic_gray", &f) && f.np == 2 * 28 * 28, "fixture");
		float d[2 * 28 * 28];
		for (int i = 0; i < 2 * 28 * 28; i++)
			d[i] = (float)f.p[i];
		CHECK(!cords_elastic_field(d, 28, 28, 20, 5) && !cords_elastic_apply(&f.in, d), "elastic");
		int m = maxdiff(&f.in, &f.want), ndiff = 0;
		for (int i = 0; i < 28 * 28; i++)
			ndiff += f.in.p[i] != f.want.p[i];
		CHECK(m <= 1 && ndiff < 8, "max difference %d, %d pixels differ", m, ndiff);
		cords_image got = {0};
		done(&f, &got);
	}
	random_params();
	jitter_params();
	mix_checks();
	T_DONE();
}
