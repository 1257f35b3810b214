/* NCCL as kernels/cuda_nccl.cu uses it. The emulated library
 * (test/cuda_emu/emu.cc, reached through emu_dlopen) sums over one rank:
 * the buffer itself. */
#ifndef CORDS_CUDA_EMU_NCCL_H
#define CORDS_CUDA_EMU_NCCL_H
#include "cuda_runtime.h"

typedef struct emu_nccl_comm *ncclComm_t;
typedef enum { ncclSuccess = 0, ncclInvalidArgument = 4, ncclInvalidUsage = 5 } ncclResult_t;
typedef struct {
	char internal[128];
} ncclUniqueId;
typedef enum { ncclFloat = 7 } ncclDataType_t;
typedef enum { ncclSum = 0 } ncclRedOp_t;
extern "C" {
ncclResult_t ncclGetUniqueId(ncclUniqueId *id);
ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank);
ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
			   ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
const char *ncclGetErrorString(ncclResult_t r);
}
#endif
