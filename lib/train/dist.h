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
 * Gradients live on the backend (lib/model/params.h). They are summed with NCCL
 * when the backend offers it (CUDA: in place on the device, so the sum
 * takes NVLink and InfiniBand as NCCL finds them), else with MPI through
 * the host. cords_dist_init's nccl (the tools': CORDS_NCCL) chooses: auto
 * (NCCL where the backend has it, with more than one rank), off (MPI
 * always), on (NCCL, an error where the backend has none; with one process
 * too, as a one-rank communicator, which checks the path on a single GPU). */
#ifndef CORDS_DIST_H
#define CORDS_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "env.h"

/* -1 with a message if MPI fails. */
int cords_dist_init(int *argc, char ***argv, cords_nccl nccl);
void cords_dist_finalize(void);
int cords_dist_rank(void);
int cords_dist_size(void);
/* In place, across ranks: buf = sum over ranks of buf. */
int cords_dist_sum_f32(float *buf, size_t n);
int cords_dist_sum_f64(double *buf, size_t n);
/* From rank 0 to every rank, in place. */
int cords_dist_bcast(void *buf, size_t bytes);
/* Whether the trainers sum gradients: more than one rank, or NCCL on.
 * -1 with a message when NCCL is on and be has no allreduce. */
int cords_dist_sums(const cords_backend *be);
/* In place, a buffer on be (a gradient): its sum over the ranks, by NCCL
 * on the device or MPI through the host, as cords_dist_init's nccl says. */
int cords_dist_sum_buf(cords_backend *be, cords_buf *b);
/* This rank's slice [*lo, *hi) of a global batch of n items: contiguous,
 * sizes differing by at most one. */
void cords_dist_slice(int64_t n, int64_t *lo, int64_t *hi);

#endif
