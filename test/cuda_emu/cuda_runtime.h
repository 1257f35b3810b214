/* The CUDA runtime as the CUDA backend's own kernels and launchers see it,
 * emulated on the CPU, so that test/unit/backend_cuda.c runs them in CI
 * where there is no GPU (build/test/backend_cuda_emu; test/cuda_emu/emu.cc).
 *
 * kernels/ (every .cu) are compiled as C++ after one rewrite (the Makefile's perl
 * line): `k<<<grid, block, shmem, stream>>>(args)` becomes
 * `emu_launch(k, grid, block, shmem, stream)(args)`. A launch's blocks run
 * one after another; a block's threads run one after another as plain calls,
 * or, in a kernel that declares __shared__ memory, as fibers that switch at
 * each __syncthreads, in a new random order each time (so shared memory is a
 * static array, shared by the block's threads, and a missing barrier reads
 * stale or early data). Streams queue their work and run it, interleaved at
 * random but in CUDA's order (each stream in turn, waits after their events),
 * when the host waits for it; events, capture and graphs keep CUDA's rules
 * (a lane that joins a capture must be joined back; no synchronising call
 * while capturing), so a mistake there fails here too (emu.cc says more).
 *
 * What this does not show: speed; races inside one kernel other than at its
 * barriers (threads, warps and blocks never run at once); cuDNN's and
 * cuBLAS's own code (they are loops in double here, emu.cc: what is checked
 * is how we call them). */
#ifndef CORDS_CUDA_EMU_RUNTIME_H
#define CORDS_CUDA_EMU_RUNTIME_H

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>

/* ---- the kernel language */
struct uint3 {
	unsigned x, y, z;
};
struct dim3 {
	unsigned x, y, z;
	dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __host__
namespace emu {
/* Declared by __shared__: a kernel with shared memory runs its block's
 * threads as fibers. Throws emu::need_fibers when made outside one. */
struct fiber_guard {
	fiber_guard();
};
void syncthreads();
typedef std::function<void()> op;
} // namespace emu
#define EMU_CAT2(a, b) a##b
#define EMU_CAT(a, b) EMU_CAT2(a, b)
#define __shared__                                       \
	emu::fiber_guard EMU_CAT(emu_guard_, __LINE__); \
	static
#define __syncthreads() emu::syncthreads()
using std::max;
using std::min;

/* ---- the runtime API that kernels/ uses */
typedef enum {
	cudaSuccess = 0,
	cudaErrorInvalidValue = 1,
	cudaErrorMemoryAllocation = 2,
	cudaErrorInvalidConfiguration = 9,
	cudaErrorInvalidResourceHandle = 400,
	cudaErrorStreamCaptureUnsupported = 900,
	cudaErrorStreamCaptureInvalidated = 901,
	cudaErrorStreamCaptureUnjoined = 904,
	cudaErrorStreamCaptureImplicit = 906,
} cudaError_t;
typedef struct emu_stream *cudaStream_t;
typedef struct emu_event *cudaEvent_t;
typedef struct emu_graph *cudaGraph_t;
typedef struct emu_graph *cudaGraphExec_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal };
enum cudaStreamCaptureStatus {
	cudaStreamCaptureStatusNone,
	cudaStreamCaptureStatusActive,
	cudaStreamCaptureStatusInvalidated
};
enum { cudaStreamNonBlocking = 1, cudaEventDisableTiming = 2 };

const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaMalloc(void **p, size_t bytes);
template <typename T> cudaError_t cudaMalloc(T **p, size_t bytes) { return cudaMalloc((void **)p, bytes); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemset(void *p, int v, size_t bytes);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *st);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

namespace emu {
/* Queue work on a stream: run now, or add it to the stream's capture. */
cudaError_t enqueue(cudaStream_t s, op f);
/* p is NULL or in memory cudaMalloc gave (what a GPU can address); else
 * the emulation stops, naming what. */
void device_ptr(const void *p, const char *what);
template <typename T> void device_arg(const T &) {}
template <typename T> void device_arg(T *p) { device_ptr(p, "a kernel's pointer argument"); }
/* A launch's grid and block are valid; else the launch error is set. */
bool launchable(dim3 grid, dim3 block);
/* Run body as every thread of every block of the grid; key names the kernel. */
void run_grid(const void *key, dim3 grid, dim3 block, const std::function<void()> &body);

template <typename... P> struct launcher {
	void (*k)(P...);
	dim3 grid, block;
	cudaStream_t stream;
	void operator()(P... a) const /* converted to the kernel's types, as a launch does */
	{
		void (*kk)(P...) = k;
		const dim3 g = grid, b = block;
		(device_arg(a), ...);
		if (launchable(g, b))
			enqueue(stream, [=]() { run_grid((const void *)kk, g, b, [&]() { kk(a...); }); });
	}
};
} // namespace emu

template <typename... P>
emu::launcher<P...> emu_launch(void (*k)(P...), dim3 grid, dim3 block, size_t shmem = 0, cudaStream_t s = 0)
{
	(void)shmem;
	return emu::launcher<P...>{k, grid, block, s};
}

#endif
