/* The BN CNN (train-mode step: loss, logits, gradients of every parameter,
 * running statistics) and the fold (folded tensors; folded logits equal
 * the BN CNN's eval logits) against the PyTorch fixtures. */
#include "arch.h"
#include "backend.h"
#include "cnn_train.h"
#include "err.h"
#include "fold.h"
#include "inverse.h"
#include "stream.h"
#include "t.h"
#include "train_fixture.h"

static char dir[4096];

static cords_tensor_list load(const char *name)
{
	char path[4200];
	cords_tensor_list l = {0};
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (cords_read_file(path, &l)) {
		printf("FAIL: train_cnn: %s\n", cords_errmsg());
		exit(1);
	}
	return l;
}

/* got against want: |got - want| <= tol max(max |want|, floor) over want's
 * elements (sampled as (k n)/S if smaller); the worst into *w. */
static double cmp_floor(t_worst *w, const cords_tensor *got, const cords_tensor *want, double tol, double floor)
{
	if (!got || !want) {
		t_fail(w, got ? got->name : want ? want->name : "a tensor is missing");
		return INFINITY;
	}
	const float *g = got->data, *v = want->data;
	int64_t n = cords_tensor_numel(got), m = cords_tensor_numel(want);
	double s = 0;
	for (int64_t k = 0; k < m; k++)
		s = fmax(s, fabs(v[k]));
	float *sample = malloc((size_t)m * sizeof *sample);
	for (int64_t k = 0; k < m; k++)
		sample[k] = g[m == n ? k : k * n / m];
	double e = t_cmp(w, got->name, sample, v, m, .abs = tol * fmax(s, floor));
	free(sample);
	return e;
}
static double cmp(t_worst *w, const cords_tensor *got, const cords_tensor *want, double tol)
{
	return cmp_floor(w, got, want, tol, 0);
}
static double maxabs(const cords_tensor *t)
{
	double m = 0;
	for (int64_t i = 0; t && i < cords_tensor_numel(t); i++)
		m = fmax(m, fabs(((const float *)t->data)[i]));
	return m;
}

/* params.tzst's convolutions + the fixture's BN tensors. */
static void cnn_params(const cords_tensor_list *P, const cords_tensor_list *fx, cords_tensor_list *out)
{
	for (int i = 0; i < P->n; i++)
		if (strncmp(P->items[i]->name, "conv_bias", 9) && strcmp(P->items[i]->name, "meta")) {
			cords_tensor *t = cords_tensor_to_f32(P->items[i]);
			cords_list_push(out, t);
		}
	for (int i = 0; i < fx->n; i++)
		if (!strncmp(fx->items[i]->name, "bn_", 3))
			cords_list_push(out, cords_tensor_to_f32(fx->items[i]));
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s/train", getenv("TESTDATA") ? getenv("TESTDATA") : "testdata");
	cords_tensor_list P = load("params.tzst");
	cords_arch a;
	cords_arch_from_meta(cords_list_find(&P, "meta"), &a);
	cords_backend *be = t_backend("cpu");
	CASE("BN CNN, train mode: loss, logits, gradients and running statistics equal torch") {
		cords_tensor_list fx = load("cnn.tzst"), prm = {0};
		cnn_params(&P, &fx, &prm);
		cords_params *ps = cords_params_new(be, &prm, cords_params_all);
		const cords_tensor *x = cords_list_find(&fx, "x"), *y = cords_list_find(&fx, "y");
		int B = (int)x->shape[0];
		float logits[64];
		cords_cnn *c = cords_cnn_new(&a, be, 0, B);
		CHECK(ps && c && cords_cnn_set_params(c, ps) == 0, "%s", cords_errmsg());
		double loss = cords_cnn_step(c, ps, 1, B, x->data, (cords_labels){y->data, NULL, NULL}, 1, logits);
		cords_tensor_list grads = fx_grads(ps);
		CHECK(cords_params_pull(ps) == 0, "%s", cords_errmsg()); /* the running statistics */
		CHECK_CLOSE(loss, *(double *)cords_list_find(&fx, "loss")->data, 1e-5, 0);
		cords_tensor lt = {.name = "logits", .dtype = CORDS_F32, .ndim = 1, .shape = {B * a.classes}, .data = logits};
		t_worst e = {0, ""};
		CHECK(cmp(&e, &lt, cords_list_find(&fx, "logits"), 1e-4) <= 1, "%s", e.at);
		/* The g of a conv followed by BatchNorm has a gradient that is zero but
		 * for eps (1e-5 of the others): it is compared against 1 % of the
		 * model's largest gradient entry instead of its own. */
		double G = 0;
		for (int i = 0; i < fx.n; i++)
			if (!strncmp(fx.items[i]->name, "grad.", 5))
				G = fmax(G, maxabs(fx.items[i]));
		e = (t_worst){0, ""};
		for (int i = 0; i < grads.n; i++) {
			char key[300];
			snprintf(key, sizeof key, "grad.%s", grads.items[i]->name);
			const cords_tensor *want = cords_list_find(&fx, key);
			if (!want && strstr(key, "running"))
				continue;
			cmp_floor(&e, grads.items[i], want, 1e-4, 0.01 * G);
		}
		CHECK(e.err <= 1, "gradients: %s", e.at);
		e = (t_worst){0, ""};
		int stats = 0;
		for (int i = 0; i < prm.n; i++) {
			char key[300];
			snprintf(key, sizeof key, "new.%s", prm.items[i]->name);
			const cords_tensor *want = cords_list_find(&fx, key);
			if (want)
				cmp(&e, prm.items[i], want, 1e-5), stats++;
		}
		CHECK(stats > 0 && e.err <= 1, "running statistics (%d compared): %s", stats, e.at);
		cords_cnn_free(c);
		cords_params_free(ps);
		cords_list_free(&prm);
		cords_list_free(&grads);
		cords_list_free(&fx);
	}
	CASE("fold: folded tensors equal torch; folded logits equal the BN CNN's eval logits within 1e-4") {
		cords_tensor_list fx = load("fold.tzst"), prm = {0}, folded = {0};
		cnn_params(&P, &fx, &prm);
		CHECK(cords_fold(&a, &prm, &folded) == 0, "%s", cords_errmsg());
		t_worst e = {0, ""};
		for (int i = 0; i < folded.n; i++) {
			char key[300];
			snprintf(key, sizeof key, "folded.%s", folded.items[i]->name);
			cmp(&e, folded.items[i], cords_list_find(&fx, key), 1e-5);
		}
		CHECK(folded.n > 0 && e.err <= 1, "folded tensors: %s", e.at);
		const cords_tensor *x = cords_list_find(&fx, "x");
		int B = (int)x->shape[0];
		float lf[64], lb[64];
		cords_cnn *f = cords_cnn_new(&a, be, 1, B), *b = cords_cnn_new(&a, be, 0, B);
		cords_params *fp = cords_params_new(be, &folded, NULL), *bp = cords_params_new(be, &prm, NULL);
		CHECK(f && b && fp && bp && cords_cnn_set_params(f, fp) == 0 && cords_cnn_set_params(b, bp) == 0, "%s",
		      cords_errmsg());
		cords_labels none = {0};
		cords_cnn_step(f, fp, 0, B, x->data, none, 0, lf);
		cords_cnn_step(b, bp, 0, B, x->data, none, 0, lb);
		cords_tensor tb = {.name = "logits", .dtype = CORDS_F32, .ndim = 1, .shape = {B * a.classes}, .data = lb};
		e = (t_worst){0, ""};
		CHECK(cmp(&e, &tb, cords_list_find(&fx, "logits"), 1e-4) <= 1, "BN CNN eval logits against torch: %s", e.at);
		e = (t_worst){0, ""};
		CHECK(t_cmp(&e, "logits", lf, lb, B * a.classes, .abs = 1e-4) <= 1, "folded logits against the BN CNN's: %s",
		      e.at);
		cords_cnn_free(f);
		cords_cnn_free(b);
		cords_params_free(fp);
		cords_params_free(bp);
		cords_list_free(&prm);
		cords_list_free(&folded);
		cords_list_free(&fx);
	}
	CASE("inverse: loss and gradients of area_conv and conv_bias equal torch") {
		cords_tensor_list fx = load("inverse.tzst"), folded = {0}, rnn = {0};
		char name[80];
		for (int i = 0; i < P.n; i++) /* the folded CNN: params' convs + the fixture's biases */
			if (strncmp(P.items[i]->name, "conv_bias", 9) && strcmp(P.items[i]->name, "meta"))
				cords_list_push(&folded, cords_tensor_to_f32(P.items[i]));
		for (int i = 0; i < a.depth; i++) {
			cords_tensor *t = cords_tensor_to_f32(cords_list_find(&fx, (snprintf(name, 80, "area_bias.%d", i), name)));
			cords_list_push(&folded, t);
			t = cords_tensor_to_f32(cords_list_find(&fx, (snprintf(name, 80, "cnn_conv_bias.%d", i), name)));
			cords_set_name(t, (snprintf(name, 80, "conv_bias.%d", i), name));
			cords_list_push(&folded, t);
			t = cords_tensor_to_f32(cords_list_find(&fx, (snprintf(name, 80, "rnn_conv_bias.%d", i), name)));
			cords_set_name(t, (snprintf(name, 80, "conv_bias.%d", i), name));
			cords_list_push(&rnn, t);
			for (int w = 0; w < 2; w++) { /* the RNN's start: params' area_conv flipped, g halved */
				snprintf(name, 80, "area_conv.%d.parametrizations.weight.original%d", i, w);
				const cords_tensor *src = cords_list_find(&P, name);
				cords_tensor *d = cords_tensor_new(name, CORDS_F32, src->ndim, src->shape);
				int64_t O = src->shape[0], K = cords_tensor_numel(src) / O;
				for (int64_t o = 0; o < O; o++)
					for (int64_t k = 0; k < K; k++)
						((float *)d->data)[o * K + k] = ((const float *)src->data)[(O - 1 - o) * K + k] * (w ? 1.0f : 0.5f);
				cords_list_push(&rnn, d);
			}
		}
		const cords_tensor *x = cords_list_find(&fx, "x");
		int B = (int)x->shape[0];
		double fit, eig;
		cords_inverse *v = cords_inverse_new(&a, be, &folded, B, 3, 10);
		cords_params *ps = cords_params_new(be, &rnn, cords_params_all);
		double loss = v && ps ? cords_inverse_step(v, ps, B, x->data, 1, &fit, &eig) : NAN;
		cords_tensor_list grads = ps ? fx_grads(ps) : (cords_tensor_list){0};
		CHECK_CLOSE(loss, *(double *)cords_list_find(&fx, "loss")->data, 1e-5, 0);
		CHECK_CLOSE(fit, *(double *)cords_list_find(&fx, "fit")->data, 1e-5, 0);
		CHECK_CLOSE(eig, *(double *)cords_list_find(&fx, "eig")->data, 1e-5, 1e-12);
		t_worst e = {0, ""};
		for (int i = 0; i < grads.n; i++) {
			char key[300];
			snprintf(key, sizeof key, "grad.%s", grads.items[i]->name);
			cmp(&e, grads.items[i], cords_list_find(&fx, key), 1e-4);
		}
		CHECK(grads.n > 0 && e.err <= 1, "gradients: %s", e.at);
		cords_inverse_free(v);
		cords_params_free(ps);
		cords_list_free(&folded);
		cords_list_free(&rnn);
		cords_list_free(&grads);
		cords_list_free(&fx);
	}
	cords_list_free(&P);
	T_DONE();
}
