/* The backend's replay (lib/core/backend.h) as CUDA graphs. The first time a key
 * comes, fn runs as it is: its convolution plans are made, cudnnFind runs,
 * workspaces grow. The second time, what fn queues is captured on the main
 * stream (its lanes join the capture through their fork and join events)
 * and launched as a graph; from then on the graph is launched instead of
 * calling fn, one launch for a whole time step instead of a launch per
 * kernel. Graphs hold device addresses, so a buffer freed or a workspace
 * grown drops them all.
 *
 * A capture that fails (a call the capture does not allow) turns graphs off
 * for the process, with one line on stderr, and fn runs as it is: graphs
 * only ever change how fast. CORDS_GRAPHS=0 turns them off from the start. */
#include "cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KEY_MAX = 128, BUCKETS = 1024 };

struct cu_graph {
	unsigned char key[KEY_MAX];
	size_t n;
	cudaGraphExec_t exec; /* NULL until the second time */
	cu_graph *next;
};

static unsigned bucket(const void *key, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)key)[i]) * 1099511628211ull;
	return (unsigned)(h % BUCKETS);
}

void cu_graphs_drop(cu_impl *c)
{
	if (!c->graphs)
		return;
	for (int b = 0; b < BUCKETS; b++)
		for (cu_graph *g = c->graphs[b], *next; g; g = next) {
			next = g->next;
			if (g->exec)
				cudaGraphExecDestroy(g->exec);
			free(g);
		}
	free(c->graphs);
	c->graphs = NULL;
}

/* The entry for key: *added when it is new. NULL when out of memory. */
static cu_graph *entry(cu_impl *c, const void *key, size_t n, int *added)
{
	*added = 0;
	if (!c->graphs && !(c->graphs = (cu_graph **)calloc(BUCKETS, sizeof *c->graphs)))
		return NULL;
	cu_graph **head = &c->graphs[bucket(key, n)];
	for (cu_graph *g = *head; g; g = g->next)
		if (g->n == n && !memcmp(g->key, key, n))
			return g;
	cu_graph *g = (cu_graph *)calloc(1, sizeof *g);
	if (!g)
		return NULL;
	memcpy(g->key, key, n);
	g->n = n;
	g->next = *head;
	*head = g;
	*added = 1;
	return g;
}

/* After a failed capture: every stream out of capture mode, back on the
 * main stream with no lanes open, the runtime's error cleared, graphs off. */
static void give_up(cu_impl *c, const char *why)
{
	for (int k = CU_LANES - 1; k >= 0; k--) {
		cudaStreamCaptureStatus st;
		cudaStream_t s = c->lane[k].stream;
		if (s && cudaStreamIsCapturing(s, &st) == cudaSuccess && st != cudaStreamCaptureStatusNone) {
			cudaGraph_t g = NULL;
			cudaStreamEndCapture(s, &g);
			if (g)
				cudaGraphDestroy(g);
		}
	}
	cudaGetLastError();
	cu_lanes_reset(c);
	cu_graphs_drop(c);
	c->graphs_on = 0;
	fprintf(stderr, "cords: CUDA graphs off for this run (%s); the steps run as they are\n", why);
}

int cu_replay(cords_backend *be, const void *key, size_t n, int (*fn)(void *), void *arg)
{
	cu_impl *c = CU_IMPL(be);
	if (!c->graphs_on || n > KEY_MAX || c->capturing)
		return fn(arg);
	if (cu_join(c))
		return -1;
	int added;
	cu_graph *g = entry(c, key, n, &added);
	if (!g || added)
		return fn(arg);
	if (g->exec)
		return cu_check(cudaGraphLaunch(g->exec, c->stream), "launching a graph");
	/* The second time: capture. */
	if (cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
		give_up(c, cudaGetErrorString(cudaGetLastError()));
		return fn(arg);
	}
	c->capturing = 1;
	int rc = fn(arg);
	if (!rc)
		rc = cu_join(c);
	c->capturing = 0;
	cudaGraph_t graph = NULL;
	cudaError_t e = cudaStreamEndCapture(c->lane[0].stream, &graph);
	if (rc || e != cudaSuccess || !graph) {
		if (graph)
			cudaGraphDestroy(graph);
		give_up(c, rc ? cords_errmsg() : cudaGetErrorString(e));
		return fn(arg);
	}
	e = cudaGraphInstantiate(&g->exec, graph, 0);
	cudaGraphDestroy(graph);
	if (e != cudaSuccess) {
		g->exec = NULL;
		give_up(c, cudaGetErrorString(e));
		return fn(arg);
	}
	return cu_check(cudaGraphLaunch(g->exec, c->stream), "launching a graph");
}
