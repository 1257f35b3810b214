/* The read-out layer on the host (lib/cpu/readout.h), as one RNN training step runs
 * it: R read-outs of a batch of B (forward, and the gradient of the features)
 * and the weight gradient over all of them. Prints milliseconds per step,
 * the fastest of REPEAT; threads from OMP_NUM_THREADS.
 *   build/bench/readout [B C N R [REPEAT]]   (defaults 8 512 1000 30 3: R8 on ImageNet, batch 8) */
#include "readout.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *randn(cords_rng *r, int64_t n)
{
	float *v = malloc((size_t)n * sizeof *v);
	for (int64_t i = 0; v && i < n; i++)
		v[i] = (float)cords_rng_normal(r);
	return v;
}

int main(int argc, char **argv)
{
	const int B = argc > 4 ? atoi(argv[1]) : 8, C = argc > 4 ? atoi(argv[2]) : 512;
	const int N = argc > 4 ? atoi(argv[3]) : 1000, R = argc > 4 ? atoi(argv[4]) : 30;
	const int repeat = argc > 5 ? atoi(argv[5]) : 3;
	if (B < 1 || C < 1 || N < 1 || R < 1 || repeat < 1) {
		fprintf(stderr, "usage: readout [B C N R [REPEAT]]\n");
		return 2;
	}
	cords_rng r;
	cords_rng_seed(&r, 1);
	float *x = randn(&r, (int64_t)R * B * C), *W = randn(&r, (int64_t)N * C), *b = randn(&r, N);
	float *dl = randn(&r, (int64_t)R * B * N), *y = malloc(sizeof(float) * B * N), *dx = malloc(sizeof(float) * B * C);
	float *dW = malloc(sizeof(float) * N * C), *db = malloc(sizeof(float) * N);
	if (!x || !W || !b || !dl || !y || !dx || !dW || !db) {
		fprintf(stderr, "readout: out of memory\n");
		return 1;
	}
	double best[3] = {1e30, 1e30, 1e30};
	for (int k = 0; k < repeat; k++) {
		double t0 = now();
		for (int j = 0; j < R; j++)
			cords_fc_forward_cpu(x + (int64_t)j * B * C, W, b, B, C, N, y);
		double t1 = now();
		for (int j = 0; j < R; j++)
			cords_fc_dx_cpu(dl + (int64_t)j * B * N, W, B, C, N, dx);
		double t2 = now();
		cords_fc_dw_cpu(dl, x, R * B, C, N, dW, db);
		double t3 = now(), t[3] = {t1 - t0, t2 - t1, t3 - t2};
		for (int i = 0; i < 3; i++)
			best[i] = t[i] < best[i] ? t[i] : best[i];
	}
	const char *th = getenv("OMP_NUM_THREADS");
	printf("readout B=%d C=%d N=%d R=%d threads=%s: forward %.1f ms, dx %.1f ms, dW %.1f ms, total %.1f ms "
	       "(fastest of %d)\n",
	       B, C, N, R, th ? th : "default", 1e3 * best[0], 1e3 * best[1], 1e3 * best[2],
	       1e3 * (best[0] + best[1] + best[2]), repeat);
	free(x), free(W), free(b), free(dl), free(y), free(dx), free(dW), free(db);
	return 0;
}
