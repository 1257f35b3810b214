/* MPI data parallelism (dist.h). */
#include "dist.h"
#include "err.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int active, rank, size = 1;
static cords_nccl nccl;

int cords_dist_init(int *argc, char ***argv, cords_nccl how)
{
	nccl = how;
	if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK"))
		return 0;
	if (MPI_Init(argc, argv) != MPI_SUCCESS)
		return cords_err("MPI_Init failed");
	active = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	return 0;
}

void cords_dist_finalize(void)
{
	if (active)
		MPI_Finalize();
	active = 0;
}

int cords_dist_rank(void) { return rank; }
int cords_dist_size(void) { return size; }

/* MPI counts are ints: large buffers go in pieces. */
static int sum(void *buf, size_t n, MPI_Datatype t, size_t es)
{
	const size_t chunk = (size_t)1 << 30;
	for (size_t i = 0; active && size > 1 && i < n; i += chunk) {
		int k = (int)(n - i < chunk ? n - i : chunk);
		if (MPI_Allreduce(MPI_IN_PLACE, (char *)buf + i * es, k, t, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
			return cords_err("MPI_Allreduce failed");
	}
	return 0;
}

int cords_dist_sum_f32(float *buf, size_t n) { return sum(buf, n, MPI_FLOAT, sizeof *buf); }
int cords_dist_sum_f64(double *buf, size_t n) { return sum(buf, n, MPI_DOUBLE, sizeof *buf); }

int cords_dist_bcast(void *buf, size_t bytes)
{
	if (!active || size < 2)
		return 0;
	if (bytes > (size_t)1 << 30 || MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
		return cords_err("MPI_Bcast of %zu bytes failed", bytes);
	return 0;
}

int cords_dist_sums(const cords_backend *be)
{
	if (nccl == CORDS_NCCL_ON && !(be && be->allreduce))
		return cords_err("CORDS_NCCL=1: NCCL sums gradients on a CUDA device only (--device cuda in a CUDA build); "
				 "this run is on %s",
				 be ? be->name : "no backend");
	return size > 1 || nccl == CORDS_NCCL_ON;
}

int cords_dist_sum_buf(cords_backend *be, cords_buf *b)
{
	if (nccl != CORDS_NCCL_OFF && be->allreduce)
		return be->allreduce(be, b);
	/* MPI sums host arrays */
	size_t n = (size_t)cords_buf_numel(b);
	float *h = malloc(n * sizeof *h);
	int rc = !h ? cords_err("out of memory") : be->download(be, b, h) || cords_dist_sum_f32(h, n) || be->upload(be, b, h);
	free(h);
	return rc ? -1 : 0;
}

void cords_dist_slice(int64_t n, int64_t *lo, int64_t *hi)
{
	int64_t base = n / size, extra = n % size;
	*lo = rank * base + (rank < extra ? rank : extra);
	*hi = *lo + base + (rank < extra ? 1 : 0);
}
