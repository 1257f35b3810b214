/* Data-parallel training over MPI: ranks started by mpirun each take a slice
 * of every global batch, compute the gradient of their slice, and the
 * gradients are summed across ranks with weights B_r / B, so every rank holds
 * the gradient of the whole batch and takes the same optimiser step. Rank 0
 * alone writes models, checkpoints and logs.
 *
 * Outside mpirun (no OMPI_COMM_WORLD_SIZE / PMIX_RANK in the environment)
 * MPI is never initialised: one process, rank 0 of 1, and every call below
 * is a no-op, so the tools start as fast as without MPI.
 *
 * Gradients live on the host in the training loop, so one MPI all-reduce
 * serves the CPU and the CUDA backends alike (staged through host memory). */
#ifndef CORDS_DIST_H
#define CORDS_DIST_H

#include <stddef.h>
#include <stdint.h>

int cords_dist_init(int *argc, char ***argv); /* -1 with a message if MPI fails */
void cords_dist_finalize(void);
int cords_dist_rank(void);
int cords_dist_size(void);
/* In place, across ranks: buf = sum over ranks of buf. */
int cords_dist_sum_f32(float *buf, size_t n);
int cords_dist_sum_f64(double *buf, size_t n);
/* This rank's slice [*lo, *hi) of a global batch of n items: contiguous,
 * sizes differing by at most one. */
void cords_dist_slice(int64_t n, int64_t *lo, int64_t *hi);
/* Abort every rank (after an error on one): a lone exit would hang the rest. */
void cords_dist_abort(int code);

#endif
