/* The backend's training operations on the CPU backend, in both activation
 * layouts (channel-blocked and plain): backward convolutions and pooling are
 * the adjoints of the forward ones (<A x, y> = <x, A^T y>, in double), the
 * element-wise backward ops and BatchNorm against host loops. */
#include "backend.h"
#include "backend_cpu.h"
#include "bnorm.h"
#include "err.h"
#include "rng.h"
#include "t.h"

#include <string.h>

static cords_backend *be;
static cords_rng rng;

static cords_buf *buf(cords_buf_kind k, int64_t a, int64_t b, int64_t c, int64_t d, float *host)
{
	int64_t s[4] = {a, b, c, d};
	int nd = d ? 4 : b ? 2 : 1;
	cords_buf *x = be->alloc(be, k, nd, s);
	int64_t n = cords_buf_numel(x);
	for (int64_t i = 0; i < n; i++)
		host[i] = (float)cords_rng_normal(&rng);
	be->upload(be, x, host);
	return x;
}
static double dotb(const cords_buf *x, const float *h, float *tmp)
{
	be->download(be, x, tmp);
	double s = 0;
	for (int64_t i = 0; i < cords_buf_numel(x); i++)
		s += (double)tmp[i] * h[i];
	return s;
}

static float hx[1 << 16], hw[1 << 16], hy[1 << 16], tmp[1 << 16], tmp2[1 << 16], ref[1 << 16], ref2[1 << 16];

static void conv_case(int C, int O, int H, int k, int stride, int pad)
{
	const int B = 2, Ho = (H + 2 * pad - k) / stride + 1;
	cords_buf *x = buf(CORDS_BUF_ACT, B, C, H, H, hx), *w = buf(CORDS_BUF_WEIGHT, O, C, k, k, hw);
	cords_buf *y = buf(CORDS_BUF_ACT, B, O, Ho, Ho, hy); /* hy: the cotangent */
	cords_buf *fx = buf(CORDS_BUF_ACT, B, O, Ho, Ho, tmp), *dx = buf(CORDS_BUF_ACT, B, C, H, H, tmp);
	cords_buf *dw = buf(CORDS_BUF_WEIGHT, O, C, k, k, tmp);
	cords_conv cv = {.stride = stride, .pad = pad};
	/* The sums have up to 2 x 64 x 14 x 14 x 9 x 64 terms of both signs in float:
	 * oneDNN's AVX2 weight gradient lands 1.3e-5 off, its AVX-512 one closer. A
	 * wrong adjoint is off by O(1). */
	const double tol = 1e-4;
	CHECK(be->conv2d(be, &cv, x, w, NULL, fx) == 0, "%s", cords_errmsg());
	double lhs = dotb(fx, hy, tmp);
	CHECK(be->conv2d_bwd_data(be, &cv, y, w, dx) == 0, "%s", cords_errmsg());
	CHECK_CLOSE(dotb(dx, hx, tmp), lhs, tol, 1e-5);
	CHECK(be->conv2d_bwd_weights(be, &cv, x, y, dw) == 0, "%s", cords_errmsg());
	CHECK_CLOSE(dotb(dw, hw, tmp), lhs, tol, 1e-5);
	/* beta = 1 accumulates: twice the gradient */
	cv.beta = 1;
	CHECK(be->conv2d_bwd_data(be, &cv, y, w, dx) == 0 && be->conv2d_bwd_weights(be, &cv, x, y, dw) == 0, "acc");
	CHECK_CLOSE(dotb(dx, hx, tmp), 2 * lhs, tol, 1e-5);
	CHECK_CLOSE(dotb(dw, hw, tmp), 2 * lhs, tol, 1e-5);
	cords_buf *all[] = {x, w, y, fx, dx, dw};
	for (int i = 0; i < 6; i++)
		be->free(be, all[i]);
}

int main(void)
{
	cords_rng_seed(&rng, 5);
	be = t_backend("cpu");
	if (!be)
		return 1;
	/* Under the cap (test/run.sh reruns this test so), any other block sends
	 * every convolution to oneDNN's reference code. */
	const char *isa = getenv("DNNL_MAX_CPU_ISA");
	if (isa && !strcmp(isa, "AVX2"))
		CASE("activations in oneDNN's JIT layout: channel blocks of 8 under DNNL_MAX_CPU_ISA=AVX2") {
			CHECK(cpu_block() == 8, "block %d", cpu_block());
		}
	CASE("conv backward = adjoint: 3x3 stride 1, blocked channels") conv_case(16, 16, 5, 3, 1, 1);
	CASE("conv backward = adjoint: 3x3 stride 2 on an odd map") conv_case(16, 32, 7, 3, 2, 1);
	CASE("conv backward = adjoint: 1x1 stride 2 (skip)") conv_case(16, 32, 5, 1, 2, 0);
	CASE("conv backward = adjoint: 7x7 stride 2 stem, 1 input channel") conv_case(1, 16, 12, 7, 2, 3);
	CASE("conv backward = adjoint by Winograd (CORDS_CONV=winograd), 3x3 stride 1") {
		cords_backend *direct = be;
		cords_backend_opts o = cords_backend_defaults;
		o.conv = CORDS_CONV_WINOGRAD;
		be = cords_backend_new("cpu", &o);
		CHECK(be != NULL, "%s", cords_errmsg());
		if (be) {
			conv_case(64, 64, 14, 3, 1, 1);
			conv_case(32, 64, 7, 3, 1, 1);
			conv_case(16, 16, 5, 3, 1, 1);
			be->destroy(be);
		}
		be = direct;
	}
	CASE("avgpool backward = adjoint (padding counted)") {
		cords_buf *x = buf(CORDS_BUF_ACT, 2, 16, 6, 6, hx), *y = buf(CORDS_BUF_ACT, 2, 16, 3, 3, hy);
		cords_buf *fx = buf(CORDS_BUF_ACT, 2, 16, 3, 3, tmp), *dx = buf(CORDS_BUF_ACT, 2, 16, 6, 6, tmp);
		cords_pool p = {.k = 3, .stride = 2, .pad = 1};
		CHECK(be->avgpool(be, &p, x, fx) == 0 && be->avgpool_bwd(be, &p, y, dx) == 0, "%s", cords_errmsg());
		CHECK_CLOSE(dotb(dx, hx, tmp), dotb(fx, hy, tmp2), 1e-5, 1e-6);
		be->free(be, x), be->free(be, y), be->free(be, fx), be->free(be, dx);
	}
	CASE("leaky, relu and read-out backward; batch sum; axpby; squared differences") {
		const int n = 2 * 16 * 3 * 3;
		cords_buf *z = buf(CORDS_BUF_ACT, 2, 16, 3, 3, hx), *d = buf(CORDS_BUF_ACT, 2, 16, 3, 3, hy);
		cords_buf *dz = buf(CORDS_BUF_ACT, 2, 16, 3, 3, tmp), *dr = buf(CORDS_BUF_ACT, 2, 16, 3, 3, hw);
		cords_phi ph = {CORDS_PHI_PRELU, 0.3f};
		CHECK(be->leaky_bwd(be, 0.2f, ph, z, d, dz, dr, 1) == 0, "%s", cords_errmsg());
		be->download(be, dz, tmp);
		be->download(be, dr, tmp2);
		for (int i = 0; i < n; i++) {
			ref[i] = 0.2f * hy[i] * (hx[i] > 0 ? 1 : 0.3f);
			ref2[i] = 0.8f * hy[i] + hw[i];
		}
		t_worst e = {0, ""};
		t_cmp(&e, "dz", tmp, ref, n, .abs = 1e-6);
		t_cmp(&e, "dr", tmp2, ref2, n, .abs = 1e-6);
		CHECK(e.err <= 1, "leaky_bwd: %s", e.at);
		be->fill(be, dr, 0);
		CHECK(be->relu_bwd_add(be, z, d, dr) == 0, "%s", cords_errmsg());
		be->download(be, dr, tmp);
		for (int i = 0; i < n; i++)
			ref[i] = hx[i] > 0 ? hy[i] : 0;
		CHECK(t_cmp(&e, "dr", tmp, ref, n, .abs = 1e-7) <= 1, "relu_bwd_add: %s", e.at);
		float g[32];
		cords_buf *gy = buf(CORDS_BUF_ACT, 2, 16, 0, 0, g);
		be->fill(be, dr, 0);
		CHECK(be->readout_bwd_add(be, z, gy, dr) == 0, "%s", cords_errmsg());
		be->download(be, dr, tmp);
		for (int i = 0; i < n; i++)
			ref[i] = hx[i] > 0 ? g[i / 9] / 9 : 0;
		CHECK(t_cmp(&e, "dr", tmp, ref, n, .abs = 1e-7) <= 1, "readout_bwd_add: %s", e.at);
		cords_buf *s1 = buf(CORDS_BUF_ACT, 1, 16, 3, 3, tmp2);
		CHECK(be->batch_sum(be, z, s1, 0) == 0, "%s", cords_errmsg());
		be->download(be, s1, tmp);
		for (int i = 0; i < n / 2; i++)
			ref[i] = hx[i] + hx[i + n / 2];
		CHECK(t_cmp(&e, "sum", tmp, ref, n / 2, .abs = 1e-6) <= 1, "batch_sum: %s", e.at);
		double sq, want = 0;
		for (int i = 0; i < n; i++)
			want += pow((double)hx[i] - tmp[i % (n / 2)], 2);
		CHECK(be->sqdiff_sum(be, z, s1, &sq) == 0, "%s", cords_errmsg());
		CHECK_CLOSE(sq, want, 1e-6, 0);
		CHECK(be->axpby(be, 2, s1, -1, d) == 0, "%s", cords_errmsg());
		be->download(be, d, tmp2);
		for (int i = 0; i < n; i++)
			ref[i] = 2 * tmp[i % (n / 2)] - hy[i];
		CHECK(t_cmp(&e, "y", tmp2, ref, n, .abs = 1e-6) <= 1, "axpby: %s", e.at);
		cords_buf *all[] = {z, d, dz, dr, gy, s1};
		for (int i = 0; i < 6; i++)
			be->free(be, all[i]);
	}
	CASE("batch_sum over blocks of elements (a partial last one), accumulating with beta") {
		const int B = 3, per = 16 * 7 * 7; /* 784: more than one block of the sum */
		cords_buf *z = buf(CORDS_BUF_ACT, B, 16, 7, 7, hx), *s = buf(CORDS_BUF_ACT, 1, 16, 7, 7, hy);
		CHECK(be->batch_sum(be, z, s, 0.5f) == 0, "%s", cords_errmsg());
		be->download(be, s, tmp);
		double *want = malloc(per * sizeof *want);
		for (int i = 0; i < per; i++)
			want[i] = 0.5 * hy[i] + hx[i] + hx[per + i] + hx[2 * per + i];
		t_worst e = {0, ""};
		CHECK(t_cmp(&e, "sum", tmp, want, per, .abs = 1e-5) <= 1, "batch_sum: %s", e.at);
		free(want);
		be->free(be, z);
		be->free(be, s);
	}
	CASE("a view of batch items shares its buffer's memory (blocked layout); bad ranges refused") {
		float h[4 * 8 * 4], out[4 * 8 * 4]; /* buf fills h with random values */
		cords_buf *b = buf(CORDS_BUF_ACT, 4, 8, 2, 2, h), *v = be->view(be, b, 1, 2);
		CHECK(v && cords_buf_shape(v)[0] == 2 && cords_buf_shape(v)[1] == 8, "view shape");
		be->download(be, v, out);
		t_worst e = {0, ""};
		CHECK(!t_same(&e, "view", out, h + 32, 64), "the view reads items 1 and 2: %s", e.at);
		be->fill(be, v, -1);
		be->download(be, b, out);
		for (int i = 0; i < 4 * 32; i++)
			ref[i] = i >= 32 && i < 96 ? -1.0f : h[i];
		CHECK(!t_same(&e, "buffer", out, ref, 4 * 32), "writing the view writes items 1 and 2 only: %s", e.at);
		CHECK(!be->view(be, b, 3, 2) && !be->view(be, b, -1, 1) && !be->view(be, b, 0, 0), "out-of-range views refused");
		be->free(be, v);
		be->download(be, b, out);
		CHECK(out[0] == h[0] && out[40] == -1, "freeing the view leaves the buffer");
		be->free(be, b);
	}
	CASE("BatchNorm on the backend equals the host kernels (blocked layout)") {
		const int B = 3, C = 16, M = 4, n = B * C * M;
		float g[16], b[16], rm[16], rv[16], sm[16], si[16], sm2[16], si2[16];
		cords_buf *x = buf(CORDS_BUF_ACT, B, C, 2, 2, hx), *dy = buf(CORDS_BUF_ACT, B, C, 2, 2, hy);
		cords_buf *y = buf(CORDS_BUF_ACT, B, C, 2, 2, tmp), *dx = buf(CORDS_BUF_ACT, B, C, 2, 2, tmp);
		cords_buf *gb = buf(CORDS_BUF_ACT, C, 0, 0, 0, g), *bb = buf(CORDS_BUF_ACT, C, 0, 0, 0, b);
		cords_buf *rmb = buf(CORDS_BUF_ACT, C, 0, 0, 0, rm), *rvb = buf(CORDS_BUF_ACT, C, 0, 0, 0, rv);
		cords_buf *smb = buf(CORDS_BUF_ACT, C, 0, 0, 0, sm), *sib = buf(CORDS_BUF_ACT, C, 0, 0, 0, si);
		cords_buf *dg = buf(CORDS_BUF_ACT, C, 0, 0, 0, sm2), *db = buf(CORDS_BUF_ACT, C, 0, 0, 0, si2);
		for (int c = 0; c < C; c++)
			rv[c] = 1 + 0.1f * c;
		be->upload(be, rvb, rv);
		cords_bn_mode md = {.train = 1, .momentum = 0.1f, .eps = 1e-5f};
		cords_bn p = {B, C, M, 0.1, 1e-5, 1};
		float ry[192], rdx[192], rdg[16], rdb[16];
		cords_bn_train_forward_cpu(&p, hx, g, b, rm, rv, sm, si, ry);
		cords_bn_train_backward_cpu(&p, hx, hy, g, sm, si, rdx, rdg, rdb);
		CHECK(be->batchnorm(be, &md, x, gb, bb, rmb, rvb, smb, sib, y) == 0, "%s", cords_errmsg());
		CHECK(be->batchnorm_bwd(be, &md, x, dy, gb, smb, sib, rmb, rvb, dx, dg, db, 0) == 0, "%s", cords_errmsg());
		t_worst e = {0, ""};
		be->download(be, y, tmp);
		be->download(be, dx, tmp2);
		t_cmp(&e, "y", tmp, ry, n, .abs = 1e-6);
		t_cmp(&e, "dx", tmp2, rdx, n, .abs = 1e-6);
		be->download(be, rvb, sm2);
		be->download(be, dg, si2);
		t_cmp(&e, "running var", sm2, rv, C, .abs = 1e-6);
		t_cmp(&e, "dgamma", si2, rdg, C, .abs = 1e-6);
		CHECK(e.err <= 1, "batchnorm: %s", e.at);
		cords_buf *all[] = {x, dy, y, dx, gb, bb, rmb, rvb, smb, sib, dg, db};
		for (int i = 0; i < 12; i++)
			be->free(be, all[i]);
	}
	T_DONE();
}
