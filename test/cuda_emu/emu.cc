/* The CUDA runtime, cuDNN, cuBLAS and NCCL emulated on the CPU, as far as
 * kernels/ (every .cu) use them (see cuda_runtime.h for what this shows and what
 * not). Device memory is host memory, filled with NaN when allocated, so a
 * kernel that reads what nothing wrote shows it in its answers. */
#include "cuda_runtime.h"

#include "cublas_v2.h"
#include "cuda_bf16.h"
#include "cudnn.h"
#include "nccl.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <setjmp.h>
#include <ucontext.h>
#include <vector>

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

/* The emulation's random orders (xorshift64: seeded, so a run repeats itself). */
static uint64_t next_random(uint64_t &s)
{
	s ^= s << 13, s ^= s >> 7, s ^= s << 17;
	return s;
}

[[noreturn]] static void die(const char *what)
{
	fprintf(stderr, "cuda emulation: %s\n", what);
	abort();
}

static thread_local cudaError_t last_error = cudaSuccess;
static cudaError_t fail(cudaError_t e)
{
	if (e != cudaSuccess)
		last_error = e;
	return e;
}

/* ---- kernels: blocks in turn; a block's threads as calls, or as fibers */

namespace emu {
struct need_fibers {};
static std::mutex lock; /* the allocations and the kernels' kinds: eig's threads share them */
static std::set<const void *> fiber_kernels;
/* The fibers, and the kernel's indices above: one launch at a time runs
 * (cords-eig's operator launches from threads of its own), and no thread-
 * local state, which code on a makecontext stack may not reach. A fiber is
 * made once (makecontext) and then loops: run the
 * block's body as its thread, then wait for the next block. Switches are
 * _setjmp/_longjmp (swapcontext would make a system call at each one, and a
 * block of 256 threads switches thousands of times); AddressSanitizer is
 * told of each stack switch. */
static bool in_fiber;
enum { STACK = 64 * 1024 };
struct fiber {
	ucontext_t start;
	jmp_buf at;
	std::unique_ptr<char[]> stack;
	bool started;
	int state; /* 0 running, 1 at a barrier, 2 done with the block */
	void *fake; /* AddressSanitizer's fake stack */
};
static std::vector<std::unique_ptr<fiber>> fibs;
static jmp_buf sched;
static unsigned cur;
static const std::function<void()> *body;

/* AddressSanitizer's view of the stack switches (nothing without it): a
 * switch starts on one stack and finishes on the other. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
static const void *sched_bottom;
static size_t sched_size;
static void *sched_fake;
#define TO_FIBER(f) __sanitizer_start_switch_fiber(&sched_fake, (f)->stack.get(), STACK)
#define IN_FIBER() __sanitizer_finish_switch_fiber(fibs[cur]->fake, &sched_bottom, &sched_size)
#define TO_SCHED() __sanitizer_start_switch_fiber(&fibs[cur]->fake, sched_bottom, sched_size)
#define IN_SCHED() __sanitizer_finish_switch_fiber(sched_fake, nullptr, nullptr)
#else
#define TO_FIBER(f) (void)(f)
#define IN_FIBER() (void)0
#define TO_SCHED() (void)0
#define IN_SCHED() (void)0
#endif

/* From fiber cur back to the scheduler, until it resumes the fiber. */
static void yield()
{
	if (!_setjmp(fibs[cur]->at)) {
		TO_SCHED();
		_longjmp(sched, 1);
	}
	IN_FIBER();
}

fiber_guard::fiber_guard()
{
	if (!in_fiber)
		throw need_fibers();
}

void syncthreads()
{
	if (!in_fiber)
		die("__syncthreads in a kernel that declares no __shared__ memory");
	fibs[cur]->state = 1;
	yield();
}

static void fiber_main()
{
	IN_FIBER();
	for (;;) {
		(*body)();
		fibs[cur]->state = 2;
		yield();
	}
}

static void set_thread(unsigned t)
{
	threadIdx.x = t % blockDim.x;
	threadIdx.y = t / blockDim.x % blockDim.y;
	threadIdx.z = t / (blockDim.x * blockDim.y);
}

/* The scheduler: into fiber t until it yields. */
static void resume(unsigned t)
{
	fiber *f = fibs[t].get();
	cur = t;
	set_thread(t);
	if (_setjmp(sched)) {
		IN_SCHED();
		return;
	}
	TO_FIBER(f);
	if (!f->started) {
		f->started = true;
		setcontext(&f->start);
	}
	_longjmp(f->at, 1);
}

static void block_as_fibers(const std::function<void()> &f, unsigned T)
{
	while (fibs.size() < T) {
		fibs.emplace_back(new fiber());
		fiber *n = fibs.back().get();
		n->stack.reset(new char[STACK]);
		getcontext(&n->start);
		n->start.uc_stack.ss_sp = n->stack.get();
		n->start.uc_stack.ss_size = STACK;
		n->start.uc_link = nullptr; /* fiber_main never returns */
		makecontext(&n->start, fiber_main, 0);
	}
	static std::vector<unsigned> perm;
	static uint64_t rng = 0x9e3779b97f4a7c15ull;
	perm.resize(T);
	for (unsigned t = 0; t < T; t++)
		fibs[t]->state = 0, perm[t] = t;
	body = &f;
	in_fiber = true;
	for (unsigned live = T; live;) {
		unsigned waiting = 0, ended = 0;
		/* Each stretch between barriers runs the threads in a new random
		 * order: where a __syncthreads is missing, a thread that reads what
		 * another writes in the same stretch gets stale or fresh data by
		 * the order, a wrong answer whichever way round the two are. */
		for (unsigned i = T; i > 1; i--)
			std::swap(perm[i - 1], perm[next_random(rng) % i]);
		for (unsigned t : perm) {
			if (fibs[t]->state == 2)
				continue;
			fibs[t]->state = 0;
			resume(t);
			if (fibs[t]->state == 2)
				ended++, live--;
			else
				waiting++;
		}
		if (waiting && ended)
			die("a block's threads do not all reach the same __syncthreads");
	}
	in_fiber = false;
}

bool launchable(dim3 grid, dim3 block)
{
	if (!grid.x || !grid.y || !grid.z || !block.x || !block.y || !block.z ||
	    (size_t)block.x * block.y * block.z > 1024 || grid.y > 65535 || grid.z > 65535) {
		fail(cudaErrorInvalidConfiguration);
		return false;
	}
	return true;
}

void run_grid(const void *key, dim3 grid, dim3 block, const std::function<void()> &f)
{
	static std::mutex one_launch;
	std::lock_guard<std::mutex> running(one_launch);
	gridDim = grid, blockDim = block;
	const unsigned T = block.x * block.y * block.z;
	bool fibers;
	{
		std::lock_guard<std::mutex> g(lock);
		fibers = fiber_kernels.count(key);
	}
	for (unsigned z = 0; z < grid.z; z++)
		for (unsigned y = 0; y < grid.y; y++)
			for (unsigned x = 0; x < grid.x; x++) {
				blockIdx.x = x, blockIdx.y = y, blockIdx.z = z;
				if (!fibers) {
					unsigned t = 0;
					try {
						for (; t < T; t++)
							set_thread(t), f();
					} catch (need_fibers &) {
						if (t || x || y || z) /* its __shared__ is declared first: nothing ran yet */
							die("a kernel declared __shared__ memory after it began");
						std::lock_guard<std::mutex> g(lock);
						fiber_kernels.insert(key);
						fibers = true;
					}
				}
				if (fibers)
					block_as_fibers(f, T);
			}
}
} // namespace emu

/* ---- streams, events, capture and graphs
 *
 * A stream queues its work, and queued work runs only when the host needs
 * it done (a synchronisation, a copy to the host, a free): then the
 * streams' work runs interleaved in a random order (seeded, so a run
 * repeats itself) that keeps only what CUDA keeps, each stream in order
 * and a wait after the event it waits for. So a lane that reads what the
 * main stream writes, or the host reading a lane's result, without the
 * events between them is a wrong answer here, as it would be a race on a
 * GPU. Captured work goes into the graph instead, in program order (which
 * keeps every dependency), and a graph's launch runs it as one piece. */

struct emu_graph {
	std::vector<emu::op> ops;
	cudaStream_t origin;
	bool invalid;
	std::map<cudaStream_t, uint64_t> joined; /* how far the origin has waited for each stream */
	std::set<cudaStream_t> members;
};
struct emu_item {
	emu::op f;          /* the work, or */
	cudaStream_t after; /* a wait: until that stream has run `seq` items */
	uint64_t seq;
};
struct emu_stream {
	std::deque<emu_item> queue;
	uint64_t queued, done; /* items queued on it so far, and run */
	emu_graph *graph; /* the capture it is part of */
	uint64_t captured; /* work captured from it, for the join check */
};
struct emu_event {
	bool recorded;
	cudaStream_t stream;
	uint64_t seq; /* the stream's items before it: queued, or captured */
	emu_graph *graph;
};
static std::set<emu_graph *> captures; /* active ones */
static int graph_launches, failed_captures;
extern "C" int cords_cuda_emu_graph_launches(void) { return graph_launches; }
extern "C" int cords_cuda_emu_failed_captures(void) { return failed_captures; }
static std::vector<cudaStream_t> streams;
static uint64_t order = 88172645463325252ull; /* the interleaving's random state */

static bool runnable(cudaStream_t s)
{
	return !s->queue.empty() && (!s->queue.front().after || s->queue.front().after->done >= s->queue.front().seq);
}

/* Run streams' items, one at a time from a random stream that can go on,
 * until done() holds. */
template <typename Done> static void run_until(Done done)
{
	static thread_local bool running;
	static std::mutex one; /* cords-eig's threads copy (and so wait) too */
	if (running) /* an item's work queues nothing on a stream */
		die("stream work run from stream work");
	std::lock_guard<std::mutex> g(one);
	running = true;
	std::vector<cudaStream_t> ready;
	while (!done()) {
		ready.clear();
		for (cudaStream_t s : streams)
			if (runnable(s))
				ready.push_back(s);
		if (ready.empty())
			die("streams wait for work that never comes (a cycle of events)");
		cudaStream_t s = ready[next_random(order) % ready.size()];
		emu_item it = std::move(s->queue.front());
		s->queue.pop_front();
		if (it.f)
			it.f();
		s->done++;
	}
	running = false;
}
static void drain(cudaStream_t s)
{
	const uint64_t upto = s->queued;
	run_until([s, upto]() { return s->done >= upto; });
}
static void drain_all()
{
	run_until([]() {
		for (cudaStream_t s : streams)
			if (s->done < s->queued)
				return false;
		return true;
	});
}

cudaError_t emu::enqueue(cudaStream_t s, op f)
{
	if (!s) { /* the legacy stream: cords-eig's, which synchronises anyway */
		f();
		return cudaSuccess;
	}
	if (s->graph) {
		if (s->graph->invalid)
			return fail(cudaErrorStreamCaptureInvalidated);
		s->graph->ops.push_back(std::move(f));
		s->captured++;
	} else {
		s->queue.push_back(emu_item{std::move(f), nullptr, 0});
		s->queued++;
	}
	return cudaSuccess;
}

/* A call a capture does not allow: the capture is invalidated. */
static cudaError_t unsupported(cudaStream_t s)
{
	if (s && s->graph)
		s->graph->invalid = true;
	else
		for (emu_graph *g : captures)
			g->invalid = true;
	return fail(cudaErrorStreamCaptureUnsupported);
}
static bool capturing(cudaStream_t s) { return s ? s->graph != nullptr : !captures.empty(); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned)
{
	*s = new emu_stream();
	streams.push_back(*s);
	return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s)
{
	if (!s || s->graph)
		return unsupported(s);
	drain(s); /* its work completes */
	if (s->queued != s->done) /* a wait for another stream still queued: the same */
		drain_all();
	streams.erase(std::find(streams.begin(), streams.end(), s));
	delete s;
	return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
	if (capturing(s))
		return unsupported(s);
	if (s)
		drain(s);
	return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize(void)
{
	if (capturing(nullptr))
		return unsupported(nullptr);
	drain_all();
	return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned) { return *e = new emu_event(), cudaSuccess; }
cudaError_t cudaEventDestroy(cudaEvent_t e) { return delete e, cudaSuccess; }

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
	if (!e || !s)
		return fail(cudaErrorInvalidResourceHandle);
	*e = emu_event{true, s, s->graph ? s->captured : s->queued, s->graph};
	return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned)
{
	if (!e || !s)
		return fail(cudaErrorInvalidResourceHandle);
	if (!e->recorded)
		return cudaSuccess;
	emu_graph *g = e->graph;
	if (!g) {
		if (s->graph) /* an event from outside the capture */
			return s->graph->invalid = true, fail(cudaErrorStreamCaptureUnsupported);
		if (e->stream != s) {
			s->queue.push_back(emu_item{nullptr, e->stream, e->seq});
			s->queued++;
		}
		return cudaSuccess;
	}
	if (s->graph && s->graph != g)
		return g->invalid = true, fail(cudaErrorStreamCaptureUnsupported);
	if (!s->graph) { /* the stream joins the capture */
		s->graph = g;
		g->members.insert(s);
		s->captured++;
	}
	if (s == g->origin && e->stream != s)
		g->joined[e->stream] = std::max(g->joined[e->stream], e->seq);
	return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode)
{
	if (!s || s->graph)
		return failed_captures++, fail(cudaErrorInvalidValue);
	emu_graph *g = new emu_graph();
	g->origin = s;
	g->members.insert(s);
	s->graph = g;
	captures.insert(g);
	return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *out)
{
	*out = nullptr;
	if (!s || !s->graph || s->graph->origin != s)
		return fail(cudaErrorInvalidValue);
	emu_graph *g = s->graph;
	cudaError_t e = g->invalid ? cudaErrorStreamCaptureInvalidated : cudaSuccess;
	for (cudaStream_t m : g->members) {
		if (m != s && e == cudaSuccess && g->joined[m] < m->captured)
			e = cudaErrorStreamCaptureUnjoined; /* a lane's work the origin never waited for */
		m->graph = nullptr;
	}
	captures.erase(g);
	if (e != cudaSuccess) {
		delete g;
		failed_captures++;
		return fail(e);
	}
	*out = g;
	return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *st)
{
	*st = !s || !s->graph ? cudaStreamCaptureStatusNone
	      : s->graph->invalid ? cudaStreamCaptureStatusInvalidated
				  : cudaStreamCaptureStatusActive;
	return cudaSuccess;
}


cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long)
{
	emu_graph *x = new emu_graph();
	x->ops = g->ops;
	*exec = x;
	return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s)
{
	graph_launches++;
	auto ops = std::make_shared<std::vector<emu::op>>(exec->ops);
	return emu::enqueue(s, [ops]() {
		for (auto &f : *ops)
			f();
	});
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) { return delete g, cudaSuccess; }
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) { return delete exec, cudaSuccess; }

/* ---- errors, the device, memory */

const char *cudaGetErrorString(cudaError_t e)
{
	switch (e) {
	case cudaSuccess: return "no error";
	case cudaErrorInvalidValue: return "invalid argument";
	case cudaErrorMemoryAllocation: return "out of memory";
	case cudaErrorInvalidConfiguration: return "invalid configuration argument";
	case cudaErrorInvalidResourceHandle: return "invalid resource handle";
	case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
	case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
	case cudaErrorStreamCaptureUnjoined: return "capture was not joined to the origin stream";
	default: return "unknown error";
	}
}
cudaError_t cudaGetLastError(void)
{
	cudaError_t e = last_error;
	last_error = cudaSuccess;
	return e;
}
cudaError_t cudaGetDeviceCount(int *n) { return *n = 1, cudaSuccess; }
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidValue); }

static const size_t device_bytes = (size_t)8 << 30;
static std::map<void *, size_t> allocations;
static size_t allocated;

void emu::device_ptr(const void *p, const char *what)
{
	if (!p)
		return;
	std::lock_guard<std::mutex> g(emu::lock);
	auto it = allocations.upper_bound((void *)p);
	if (it == allocations.begin() || (const char *)p > (const char *)(--it)->first + it->second) {
		fprintf(stderr, "cuda emulation: %s (%p) is not device memory\n", what, p);
		abort();
	}
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
	*p = nullptr;
	if (capturing(nullptr))
		return unsupported(nullptr);
	std::lock_guard<std::mutex> g(emu::lock);
	if (allocated + bytes > device_bytes || !(*p = malloc(bytes ? bytes : 1)))
		return fail(cudaErrorMemoryAllocation);
	memset(*p, 0xff, bytes); /* NaN: what nothing wrote shows */
	allocations[*p] = bytes;
	allocated += bytes;
	return cudaSuccess;
}
cudaError_t cudaFree(void *p)
{
	if (!p)
		return cudaSuccess;
	if (capturing(nullptr))
		return unsupported(nullptr);
	drain_all(); /* cudaFree waits for the device */
	std::lock_guard<std::mutex> g(emu::lock);
	auto it = allocations.find(p);
	if (it == allocations.end())
		return fail(cudaErrorInvalidValue);
	allocated -= it->second;
	allocations.erase(it);
	free(p);
	return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
	std::lock_guard<std::mutex> g(emu::lock);
	*free_bytes = device_bytes - allocated, *total = device_bytes;
	return cudaSuccess;
}
/* Host memory here is pageable (malloc): a copy from it takes the data
 * before returning, a copy to it waits for the stream and is done on return. */
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s)
{
	if (kind != cudaMemcpyDeviceToDevice && capturing(s))
		return unsupported(s);
	emu::device_ptr(kind == cudaMemcpyDeviceToHost ? src : dst, "a copy's device side");
	if (kind == cudaMemcpyDeviceToDevice)
		emu::device_ptr(src, "a copy's device source");
	if (kind == cudaMemcpyHostToDevice) {
		auto data = std::make_shared<std::vector<char>>((const char *)src, (const char *)src + bytes);
		return emu::enqueue(s, [=]() { memcpy(dst, data->data(), bytes); });
	}
	if (kind == cudaMemcpyDeviceToHost) {
		if (s)
			drain(s);
		memcpy(dst, src, bytes);
		return cudaSuccess;
	}
	return emu::enqueue(s, [=]() { memmove(dst, src, bytes); });
}
cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t s)
{
	emu::device_ptr(p, "cudaMemset's memory");
	return emu::enqueue(s, [=]() { memset(p, v, bytes); });
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
	if (capturing(nullptr))
		return unsupported(nullptr);
	drain_all(); /* the legacy stream waits for the others */
	return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}
cudaError_t cudaMemset(void *p, int v, size_t bytes)
{
	return capturing(nullptr) ? unsupported(nullptr) : cudaMemsetAsync(p, v, bytes, nullptr);
}

/* ---- bf16 */

__nv_bfloat16 __float2bfloat16(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000) /* NaN stays NaN */
		return __nv_bfloat16{(uint16_t)((u >> 16) | 0x40)};
	u += 0x7fff + ((u >> 16) & 1);
	return __nv_bfloat16{(uint16_t)(u >> 16)};
}
float __bfloat162float(__nv_bfloat16 h)
{
	uint32_t u = (uint32_t)h.bits << 16;
	float f;
	memcpy(&f, &u, 4);
	return f;
}

/* ---- cuBLAS */

struct emu_blas {
	cudaStream_t stream;
};
cublasStatus_t cublasCreate(cublasHandle_t *h) { return *h = new emu_blas(), CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy(cublasHandle_t h) { return delete h, CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { return h->stream = s, CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) { return CUBLAS_STATUS_SUCCESS; }
const char *cublasGetStatusString(cublasStatus_t s) { return s ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_SUCCESS"; }

/* C = alpha op(A) op(B) + beta C, column-major; beta 0 never reads C. */
template <typename T>
static cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, T alpha,
			   const T *A, int lda, const T *B, int ldb, T beta, T *C, int ldc)
{
	if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) ||
	    ldc < std::max(1, m))
		return CUBLAS_STATUS_INVALID_VALUE;
	emu::device_ptr(A, "a gemm's A"), emu::device_ptr(B, "a gemm's B"), emu::device_ptr(C, "a gemm's C");
	emu::enqueue(h->stream, [=]() {
		for (int j = 0; j < n; j++)
			for (int i = 0; i < m; i++) {
				double s = 0;
				for (int p = 0; p < k; p++)
					s += (double)(ta ? A[p + (size_t)i * lda] : A[i + (size_t)p * lda]) *
					     (tb ? B[j + (size_t)p * ldb] : B[p + (size_t)j * ldb]);
				T &c = C[i + (size_t)j * ldc];
				c = (T)(alpha * s + (beta != 0 ? beta * c : 0));
			}
	});
	return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
			   const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
			   float *C, int ldc)
{
	return gemm(h, ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}
cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
			   const double *alpha, const double *A, int lda, const double *B, int ldb, const double *beta,
			   double *C, int ldc)
{
	return gemm(h, ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}
cublasStatus_t cublasDgemv(cublasHandle_t h, cublasOperation_t t, int m, int n, const double *alpha, const double *A,
			   int lda, const double *x, int incx, const double *beta, double *y, int incy)
{
	if (incx != 1 || incy != 1) /* what kernels/ uses */
		return CUBLAS_STATUS_INVALID_VALUE;
	/* y = alpha op(A) x + beta y: a gemm with one column */
	return t ? gemm(h, CUBLAS_OP_T, CUBLAS_OP_N, n, 1, m, *alpha, A, lda, x, m, *beta, y, n)
		 : gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, 1, n, *alpha, A, lda, x, n, *beta, y, m);
}
cublasStatus_t cublasDnrm2(cublasHandle_t h, int n, const double *x, int incx, double *result)
{
	if (incx != 1 || capturing(h->stream))
		return CUBLAS_STATUS_INVALID_VALUE;
	emu::device_ptr(x, "dnrm2's x");
	if (h->stream)
		drain(h->stream); /* a result on the host: the stream's work first */
	double s = 0;
	for (int i = 0; i < n; i++)
		s += x[i] * x[i];
	*result = sqrt(s);
	return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDaxpy(cublasHandle_t h, int n, const double *alpha, const double *x, int incx, double *y,
			   int incy)
{
	if (incx != 1 || incy != 1)
		return CUBLAS_STATUS_INVALID_VALUE;
	emu::device_ptr(x, "daxpy's x"), emu::device_ptr(y, "daxpy's y");
	const double a = *alpha;
	emu::enqueue(h->stream, [=]() {
		for (int i = 0; i < n; i++)
			y[i] += a * x[i];
	});
	return CUBLAS_STATUS_SUCCESS;
}

/* ---- cuDNN */

struct emu_dnn {
	cudaStream_t stream;
};
struct emu_desc {
	cudnnDataType_t type;
	int n, c, h, w;
};
struct emu_conv_desc {
	int pad, stride;
	bool set;
};
cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { return *h = new emu_dnn(), CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { return delete h, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) { return h->stream = s, CUDNN_STATUS_SUCCESS; }
const char *cudnnGetErrorString(cudnnStatus_t s)
{
	return s == CUDNN_STATUS_SUCCESS ? "CUDNN_STATUS_SUCCESS"
	       : s == CUDNN_STATUS_BAD_PARAM ? "CUDNN_STATUS_BAD_PARAM"
					     : "CUDNN_STATUS_NOT_SUPPORTED";
}
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { return *d = new emu_desc(), CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) { return *d = new emu_desc(), CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
static cudnnStatus_t set4(emu_desc *d, cudnnDataType_t t, int n, int c, int h, int w)
{
	if (n < 1 || c < 1 || h < 1 || w < 1 || (t != CUDNN_DATA_FLOAT && t != CUDNN_DATA_BFLOAT16))
		return CUDNN_STATUS_BAD_PARAM;
	*d = emu_desc{t, n, c, h, w};
	return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t, cudnnDataType_t t, int n,
					 int c, int h, int w)
{
	return set4(d, t, n, c, h, w);
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t, int k,
					 int c, int h, int w)
{
	return set4(d, t, k, c, h, w);
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d)
{
	return *d = new emu_conv_desc(), CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { return delete d, CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
					      int dil_h, int dil_w, cudnnConvolutionMode_t mode, cudnnDataType_t)
{
	/* what cords' convolutions are: square padding and stride, no dilation */
	if (pad_h != pad_w || u != v || pad_h < 0 || u < 1 || dil_h != 1 || dil_w != 1 || mode != CUDNN_CROSS_CORRELATION)
		return CUDNN_STATUS_NOT_SUPPORTED;
	*d = emu_conv_desc{pad_h, u, true};
	return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t, cudnnMathType_t) { return CUDNN_STATUS_SUCCESS; }

/* x, w, y agree with each other and with the convolution? */
static bool fits(const emu_desc *x, const emu_desc *w, const emu_conv_desc *c, const emu_desc *y)
{
	return c->set && x->c == w->c && y->n == x->n && y->c == w->n &&
	       y->h == (x->h + 2 * c->pad - w->h) / c->stride + 1 && y->w == (x->w + 2 * c->pad - w->w) / c->stride + 1 &&
	       x->type == w->type && x->type == y->type;
}

/* Every algorithm needs this much workspace: the plans' sizing is exercised. */
static size_t need(const emu_desc *x) { return (size_t)x->c * 64; }

/* Three candidates, fastest first: a non-deterministic one, one on tensor
 * cores, and a deterministic FMA one (the only one fp32 backward may take). */
template <typename Perf>
static cudnnStatus_t find(const emu_desc *x, const emu_desc *w, const emu_conv_desc *c, const emu_desc *y,
			  int requested, int *returned, Perf *perf)
{
	if (!fits(x, w, c, y))
		return CUDNN_STATUS_BAD_PARAM;
	const Perf all[3] = {
		{(decltype(perf->algo))2, CUDNN_STATUS_SUCCESS, 1, need(x), CUDNN_NON_DETERMINISTIC, CUDNN_FMA_MATH},
		{(decltype(perf->algo))1, CUDNN_STATUS_SUCCESS, 2, need(x), CUDNN_DETERMINISTIC, CUDNN_TENSOR_OP_MATH},
		{(decltype(perf->algo))0, CUDNN_STATUS_SUCCESS, 3, need(x), CUDNN_DETERMINISTIC, CUDNN_FMA_MATH},
	};
	*returned = std::min(requested, 3);
	for (int i = 0; i < *returned; i++)
		perf[i] = all[i];
	return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
						   cudnnConvolutionDescriptor_t c, cudnnTensorDescriptor_t y,
						   int requested, int *returned, cudnnConvolutionFwdAlgoPerf_t *perf)
{
	return find(x, w, c, y, requested, returned, perf);
}
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(cudnnHandle_t, cudnnFilterDescriptor_t w,
							cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							cudnnTensorDescriptor_t dx, int requested, int *returned,
							cudnnConvolutionBwdDataAlgoPerf_t *perf)
{
	return find(dx, w, c, dy, requested, returned, perf);
}
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(cudnnHandle_t, cudnnTensorDescriptor_t x,
							  cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							  cudnnFilterDescriptor_t dw, int requested, int *returned,
							  cudnnConvolutionBwdFilterAlgoPerf_t *perf)
{
	return find(x, dw, c, dy, requested, returned, perf);
}
static cudnnStatus_t ws_size(const emu_desc *x, const emu_desc *w, const emu_conv_desc *c, const emu_desc *y,
			     size_t *bytes)
{
	return fits(x, w, c, y) ? (*bytes = need(x), CUDNN_STATUS_SUCCESS) : CUDNN_STATUS_BAD_PARAM;
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t, cudnnTensorDescriptor_t x,
						      cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t c,
						      cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t, size_t *bytes)
{
	return ws_size(x, w, c, y, bytes);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t, cudnnFilterDescriptor_t w,
							   cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							   cudnnTensorDescriptor_t dx, cudnnConvolutionBwdDataAlgo_t,
							   size_t *bytes)
{
	return ws_size(dx, w, c, dy, bytes);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t, cudnnTensorDescriptor_t x,
							     cudnnTensorDescriptor_t dy, cudnnConvolutionDescriptor_t c,
							     cudnnFilterDescriptor_t dw, cudnnConvolutionBwdFilterAlgo_t,
							     size_t *bytes)
{
	return ws_size(x, dw, c, dy, bytes);
}

static double get(cudnnDataType_t t, const void *p, size_t i)
{
	return t == CUDNN_DATA_FLOAT ? ((const float *)p)[i] : __bfloat162float(((const __nv_bfloat16 *)p)[i]);
}
static void put(cudnnDataType_t t, void *p, size_t i, double v, double beta)
{
	if (beta != 0)
		v += beta * get(t, p, i);
	if (t == CUDNN_DATA_FLOAT)
		((float *)p)[i] = (float)v;
	else
		((__nv_bfloat16 *)p)[i] = __float2bfloat16((float)v);
}

enum { FWD, BWD_DATA, BWD_FILTER };
/* The three convolutions as one loop over (b, o, c, output pixel, tap) on
 * the operands widened to double, accumulating into direction dir's result. */
static cudnnStatus_t conv(cudnnHandle_t h, int dir, const void *alpha, const emu_desc *xd, const void *x,
			  const emu_desc *wd, const void *w, const emu_desc *yd, const void *y, const emu_conv_desc *cd,
			  void *ws, size_t ws_bytes, const void *beta, void *out)
{
	if (!fits(xd, wd, cd, yd))
		return CUDNN_STATUS_BAD_PARAM;
	if (ws_bytes < need(xd) || (need(xd) && !ws))
		return CUDNN_STATUS_BAD_PARAM; /* the workspace the algorithm asked for */
	emu::device_ptr(x, "a convolution's x"), emu::device_ptr(w, "a convolution's w");
	emu::device_ptr(y, "a convolution's y"), emu::device_ptr(ws, "a convolution's workspace");
	emu::device_ptr(out, "a convolution's result");
	const emu_desc X = *xd, W = *wd, Y = *yd;
	const emu_conv_desc C = *cd;
	const double a = *(const float *)alpha, b = *(const float *)beta;
	emu::enqueue(h->stream, [=]() {
		memset(ws, 0x5a, need(&X)); /* the algorithm uses it */
		auto load = [](const emu_desc &d, const void *p) {
			std::vector<double> v(p ? (size_t)d.n * d.c * d.h * d.w : 0);
			for (size_t k = 0; k < v.size(); k++)
				v[k] = get(d.type, p, k);
			return v;
		};
		const std::vector<double> xv = load(X, x), wv = load(W, w), yv = load(Y, y);
		const emu_desc &R = dir == FWD ? Y : dir == BWD_DATA ? X : W;
		std::vector<double> acc((size_t)R.n * R.c * R.h * R.w, 0.0);
		for (int n = 0; n < X.n; n++)
			for (int o = 0; o < W.n; o++)
				for (int c = 0; c < X.c; c++)
					for (int i = 0; i < Y.h; i++)
						for (int j = 0; j < Y.w; j++) {
							const size_t yi = (((size_t)n * Y.c + o) * Y.h + i) * Y.w + j;
							const size_t x0 = ((size_t)n * X.c + c) * X.h * X.w;
							const size_t w0 = ((size_t)o * W.c + c) * W.h * W.w;
							for (int p = 0; p < W.h; p++) {
								const int hi = i * C.stride - C.pad + p;
								if (hi < 0 || hi >= X.h)
									continue;
								for (int q = 0; q < W.w; q++) {
									const int wj = j * C.stride - C.pad + q;
									if (wj < 0 || wj >= X.w)
										continue;
									const size_t xi = x0 + (size_t)hi * X.w + wj, wi = w0 + (size_t)p * W.w + q;
									if (dir == FWD)
										acc[yi] += xv[xi] * wv[wi];
									else if (dir == BWD_DATA)
										acc[xi] += yv[yi] * wv[wi];
									else
										acc[wi] += yv[yi] * xv[xi];
								}
							}
						}
		for (size_t k = 0; k < acc.size(); k++)
			put(R.type, out, k, a * acc[k], b);
	});
	return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd, const void *x,
				      cudnnFilterDescriptor_t wd, const void *w, cudnnConvolutionDescriptor_t c,
				      cudnnConvolutionFwdAlgo_t, void *ws, size_t ws_bytes, const void *beta,
				      cudnnTensorDescriptor_t yd, void *y)
{
	return conv(h, FWD, alpha, xd, x, wd, w, yd, nullptr, c, ws, ws_bytes, beta, y);
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void *alpha, cudnnFilterDescriptor_t wd,
					   const void *w, cudnnTensorDescriptor_t dyd, const void *dy,
					   cudnnConvolutionDescriptor_t c, cudnnConvolutionBwdDataAlgo_t, void *ws,
					   size_t ws_bytes, const void *beta, cudnnTensorDescriptor_t dxd, void *dx)
{
	return conv(h, BWD_DATA, alpha, dxd, nullptr, wd, w, dyd, dy, c, ws, ws_bytes, beta, dx);
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void *alpha, cudnnTensorDescriptor_t xd,
					     const void *x, cudnnTensorDescriptor_t dyd, const void *dy,
					     cudnnConvolutionDescriptor_t c, cudnnConvolutionBwdFilterAlgo_t, void *ws,
					     size_t ws_bytes, const void *beta, cudnnFilterDescriptor_t dwd, void *dw)
{
	return conv(h, BWD_FILTER, alpha, xd, x, dwd, nullptr, dyd, dy, c, ws, ws_bytes, beta, dw);
}

/* ---- NCCL, reached through emu_dlopen (cuda_nccl.cu is compiled with
 * dlopen, dlsym, dlclose and dlerror renamed to these): the ranks of an
 * mpirun sum over MPI (lib/train/dist.h), on the host memory that is the device's
 * here, when the stream runs the all-reduce. Every rank runs its stream's
 * items in stream order, so the ranks' sums meet in the same order. */

extern "C" {
#include "dist.h"
}

struct emu_nccl_comm {
	int ranks;
};
extern "C" {
ncclResult_t ncclGetUniqueId(ncclUniqueId *id)
{
	memset(id, 0, sizeof *id);
	memcpy(id->internal, "cords-emu", 9);
	return ncclSuccess;
}
ncclResult_t ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank)
{
	/* the id rank 0 drew, broadcast by the caller; the ranks mpirun started */
	if (memcmp(id.internal, "cords-emu", 9) || nranks != cords_dist_size() || rank != cords_dist_rank())
		return ncclInvalidUsage;
	*comm = new emu_nccl_comm{nranks};
	return ncclSuccess;
}
ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
			   ncclComm_t comm, cudaStream_t stream)
{
	if (!comm || type != ncclFloat || op != ncclSum)
		return ncclInvalidArgument;
	emu::device_ptr(send, "an all-reduce's input"), emu::device_ptr(recv, "an all-reduce's output");
	emu::enqueue(stream, [=]() {
		if (send != recv)
			memmove(recv, send, count * sizeof(float));
		if (comm->ranks > 1 && cords_dist_sum_f32((float *)recv, count))
			die("the all-reduce over MPI failed");
	});
	return ncclSuccess;
}
ncclResult_t ncclCommDestroy(ncclComm_t comm) { return delete comm, ncclSuccess; }
const char *ncclGetErrorString(ncclResult_t r) { return r == ncclSuccess ? "no error" : "invalid usage"; }

static int nccl_lib;
void *emu_dlopen(const char *name, int) { return !strcmp(name, "libnccl.so.2") ? &nccl_lib : nullptr; }
void *emu_dlsym(void *, const char *name)
{
	static const std::map<std::string, void *> syms = {
		{"ncclGetUniqueId", (void *)ncclGetUniqueId}, {"ncclCommInitRank", (void *)ncclCommInitRank},
		{"ncclAllReduce", (void *)ncclAllReduce},     {"ncclCommDestroy", (void *)ncclCommDestroy},
		{"ncclGetErrorString", (void *)ncclGetErrorString},
	};
	auto it = syms.find(name);
	return it == syms.end() ? nullptr : it->second;
}
int emu_dlclose(void *) { return 0; }
char *emu_dlerror(void) { return (char *)"not in the emulation"; }
}
