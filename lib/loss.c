/* Cross-entropy, accuracy and read-out weights (loss.h). */
#include "loss.h"
#include "err.h"

#include <math.h>

/* log-sum-exp of one row, stable. */
static double row_lse(const float *z, int N)
{
	double mx = z[0], s = 0;
	for (int n = 1; n < N; n++)
		mx = z[n] > mx ? z[n] : mx;
	for (int n = 0; n < N; n++)
		s += exp(z[n] - mx);
	return mx + log(s);
}

double cords_xent_cpu(const float *logits, int B, int N, cords_labels y, float scale, float *dlogits)
{
	double total = 0;
	for (int b = 0; b < B; b++) {
		const float *z = logits + (int64_t)b * N;
		double lse = row_lse(z, N), mass = 1;
		if (y.hard) {
			total += lse - z[y.hard[b]];
		} else {
			const float *t = y.soft + (int64_t)b * N;
			mass = 0;
			for (int n = 0; n < N; n++) {
				total += t[n] * (lse - z[n]);
				mass += t[n];
			}
		}
		if (!dlogits)
			continue;
		/* d/dz of -sum_n t_n log softmax_n = softmax * sum(t) - t */
		float *d = dlogits + (int64_t)b * N;
		for (int n = 0; n < N; n++) {
			double t = y.hard ? (n == y.hard[b]) : y.soft[(int64_t)b * N + n];
			d[n] = (float)(scale * (exp(z[n] - lse) * mass - t) / B);
		}
	}
	return total / B;
}

int cords_labels_check(cords_labels y, int B, int N)
{
	for (int b = 0; b < B; b++) {
		if (y.hard) {
			if (y.hard[b] < 0 || y.hard[b] >= N)
				return cords_err("label %lld of image %d is outside 0..%d", (long long)y.hard[b], b, N - 1);
			continue;
		}
		double s = 0;
		for (int n = 0; n < N; n++) {
			float t = y.soft[(int64_t)b * N + n];
			if (!(t >= 0))
				return cords_err("soft label of image %d has a negative or NaN entry", b);
			s += t;
		}
		if (fabs(s - 1) > 1e-3)
			return cords_err("soft label of image %d sums to %g, not 1", b, s);
	}
	return 0;
}

int cords_argmax(const float *v, int64_t n)
{
	int64_t k = 0;
	for (int64_t i = 1; i < n; i++)
		if (v[i] > v[k])
			k = i;
	return (int)k;
}

int cords_label_class(cords_labels y, int b, int N)
{
	return y.hard ? (int)y.hard[b] : y.truth ? (int)y.truth[b] : cords_argmax(y.soft + (int64_t)b * N, N);
}

int cords_correct_cpu(const float *logits, int B, int N, cords_labels y)
{
	int ok = 0;
	for (int b = 0; b < B; b++) {
		int want = cords_label_class(y, b, N);
		ok += cords_argmax(logits + (int64_t)b * N, N) == want;
	}
	return ok;
}

void cords_time_weights(int R, double *w)
{
	for (int t = 0; t < R; t++) {
		double e = R > 1 ? -3.0 + 3.0 * t / (R - 1) : -3.0;
		w[t] = pow(10.0, e) / R;
	}
}

/* Below this many products a loop is not worth the threads. */
#define FC_THREADS(B, C, N) ((int64_t)(B) * (C) * (N) >= (1 << 18))

void cords_fc_forward_cpu(const float *x, const float *W, const float *b, int B, int C, int N, float *y)
{
#pragma omp parallel for collapse(2) schedule(static) if (FC_THREADS(B, C, N))
	for (int i = 0; i < B; i++)
		for (int n = 0; n < N; n++) {
			double s = b[n];
			for (int c = 0; c < C; c++)
				s += (double)x[(int64_t)i * C + c] * W[(int64_t)n * C + c];
			y[(int64_t)i * N + n] = (float)s;
		}
}

void cords_fc_dx_cpu(const float *dy, const float *W, int B, int C, int N, float *dx)
{
#pragma omp parallel for collapse(2) schedule(static) if (FC_THREADS(B, C, N))
	for (int i = 0; i < B; i++)
		for (int c = 0; c < C; c++) {
			double s = 0;
			for (int n = 0; n < N; n++)
				s += (double)dy[(int64_t)i * N + n] * W[(int64_t)n * C + c];
			dx[(int64_t)i * C + c] = (float)s;
		}
}

void cords_fc_dw_cpu(const float *dy, const float *x, int B, int C, int N, float *dW, float *db)
{
#pragma omp parallel for schedule(static) if (FC_THREADS(B, C, N))
	for (int n = 0; n < N; n++) {
		double sb = 0;
		for (int i = 0; i < B; i++)
			sb += dy[(int64_t)i * N + n];
		db[n] = (float)sb;
		for (int c = 0; c < C; c++) {
			double s = 0;
			for (int i = 0; i < B; i++)
				s += (double)dy[(int64_t)i * N + n] * x[(int64_t)i * C + c];
			dW[(int64_t)n * C + c] = (float)s;
		}
	}
}
