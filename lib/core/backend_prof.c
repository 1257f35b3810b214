/* CORDS_PROFILE=1: a backend that forwards every call to the real one,
 * waits for it to finish (sync) and adds its time to a table keyed by the
 * operation and the shapes it ran on; the tools print the table at exit. It
 * answers "where does a training step's time go" on any backend, the GPU's
 * included, where the calls are asynchronous and a wall clock alone says
 * nothing. The synchronisation removes the overlap of host and device work,
 * so a profiled run is slower than a plain one; the time outside the
 * backend (the host's own work: reading batches, logging) is the wall time
 * less the backend's.
 *
 * Calls come from one thread (the tools call the backend from their main
 * thread; the backends parallelise inside a call). */
#include "backend.h"
#include "bytebuf.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_KEYS = 512, KEY_LEN = 96 };

#define OPS(X)                                                                                                   \
	X(upload) X(download) X(fill) X(copy) X(conv2d) X(avgpool) X(leaky) X(relu_add) X(spatial_mean) X(linear) \
		X(conv2d_bwd_data) X(conv2d_bwd_weights) X(avgpool_bwd) X(leaky_bwd) X(relu_bwd_add)            \
			X(readout_bwd_add) X(batch_sum) X(axpby) X(sqdiff_sum) X(batchnorm) X(batchnorm_bwd) X(allreduce) \
				X(wnorm) X(wnorm_bwd) X(optim) X(linear_bwd_data) X(linear_bwd_weights) X(xent)
#define OP_ENUM(o) OP_##o,
#define OP_NAME(o) #o,
enum { OPS(OP_ENUM) OP_COUNT };
static const char *const op_names[] = {OPS(OP_NAME)};

typedef struct {
	char key[KEY_LEN];
	int op; /* index into the op names: per-op totals */
	long calls;     /* after the first */
	double seconds; /* of those calls */
	double first;   /* the first call's time: kept apart (below) */
} prof_row;

typedef struct {
	cords_backend *in;
	double t0;
	prof_row rows[MAX_KEYS];
	int n;
	long other_calls[OP_COUNT]; /* calls whose shapes did not fit in the table */
	double other_seconds[OP_COUNT];
} prof;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int shape_str(char *s, size_t n, const cords_buf *b)
{
	if (!b)
		return 0;
	const int64_t *sh = cords_buf_shape(b);
	int k = snprintf(s, n, " [");
	for (int i = 0; i < cords_buf_ndim(b) && k < (int)n; i++)
		k += snprintf(s + k, n - (size_t)k, i ? ",%lld" : "%lld", (long long)sh[i]);
	if (k < (int)n)
		k += snprintf(s + k, n - (size_t)k, "]");
	return k < (int)n ? k : (int)n - 1;
}

static void record(prof *p, int op, const cords_buf *a, const cords_buf *b, double t)
{
	char key[KEY_LEN];
	int k = snprintf(key, sizeof key, "%s", op_names[op]);
	k += shape_str(key + k, sizeof key - (size_t)k, a);
	shape_str(key + k, sizeof key - (size_t)k, b);
	prof_row *r = NULL;
	for (int i = 0; i < p->n && !r; i++)
		if (!strcmp(p->rows[i].key, key))
			r = &p->rows[i];
	if (!r && p->n < MAX_KEYS) {
		/* The first call of a shape chooses and builds its kernels (oneDNN
		 * primitives, cudnnFind's trials), which later calls reuse. */
		r = &p->rows[p->n++];
		snprintf(r->key, sizeof r->key, "%s", key);
		r->op = op;
		r->first = t;
		return;
	}
	if (!r) { /* the table is full: the call counts only in its operation's total */
		p->other_calls[op]++;
		p->other_seconds[op] += t;
		return;
	}
	r->calls++;
	r->seconds += t;
}

#define P(be) ((prof *)(be)->impl)
/* Call the real op, wait for it, record its time under op and the shapes of a, b. */
#define TIMED(op, a, b, ...)                                          \
	do {                                                          \
		prof *p_ = P(be);                                     \
		cords_backend *in = p_->in;                           \
		double t_ = now();                                    \
		int rc_ = in->op(in, __VA_ARGS__);                    \
		if (!rc_ && in->sync)                                 \
			rc_ = in->sync(in);                           \
		record(p_, OP_##op, (a), (b), now() - t_);            \
		return rc_;                                           \
	} while (0)

static cords_buf *w_alloc(cords_backend *be, cords_buf_kind kind, int ndim, const int64_t *shape)
{
	return P(be)->in->alloc(P(be)->in, kind, ndim, shape);
}
static void w_free(cords_backend *be, cords_buf *b)
{
	P(be)->in->free(P(be)->in, b);
}
static int w_upload(cords_backend *be, cords_buf *b, const float *host)
{
	TIMED(upload, b, NULL, b, host);
}
static int w_download(cords_backend *be, const cords_buf *b, float *host)
{
	TIMED(download, b, NULL, b, host);
}
static int w_fill(cords_backend *be, cords_buf *b, float v)
{
	TIMED(fill, b, NULL, b, v);
}
static int w_copy(cords_backend *be, cords_buf *dst, const cords_buf *src)
{
	TIMED(copy, dst, NULL, dst, src);
}
static int w_conv2d(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *w,
		    const cords_buf *bias, cords_buf *y)
{
	TIMED(conv2d, x, w, c, x, w, bias, y);
}
static int w_avgpool(cords_backend *be, const cords_pool *pl, const cords_buf *x, cords_buf *y)
{
	TIMED(avgpool, x, NULL, pl, x, y);
}
static int w_leaky(cords_backend *be, float alpha, cords_phi phi, const cords_buf *r, cords_buf *z,
		   const cords_buf *bias, cords_buf *r_out)
{
	TIMED(leaky, r, NULL, alpha, phi, r, z, bias, r_out);
}
static int w_relu_add(cords_backend *be, const cords_buf *a, const cords_buf *b, int relu_b, cords_buf *y)
{
	TIMED(relu_add, a, NULL, a, b, relu_b, y);
}
static int w_spatial_mean(cords_backend *be, const cords_buf *x, cords_buf *y)
{
	TIMED(spatial_mean, x, NULL, x, y);
}
static int w_linear(cords_backend *be, const cords_buf *x, const cords_buf *w, const cords_buf *bias,
		    cords_buf *y)
{
	TIMED(linear, x, w, x, w, bias, y);
}
static int w_sync(cords_backend *be)
{
	return P(be)->in->sync(P(be)->in);
}
static void w_destroy(cords_backend *be)
{
	cords_backend *in = P(be)->in;
	free(be->impl);
	free(be);
	in->destroy(in);
}
static int w_conv2d_bwd_data(cords_backend *be, const cords_conv *c, const cords_buf *dy, const cords_buf *w,
			     cords_buf *dx)
{
	TIMED(conv2d_bwd_data, dx, w, c, dy, w, dx);
}
static int w_conv2d_bwd_weights(cords_backend *be, const cords_conv *c, const cords_buf *x, const cords_buf *dy,
				cords_buf *dw)
{
	TIMED(conv2d_bwd_weights, x, dw, c, x, dy, dw);
}
static int w_avgpool_bwd(cords_backend *be, const cords_pool *pl, const cords_buf *dy, cords_buf *dx)
{
	TIMED(avgpool_bwd, dx, NULL, pl, dy, dx);
}
static int w_leaky_bwd(cords_backend *be, float alpha, cords_phi phi, const cords_buf *z, const cords_buf *dout,
		       cords_buf *dz, cords_buf *dr, float beta)
{
	TIMED(leaky_bwd, z, NULL, alpha, phi, z, dout, dz, dr, beta);
}
static int w_relu_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	TIMED(relu_bwd_add, x, NULL, x, dy, dx);
}
static int w_readout_bwd_add(cords_backend *be, const cords_buf *x, const cords_buf *dy, cords_buf *dx)
{
	TIMED(readout_bwd_add, x, NULL, x, dy, dx);
}
static int w_batch_sum(cords_backend *be, const cords_buf *dz, cords_buf *db, float beta)
{
	TIMED(batch_sum, dz, NULL, dz, db, beta);
}
static int w_axpby(cords_backend *be, float a, const cords_buf *x, float b, cords_buf *y)
{
	TIMED(axpby, y, NULL, a, x, b, y);
}
static int w_sqdiff_sum(cords_backend *be, const cords_buf *x, const cords_buf *y, double *out)
{
	TIMED(sqdiff_sum, x, NULL, x, y, out);
}
static int w_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *gamma,
		       const cords_buf *beta, cords_buf *rmean, cords_buf *rvar, cords_buf *save_mean,
		       cords_buf *save_invstd, cords_buf *y)
{
	TIMED(batchnorm, x, NULL, m, x, gamma, beta, rmean, rvar, save_mean, save_invstd, y);
}
static int w_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *x, const cords_buf *dy,
			   const cords_buf *gamma, const cords_buf *save_mean, const cords_buf *save_invstd,
			   const cords_buf *rmean, const cords_buf *rvar, cords_buf *dx, cords_buf *dgamma,
			   cords_buf *dbeta, float beta)
{
	TIMED(batchnorm_bwd, x, NULL, m, x, dy, gamma, save_mean, save_invstd, rmean, rvar, dx, dgamma, dbeta,
	      beta);
}
static int w_allreduce(cords_backend *be, cords_buf *b)
{
	TIMED(allreduce, b, NULL, b);
}
static int w_wnorm(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w)
{
	TIMED(wnorm, v, NULL, g, v, w);
}
static int w_wnorm_bwd(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw, cords_buf *dg,
		       cords_buf *dv)
{
	TIMED(wnorm_bwd, v, NULL, g, v, dw, dg, dv);
}
static int w_optim(cords_backend *be, const cords_optim *o, cords_buf *p, cords_buf *g, cords_buf *m, cords_buf *v)
{
	TIMED(optim, p, NULL, o, p, g, m, v);
}
static int w_linear_bwd_data(cords_backend *be, const cords_buf *dy, const cords_buf *w, cords_buf *dx)
{
	TIMED(linear_bwd_data, dy, w, dy, w, dx);
}
static int w_linear_bwd_weights(cords_backend *be, const cords_buf *dy, const cords_buf *x, cords_buf *dw,
				cords_buf *db)
{
	TIMED(linear_bwd_weights, dy, x, dy, x, dw, db);
}
static int w_xent(cords_backend *be, const cords_buf *logits, const cords_buf *hard, const cords_buf *soft, float scale,
		  cords_buf *dlogits, cords_buf *out)
{
	TIMED(xent, logits, NULL, logits, hard, soft, scale, dlogits, out);
}
static cords_buf *w_view(cords_backend *be, cords_buf *b, int64_t at, int64_t n)
{
	return P(be)->in->view(P(be)->in, b, at, n);
}
static int w_mem_free(cords_backend *be, size_t *bytes)
{
	return P(be)->in->mem_free(P(be)->in, bytes);
}

static int w_lane(cords_backend *be, int k)
{
	return P(be)->in->lane(P(be)->in, k);
}

static int by_seconds(const void *a, const void *b)
{
	double x = ((const prof_row *)a)->seconds, y = ((const prof_row *)b)->seconds;
	return (x < y) - (x > y);
}

/* printf into b (lines of the table: short). */
static void put(cords_bytebuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	cords_bytebuf_put(b, line, k < 0 ? 0 : (size_t)k < sizeof line ? (size_t)k : sizeof line - 1);
}

char *cords_backend_profile(const cords_backend *be, const char *pre)
{
	if (!be || be->alloc != w_alloc)
		return NULL;
	prof *p = P(be);
	cords_bytebuf b = {0};
	double wall = now() - p->t0, in_be = 0, first = 0, per_op[OP_COUNT];
	long calls[OP_COUNT];
	for (int o = 0; o < OP_COUNT; o++) {
		per_op[o] = p->other_seconds[o];
		calls[o] = p->other_calls[o];
		in_be += per_op[o];
	}
	for (int i = 0; i < p->n; i++) {
		first += p->rows[i].first;
		in_be += p->rows[i].seconds;
		per_op[p->rows[i].op] += p->rows[i].seconds;
		calls[p->rows[i].op] += p->rows[i].calls;
	}
	put(&b,
	    "%s backend %s, every call waited for (CORDS_PROFILE): wall %.3f s: in the backend %.3f s (%.1f %%), "
	    "its first call of each shape (set-up) %.3f s, outside it %.3f s\n",
	    pre, p->in->name, wall, in_be, wall > 0 ? 100 * in_be / wall : 0.0, first, wall - in_be - first);
	put(&b, "%s %10s %7s %9s %10s  %s\n", pre, "seconds", "share", "calls", "ms/call", "operation");
	int order[OP_COUNT];
	for (int i = 0; i < OP_COUNT; i++)
		order[i] = i;
	for (int i = 1; i < OP_COUNT; i++) /* insertion sort, slowest first */
		for (int j = i; j > 0 && per_op[order[j]] > per_op[order[j - 1]]; j--) {
			int t = order[j];
			order[j] = order[j - 1], order[j - 1] = t;
		}
	for (int i = 0; i < OP_COUNT && calls[order[i]]; i++) {
		int o = order[i];
		put(&b, "%s %10.3f %6.1f%% %9ld %10.3f  %s\n", pre, per_op[o], wall > 0 ? 100 * per_op[o] / wall : 0.0,
		    calls[o], 1e3 * per_op[o] / (double)calls[o], op_names[o]);
	}
	prof_row *rows = malloc((size_t)(p->n ? p->n : 1) * sizeof *rows);
	if (!rows) {
		free(b.p);
		return cords_err("out of memory"), NULL;
	}
	memcpy(rows, p->rows, (size_t)p->n * sizeof *rows); /* sorted apart: the table goes on */
	qsort(rows, (size_t)p->n, sizeof *rows, by_seconds);
	int top = 0;
	while (top < p->n && top < 25 && rows[top].calls)
		top++;
	if (top)
		put(&b, "%s the %d slowest by shape:\n", pre, top);
	for (int i = 0; i < top; i++) {
		const prof_row *r = &rows[i];
		put(&b, "%s %10.3f %6.1f%% %9ld %10.3f  %s\n", pre, r->seconds, wall > 0 ? 100 * r->seconds / wall : 0.0,
		    r->calls, 1e3 * r->seconds / (double)r->calls, r->key);
	}
	free(rows);
	cords_bytebuf_put(&b, "", 1); /* the NUL */
	if (b.oom) {
		free(b.p);
		return cords_err("out of memory"), NULL;
	}
	return (char *)b.p;
}

cords_backend *cords_backend_profiled(cords_backend *in)
{
	if (!in)
		return NULL;
	cords_backend *be = calloc(1, sizeof *be);
	prof *p = calloc(1, sizeof *p);
	if (!be || !p) {
		free(be), free(p);
		return cords_err("out of memory"), NULL;
	}
	p->in = in;
	p->t0 = now();
	be->name = in->name;
	be->impl = p;
	/* the same members present as in the real backend: NULL stays "not provided" */
#define SET(m) be->m = in->m ? w_##m : NULL;
	OPS(SET) /* the timed ones, then those passed through untimed */
	SET(alloc) SET(free) SET(sync) SET(destroy) SET(view) SET(mem_free) SET(lane)
#undef SET
	/* no replay: a timed call waits for its work, which a recording forbids,
	 * and a replayed record would hide the calls the table counts */
	be->replay = NULL;
	return be;
}
