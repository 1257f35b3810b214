/* Architecture: sizes at 224 and 28 (cords-model(7)), parameter count and names,
 * inference from shapes and the errors that name a bad tensor. */
#include "arch.h"
#include "err.h"
#include "meta.h"
#include "model.h"
#include "t.h"

static void fill(const cords_arch *a, cords_tensor_list *l)
{
	char name[256];
	int64_t shape[8];
	int nd;
	for (int i = 0; i < cords_arch_nparams(a); i++) {
		cords_arch_param(a, i, name, sizeof name, &nd, shape);
		cords_list_push(l, cords_tensor_new(name, CORDS_F32, nd, shape));
	}
}

int main(void)
{
	cords_arch a;
	CASE("R8 at 224: sizes 56,56,28,28,14,14,7,7 and 53 parameters") {
		CHECK(cords_arch_init(&a, 8, 3, 224, 224, 1000) == 0, "%s", cords_errmsg());
		int want[] = {56, 56, 28, 28, 14, 14, 7, 7};
		for (int i = 0; i < 8; i++)
			CHECK(a.h[i] == want[i] && a.w[i] == want[i], "area %d: %d", i, a.h[i]);
		CHECK(cords_arch_nparams(&a) == 53, "%d params", cords_arch_nparams(&a));
		CHECK(a.stem_h == 112, "stem %d", a.stem_h);
	}
	CASE("R8 at 28: sizes 7,7,4,4,2,2,1,1") {
		cords_arch_init(&a, 8, 1, 28, 28, 10);
		int want[] = {7, 7, 4, 4, 2, 2, 1, 1};
		for (int i = 0; i < 8; i++)
			CHECK(a.h[i] == want[i], "area %d: %d", i, a.h[i]);
	}
	CASE("parameter names and shapes") {
		char name[256];
		int64_t s[8];
		int nd;
		cords_arch_init(&a, 4, 1, 28, 28, 10);
		CHECK(cords_arch_nparams(&a) == 4 + 20 + 2 + 3, "%d", cords_arch_nparams(&a));
		cords_arch_param(&a, 0, name, sizeof name, &nd, s);
		CHECK(!strcmp(name, "inp_conv.parametrizations.weight.original0") && nd == 4 && s[0] == 64, "%s", name);
		cords_arch_param(&a, 4 + 5 * 3 + 2, name, sizeof name, &nd, s);
		CHECK(!strcmp(name, "conv_bias.3") && nd == 3 && s[0] == 128 && s[1] == 4, "%s", name);
		cords_arch_param(&a, 4 + 5 * 3 + 4, name, sizeof name, &nd, s);
		CHECK(!strcmp(name, "area_area.3.parametrizations.weight.original1") && s[1] == 128 && s[0] == 128, "%s", name);
		cords_arch_param(&a, 24, name, sizeof name, &nd, s);
		CHECK(!strcmp(name, "skip_area.0.parametrizations.weight.original0") && s[0] == 128, "%s", name);
		cords_arch_param(&a, 28, name, sizeof name, &nd, s);
		CHECK(!strcmp(name, "out_fc.bias") && nd == 1 && s[0] == 10, "%s", name);
		CHECK(cords_arch_param(&a, 29, name, sizeof name, &nd, s) < 0, "index past the end");
	}
	CASE("wiring: shortcuts as they are into even areas, through skip k into area 2k+3") {
		cords_arch_init(&a, 8, 3, 224, 224, 1000);
		cords_feed_kind want[] = {CORDS_FEED_STEM, CORDS_FEED_STEM_SKIP, CORDS_FEED_SAME, CORDS_FEED_SKIP,
					  CORDS_FEED_SAME, CORDS_FEED_SKIP, CORDS_FEED_SAME, CORDS_FEED_SKIP};
		for (int i = 0; i < 8; i++) {
			cords_feed f = cords_arch_feed(&a, i);
			CHECK(f.kind == want[i], "area %d: kind %d", i, (int)f.kind);
			CHECK(f.prev == i - 1 && f.side == (i >= 2 ? i - 2 : -1), "area %d reads %d, %d", i, f.prev, f.side);
			if (f.kind == CORDS_FEED_SAME) /* added as they are: one shape */
				CHECK(a.c[f.prev] == a.c[f.side] && a.h[f.prev] == a.h[f.side], "area %d", i);
			if (f.kind == CORDS_FEED_SKIP) { /* the skip conv maps r_side onto r_prev's shape */
				CHECK(f.skip >= 0 && f.skip < a.nskip && cords_skip_area(&a, f.skip) == i, "area %d: skip %d",
				      i, f.skip);
				CHECK(a.skip_in[f.skip] == a.c[f.side] && a.skip_out[f.skip] == a.c[f.prev] &&
					      a.h[f.prev] == cords_conv_out(a.h[f.side], 1, 2, 0),
				      "area %d: skip %d is %d->%d", i, f.skip, a.skip_in[f.skip], a.skip_out[f.skip]);
			} else
				CHECK(f.skip == -1, "area %d: skip %d", i, f.skip);
		}
		CHECK(cords_skip_area(&a, 0) == 3 && cords_skip_area(&a, 2) == 7 && cords_skip_area(&a, 3) == -1,
		      "skip areas %d %d", cords_skip_area(&a, 0), cords_skip_area(&a, 2));
		cords_arch_init(&a, 4, 3, 224, 224, 1000);
		CHECK(a.nskip == 1 && cords_skip_area(&a, 0) == 3 && cords_skip_area(&a, 1) == -1, "R4");
	}
	CASE("inference from shapes, and errors naming the tensor") {
		cords_arch b, c = {0};
		cords_arch_init(&b, 6, 3, 32, 32, 100);
		cords_tensor_list l = {0};
		fill(&b, &l);
		CHECK(cords_arch_infer(&l, &c) == 0, "%s", cords_errmsg());
		CHECK(c.depth == 6 && c.in_ch == 3 && c.classes == 100 && c.h[0] == 8, "inferred R%d", c.depth);
		cords_tensor *x = cords_list_find(&l, "area_conv.2.parametrizations.weight.original1");
		x->shape[1] = 7;
		CHECK(cords_arch_check(&b, &l) < 0, "bad shape accepted");
		CHECK(strstr(cords_errmsg(), "area_conv.2.parametrizations.weight.original1"), "%s", cords_errmsg());
		cords_set_name(x, "renamed");
		CHECK(cords_arch_check(&b, &l) < 0, "missing accepted");
		CHECK(strstr(cords_errmsg(), "missing tensor area_conv.2"), "%s", cords_errmsg());
		cords_list_free(&l);
	}
	CASE("metadata round trip") {
		cords_arch b, c;
		cords_arch_init(&b, 2, 1, 28, 28, 10);
		cords_tensor *m = cords_meta_new();
		CHECK(cords_arch_to_meta(&b, m) == 0, "to_meta");
		CHECK(cords_arch_from_meta(m, &c) == 0, "%s", cords_errmsg());
		CHECK(c.depth == 2 && c.h[1] == 7 && c.classes == 10, "from_meta");
		cords_tensor_free(m);
	}
	CASE("bad depth refused") {
		CHECK(cords_arch_init(&a, 3, 1, 28, 28, 10) < 0, "depth 3 accepted");
	}
	CASE("sizes at the limits accepted, one past them refused") {
		const int ok[][5] = {{2, 1, 1, 1, 1}, {8, 4096, 65536, 65536, 1000000}, {6, 3, 1, 65536, 2}};
		const int bad[][5] = {{0, 1, 28, 28, 10},	 {10, 1, 28, 28, 10},	  {2, 0, 28, 28, 10},
				      {2, 4097, 28, 28, 10},	 {2, 1, 0, 28, 10},	  {2, 1, 28, 0, 10},
				      {2, 1, 65537, 28, 10},	 {2, 1, 28, 65537, 10},	  {2, 1, 28, 28, 0},
				      {2, 1, 28, 28, 1000001}};
		for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
			CHECK(cords_arch_init(&a, ok[i][0], ok[i][1], ok[i][2], ok[i][3], ok[i][4]) == 0, "case %zu: %s", i,
			      cords_errmsg());
		for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
			CHECK(cords_arch_init(&a, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4]) < 0,
			      "case %zu accepted", i);
		/* 1x1 input: every area 1x1; 65536 wide: 16384 after the stem's two halvings. */
		cords_arch_init(&a, 6, 3, 1, 65536, 2);
		CHECK(a.h[5] == 1 && a.w[0] == 16384 && a.w[5] == 4096 && a.nskip == 2, "%dx%d, %dx%d, %d skips", a.h[5],
		      a.w[5], a.h[0], a.w[0], a.nskip);
		CHECK(a.stride[2] == 2 && a.stride[3] == 1 && a.cin[2] == 64 && a.c[2] == 128 && a.skip_in[1] == 128 &&
			      a.skip_out[1] == 256,
		      "strides and channels");
	}
	CASE("every parameter index answers 0; the check and the inference see every tensor") {
		cords_arch b;
		char name[256];
		int64_t s[8];
		int nd, bad = 0;
		cords_arch_init(&b, 8, 3, 29, 31, 5);
		for (int i = 0; i < cords_arch_nparams(&b); i++)
			bad += cords_arch_param(&b, i, name, sizeof name, &nd, s) != 0;
		CHECK(!bad, "%d indices failed", bad);
		CHECK(cords_arch_param(&b, -1, name, sizeof name, &nd, s) < 0, "index -1 accepted");
		/* odd sizes: the stem (7x7/2, padding 3) and the pool (3x3/2, padding 1) round down */
		CHECK(b.stem_h == 15 && b.stem_w == 16 && b.h[0] == 8 && b.w[0] == 8 && b.h[7] == 1, "29x31: stem %dx%d, %dx%d",
		      b.stem_h, b.stem_w, b.h[0], b.w[0]);
		cords_tensor_list l = {0};
		fill(&b, &l);
		CHECK(cords_arch_check(&b, &l) == 0, "%s", cords_errmsg());
		cords_set_name(l.items[0], "renamed");
		CHECK(cords_arch_check(&b, &l) < 0 && strstr(cords_errmsg(), "inp_conv.parametrizations.weight.original0"),
		      "first tensor missing: %s", cords_errmsg());
		cords_set_name(l.items[0], "inp_conv.parametrizations.weight.original0");
		l.items[l.n - 1]->dtype = CORDS_I64;
		CHECK(cords_arch_check(&b, &l) < 0 && strstr(cords_errmsg(), "dtype"), "integer tensor accepted");
		cords_list_free(&l);
		cords_tensor_list empty = {0};
		cords_arch c = {0};
		CHECK(cords_arch_infer(&empty, &c) < 0 && strstr(cords_errmsg(), "not a CordsNet model"), "%s",
		      cords_errmsg());
	}
	CASE("metadata: every key needed, integers only") {
		cords_arch b, c;
		cords_arch_init(&b, 4, 3, 32, 40, 7);
		const char *keys[] = {"depth", "in_channels", "height", "width", "classes"};
		for (int k = 0; k < 5; k++) {
			cords_tensor *m = cords_meta_new();
			for (int j = 0; j < 5; j++)
				if (j != k)
					cords_meta_set(m, keys[j], j ? "32" : "4");
			CHECK(cords_arch_from_meta(m, &c) < 0 && strstr(cords_errmsg(), keys[k]), "without %s: %s", keys[k],
			      cords_errmsg());
			cords_meta_set(m, keys[k], "4x");
			CHECK(cords_arch_from_meta(m, &c) < 0 && strstr(cords_errmsg(), "bad value"), "%s=4x accepted", keys[k]);
			cords_meta_set(m, keys[k], "-4");
			CHECK(cords_arch_from_meta(m, &c) < 0, "%s=-4 accepted", keys[k]);
			cords_meta_set(m, keys[k], "");
			CHECK(cords_arch_from_meta(m, &c) < 0, "%s empty accepted", keys[k]);
			cords_tensor_free(m);
		}
		cords_tensor *m = cords_meta_new();
		cords_arch_to_meta(&b, m);
		CHECK(cords_arch_from_meta(m, &c) == 0 && c.depth == 4 && c.in_ch == 3 && c.height == 32 && c.width == 40 &&
			      c.classes == 7,
		      "round trip R%d %d %dx%d %d", c.depth, c.in_ch, c.height, c.width, c.classes);
		char *f = cords_meta_get(m, "format");
		CHECK(f && !strcmp(f, "cords-model"), "format %s", f ? f : "(none)");
		free(f);
		cords_tensor_free(m);
	}
	CASE("dynamics from metadata: defaults, limits, phi") {
		cords_dynamics d;
		CHECK(cords_dynamics_from_meta(NULL, &d) == 0 && d.alpha == 0.2f && d.phi.kind == CORDS_PHI_RELU &&
			      d.phi.slope == 0 && d.spont_steps == 100 && d.stim_steps == 100,
		      "defaults");
		cords_tensor *m = cords_meta_new();
		CHECK(cords_dynamics_from_meta(m, &d) == 0 && d.alpha == 0.2f && d.spont_steps == 100 && d.stim_steps == 100,
		      "defaults with metadata");
		const char *good[][2] = {{"alpha", "0"},	  {"alpha", "1"},	   {"prelu_slope", "-1e6"},
					 {"prelu_slope", "1e6"}, {"spont_steps", "0"},	   {"spont_steps", "1e7"},
					 {"stim_steps", "0"},	  {"stim_steps", "1e7"}};
		const char *bad[][2] = {{"alpha", "-0.001"},	  {"alpha", "1.001"},	   {"prelu_slope", "-1.1e6"},
					{"prelu_slope", "1.1e6"}, {"spont_steps", "-1"},   {"spont_steps", "1.1e7"},
					{"stim_steps", "-1"},	  {"stim_steps", "1.1e7"}, {"alpha", "0.5x"},
					{"alpha", ""},		  {"alpha", "nan"}};
		for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
			cords_tensor *k = cords_meta_new();
			cords_meta_set(k, good[i][0], good[i][1]);
			CHECK(cords_dynamics_from_meta(k, &d) == 0, "%s=%s: %s", good[i][0], good[i][1], cords_errmsg());
			cords_tensor_free(k);
		}
		for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
			cords_tensor *k = cords_meta_new();
			cords_meta_set(k, bad[i][0], bad[i][1]);
			CHECK(cords_dynamics_from_meta(k, &d) < 0, "%s=%s accepted", bad[i][0], bad[i][1]);
			cords_tensor_free(k);
		}
		cords_meta_set(m, "alpha", "0.5");
		cords_meta_set(m, "phi", "prelu");
		cords_meta_set(m, "prelu_slope", "0.25");
		cords_meta_set(m, "spont_steps", "7");
		cords_meta_set(m, "stim_steps", "9");
		CHECK(cords_dynamics_from_meta(m, &d) == 0 && d.alpha == 0.5f && d.phi.kind == CORDS_PHI_PRELU &&
			      d.phi.slope == 0.25f && d.spont_steps == 7 && d.stim_steps == 9,
		      "all keys: %s", cords_errmsg());
		cords_tensor *pr = cords_meta_new();
		cords_meta_set(pr, "phi", "prelu");
		CHECK(cords_dynamics_from_meta(pr, &d) == 0 && d.phi.kind == CORDS_PHI_PRELU && d.phi.slope == 0,
		      "prelu without a slope: %g", d.phi.slope);
		cords_tensor_free(pr);
		cords_meta_set(m, "phi", "identity");
		CHECK(cords_dynamics_from_meta(m, &d) == 0 && d.phi.kind == CORDS_PHI_IDENTITY && d.phi.slope == 0,
		      "identity keeps no slope");
		cords_meta_set(m, "phi", "tanh");
		CHECK(cords_dynamics_from_meta(m, &d) < 0 && strstr(cords_errmsg(), "tanh"), "tanh accepted");
		cords_tensor_free(m);
		CHECK(!strcmp(cords_phi_name(CORDS_PHI_RELU), "relu") && !strcmp(cords_phi_name(CORDS_PHI_PRELU), "prelu") &&
			      !strcmp(cords_phi_name((cords_phi_kind)3), "?") && !strcmp(cords_phi_name((cords_phi_kind)-1), "?"),
		      "phi names");
	}
	T_DONE();
}
