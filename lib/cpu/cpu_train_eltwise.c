/* The CPU backend's training loops: batch sums, axpby, squared
 * differences, BatchNorm, weight norm and the optimiser. Element-wise loops run on the physical arrays (buffers of one
 * shape share a layout; batch items are contiguous, so [1,...] broadcasts by
 * index). Reductions go in fixed chunks, the same for any thread count.
 * BatchNorm works on plain copies through the kernels of lib/bnorm.c. */
#include "backend_cpu.h"
#include "bnorm.h"
#include "err.h"
#include "optim.h"
#include "wnorm.h"

#include <stdlib.h>
#include <string.h>

int cpu_batch_sum(cords_backend *be, const cords_buf *dzb, cords_buf *dbb, float beta)
{
	const cpu_buf *dz = CPU_CBUF(dzb);
	cpu_buf *db = CPU_BUF(dbb);
	const int64_t B = dz->h.shape[0], per = (int64_t)db->n, blk = 512;
	/* Blocks of the sum, each added up image by image: contiguous vector
	 * loads, and the same order of additions as one sum per element. */
#pragma omp parallel for schedule(static)
	for (int64_t i0 = 0; i0 < per; i0 += blk) {
		const int64_t i1 = i0 + blk < per ? i0 + blk : per;
		float *d = db->data;
		for (int64_t i = i0; i < i1; i++)
			d[i] = beta != 0 ? beta * d[i] : 0.0f;
		for (int64_t b = 0; b < B; b++) {
			const float *z = dz->data + b * per;
#pragma omp simd
			for (int64_t i = i0; i < i1; i++)
				d[i] += z[i];
		}
	}
	return 0;
}

int cpu_axpby(cords_backend *be, float a, const cords_buf *xb, float b, cords_buf *yb)
{
	const cpu_buf *x = CPU_CBUF(xb);
	cpu_buf *y = CPU_BUF(yb);
	const int same = x->n == y->n; /* else x is y's [1,...] slice */
	const int64_t n = (int64_t)y->n, per = (int64_t)x->n;
	const float *xp = x->data;
	float *yp = y->data;
#pragma omp parallel for simd schedule(static)
	for (int64_t i = 0; i < n; i++)
		yp[i] = a * xp[same ? i : i % per] + (b != 0 ? b * yp[i] : 0.0f);
	return 0;
}

int cpu_sqdiff_sum(cords_backend *be, const cords_buf *xb, const cords_buf *yb, double *out)
{
	const cpu_buf *x = CPU_CBUF(xb), *y = CPU_CBUF(yb);
	const int same = y && y->n == x->n; /* else y is x's [1,...] slice */
	enum { CHUNK = 4096 };
	const int64_t n = (int64_t)x->n, per = y ? (int64_t)y->n : 1, nc = (n + CHUNK - 1) / CHUNK;
	double *part = malloc((size_t)nc * sizeof *part);
	if (!part)
		return cords_err("out of memory");
#pragma omp parallel for schedule(static)
	for (int64_t c = 0; c < nc; c++) {
		double s = 0;
		int64_t end = (c + 1) * CHUNK < n ? (c + 1) * CHUNK : n;
		for (int64_t i = c * CHUNK; i < end; i++) {
			double d = x->data[i] - (y ? y->data[same ? i : i % per] : 0.0f);
			s += d * d;
		}
		part[c] = s;
	}
	double total = 0;
	for (int64_t c = 0; c < nc; c++)
		total += part[c];
	free(part);
	*out = total;
	return 0;
}

/* The kernels' geometry; x, y, dy and dx share a shape and kind, so a layout. */
static cords_bn bn_geometry(const cpu_buf *x, const cords_bn_mode *m)
{
	return (cords_bn){.B = (int)x->h.shape[0],
			  .C = (int)x->h.shape[1],
			  .M = x->h.shape[2] * x->h.shape[3],
			  .momentum = m->momentum,
			  .eps = m->eps,
			  .k = x->blocked};
}

#define DATA(b) ((b) ? CPU_BUF((cords_buf *)(b))->data : NULL)

int cpu_batchnorm(cords_backend *be, const cords_bn_mode *m, const cords_buf *xb, const cords_buf *gb,
		  const cords_buf *bb, cords_buf *rm, cords_buf *rv, cords_buf *sm, cords_buf *si, cords_buf *yb)
{
	const cpu_buf *x = CPU_CBUF(xb);
	cpu_buf *y = CPU_BUF(yb);
	const cords_bn p = bn_geometry(x, m);
	if (m->train)
		cords_bn_train_forward_cpu(&p, x->data, DATA(gb), DATA(bb), DATA(rm), DATA(rv), DATA(sm), DATA(si), y->data);
	else
		cords_bn_eval_forward_cpu(&p, x->data, DATA(gb), DATA(bb), DATA(rm), DATA(rv), y->data);
	return 0;
}

int cpu_batchnorm_bwd(cords_backend *be, const cords_bn_mode *m, const cords_buf *xb, const cords_buf *dyb,
		      const cords_buf *gb, const cords_buf *sm, const cords_buf *si, const cords_buf *rm,
		      const cords_buf *rv, cords_buf *dxb, cords_buf *dgb, cords_buf *dbb, float beta)
{
	const cpu_buf *x = CPU_CBUF(xb);
	const cords_bn p = bn_geometry(x, m);
	float *dg = malloc((size_t)p.C * sizeof(float)), *db = malloc((size_t)p.C * sizeof(float));
	if (!dg || !db) {
		free(dg);
		free(db);
		return cords_err("out of memory");
	}
	const float *px = x->data, *pdy = CPU_CBUF(dyb)->data;
	float *pdx = CPU_BUF(dxb)->data;
	if (m->train)
		cords_bn_train_backward_cpu(&p, px, pdy, DATA(gb), DATA(sm), DATA(si), pdx, dg, db);
	else
		cords_bn_eval_backward_cpu(&p, px, pdy, DATA(gb), DATA(rm), DATA(rv), pdx, dg, db);
	for (int c = 0; c < p.C; c++) {
		DATA(dgb)[c] = dg[c] + beta * DATA(dgb)[c];
		DATA(dbb)[c] = db[c] + beta * DATA(dbb)[c];
	}
	free(dg);
	free(db);
	return 0;
}

/* ---- parameters: weight norm and the optimiser, lib/cpu/wnorm.c's and
 * lib/cpu/optim.c's loops on the buffers' memory */

int cpu_wnorm(cords_backend *be, const cords_buf *g, const cords_buf *v, cords_buf *w)
{
	(void)be;
	const int O = (int)CPU_CBUF(g)->n; /* rows of K: plain, as the seam checked */
	const int64_t K = (int64_t)(CPU_CBUF(v)->n / CPU_CBUF(g)->n);
	cords_wnorm_forward_cpu(CPU_CBUF(g)->data, CPU_CBUF(v)->data, O, K, CPU_BUF(w)->data);
	CPU_BUF(w)->version++; /* convolutions repack the weights */
	return 0;
}

int cpu_wnorm_bwd(cords_backend *be, const cords_buf *g, const cords_buf *v, const cords_buf *dw, cords_buf *dg,
		  cords_buf *dv)
{
	(void)be;
	const int O = (int)CPU_CBUF(g)->n;
	const int64_t K = (int64_t)(CPU_CBUF(v)->n / CPU_CBUF(g)->n);
	cords_wnorm_backward_cpu(CPU_CBUF(g)->data, CPU_CBUF(v)->data, CPU_CBUF(dw)->data, O, K, CPU_BUF(dg)->data,
				 CPU_BUF(dv)->data);
	return 0;
}

int cpu_optim(cords_backend *be, const cords_optim *o, cords_buf *pb, cords_buf *gb, cords_buf *mb, cords_buf *vb)
{
	(void)be;
	cpu_buf *p = CPU_BUF(pb), *g = CPU_BUF(gb), *m = CPU_BUF(mb), *v = vb ? CPU_BUF(vb) : NULL;
	const int64_t n = (int64_t)p->n;
	cords_scale_cpu(g->data, n, o->scale);
	if (o->adamw) {
		cords_adamw a = {
			.lr = o->lr, .beta1 = o->beta1, .beta2 = o->beta2, .eps = o->eps, .weight_decay = o->weight_decay};
		cords_adamw_step_cpu(&a, o->step, p->data, g->data, m->data, v->data, n);
	} else {
		cords_sgd s = {.lr = o->lr, .momentum = o->momentum, .weight_decay = o->weight_decay};
		cords_sgd_step_cpu(&s, o->step == 1, p->data, g->data, m->data, n);
	}
	p->version++;
	return 0;
}
