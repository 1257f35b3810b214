/* BN folding where the PyTorch fixtures do not reach: random BatchNorm
 * statistics and odd map sizes (the stem's pooled bias at an odd border);
 * the folded CNN's logits must equal the BN CNN's eval logits, and the
 * folded tensors must make a model, and inverse initialisation on them
 * must give the same losses whatever the batch size. Also the default
 * initialisation and the BatchNorm tensors a fresh CNN gets. */
#include "arch.h"
#include "backend.h"
#include "cnn_train.h"
#include "err.h"
#include "fold.h"
#include "inverse.h"
#include "model.h"
#include "rng.h"
#include "t.h"

static cords_backend *be;

/* The initialisation's promises: shapes of the architecture, v within
 * +-1/sqrt(fan_in), g = ||v|| row by row, conv_bias 0, fc bias within
 * +-1/sqrt(C). */
static void check_init(const cords_arch *a, const cords_tensor_list *l)
{
	CHECK(cords_arch_check(a, l) == 0, "%s", cords_errmsg());
	int bad = 0;
	for (int i = 0; i < l->n; i++) {
		const cords_tensor *t = l->items[i];
		const float *d = t->data;
		size_t n = strlen(t->name);
		if (n > 9 && !strcmp(t->name + n - 9, "original1")) {
			int64_t O = t->shape[0], K = cords_tensor_numel(t) / O;
			char gn[256];
			snprintf(gn, sizeof gn, "%.*s0", (int)n - 1, t->name);
			const float *g = cords_list_find(l, gn)->data;
			for (int64_t o = 0; o < O; o++) {
				double s = 0;
				for (int64_t k = 0; k < K; k++) {
					bad += !(fabs(d[o * K + k]) <= (1 + 1e-7) / sqrt((double)K)); /* float rounding */
					s += (double)d[o * K + k] * d[o * K + k];
				}
				bad += !(fabs(g[o] - sqrt(s)) <= 1e-6 * sqrt(s));
			}
		} else if (!strncmp(t->name, "conv_bias.", 10)) {
			for (int64_t k = 0; k < cords_tensor_numel(t); k++)
				bad += d[k] != 0;
		} else if (!strcmp(t->name, "out_fc.bias")) {
			double bound = 1 / sqrt((double)a->c[a->depth - 1]), m = 0;
			for (int64_t k = 0; k < cords_tensor_numel(t); k++)
				bad += !(fabs(d[k]) <= bound), m = fmax(m, fabs(d[k]));
			bad += a->classes > 2 && m < bound / 10; /* drawn, not left at 0 */
		}
	}
	CHECK(!bad, "R%d: %d values break the initialisation's promises", a->depth, bad);
}

static void fold_case(int depth, int cin, int h, int w, int classes, uint64_t seed)
{
	cords_arch a;
	CHECK(cords_arch_init(&a, depth, cin, h, w, classes) == 0, "%s", cords_errmsg());
	cords_tensor_list init = {0}, cnn = {0}, folded = {0};
	CHECK(cords_init_params(&a, seed, &init) == 0, "%s", cords_errmsg());
	check_init(&a, &init);
	cords_tensor_list again = {0};
	cords_init_params(&a, seed, &again);
	CHECK(again.n == init.n && !memcmp(again.items[1]->data, init.items[1]->data, init.items[1]->nbytes),
	      "the same seed, other values");
	cords_list_free(&again);
	/* The BN CNN: the convolutions, BatchNorm with random statistics. */
	for (int i = 0; i < init.n; i++)
		if (strncmp(init.items[i]->name, "conv_bias.", 10))
			cords_list_push(&cnn, cords_tensor_to_f32(init.items[i]));
	CHECK(cords_cnn_add_bn(&a, &cnn) == 0, "%s", cords_errmsg());
	cords_rng r;
	cords_rng_seed(&r, seed + 1);
	int nbn = 0;
	for (int i = 0; i < cnn.n; i++) {
		cords_tensor *t = cnn.items[i];
		if (strncmp(t->name, "bn_", 3))
			continue;
		nbn++;
		int var = strstr(t->name, "running_var") != NULL, gam = strstr(t->name, ".weight") != NULL;
		for (int64_t k = 0; k < cords_tensor_numel(t); k++)
			((float *)t->data)[k] =
				(float)(var || gam ? cords_rng_range(&r, 0.5, 2) : cords_rng_range(&r, -0.5, 0.5));
	}
	CHECK(nbn == 4 * cords_cnn_nbn(&a), "%d BatchNorm tensors", nbn);
	CHECK(cords_fold(&a, &cnn, &folded) == 0, "%s", cords_errmsg());
	CHECK(cords_arch_check(&a, &folded) == 0, "folded tensors: %s", cords_errmsg());
	const int B = 2;
	int64_t nx = (int64_t)B * cin * h * w;
	float *x = malloc((size_t)nx * sizeof *x), *lf = malloc(B * classes * sizeof *lf), *lb = malloc(B * classes * sizeof *lb);
	for (int64_t i = 0; i < nx; i++)
		x[i] = (float)cords_rng_normal(&r);
	cords_cnn *f = cords_cnn_new(&a, be, 1, B), *b = cords_cnn_new(&a, be, 0, B);
	cords_params *fp = cords_params_new(be, &folded, NULL), *bp = cords_params_new(be, &cnn, NULL);
	CHECK(f && b && fp && bp && !cords_cnn_set_params(f, fp) && !cords_cnn_set_params(b, bp), "%s", cords_errmsg());
	cords_labels none = {0};
	if (f && b && fp && bp) {
		cords_cnn_step(f, fp, 0, B, x, none, 0, lf);
		cords_cnn_step(b, bp, 0, B, x, none, 0, lb);
		/* twice: nothing accumulates from one step into the next */
		float *second = malloc(B * classes * sizeof *second);
		cords_cnn_step(b, bp, 0, B, x, none, 0, second);
		CHECK(!memcmp(second, lb, B * classes * sizeof *second), "the BN CNN's second step gives other logits");
		free(second);
		double m = 0;
		for (int i = 0; i < B * classes; i++)
			m = fmax(m, fabs(lb[i]));
		t_worst e = {0, ""};
		t_cmp(&e, "folded logits", lf, lb, B * classes, .abs = 1e-4 * fmax(m, 1e-2));
		CHECK(e.err <= 1, "R%d %dx%d: %s", depth, h, w, e.at);
	}
	/* (R2) Inverse initialisation at batch 2, then 1, then 2: the mean fit and
	 * stability terms of two images are the means of each alone. */
	cords_inverse *inv = depth == 2 ? cords_inverse_new(&a, be, &folded, B, 2, 0.5) : NULL;
	cords_params *rp = depth == 2 ? cords_params_new(be, &folded, cords_params_all) : NULL;
	CHECK(depth != 2 || (inv && rp), "inverse: %s", cords_errmsg());
	if (inv && rp) {
		double f2, e2, f0, e0, f1, e1, f2b, e2b;
		double l2 = cords_inverse_step(inv, rp, 2, x, 1, &f2, &e2);
		double l0 = cords_inverse_step(inv, rp, 1, x, 0, &f0, &e0);
		double l1 = cords_inverse_step(inv, rp, 1, x + nx / B, 1, &f1, &e1);
		double l2b = cords_inverse_step(inv, rp, 2, x, 0, &f2b, &e2b);
		CHECK(isfinite(l2) && isfinite(l0) && isfinite(l1) && l2b == l2 && f2b == f2 && e2b == e2,
		      "batch 2 again: %.9g, first %.9g", l2b, l2);
		CHECK(fabs(f2 - (f0 + f1) / 2) <= 1e-5 * f2 && fabs(e2 - (e0 + e1) / 2) <= 1e-5 * e2 &&
			      fabs(l2 - (f2 + 0.5 * e2)) <= 1e-12 * l2,
		      "fit %.9g of %.9g and %.9g, stability %.9g of %.9g and %.9g", f2, f0, f1, e2, e0, e1);
		/* built for one image, then given two: its buffers must grow. (Batch-2 buffers given
		 * one image broadcast it and agree, so only this way shows a batch change missed.) */
		cords_inverse *one = cords_inverse_new(&a, be, &folded, 1, 2, 0.5);
		double f2c = NAN, e2c = NAN, l2c = one ? cords_inverse_step(one, rp, 2, x, 0, &f2c, &e2c) : NAN;
		CHECK(l2c == l2 && f2c == f2 && e2c == e2, "batch 2 after 1: %.9g, expected %.9g: %s", l2c, l2,
		      cords_errmsg());
		cords_inverse_free(one);
	}
	cords_inverse_free(inv);
	cords_params_free(rp);
	/* The folded tensors make a model that runs a step. */
	cords_model *mod = cords_model_new(&folded, NULL, be);
	CHECK(mod && mod->arch.depth == depth, "model: %s", cords_errmsg());
	if (mod) {
		cords_state *s = cords_state_new(mod, 1), *t = cords_state_new(mod, 1);
		cords_work *wk = cords_work_new(mod, 1);
		CHECK(s && t && wk && !cords_model_step(mod, &mod->dyn, wk, NULL, s, t), "step: %s", cords_errmsg());
		cords_state_free(mod, s), cords_state_free(mod, t);
		cords_work_free(mod, wk);
	}
	cords_model_free(mod);
	cords_cnn_free(f), cords_cnn_free(b);
	cords_params_free(fp), cords_params_free(bp);
	cords_list_free(&init), cords_list_free(&cnn), cords_list_free(&folded);
	free(x), free(lf), free(lb);
}

int main(void)
{
	be = t_backend("cpu");
	CASE("R4, 2 channels, 25x27 (odd stem map): folded logits equal the BN CNN's") fold_case(4, 2, 25, 27, 5, 11);
	CASE("R2, 1 channel, 19x18") fold_case(2, 1, 19, 18, 3, 12);
	CASE("R6, 3 channels, 13x11") fold_case(6, 3, 13, 11, 4, 13);
	CASE("BatchNorm of a fresh CNN: names, channels, weight 1, bias 0, mean 0, var 1; existing ones kept")
	{
		cords_arch a;
		cords_arch_init(&a, 6, 1, 28, 28, 10);
		char name[64];
		int c = 0;
		CHECK(cords_cnn_nbn(&a) == 1 + 12 + 2, "%d", cords_cnn_nbn(&a));
		CHECK(!cords_cnn_bn_name(&a, 0, name, sizeof name, &c) && !strcmp(name, "bn_inp") && c == 64, "%s", name);
		CHECK(!cords_cnn_bn_name(&a, 1, name, sizeof name, &c) && !strcmp(name, "bn_area_area.0") && c == 64, "%s",
		      name);
		CHECK(!cords_cnn_bn_name(&a, 4, name, sizeof name, &c) && !strcmp(name, "bn_area_conv.1") && c == 64, "%s",
		      name);
		CHECK(!cords_cnn_bn_name(&a, 12, name, sizeof name, &c) && !strcmp(name, "bn_area_conv.5") && c == 256,
		      "%s %d", name, c);
		CHECK(!cords_cnn_bn_name(&a, 14, name, sizeof name, &c) && !strcmp(name, "bn_skip_area.1") && c == 256,
		      "%s %d", name, c);
		CHECK(cords_cnn_bn_name(&a, 15, name, sizeof name, &c) < 0, "index 15 accepted");
		cords_tensor_list l = {0};
		int64_t s = 64;
		cords_tensor *kept = cords_tensor_new("bn_inp.running_var", CORDS_F32, 1, &s);
		((float *)kept->data)[0] = 5;
		cords_list_push(&l, kept);
		CHECK(cords_cnn_add_bn(&a, &l) == 0 && l.n == 4 * 15, "%d tensors", l.n);
		int bad = 0;
		for (int i = 1; i < l.n; i++) {
			const cords_tensor *t = l.items[i];
			float want = strstr(t->name, ".weight") || strstr(t->name, ".running_var") ? 1 : 0;
			for (int64_t k = 0; k < cords_tensor_numel(t); k++)
				bad += ((float *)t->data)[k] != want;
		}
		CHECK(!bad && ((float *)kept->data)[0] == 5 && cords_list_find(&l, "bn_skip_area.1.running_mean"),
		      "%d wrong values", bad);
		cords_list_free(&l);
		CHECK(cords_cnn_trained("area_conv.0.parametrizations.weight.original1") &&
			      cords_cnn_trained("bn_inp.weight") && !cords_cnn_trained("bn_inp.running_mean") &&
			      !cords_cnn_trained("bn_skip_area.0.running_var") && !cords_cnn_trained("conv_bias.3") &&
			      cords_cnn_trained("running_var") && cords_cnn_trained("x.running_vars"),
		      "trained names");
	}
	T_DONE();
}
