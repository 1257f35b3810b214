/* The state for cords-eig --at, run with the model code (lib/model/model.h) on the
 * CPU backend; one extra step gives the pre-activations at the state and
 * the distance to a fixed point. */
#include "eig_state.h"
#include "err.h"
#include "spont.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cords_eig_state_free(cords_eig_state *st)
{
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		free(st->r[i]);
		free(st->z[i]);
	}
	memset(st, 0, sizeof *st);
}

static double sq_norm(const float *v, int64_t n)
{
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += (double)v[i] * v[i];
	return s;
}

/* Host copies of s->r (the state) and t->z (pre-activations at it), and
 * ||t->r - s->r|| (one step's change). */
static int download(const cords_model *m, const cords_state *s, const cords_state *t, cords_eig_state *st)
{
	double dd = 0, rr = 0;
	for (int i = 0; i < m->arch.depth; i++) {
		int64_t n = st->n[i] = cords_buf_numel(s->r[i]);
		float *next = malloc((size_t)n * sizeof *next);
		st->r[i] = malloc((size_t)n * sizeof(float));
		st->z[i] = malloc((size_t)n * sizeof(float));
		if (!next || !st->r[i] || !st->z[i]) {
			free(next);
			return cords_err("out of memory");
		}
		int rc = m->be->download(m->be, s->r[i], st->r[i]) || m->be->download(m->be, t->z[i], st->z[i]) ||
			 m->be->download(m->be, t->r[i], next);
		for (int64_t k = 0; !rc && k < n; k++)
			dd += ((double)next[k] - st->r[i][k]) * ((double)next[k] - st->r[i][k]);
		rr += sq_norm(st->r[i], n);
		free(next);
		if (rc)
			return -1;
	}
	st->norm = sqrt(rr);
	st->step_change = rr > 0 ? sqrt(dd / rr) : sqrt(dd);
	return 0;
}

int cords_eig_state_compute(const cords_model *m, const float *image, cords_eig_state *st)
{
	memset(st, 0, sizeof *st);
	st->depth = m->arch.depth;
	cords_state *s = cords_state_new(m, 1), *t = cords_state_new(m, 1);
	cords_work *w = cords_work_new(m, 1);
	cords_buf *x = NULL;
	cords_drive drive = {0}, *p = NULL;
	int rc = -1;
	if (!s || !t || !w)
		goto out;
	if (cords_spont(m, &m->dyn, NULL, s, NULL, NULL, NULL))
		goto out;
	if (image) {
		if (!(x = cords_model_alloc_input(m, 1)) || cords_drive_alloc(m, 1, &drive) || !(p = &drive) ||
		    m->be->upload(m->be, x, image) ||
		    cords_model_drive(m, w, x, p) ||
		    cords_model_run(m, &m->dyn, w, p, &s, &t, m->dyn.stim_steps, m->dyn.spont_steps, NULL, NULL))
			goto out;
	}
	if (cords_model_step(m, &m->dyn, w, p, s, t) || download(m, s, t, st))
		goto out;
	rc = 0;
out:
	m->be->free(m->be, x);
	cords_drive_free(m, &drive);
	if (s)
		cords_state_free(m, s);
	if (t)
		cords_state_free(m, t);
	if (w)
		cords_work_free(m, w);
	if (rc)
		cords_eig_state_free(st);
	return rc;
}
