/* Cross-entropy, accuracy and read-out weights (loss.h). */
#include "loss.h"
#include "err.h"
#include "tensor.h"

#include <math.h>
#include <stdlib.h>

int cords_labels_upload(cords_backend *be, cords_labels y, cords_buf *hard, cords_buf *soft, const cords_buf **h,
			const cords_buf **s)
{
	*h = y.soft ? NULL : hard;
	*s = y.soft ? soft : NULL;
	if (y.soft)
		return be->upload(be, soft, y.soft);
	const int64_t B = cords_buf_numel(hard);
	float *f = malloc((size_t)B * sizeof *f);
	if (!f)
		return cords_err("out of memory");
	for (int64_t b = 0; b < B; b++)
		f[b] = (float)y.hard[b];
	int rc = be->upload(be, hard, f);
	free(f);
	return rc;
}

double cords_xent_tally(const float *out, int B, int N, cords_labels y, int *correct, int *hit)
{
	double s = 0;
	int ok = 0;
	for (int b = 0; b < B; b++) {
		s += out[b];
		int right = (int)out[B + b] == cords_label_class(y, b, N);
		ok += right;
		if (hit)
			hit[b] |= right;
	}
	if (correct)
		*correct = ok;
	return s / B;
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
