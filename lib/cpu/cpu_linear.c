/* The CPU backend's read-out: the fully connected layer, its backward and the
 * cross-entropy, on lib/cpu/readout.c's loops (the twin of kernels/cuda_linear.cu). */
#include "backend_cpu.h"
#include "err.h"
#include "readout.h"

int cpu_linear(cords_backend *be, const cords_buf *xb, const cords_buf *wb, const cords_buf *bb, cords_buf *yb)
{
	(void)be;
	const cpu_buf *x = CPU_CBUF(xb), *w = CPU_CBUF(wb), *b = CPU_CBUF(bb);
	cpu_buf *y = CPU_BUF(yb);
	cords_fc_forward_cpu(x->data, w->data, b ? b->data : NULL, (int)x->h.shape[0], (int)x->h.shape[1],
			     (int)w->h.shape[0], y->data);
	return 0;
}

int cpu_linear_bwd_data(cords_backend *be, const cords_buf *dyb, const cords_buf *wb, cords_buf *dxb)
{
	(void)be;
	const cpu_buf *dy = CPU_CBUF(dyb), *w = CPU_CBUF(wb);
	cpu_buf *dx = CPU_BUF(dxb);
	cords_fc_dx_cpu(dy->data, w->data, (int)dx->h.shape[0], (int)dx->h.shape[1], (int)w->h.shape[0], dx->data);
	return 0;
}

int cpu_linear_bwd_weights(cords_backend *be, const cords_buf *dyb, const cords_buf *xb, cords_buf *dwb,
			   cords_buf *dbb)
{
	(void)be;
	const cpu_buf *dy = CPU_CBUF(dyb), *x = CPU_CBUF(xb);
	cpu_buf *dw = CPU_BUF(dwb), *db = CPU_BUF(dbb);
	cords_fc_dw_cpu(dy->data, x->data, (int)x->h.shape[0], (int)x->h.shape[1], (int)dw->h.shape[0], dw->data,
			db ? db->data : NULL);
	return 0;
}

int cpu_xent(cords_backend *be, const cords_buf *lb, const cords_buf *hb, const cords_buf *sb, float scale,
	     cords_buf *db, cords_buf *ob)
{
	(void)be;
	const cpu_buf *l = CPU_CBUF(lb), *h = CPU_CBUF(hb), *s = CPU_CBUF(sb);
	cpu_buf *d = CPU_BUF(db), *o = CPU_BUF(ob);
	cords_xent_cpu(l->data, (int)l->h.shape[0], (int)l->h.shape[1], h ? h->data : NULL, s ? s->data : NULL, scale,
		       d ? d->data : NULL, o->data);
	return 0;
}
