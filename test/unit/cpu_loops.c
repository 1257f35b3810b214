/* Corners of the CPU backend's own training loops: the read-out's backward
 * on a map that is not square (plain and blocked channels), a batch sum one
 * element past a block, squared differences against a [1,...] slice, phi's
 * backward at 0, the leaky update's z, a weight gradient added to dw, and
 * the shapes that must be refused. */
#include "backend.h"
#include "err.h"
#include "t.h"

static cords_backend *be;

static cords_buf *up(int64_t b, int64_t c, int64_t h, int64_t w, const float *x)
{
	int64_t s[4] = {b, c, h, w};
	cords_buf *r = be->alloc(be, CORDS_BUF_ACT, w ? 4 : 2, s);
	if (r && x)
		be->upload(be, r, x);
	return r;
}

static float *vals(int64_t n, int seed)
{
	float *v = malloc((size_t)n * sizeof *v);
	for (int64_t i = 0; i < n; i++)
		v[i] = (float)(((i * 7919 + seed * 104729) % 2003) / 1001.5 - 1);
	return v;
}

static void readout_case(int B, int C, int H, int W)
{
	int64_t n = (int64_t)B * C * H * W;
	float *x = vals(n, 1), *dx = vals(n, 2), *dy = vals((int64_t)B * C, 3), *want = malloc((size_t)n * sizeof *want);
	for (int b = 0; b < B; b++)
		for (int c = 0; c < C; c++)
			for (int i = 0; i < H * W; i++) {
				int64_t k = ((int64_t)b * C + c) * H * W + i;
				want[k] = dx[k] + (x[k] > 0 ? dy[b * C + c] / (float)(H * W) : 0.0f);
			}
	cords_buf *bx = up(B, C, H, W, x), *bdx = up(B, C, H, W, dx), *bdy = up(B, C, 0, 0, dy);
	CHECK(be->readout_bwd_add(be, bx, bdy, bdx) == 0, "%s", cords_errmsg());
	be->download(be, bdx, dx);
	t_worst e = {0, ""};
	t_cmp(&e, "dx", dx, want, n, .abs = 1e-6);
	CHECK(e.err <= 1, "B %d C %d %dx%d: %s", B, C, H, W, e.at);
	be->free(be, bx), be->free(be, bdx), be->free(be, bdy);
	free(x), free(dx), free(dy), free(want);
}

int main(void)
{
	be = t_backend("cpu");
	CASE("read-out backward on 3x5 maps, plain and blocked channels")
	{
		readout_case(2, 3, 3, 5);
		readout_case(2, 16, 5, 3);
	}
	CASE("batch sum of 513 elements a item: blocks of 512 and one more")
	{
		const int B = 3, per = 27 * 19;
		float *z = vals(B * per, 4), *s = vals(per, 5), *want = malloc(per * sizeof *want);
		for (int i = 0; i < per; i++)
			want[i] = 0.5f * s[i] + z[i] + z[per + i] + z[2 * per + i];
		cords_buf *bz = up(B, 1, 27, 19, z), *bs = up(1, 1, 27, 19, s);
		CHECK(be->batch_sum(be, bz, bs, 0.5f) == 0, "%s", cords_errmsg());
		be->download(be, bs, s);
		t_worst e = {0, ""};
		t_cmp(&e, "sum", s, want, per, .abs = 1e-5);
		CHECK(e.err <= 1, "%s", e.at);
		be->free(be, bz), be->free(be, bs);
		free(z), free(s), free(want);
	}
	CASE("squared differences: alone, against a buffer, against a [1,...] slice")
	{
		const int B = 2, per = 4 * 3 * 5;
		float *x = vals(B * per, 6), *y = vals(B * per, 7), *y1 = vals(per, 8);
		double a = 0, b = 0, c = 0, got; /* the differences are taken in float */
		for (int i = 0; i < B * per; i++)
			a += (double)x[i] * x[i], b += ((double)x[i] - y[i]) * (x[i] - y[i]),
				c += ((double)x[i] - y1[i % per]) * (x[i] - y1[i % per]);
		cords_buf *bx = up(B, 4, 3, 5, x), *by = up(B, 4, 3, 5, y), *b1 = up(1, 4, 3, 5, y1);
		CHECK(!be->sqdiff_sum(be, bx, NULL, &got) && fabs(got - a) <= 1e-9 * a, "alone: %.9g, want %.9g", got, a);
		CHECK(!be->sqdiff_sum(be, bx, by, &got) && fabs(got - b) <= 1e-6 * b, "buffer: %.9g, want %.9g", got, b);
		CHECK(!be->sqdiff_sum(be, bx, b1, &got) && fabs(got - c) <= 1e-6 * c, "slice: %.9g, want %.9g", got, c);
		be->free(be, bx), be->free(be, by), be->free(be, b1);
		free(x), free(y), free(y1);
	}
	CASE("phi backward (leaky_bwd, alpha 1): 1 for z > 0, the slope for z <= 0 (0 included, as torch)")
	{
		const float z[6] = {1, 0, -2, 0.5f, -0.0f, 3}, dy[6] = {2, 3, 4, 5, 6, 7};
		const float want[6] = {2, 0.75f, 1, 5, 1.5f, 7};
		float dz[6], dr[6];
		cords_buf *bz = up(1, 6, 0, 0, z), *bd = up(1, 6, 0, 0, dy), *bdz = up(1, 6, 0, 0, NULL), *bdr = up(1, 6, 0, 0, NULL);
		int rc = be->leaky_bwd(be, 1, (cords_phi){CORDS_PHI_PRELU, 0.25f}, bz, bd, bdz, bdr, 0) ||
			 be->download(be, bdz, dz) || be->download(be, bdr, dr);
		int ok = !rc;
		for (int i = 0; i < 6; i++)
			ok &= dz[i] == want[i] && dr[i] == 0;
		CHECK(ok, "dz %g %g %g %g %g %g: %s", dz[0], dz[1], dz[2], dz[3], dz[4], dz[5], rc ? cords_errmsg() : "");
		be->free(be, bz), be->free(be, bd), be->free(be, bdz), be->free(be, bdr);
	}
	CASE("leaky update: z gets the bias, r the update, every element")
	{
		const int B = 2, per = 3 * 5 * 7;
		float *r = vals(B * per, 9), *z = vals(B * per, 10), *b = vals(per, 11), *wz = malloc(B * per * sizeof *wz);
		float *wr = malloc(B * per * sizeof *wr);
		for (int i = 0; i < B * per; i++) {
			wz[i] = z[i] + b[i % per];
			wr[i] = 0.75f * r[i] + 0.25f * (wz[i] > 0 ? wz[i] : 0.5f * wz[i]);
		}
		cords_buf *br = up(B, 3, 5, 7, r), *bz = up(B, 3, 5, 7, z), *bb = up(1, 3, 5, 7, b), *bo = up(B, 3, 5, 7, NULL);
		CHECK(be->leaky(be, 0.25f, (cords_phi){CORDS_PHI_PRELU, 0.5f}, br, bz, bb, bo) == 0, "%s", cords_errmsg());
		be->download(be, bz, z);
		be->download(be, bo, r);
		t_worst e = {0, ""};
		t_cmp(&e, "z", z, wz, B * per, .abs = 1e-6);
		t_cmp(&e, "r", r, wr, B * per, .abs = 1e-6);
		CHECK(e.err <= 1, "%s", e.at);
		be->free(be, br), be->free(be, bz), be->free(be, bb), be->free(be, bo);
		free(r), free(z), free(b), free(wz), free(wr);
	}
	CASE("weight gradient with beta 1 adds to what dw holds (plain and blocked channels)")
	{
		for (int C = 3; C <= 16; C += 13) {
			int64_t sx[4] = {2, C, 6, 5}, sw[4] = {C, C, 3, 3};
			float *x = vals(2 * C * 30, 12), *dy = vals(2 * C * 30, 13), *d0 = vals(C * C * 9, 14);
			float *g = malloc(C * C * 9 * sizeof *g), *acc = malloc(C * C * 9 * sizeof *acc);
			cords_buf *bx = be->alloc(be, CORDS_BUF_ACT, 4, sx), *bdy = be->alloc(be, CORDS_BUF_ACT, 4, sx);
			cords_buf *bw = be->alloc(be, CORDS_BUF_WEIGHT, 4, sw);
			be->upload(be, bx, x), be->upload(be, bdy, dy);
			cords_conv c0 = {.stride = 1, .pad = 1, .beta = 0}, c1 = {.stride = 1, .pad = 1, .beta = 1};
			int rc = be->conv2d_bwd_weights(be, &c0, bx, bdy, bw) || be->download(be, bw, g) ||
				 be->upload(be, bw, d0) || be->conv2d_bwd_weights(be, &c1, bx, bdy, bw) ||
				 be->download(be, bw, acc);
			double m = 0, *want = malloc(C * C * 9 * sizeof *want);
			for (int i = 0; i < C * C * 9; i++)
				want[i] = (double)d0[i] + g[i], m = fmax(m, fabs(g[i]));
			t_worst e = {0, ""};
			t_cmp(&e, "dw", acc, want, C * C * 9, .abs = 1e-5 * (1 + m));
			CHECK(!rc && e.err <= 1 && m > 0, "C %d, beta 1: %s %s", C, e.at, rc ? cords_errmsg() : "");
			free(want);
			be->free(be, bx), be->free(be, bdy), be->free(be, bw);
			free(x), free(dy), free(d0), free(g), free(acc);
		}
	}
	CASE("shapes refused: a sum or a slice that is not the [1,...] of the input")
	{
		cords_buf *x = up(2, 4, 3, 5, NULL), *s = up(1, 4, 3, 5, NULL), *w = up(1, 4, 5, 3, NULL);
		cords_buf *two = up(2, 4, 3, 5, NULL), *c = up(1, 3, 3, 5, NULL);
		double d;
		CHECK(be->batch_sum(be, x, w, 0) < 0 && be->batch_sum(be, x, c, 0) < 0 && be->batch_sum(be, x, two, 0) < 0,
		      "batch_sum took a mismatched sum");
		CHECK(be->batch_sum(be, x, s, 0) == 0, "%s", cords_errmsg());
		CHECK(be->axpby(be, 1, w, 0, x) < 0 && be->axpby(be, 1, c, 0, x) < 0, "axpby took a mismatched x");
		CHECK(be->axpby(be, 1, s, 0, x) == 0 && be->axpby(be, 1, two, 0, x) == 0, "%s", cords_errmsg());
		CHECK(be->sqdiff_sum(be, x, w, &d) < 0 && be->sqdiff_sum(be, x, c, &d) < 0, "sqdiff_sum took a mismatched y");
		be->free(be, x), be->free(be, s), be->free(be, w), be->free(be, two), be->free(be, c);
	}
	T_DONE();
}
