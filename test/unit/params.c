/* Parameters on the CPU backend: which tensors get buffers and gradients,
 * their shapes there, values converted to f32, the stale flags between the
 * host list and the backend, and weight norm through parameter names. */
#include "arch.h"
#include "err.h"
#include "meta.h"
#include "params.h"
#include "t.h"

static cords_tensor *mk(cords_tensor_list *l, const char *name, cords_dtype t, int nd, int64_t s0, int64_t s1,
			int64_t s2, int64_t s3, int64_t s4)
{
	int64_t s[5] = {s0, s1, s2, s3, s4};
	cords_tensor *x = cords_tensor_new(name, t, nd, s);
	int64_t n = cords_tensor_numel(x);
	for (int64_t i = 0; i < n; i++) {
		double v = (double)(i + 1) / 4 * (i % 2 ? -1 : 1) + (name[0] - 'a');
		if (t == CORDS_F32)
			((float *)x->data)[i] = (float)v;
		else if (t == CORDS_F64)
			((double *)x->data)[i] = v;
		else if (t == CORDS_F16)
			((uint16_t *)x->data)[i] = cords_float_to_half((float)v);
		else if (t == CORDS_BF16)
			((uint16_t *)x->data)[i] = cords_float_to_bf16((float)v);
		else if (t == CORDS_I64)
			((int64_t *)x->data)[i] = i;
	}
	cords_list_push(l, x);
	return x;
}

/* Trained: names that do not start with 'c', and not x's v (weight norm below). */
static int trained(const char *name)
{
	return name[0] != 'c' && strcmp(name, "x.parametrizations.weight.original1");
}

static float *down(cords_backend *be, const cords_buf *b)
{
	float *h = malloc((size_t)cords_buf_numel(b) * sizeof *h);
	be->download(be, b, h);
	return h;
}

static int same_as_host(cords_backend *be, const cords_buf *b, const cords_tensor *t)
{
	cords_tensor *f = cords_tensor_to_f32(t);
	float *h = down(be, b);
	int ok = f && cords_buf_numel(b) == cords_tensor_numel(t) && !memcmp(h, f->data, f->nbytes);
	free(h);
	cords_tensor_free(f);
	return ok;
}

static int shape_is(const cords_buf *b, int nd, int64_t s0, int64_t s1, int64_t s2, int64_t s3)
{
	int64_t s[4] = {s0, s1, s2, s3};
	return b && cords_buf_ndim(b) == nd && !memcmp(cords_buf_shape(b), s, (size_t)nd * sizeof *s);
}

int main(void)
{
	cords_backend *be = t_backend("cpu");
	cords_tensor_list l = {0};
	cords_list_push(&l, cords_meta_new());
	mk(&l, "a4", CORDS_F32, 4, 2, 3, 1, 2, 0);
	mk(&l, "b3", CORDS_F64, 3, 2, 2, 3, 0, 0);
	mk(&l, "c1", CORDS_F16, 1, 3, 0, 0, 0, 0);
	mk(&l, "d2", CORDS_BF16, 2, 2, 2, 0, 0, 0);
	mk(&l, "e5", CORDS_F32, 5, 1, 2, 1, 2, 1);
	mk(&l, "i", CORDS_I64, 1, 4, 0, 0, 0, 0);
	mk(&l, "f1", CORDS_F32, 1, 4, 0, 0, 0, 0);
	mk(&l, "cf", CORDS_F32, 2, 2, 2, 0, 0, 0);
	cords_params *ps = cords_params_new(be, &l, trained);
	CASE("float tensors get buffers (meta and integers none), in f32, shaped for the backend")
	{
		CHECK(ps && ps->n == 7, "%d buffers: %s", ps ? ps->n : -1, cords_errmsg());
		const char *names[] = {"a4", "b3", "c1", "d2", "e5", "f1", "cf"};
		for (int i = 0; ps && i < 7; i++) {
			cords_tensor *t = cords_list_find(&l, names[i]);
			CHECK(ps->t[i] == t && same_as_host(be, ps->p[i], t), "%s", names[i]);
		}
		CHECK(ps && shape_is(cords_params_buf(ps, "a4"), 2, 2, 6, 0, 0), "4-D as [O,K]");
		CHECK(ps && shape_is(cords_params_buf(ps, "b3"), 4, 1, 2, 2, 3), "3-D as [1,C,H,W]");
		CHECK(ps && shape_is(cords_params_buf(ps, "c1"), 1, 3, 0, 0, 0), "1-D as it is");
		CHECK(ps && shape_is(cords_params_buf(ps, "d2"), 2, 2, 2, 0, 0), "2-D as it is");
		CHECK(ps && shape_is(cords_params_buf(ps, "e5"), 1, 4, 0, 0, 0), "5-D flat");
		CHECK(!cords_params_buf(ps, "i") && strstr(cords_errmsg(), "lack float tensor i"), "integer tensor");
		CHECK(!cords_params_buf(ps, "meta") && !cords_params_buf(ps, "nothing"), "meta or a missing name");
	}
	CASE("gradients: trained f32 tensors only, shaped like their parameter")
	{
		const char *with[] = {"a4", "e5", "f1"}, *without[] = {"b3", "c1", "d2", "cf", "i", "nothing"};
		for (int i = 0; i < 3; i++) {
			cords_buf *g = cords_params_grad(ps, with[i]), *p = cords_params_buf(ps, with[i]);
			CHECK(g && p && shape_is(g, cords_buf_ndim(p), cords_buf_shape(p)[0],
						 cords_buf_ndim(p) > 1 ? cords_buf_shape(p)[1] : 0, 0, 0),
			      "%s has no gradient like it", with[i]);
		}
		for (int i = 0; i < 6; i++)
			CHECK(!cords_params_grad(ps, without[i]), "%s has a gradient", without[i]);
		cords_params *none = cords_params_new(be, &l, NULL);
		for (int i = 0; none && i < none->n; i++)
			CHECK(!none->g[i], "gradient without trained()");
		cords_params_free(none);
	}
	CASE("stale flags: host copies brought down only when the backend changed them")
	{
		cords_tensor *a = cords_list_find(&l, "a4"), *f = cords_list_find(&l, "f1");
		float seven[12], nine[4] = {9, 9, 9, 9};
		for (int i = 0; i < 12; i++)
			seven[i] = 7;
		be->upload(be, cords_params_buf(ps, "a4"), seven);
		be->upload(be, cords_params_buf(ps, "f1"), nine);
		const float *h = a->data;
		CHECK(cords_params_pull(ps) == 0 && h[0] != 7, "brought down unasked");
		CHECK(cords_params_changed(ps, "a4") == 0, "%s", cords_errmsg());
		CHECK(cords_params_pull(ps) == 0 && h[0] == 7 && h[11] == 7, "changed copy not brought down");
		CHECK(((float *)f->data)[0] != 9, "f1 brought down with a4");
		CHECK(cords_params_changed(ps, "b3") < 0 && cords_params_changed(ps, "x") < 0, "not f32 or missing");
		cords_params_changed_trained(ps);
		CHECK(cords_params_pull(ps) == 0 && ((float *)f->data)[3] == 9, "pull after changed_trained");
		/* cf is not trained: changed_trained leaves it. */
		cords_tensor *cf = cords_list_find(&l, "cf");
		be->upload(be, cords_params_buf(ps, "cf"), nine);
		cords_params_changed_trained(ps);
		CHECK(cords_params_pull(ps) == 0 && ((float *)cf->data)[0] != 9, "untrained cf brought down");
		/* push: the host list wins, flags cleared. */
		((float *)a->data)[0] = -3;
		((float *)cf->data)[1] = -5;
		cords_params_changed(ps, "a4");
		CHECK(cords_params_push(ps) == 0, "%s", cords_errmsg());
		for (int i = 0; i < ps->n; i++)
			CHECK(same_as_host(be, ps->p[i], ps->t[i]) && !ps->stale[i], "%s after push", ps->t[i]->name);
		be->upload(be, cords_params_buf(ps, "a4"), seven);
		CHECK(cords_params_pull(ps) == 0 && ((float *)a->data)[0] == -3, "pulled after a push");
		/* A pull clears the flag: a host edit after it is not overwritten by the next. */
		cords_params_changed(ps, "a4");
		CHECK(cords_params_pull(ps) == 0 && ((float *)a->data)[0] == 7, "changed, not pulled");
		((float *)a->data)[0] = 4;
		CHECK(cords_params_pull(ps) == 0 && ((float *)a->data)[0] == 4, "pulled twice");
	}
	CASE("weight norm by layer name, forward and backward; g and v trained together")
	{
		cords_tensor_list w = {0};
		mk(&w, "w.parametrizations.weight.original0", CORDS_F32, 4, 2, 1, 1, 1, 0);
		mk(&w, "w.parametrizations.weight.original1", CORDS_F32, 4, 2, 3, 1, 1, 0);
		mk(&w, "c.parametrizations.weight.original0", CORDS_F32, 4, 2, 1, 1, 1, 0);
		mk(&w, "c.parametrizations.weight.original1", CORDS_F32, 4, 2, 3, 1, 1, 0);
		mk(&w, "u.parametrizations.weight.original0", CORDS_F32, 4, 2, 1, 1, 1, 0);
		mk(&w, "x.parametrizations.weight.original0", CORDS_F32, 4, 2, 1, 1, 1, 0);
		mk(&w, "x.parametrizations.weight.original1", CORDS_F32, 4, 2, 3, 1, 1, 0);
		cords_params *q = cords_params_new(be, &w, trained);
		int64_t s6[2] = {2, 3};
		cords_buf *W = be->alloc(be, CORDS_BUF_ACT, 2, s6), *dW = be->alloc(be, CORDS_BUF_ACT, 2, s6);
		const float *g = (const float *)w.items[0]->data, *v = (const float *)w.items[1]->data;
		CHECK(q && cords_params_wnorm(q, "w", W) == 0, "%s", cords_errmsg());
		float *Wh = down(be, W);
		for (int o = 0; o < 2; o++) {
			double n = sqrt(v[3 * o] * v[3 * o] + v[3 * o + 1] * v[3 * o + 1] + v[3 * o + 2] * v[3 * o + 2]);
			for (int k = 0; k < 3; k++)
				CHECK_CLOSE(Wh[3 * o + k], g[o] * v[3 * o + k] / n, 1e-6, 0);
		}
		free(Wh);
		float d[6] = {1, -2, 0.5f, 3, 0.25f, -1};
		be->upload(be, dW, d);
		CHECK(cords_params_wnorm_bwd(q, "w", dW) == 0, "%s", cords_errmsg());
		float *dg = down(be, cords_params_grad(q, "w.parametrizations.weight.original0"));
		float *dv = down(be, cords_params_grad(q, "w.parametrizations.weight.original1"));
		for (int o = 0; o < 2; o++) {
			const float *vo = v + 3 * o, *dd = d + 3 * o;
			double n = sqrt(vo[0] * vo[0] + vo[1] * vo[1] + vo[2] * vo[2]);
			double gg = (dd[0] * vo[0] + dd[1] * vo[1] + dd[2] * vo[2]) / n;
			CHECK_CLOSE(dg[o], gg, 1e-6, 1e-7);
			for (int k = 0; k < 3; k++)
				CHECK_CLOSE(dv[3 * o + k], g[o] / n * (dd[k] - gg * vo[k] / n), 1e-5, 1e-7);
		}
		free(dg), free(dv);
		/* c: neither trained, nothing to do; u: v missing; x: g trained, v not. */
		CHECK(cords_params_wnorm_bwd(q, "c", dW) == 0, "%s", cords_errmsg());
		CHECK(cords_params_wnorm(q, "u", W) < 0 && cords_params_wnorm_bwd(q, "u", dW) < 0, "layer without v");
		CHECK(cords_params_wnorm(q, "nothing", W) < 0, "missing layer");
		CHECK(cords_params_wnorm_bwd(q, "x", dW) < 0 && strstr(cords_errmsg(), "trained together"), "%s",
		      cords_errmsg());
		cords_params_free(q);
		be->free(be, W), be->free(be, dW);
		cords_list_free(&w);
	}
	cords_params_free(ps);
	cords_list_free(&l);
	T_DONE();
}
