/* The linearised CordsNet (lib/eig/net_op.h) against PyTorch autograd: J v for
 * r4's whole one-step map at the spontaneous state (testdata/eig/gen.py),
 * which exercises the feed-forward convs, the skip conv and the relu' and
 * phi' masks; and the per-area block against the whole operator. */
#include "eig_state.h"
#include "err.h"
#include "net_op.h"
#include "stream.h"
#include "t.h"

static const char *path(const char *rel)
{
	static char buf[1024];
	const char *td = getenv("TESTDATA");
	snprintf(buf, sizeof buf, "%s/%s", td ? td : "testdata", rel);
	return buf;
}

int main(void)
{
	cords_tensor_list params = {0}, ref = {0};
	CHECK(!cords_read_file(path("model/r4.model.tzst"), &params), "%s", cords_errmsg());
	CHECK(!cords_read_file(path("eig/r4-jv.tzst"), &ref), "%s", cords_errmsg());
	cords_backend *be = t_backend("cpu");
	cords_model *m = cords_model_new(&params, cords_list_find(&params, "meta"), be);
	CHECK(m, "%s", cords_errmsg());
	if (!m)
		T_DONE();
	cords_eig_state st;
	cords_net_op net;
	CASE("spontaneous state is a fixed point")
	{
		CHECK(!cords_eig_state_compute(m, NULL, &st), "%s", cords_errmsg());
		CHECK(st.step_change < 1e-4, "one step changes the state by %g", st.step_change);
	}
	CASE("network Jacobian times v equals autograd's jvp")
	{
		CHECK(!cords_net_op_init(&net, &params, &m->arch, m->dyn.alpha, m->dyn.phi, &st), "%s", cords_errmsg());
		cords_tensor *v = cords_list_find(&ref, "v"), *jv = cords_list_find(&ref, "jv");
		int64_t n = net.off[net.depth];
		CHECK(v && jv && cords_tensor_numel(v) == n, "fixture does not fit: n = %lld", (long long)n);
		double *y = calloc((size_t)n, sizeof *y);
		CHECK(!cords_net_op_apply(&net, v->data, y), "%s", cords_errmsg());
		t_worst e = {0, ""};
		CHECK(t_cmp(&e, "Jv", y, (const double *)jv->data, n, .of_max = 1e-5) <= 1, "%s", e.at);
		free(y);
	}
	CASE("the per-area Jacobian is the diagonal block of the network one")
	{
		int area = 3;
		cords_conv_op J;
		CHECK(!cords_area_jacobian_op(&params, &m->arch, area, m->dyn.alpha, m->dyn.phi, &st, &J), "%s",
		      cords_errmsg());
		int64_t n = net.off[net.depth], na = net.off[area + 1] - net.off[area];
		double *x = calloc((size_t)n, sizeof *x), *y = calloc((size_t)n, sizeof *y), *ya = calloc((size_t)na, 8);
		for (int64_t i = 0; i < na; i++)
			x[net.off[area] + i] = sin(0.37 * (double)i);
		CHECK(!cords_net_op_apply(&net, x, y) && !cords_conv_op_apply(&J, x + net.off[area], ya), "%s",
		      cords_errmsg());
		t_worst e = {0, ""};
		CHECK(t_cmp(&e, "block", ya, y + net.off[area], na, .abs = 1e-12) <= 1, "%s", e.at);
		/* lower areas do not see a perturbation of a higher one */
		for (int64_t i = 0; i < net.off[area]; i++)
			CHECK(y[i] == 0, "area below changed at %lld", (long long)i);
		free(x);
		free(y);
		free(ya);
		cords_conv_op_free(&J);
	}
	CASE("bad area index is an error naming the range")
	{
		cords_conv_op J;
		CHECK(cords_area_conv_op(&params, &m->arch, 4, &J) == -1, "accepted area 4");
		CHECK(strstr(cords_errmsg(), "0..3"), "%s", cords_errmsg());
	}
	cords_net_op_free(&net);
	cords_eig_state_free(&st);
	cords_model_free(m);
	cords_list_free(&params);
	cords_list_free(&ref);
	T_DONE();
}
