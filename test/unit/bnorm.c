/* BatchNorm's host kernels against the formulas written out here in double
 * precision, plain and in channel blocks of 8, with gamma and the variances
 * away from 1 (so that a factor or its inverse shows), and the running
 * variance's unbiased count at two values per channel. */
#include "bnorm.h"
#include "rng.h"
#include "t.h"

#define C 16

/* Index of (b, c, m) in [B][C/k][M][k]. */
static int64_t at(int k, int64_t M, int b, int c, int64_t m)
{
	return (((int64_t)b * (C / k) + c / k) * M + m) * k + c % k;
}

/* |a - b| <= 1e-6 + 1e-5 max(floor, max |b|) (cancellation leaves entries
 * near 0 with the rounding of the terms): t_cmp's worst error. */
static double off_floor(const float *a, const double *b, int64_t n, double floor)
{
	double s = floor;
	for (int64_t i = 0; i < n; i++)
		s = fmax(s, fabs(b[i]));
	return t_cmp(NULL, "bn", a, b, n, .abs = 1e-6 + 1e-5 * s);
}
static double off(const float *a, const double *b, int64_t n) { return off_floor(a, b, n, 0); }

static void bn_case(int k, int B, int64_t M)
{
	const int64_t n = (int64_t)B * C * M;
	cords_bn p = {B, C, M, 0.1, 1e-5, k};
	cords_rng r;
	cords_rng_seed(&r, (uint64_t)(k * 100 + B * 10 + M));
	float *x = malloc(n * sizeof *x), *dy = malloc(n * sizeof *dy), *y = malloc(n * sizeof *y), *dx = malloc(n * sizeof *dx);
	float g[C], be[C], rm[C], rv[C], rm0[C], rv0[C], sm[C], si[C], dg[C], db[C];
	double *Y = malloc(n * sizeof *Y), *DX = malloc(n * sizeof *DX), SM[C], SI[C], RM[C], RV[C], DG[C], DB[C];
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(cords_rng_normal(&r) * 2 + 0.5), dy[i] = (float)cords_rng_normal(&r);
	for (int c = 0; c < C; c++) {
		g[c] = (float)cords_rng_range(&r, 0.3, 3), be[c] = (float)cords_rng_range(&r, -1, 1);
		rm0[c] = rm[c] = (float)cords_rng_range(&r, -1, 1), rv0[c] = rv[c] = (float)cords_rng_range(&r, 0.3, 3);
	}
	const double cnt = (double)B * M;
	double terms = 0; /* the largest term of dx */
	/* train forward and backward */
	for (int c = 0; c < C; c++) {
		double s = 0, ss = 0;
		for (int b = 0; b < B; b++)
			for (int64_t m = 0; m < M; m++)
				s += x[at(k, M, b, c, m)];
		double mean = s / cnt;
		for (int b = 0; b < B; b++)
			for (int64_t m = 0; m < M; m++)
				ss += (x[at(k, M, b, c, m)] - mean) * (x[at(k, M, b, c, m)] - mean);
		double inv = 1 / sqrt(ss / cnt + p.eps), sdy = 0, sdyx = 0;
		SM[c] = mean, SI[c] = inv;
		RM[c] = 0.9 * rm0[c] + 0.1 * mean;
		RV[c] = 0.9 * rv0[c] + 0.1 * (cnt > 1 ? ss / (cnt - 1) : ss / cnt);
		for (int b = 0; b < B; b++)
			for (int64_t m = 0; m < M; m++) {
				int64_t i = at(k, M, b, c, m);
				Y[i] = (x[i] - mean) * inv * g[c] + be[c];
				sdy += dy[i], sdyx += dy[i] * (x[i] - mean) * inv;
			}
		DB[c] = sdy, DG[c] = sdyx;
		for (int b = 0; b < B; b++)
			for (int64_t m = 0; m < M; m++) {
				int64_t i = at(k, M, b, c, m);
				DX[i] = g[c] * inv * (dy[i] - sdy / cnt - (x[i] - mean) * inv * sdyx / cnt);
				terms = fmax(terms, fabs(g[c] * inv * dy[i]));
			}
	}
	cords_bn_train_forward_cpu(&p, x, g, be, rm, rv, sm, si, y);
	cords_bn_train_backward_cpu(&p, x, dy, g, sm, si, dx, dg, db);
	CHECK(off(y, Y, n) <= 1 && off(sm, SM, C) <= 1 && off(si, SI, C) <= 1, "k %d B %d M %lld: train y off %.3g",
	      k, B, (long long)M, off(y, Y, n));
	CHECK(off(rm, RM, C) <= 1 && off(rv, RV, C) <= 1, "k %d B %d M %lld: running statistics off %.3g, %.3g", k, B,
	      (long long)M, off(rm, RM, C), off(rv, RV, C));
	CHECK(off_floor(dx, DX, n, terms) <= 1 && off(dg, DG, C) <= 1 && off(db, DB, C) <= 1,
	      "k %d B %d M %lld: train backward off: dx %.3g, dgamma %.3g, dbeta %.3g", k, B, (long long)M,
	      off_floor(dx, DX, n, terms), off(dg, DG, C), off(db, DB, C));
	/* eval forward and backward, with the running statistics as they were */
	for (int c = 0; c < C; c++) {
		double inv = 1 / sqrt(rv0[c] + p.eps), sdy = 0, sdyx = 0;
		for (int b = 0; b < B; b++)
			for (int64_t m = 0; m < M; m++) {
				int64_t i = at(k, M, b, c, m);
				Y[i] = (x[i] - rm0[c]) * inv * g[c] + be[c];
				DX[i] = dy[i] * g[c] * inv;
				sdy += dy[i], sdyx += dy[i] * (x[i] - rm0[c]) * inv;
			}
		DB[c] = sdy, DG[c] = sdyx;
	}
	cords_bn_eval_forward_cpu(&p, x, g, be, rm0, rv0, y);
	cords_bn_eval_backward_cpu(&p, x, dy, g, rm0, rv0, dx, dg, db);
	CHECK(off(y, Y, n) <= 1, "k %d: eval y off %.3g", k, off(y, Y, n));
	CHECK(off(dx, DX, n) <= 1 && off(dg, DG, C) <= 1 && off(db, DB, C) <= 1,
	      "k %d B %d M %lld: eval backward off: dx %.3g, dgamma %.3g, dbeta %.3g", k, B, (long long)M,
	      off(dx, DX, n), off(dg, DG, C), off(db, DB, C));
	free(x), free(dy), free(y), free(dx), free(Y), free(DX);
}

int main(void)
{
	CASE("plain channels: train and eval, forward and backward, running statistics") bn_case(1, 3, 5);
	CASE("channel blocks of 8 and 16") {
		bn_case(8, 3, 5);
		bn_case(16, 2, 3);
	}
	CASE("two values per channel: the running variance's unbiased count (n - 1 = 1)") bn_case(1, 2, 1);
	T_DONE();
}
