/* MPI data parallelism (dist.h). */
#include "dist.h"
#include "err.h"

#include <mpi.h>
#include <stdlib.h>

static int active, rank, size = 1;

int cords_dist_init(int *argc, char ***argv)
{
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

void cords_dist_slice(int64_t n, int64_t *lo, int64_t *hi)
{
	int64_t base = n / size, extra = n % size;
	*lo = rank * base + (rank < extra ? rank : extra);
	*hi = *lo + base + (rank < extra ? 1 : 0);
}

void cords_dist_abort(int code)
{
	if (active && size > 1)
		MPI_Abort(MPI_COMM_WORLD, code);
}
