/* bench/eig: Arnoldi steps on CordsNet-R8's largest recurrent operator
 * (area 0 or 1 at 224: 64 x 56 x 56 = 200,704 unknowns) with random
 * weight-normalised weights; prints the time split (operator applications,
 * Gram-Schmidt, LAPACK) and memory.
 * Usage: eig [k] [cgs2|dgks] [f64|f32] [c h w] */
#include "conv_op.h"
#include "eig.h"
#include "err.h"
#include "rng.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	int k = argc > 1 ? atoi(argv[1]) : 300, c = 64, h = 56, w = 56;
	int dgks = argc > 2 && !strcmp(argv[2], "dgks"), f32 = argc > 3 && !strcmp(argv[3], "f32");
	if (argc > 6) {
		c = atoi(argv[4]);
		h = atoi(argv[5]);
		w = atoi(argv[6]);
	}
	int64_t gs[4] = {c, 1, 1, 1}, vs[4] = {c, c, 3, 3};
	cords_tensor *g = cords_tensor_new("g", CORDS_F32, 4, gs), *v = cords_tensor_new("v", CORDS_F32, 4, vs);
	cords_rng r;
	cords_rng_seed(&r, 1);
	for (int i = 0; i < c; i++)
		((float *)g->data)[i] = 1;
	for (int64_t i = 0; i < cords_tensor_numel(v); i++)
		((float *)v->data)[i] = (float)cords_rng_range(&r, -1, 1);
	cords_conv_op op;
	if (cords_conv_op_init(&op, g, v, h, w)) {
		fprintf(stderr, "bench/eig: %s\n", cords_errmsg());
		return 1;
	}
	cords_linop A = cords_conv_linop(&op);
	cords_arnoldi_opts o;
	cords_arnoldi_opts_default(&o);
	o.k = k;
	o.always_reorth = !dgks;
	o.basis_f32 = f32;
	cords_arnoldi_result res;
	double t0 = omp_get_wtime();
	if (cords_arnoldi(&A, &o, &res)) {
		fprintf(stderr, "bench/eig: %s\n", cords_errmsg());
		return 1;
	}
	double t = omp_get_wtime() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("operator %d x %d x %d = %lld unknowns, %d Arnoldi steps (%s, %s basis), %d threads\n", c, h, w,
	       (long long)A.n, res.k, dgks ? "DGKS: second pass when needed" : "CGS2: two passes",
	       f32 ? "f32" : "f64", omp_get_max_threads());
	printf("total %.2f s: operator %.2f s (%.1f ms each), Gram-Schmidt %.2f s, LAPACK %.3f s\n", t,
	       res.t_apply, 1e3 * res.t_apply / res.k, res.t_orth, res.t_hess);
	printf("second passes %d of %d; basis %.0f MB; peak RSS %.0f MB\n", res.reorth, res.k,
	       res.basis_bytes / 1e6, ru.ru_maxrss / 1e3);
	printf("spectral radius %.6f, %d Ritz values converged (tol %g)\n",
	       sqrt(res.re[0] * res.re[0] + res.im[0] * res.im[0]), res.nconv, o.tol);
	cords_arnoldi_result_free(&res);
	cords_conv_op_free(&op);
	cords_tensor_free(g);
	cords_tensor_free(v);
	return 0;
}
