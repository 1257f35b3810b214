/* The backend's allreduce (lib/core/backend.h): a buffer summed in place over
 * the ranks of an mpirun with NCCL, on the backend's stream. The
 * communicator is made on first use, with the unique id rank 0 draws sent
 * to the others over MPI (lib/train/dist.h), one rank per GPU.
 *
 * libnccl.so.2 is opened then, not linked: the tools load and run on
 * machines without NCCL (the GPU machine's NCCL comes with its torch), and
 * only a run that sums with NCCL needs it. The function types come from
 * nccl.h, so a changed signature fails the build, not the run. */
#include "cuda.h"

extern "C" {
#include "dist.h"
}

#include <dlfcn.h>
#include <nccl.h>
#include <stdlib.h>

struct cu_nccl {
	void *lib;
	decltype(&ncclGetUniqueId) get_unique_id;
	decltype(&ncclCommInitRank) comm_init_rank;
	decltype(&ncclAllReduce) all_reduce;
	decltype(&ncclCommDestroy) comm_destroy;
	decltype(&ncclGetErrorString) error_string;
	ncclComm_t comm;
};

static int nccl_check(const cu_nccl *n, ncclResult_t r, const char *what)
{
	if (r == ncclSuccess)
		return 0;
	return cords_err("NCCL: %s: %s", what, n->error_string(r));
}

void cu_nccl_free(cu_nccl *n)
{
	if (!n)
		return;
	if (n->comm)
		n->comm_destroy(n->comm);
	if (n->lib)
		dlclose(n->lib);
	free(n);
}

template <typename F> static int sym(cu_nccl *n, F *f, const char *name)
{
	*f = (F)dlsym(n->lib, name);
	return *f ? 0 : cords_err("NCCL: %s not found in libnccl.so.2", name);
}

static cu_nccl *nccl_open(void)
{
	cu_nccl *n = (cu_nccl *)calloc(1, sizeof *n);
	if (!n) {
		cords_err("out of memory");
		return NULL;
	}
	if (!(n->lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL))) {
		cords_err("NCCL: cannot load libnccl.so.2 (%s); add its folder to LD_LIBRARY_PATH, or set CORDS_NCCL=0 "
			  "to sum gradients over MPI",
			  dlerror());
		free(n);
		return NULL;
	}
	ncclUniqueId id;
	const int rank = cords_dist_rank(), size = cords_dist_size();
	if (sym(n, &n->error_string, "ncclGetErrorString") || sym(n, &n->get_unique_id, "ncclGetUniqueId") ||
	    sym(n, &n->comm_init_rank, "ncclCommInitRank") || sym(n, &n->all_reduce, "ncclAllReduce") ||
	    sym(n, &n->comm_destroy, "ncclCommDestroy") ||
	    (rank == 0 && nccl_check(n, n->get_unique_id(&id), "unique id")) || cords_dist_bcast(&id, sizeof id) ||
	    nccl_check(n, n->comm_init_rank(&n->comm, size, id, rank), "communicator")) {
		n->comm = NULL;
		cu_nccl_free(n);
		return NULL;
	}
	return n;
}

int cu_allreduce(cords_backend *be, cords_buf *b)
{
	cu_impl *c = CU_IMPL(be);
	if (!c->nccl && !(c->nccl = nccl_open()))
		return cords_err_prefix("summing gradients over %d rank%s: ", cords_dist_size(),
					cords_dist_size() == 1 ? "" : "s");
	cu_nccl *n = c->nccl;
	cu_buf *d = CU_BUF(b);
	if (cu_join(c)) /* what the lanes wrote into b is in */
		return -1;
	return nccl_check(n, n->all_reduce(d->d, d->d, d->n, ncclFloat, ncclSum, n->comm, c->stream), "all-reduce");
}
