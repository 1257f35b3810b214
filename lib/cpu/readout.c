/* The read-out layer and cross-entropy loops (readout.h). */
#include "readout.h"
#include "tensor.h"

#include <math.h>

double cords_row_lse(const float *z, int N)
{
	double mx = z[0], s = 0;
	for (int n = 1; n < N; n++)
		mx = z[n] > mx ? z[n] : mx;
	for (int n = 0; n < N; n++)
		s += exp(z[n] - mx);
	return mx + log(s);
}

void cords_xent_cpu(const float *logits, int B, int N, const float *hard, const float *soft, float scale,
		    float *dlogits, float *out)
{
	for (int b = 0; b < B; b++) {
		const float *z = logits + (int64_t)b * N;
		const float *t = soft ? soft + (int64_t)b * N : NULL;
		const int k = hard ? (int)hard[b] : -1;
		double lse = cords_row_lse(z, N), mass = 1, ce = 0;
		if (!t) {
			ce = lse - z[k];
		} else {
			mass = 0;
			for (int n = 0; n < N; n++) {
				ce += t[n] * (lse - z[n]);
				mass += t[n];
			}
		}
		out[b] = (float)ce;
		out[B + b] = (float)cords_argmax(z, N);
		if (!dlogits)
			continue;
		/* d/dz of -sum_n t_n log softmax_n = softmax * sum(t) - t */
		float *d = dlogits + (int64_t)b * N;
		for (int n = 0; n < N; n++)
			d[n] = (float)(scale * (exp(z[n] - lse) * mass - (t ? t[n] : n == k)) / B);
	}
}

/* Below this many products a loop is not worth the threads. */
#define FC_THREADS(B, C, N) ((int64_t)(B) * (C) * (N) >= (1 << 18))

/* Each output is a sum in double over its own index, in ascending order,
 * whatever the loop order: so the loops below run over contiguous rows (and
 * vectorise across outputs, or keep several sums in flight) with the same
 * results, bit for bit, as the plain triple loops. */

enum { FC_LANES = 8, FC_CBLK = 128 };

void cords_fc_forward_cpu(const float *x, const float *W, const float *b, int B, int C, int N, float *y)
{
	const int NB = (N + FC_LANES - 1) / FC_LANES;
#pragma omp parallel for collapse(2) schedule(static) if (FC_THREADS(B, C, N))
	for (int i = 0; i < B; i++)
		for (int nb = 0; nb < NB; nb++) { /* FC_LANES dot products at once: independent chains */
			const float *xi = x + (int64_t)i * C;
			const int n0 = nb * FC_LANES, m = N - n0 < FC_LANES ? N - n0 : FC_LANES;
			double s[FC_LANES];
			for (int k = 0; k < m; k++)
				s[k] = b ? b[n0 + k] : 0;
			if (m == FC_LANES) {
				for (int c = 0; c < C; c++)
					for (int k = 0; k < FC_LANES; k++)
						s[k] += (double)xi[c] * W[(int64_t)(n0 + k) * C + c];
			} else {
				for (int k = 0; k < m; k++)
					for (int c = 0; c < C; c++)
						s[k] += (double)xi[c] * W[(int64_t)(n0 + k) * C + c];
			}
			for (int k = 0; k < m; k++)
				y[(int64_t)i * N + n0 + k] = (float)s[k];
		}
}

void cords_fc_dx_cpu(const float *dy, const float *W, int B, int C, int N, float *dx)
{
	const int CB = (C + FC_CBLK - 1) / FC_CBLK;
#pragma omp parallel for collapse(2) schedule(static) if (FC_THREADS(B, C, N))
	for (int i = 0; i < B; i++)
		for (int cb = 0; cb < CB; cb++) {
			const int c0 = cb * FC_CBLK, m = C - c0 < FC_CBLK ? C - c0 : FC_CBLK;
			double s[FC_CBLK] = {0};
			for (int n = 0; n < N; n++) {
				const double d = dy[(int64_t)i * N + n];
				const float *w = W + (int64_t)n * C + c0;
				for (int k = 0; k < m; k++)
					s[k] += d * w[k];
			}
			for (int k = 0; k < m; k++)
				dx[(int64_t)i * C + c0 + k] = (float)s[k];
		}
}

void cords_fc_dw_cpu(const float *dy, const float *x, int B, int C, int N, float *dW, float *db)
{
	const int CB = (C + FC_CBLK - 1) / FC_CBLK;
#pragma omp parallel for collapse(2) schedule(static) if (FC_THREADS(B, C, N))
	for (int n = 0; n < N; n++)
		for (int cb = 0; cb < CB; cb++) {
			const int c0 = cb * FC_CBLK, m = C - c0 < FC_CBLK ? C - c0 : FC_CBLK;
			double s[FC_CBLK] = {0}, sb = 0;
			for (int i = 0; i < B; i++) {
				const double d = dy[(int64_t)i * N + n];
				const float *xi = x + (int64_t)i * C + c0;
				if (cb == 0) /* the bias's sum, once per n */
					sb += dy[(int64_t)i * N + n];
				for (int k = 0; k < m; k++)
					s[k] += d * xi[k];
			}
			if (cb == 0 && db)
				db[n] = (float)sb;
			for (int k = 0; k < m; k++)
				dW[(int64_t)n * C + c0 + k] = (float)s[k];
		}
}
