/* The optimiser's arithmetic against PyTorch's formulas written out in
 * double precision (AdamW, SGD, warm-up, cosine decay, clip_grad_norm_'s
 * factor), and the optimiser over named parameters: the learning rate of
 * every step of a warm-up then a cosine decay, reset, the moments' host
 * copies, checkpoint items and their restore, a NaN gradient refused. */
#include "arch.h"
#include "err.h"
#include "meta.h"
#include "optset.h"
#include "t.h"

#define N 5

/* |a - b| <= 1e-7 + 1e-6 |b| (t_cmp: <= 1 passes, NaN fails). */
static double off(const float *a, const double *b, int n)
{
	return t_cmp(NULL, "values", a, b, n, .rel = 1e-6, .abs = 1e-7);
}

static int trained_a_b(const char *name) { return name[0] != 'c'; }

int main(void)
{
	const float g0[N] = {0.5f, -1.25f, 2, -0.125f, 3};
	CASE("AdamW defaults are PyTorch's")
	{
		cords_adamw d = cords_adamw_defaults();
		CHECK(d.lr == 1e-3 && d.beta1 == 0.9 && d.beta2 == 0.999 && d.eps == 1e-8 && d.weight_decay == 0.01,
		      "lr %g betas %g %g eps %g wd %g", d.lr, d.beta1, d.beta2, d.eps, d.weight_decay);
	}
	CASE("AdamW: three steps equal the formula in double precision, every element")
	{
		cords_adamw o = {.lr = 0.1, .beta1 = 0.8, .beta2 = 0.95, .eps = 1e-3, .weight_decay = 0.2};
		float p[N] = {1, -2, 0.5f, 3, -0.25f}, m[N] = {0}, v[N] = {0}, g[N];
		double P[N], M[N] = {0}, V[N] = {0};
		for (int i = 0; i < N; i++)
			P[i] = p[i];
		for (int s = 1; s <= 3; s++) {
			for (int i = 0; i < N; i++)
				g[i] = g0[i] * (float)s - p[i] / 4;
			cords_adamw_step_cpu(&o, s, p, g, m, v, N);
			for (int i = 0; i < N; i++) {
				P[i] *= 1 - o.lr * o.weight_decay;
				M[i] = o.beta1 * M[i] + (1 - o.beta1) * g[i];
				V[i] = o.beta2 * V[i] + (1 - o.beta2) * g[i] * g[i];
				double mh = M[i] / (1 - pow(o.beta1, s)), vh = V[i] / (1 - pow(o.beta2, s));
				P[i] -= o.lr * mh / (sqrt(vh) + o.eps);
			}
			CHECK(off(p, P, N) <= 1, "step %d: parameters off by %.3g x tolerance", s, off(p, P, N));
			CHECK(off(m, M, N) <= 1 && off(v, V, N) <= 1, "step %d: moments off", s);
		}
	}
	CASE("SGD: the first step, then momentum (0.75, 0, 1); L2 weight decay")
	{
		for (int k = 0; k < 3; k++) {
			cords_sgd o = {.lr = 0.5, .momentum = k == 1 ? 0 : k ? 1 : 0.75, .weight_decay = 0.1};
			float p[N] = {1, -2, 0.5f, 3, -0.25f}, buf[N] = {9, 9, 9, 9, 9}, g[N];
			double P[N], B[N];
			for (int i = 0; i < N; i++)
				P[i] = p[i];
			for (int s = 1; s <= 3; s++) {
				for (int i = 0; i < N; i++)
					g[i] = g0[i] * (float)s;
				cords_sgd_step_cpu(&o, s == 1, p, g, buf, N);
				for (int i = 0; i < N; i++) {
					double d = g[i] + o.weight_decay * P[i];
					B[i] = s == 1 || !o.momentum ? d : o.momentum * B[i] + d;
					P[i] -= o.lr * B[i];
				}
				CHECK(off(p, P, N) <= 1 && off(buf, B, N) <= 1, "momentum %g, step %d: off by %.3g x tolerance",
				      o.momentum, s, off(p, P, N));
			}
		}
	}
	CASE("warm-up (LinearLR) and cosine decay")
	{
		CHECK(cords_warmup_lr(2, 0, 0, 0.25) == 2 && cords_warmup_lr(2, 5, -1, 0.25) == 2, "no warm-up");
		CHECK_CLOSE(cords_warmup_lr(2, 0, 4, 0.25), 0.5, 1e-15, 0);
		CHECK_CLOSE(cords_warmup_lr(2, 1, 4, 0.25), 2 * (0.25 + 0.75 / 4), 1e-15, 0);
		CHECK_CLOSE(cords_warmup_lr(2, 3, 4, 0.25), 2 * (0.25 + 0.75 * 3 / 4), 1e-15, 0);
		CHECK(cords_warmup_lr(2, 4, 4, 0.25) == 2 && cords_warmup_lr(2, 9, 4, 0.25) == 2, "after the warm-up");
		CHECK(cords_warmup_lr(2, 0, 1, 0.25) == 0.5 && cords_warmup_lr(2, 1, 1, 0.25) == 2, "one warm-up batch");
		CHECK_CLOSE(cords_cosine_lr(2, 0, 8), 2, 1e-15, 0);
		CHECK_CLOSE(cords_cosine_lr(2, 2, 8), 1 + cos(M_PI / 4), 1e-15, 0);
		CHECK_CLOSE(cords_cosine_lr(2, 4, 8), 1, 1e-15, 0);
		CHECK_CLOSE(cords_cosine_lr(2, 7, 8), 1 + cos(M_PI * 7 / 8), 1e-15, 0);
		CHECK(cords_cosine_lr(2, 8, 8) == 0 && cords_cosine_lr(2, 9, 8) == 0, "after the decay");
	}
	CASE("clip factor: min(1, max / (norm + 1e-6)); none for max <= 0; scaling every element")
	{
		CHECK(cords_clip_factor(10, 0) == 1 && cords_clip_factor(10, -1) == 1, "no clipping");
		CHECK(cords_clip_factor(0.5, 1) == 1 && cords_clip_factor(1 - 1e-6, 1) == 1, "under the maximum");
		CHECK_CLOSE(cords_clip_factor(4, 1), 1 / (4 + 1e-6), 1e-15, 0);
		CHECK_CLOSE(cords_clip_factor(0, 1e-7), 0.1, 1e-12, 0);
		float g[N];
		memcpy(g, g0, sizeof g);
		cords_scale_cpu(g, N, 1);
		CHECK(!memcmp(g, g0, sizeof g), "scale 1 changed something");
		cords_scale_cpu(g, N, 0.5f);
		for (int i = 0; i < N; i++)
			CHECK(g[i] == g0[i] / 2, "element %d: %g", i, g[i]);
	}

	/* Two trained tensors (a [2,3], b [4]) and an untrained one (c). */
	cords_backend *be = t_backend("cpu");
	cords_tensor_list l = {0};
	int64_t sa[2] = {2, 3}, sb[1] = {4};
	cords_list_push(&l, cords_meta_new());
	cords_list_push(&l, cords_tensor_new("a", CORDS_F32, 2, sa));
	cords_list_push(&l, cords_tensor_new("c", CORDS_F32, 1, sb));
	cords_list_push(&l, cords_tensor_new("b", CORDS_F32, 1, sb));
	for (int i = 1; i < l.n; i++)
		for (int64_t j = 0; j < cords_tensor_numel(l.items[i]); j++)
			((float *)l.items[i]->data)[j] = (float)(j + i) / 8;
	cords_params *ps = cords_params_new(be, &l, trained_a_b);
	cords_opt_cfg cfg = {.kind = CORDS_OPT_ADAMW, .lr = 0.5, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8,
			     .warmup = 2, .warmup_start = 0.25, .decay = 4};
	cords_opt *o = ps ? cords_opt_new(&cfg, ps) : NULL;
	const float ga[6] = {1, -1, 2, 0, 0.5f, -3}, gb[4] = {-2, 1, 0, 4};
	double gnorm = 0;
	for (int i = 0; i < 6; i++)
		gnorm += ga[i] * ga[i];
	for (int i = 0; i < 4; i++)
		gnorm += gb[i] * gb[i];
	gnorm = sqrt(gnorm);
	CASE("the optimiser takes the trained tensors, with moments named opt.m.NAME and opt.v.NAME")
	{
		CHECK(o && o->n == 2 && o->idx[0] == 0 && o->idx[1] == 2, "%d tensors: %s", o ? o->n : -1, cords_errmsg());
		CHECK(o && !strcmp(o->m[0]->name, "opt.m.a") && !strcmp(o->v[1]->name, "opt.v.b") &&
			      cords_tensor_numel(o->m[0]) == 6 && o->m[0]->ndim == 2 && cords_tensor_numel(o->v[1]) == 4,
		      "moment tensors");
		const cords_tensor *items[5];
		CHECK(o && cords_opt_items(o, items, 5) == 4 && items[0] == o->m[0] && items[1] == o->v[0] &&
			      items[3] == o->v[1],
		      "items");
		CHECK(o && cords_opt_items(o, items, 4) == 4 && cords_opt_items(o, items, 3) == 2 &&
			      cords_opt_items(o, items, 1) == 0,
		      "items up to max");
	}
	CASE("learning rate of each step: warm-up from lr/4 over 2 steps, then a cosine over 4, then 0")
	{
		double want[8];
		for (int k = 0; k < 8; k++)
			want[k] = k < 2 ? 0.5 * (0.25 + 0.75 * k / 2) : k < 6 ? 0.25 * (1 + cos(M_PI * (k - 2) / 4)) : 0;
		for (int k = 0; o && k < 8; k++) {
			double norm = 0, lr = -1;
			be->upload(be, cords_params_grad(ps, "a"), ga);
			be->upload(be, cords_params_grad(ps, "b"), gb);
			CHECK(cords_opt_step(o, &norm, &lr) == 0, "%s", cords_errmsg());
			CHECK_CLOSE(lr, want[k], 1e-12, 1e-15);
			CHECK_CLOSE(norm, gnorm, 1e-6, 0);
		}
		CHECK(o && o->step == 8 && o->stale, "step %lld", o ? (long long)o->step : -1);
	}
	CASE("decay over one step: lr, then 0")
	{
		cords_opt_cfg one = {.kind = CORDS_OPT_SGD, .lr = 0.5, .decay = 1};
		cords_opt *q = cords_opt_new(&one, ps);
		double norm, lr[3];
		for (int k = 0; q && k < 3; k++) {
			be->upload(be, cords_params_grad(ps, "a"), ga);
			be->upload(be, cords_params_grad(ps, "b"), gb);
			cords_opt_step(q, &norm, &lr[k]);
		}
		CHECK(q && lr[0] == 0.5 && lr[1] == 0 && lr[2] == 0, "lr %g %g %g", lr[0], lr[1], lr[2]);
		cords_opt_free(q);
	}
	CASE("moment names up to CORDS_NAME_MAX bytes; a longer one refused")
	{
		cords_tensor_list ln = {0};
		char name[CORDS_NAME_MAX + 1];
		int64_t s1 = 1;
		for (int extra = 0; extra < 2; extra++) {
			memset(name, 'p', sizeof name);
			name[CORDS_NAME_MAX - 6 + extra] = 0; /* "opt.m." + name: CORDS_NAME_MAX bytes, then one more */
			cords_list_push(&ln, cords_tensor_new(name, CORDS_F32, 1, &s1));
			cords_params *q = cords_params_new(be, &ln, cords_params_all);
			cords_opt *oq = q ? cords_opt_new(&cfg, q) : NULL;
			CHECK(extra ? !oq && strstr(cords_errmsg(), "too long") : oq && strlen(oq->m[0]->name) == CORDS_NAME_MAX,
			      "%d bytes: %s", (int)strlen(name), extra ? "accepted" : cords_errmsg());
			cords_opt_free(oq);
			cords_params_free(q);
			cords_list_free(&ln);
		}
	}
	CASE("the moments' host copies: pulled, restored into a fresh optimiser, zeroed by reset")
	{
		CHECK(o && cords_opt_pull(o) == 0 && !o->stale, "%s", cords_errmsg());
		float *m = malloc(6 * sizeof *m), *v = malloc(4 * sizeof *v);
		be->download(be, o->dm[0], m);
		be->download(be, o->dv[1], v);
		CHECK(o && !memcmp(m, o->m[0]->data, 24) && !memcmp(v, o->v[1]->data, 16), "host copies differ");
		CHECK(o && ((float *)o->m[0]->data)[5] != 0 && ((float *)o->v[1]->data)[3] != 0, "moments zero");
		cords_tensor_list saved = {0};
		for (int i = 0; o && i < 2; i++) {
			cords_tensor *t[2] = {o->m[i], o->v[i]};
			for (int j = 0; j < 2; j++) {
				cords_tensor *c = cords_tensor_new(t[j]->name, CORDS_F32, t[j]->ndim, t[j]->shape);
				memcpy(c->data, t[j]->data, c->nbytes);
				cords_list_push(&saved, c);
			}
		}
		cords_opt *q = cords_opt_new(&cfg, ps);
		CHECK(q && cords_opt_restore(q, &saved) == 0 && !q->stale, "%s", cords_errmsg());
		float *m2 = malloc(6 * sizeof *m2), *v2 = malloc(4 * sizeof *v2);
		be->download(be, q->dm[0], m2);
		be->download(be, q->dv[1], v2);
		CHECK(!memcmp(m2, m, 24) && !memcmp(v2, v, 16), "restored moments differ");
		CHECK(!memcmp(q->v[0]->data, o->v[0]->data, 24) && !memcmp(q->m[1]->data, o->m[1]->data, 16),
		      "restored host copies differ");
		saved.items[3]->shape[0] = 2, saved.items[3]->nbytes = 8;
		CHECK(cords_opt_restore(q, &saved) < 0 && strstr(cords_errmsg(), "opt.v.b"), "%s", cords_errmsg());
		cords_set_name(saved.items[3], "opt.v.x");
		CHECK(cords_opt_restore(q, &saved) < 0 && strstr(cords_errmsg(), "opt.v.b"), "missing accepted");
		cords_opt_free(q);
		cords_list_free(&saved);
		CHECK(o && cords_opt_reset(o) == 0 && o->step == 0 && !o->stale, "reset");
		be->download(be, o->dm[1], v2);
		be->download(be, o->dv[1], v);
		int zero = 1;
		for (int i = 0; i < 4; i++)
			zero &= v2[i] == 0 && v[i] == 0 && ((float *)o->m[1]->data)[i] == 0 && ((float *)o->v[1]->data)[i] == 0;
		CHECK(zero, "moments after a reset");
		free(m), free(v), free(m2), free(v2);
	}
	CASE("a NaN gradient: refused, the parameters and the step count unchanged")
	{
		float before[4], after[4], bad[4] = {1, NAN, 0, 0};
		cords_params_pull(ps);
		memcpy(before, cords_list_find(&l, "b")->data, sizeof before);
		be->upload(be, cords_params_grad(ps, "b"), bad);
		double norm, lr;
		CHECK(o && cords_opt_step(o, &norm, &lr) < 0 && o->step == 0, "NaN gradient accepted");
		be->download(be, cords_params_buf(ps, "b"), after);
		CHECK(!memcmp(before, after, sizeof after), "parameters changed");
	}
	cords_opt_free(o);
	cords_params_free(ps);
	cords_list_free(&l);
	T_DONE();
}
