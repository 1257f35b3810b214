/* Architecture: sizes at 224 and 28 (cords-model(7)), parameter count and names,
 * inference from shapes and the errors that name a bad tensor. */
#include "arch.h"
#include "err.h"
#include "meta.h"
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
	T_DONE();
}
