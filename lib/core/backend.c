/* Choosing a backend by device name, and what all backends' buffers share. */
#include "backend.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CUDA 16

const cords_backend_opts cords_backend_defaults = {.lanes = 1, .deterministic = 1, .graphs = 1};

/* What cords_backend_get made, and with what. */
static struct {
	cords_backend *be;
	cords_backend_opts o;
} made[1 + MAX_CUDA];

static int parse_cuda(const char *device, int *dev)
{
	if (!strcmp(device, "cuda")) {
		/* Under mpirun, one rank per GPU: plain "cuda" is the rank's local
		 * index among the devices it sees (one each, where the launcher
		 * sets CUDA_VISIBLE_DEVICES per rank). */
		static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID",
						   "PMI_LOCAL_RANK"};
		const char *local = NULL;
		for (size_t i = 0; !local && i < sizeof vars / sizeof *vars; i++)
			local = getenv(vars[i]);
		int n = local ? cords_cuda_device_count() : 0;
		*dev = n > 0 ? atoi(local) % (n < MAX_CUDA ? n : MAX_CUDA) : 0;
		return 0;
	}
	char *end;
	long d = strtol(device + 5, &end, 10);
	if (device[4] != ':' || end == device + 5 || *end || d < 0 || d >= MAX_CUDA)
		return cords_err("device '%s': expected cpu, cuda or cuda:N", device);
	*dev = (int)d;
	return 0;
}

int cords_device_index(const char *device, int *index)
{
	*index = -1;
	if (!device || !strcmp(device, "cpu"))
		return 0;
	if (strncmp(device, "cuda", 4))
		return cords_err("device '%s': expected cpu, cuda or cuda:N", device);
	return parse_cuda(device, index);
}

cords_backend *cords_backend_new(const char *device, const cords_backend_opts *o)
{
	int dev;
	if (cords_device_index(device, &dev))
		return NULL;
	o = o ? o : &cords_backend_defaults;
	cords_backend *be = cords_backend_checked(dev < 0 ? cords_backend_cpu_new(o) : cords_backend_cuda_new(dev, o));
	if (be && o->profile) {
		cords_backend *p = cords_backend_profiled(be);
		if (!p)
			be->destroy(be);
		be = p;
	}
	if (be)
		be->precision = o->precision;
	return be;
}

/* Backends got here live for the whole process: made on first use, never
 * freed (the operating system reclaims them), so callers need not track them. */
cords_backend *cords_backend_get(const char *device, const cords_backend_opts *o)
{
	int dev;
	if (cords_device_index(device, &dev))
		return NULL;
	o = o ? o : &cords_backend_defaults;
	if (made[dev + 1].be) { /* (the settings are ints and enums: no padding to compare) */
		if (memcmp(&made[dev + 1].o, o, sizeof *o))
			return cords_err("device %s: already in use with other settings", device), NULL;
		return made[dev + 1].be;
	}
	if ((made[dev + 1].be = cords_backend_new(device, o)))
		made[dev + 1].o = *o;
	return made[dev + 1].be;
}

size_t cords_buf_head_init(cords_buf_head *h, cords_buf_kind kind, int ndim, const int64_t *shape)
{
	size_t n = 1;
	h->ndim = ndim;
	h->kind = kind;
	for (int i = 0; i < ndim; i++) {
		h->shape[i] = shape[i];
		n *= (size_t)shape[i];
	}
	return n;
}

void cords_buf_view_head(const cords_buf_head *b, int64_t at, int64_t n, cords_buf_head *v, size_t *offset,
			 size_t *count)
{
	int64_t shape[4];
	memcpy(shape, b->shape, sizeof shape);
	shape[0] = n;
	*count = cords_buf_head_init(v, CORDS_BUF_ACT, b->ndim, shape);
	*offset = *count / (size_t)n * (size_t)at;
}

int cords_buf_ndim(const cords_buf *b)
{
	return ((const cords_buf_head *)b)->ndim;
}

const int64_t *cords_buf_shape(const cords_buf *b)
{
	return ((const cords_buf_head *)b)->shape;
}

int64_t cords_buf_numel(const cords_buf *b)
{
	const cords_buf_head *h = (const cords_buf_head *)b;
	int64_t n = 1;
	for (int i = 0; i < h->ndim; i++)
		n *= h->shape[i];
	return n;
}
