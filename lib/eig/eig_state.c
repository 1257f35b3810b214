/* The state for cords-eig --at and the one-step map there, run with the
 * model code (lib/model/model.h) on the CPU backend; one extra step gives
 * the pre-activations at the state and the distance to a fixed point. */
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

void cords_stepmap_free(cords_stepmap *f)
{
	const cords_model *m = f->m;
	if (m) {
		cords_drive_free(m, &f->drive);
		if (f->s)
			cords_state_free(m, f->s);
		if (f->t)
			cords_state_free(m, f->t);
		if (f->w)
			cords_work_free(m, f->w);
	}
	free(f->buf);
	memset(f, 0, sizeof *f);
}

int cords_stepmap_init(cords_stepmap *f, const cords_model *m, const float *image, double *r)
{
	memset(f, 0, sizeof *f);
	f->m = m;
	for (int i = 0; i < m->arch.depth; i++)
		f->total += f->n[i] = (int64_t)m->arch.c[i] * m->arch.h[i] * m->arch.w[i];
	f->s = cords_state_new(m, 1);
	f->t = cords_state_new(m, 1);
	f->w = cords_work_new(m, 1);
	f->buf = malloc((size_t)f->total * sizeof *f->buf);
	cords_buf *x = NULL;
	int rc = -1;
	if (!f->s || !f->t || !f->w || !f->buf) {
		cords_err("out of memory");
		goto out;
	}
	if (cords_spont(m, &m->dyn, NULL, f->s, NULL, NULL, NULL))
		goto out;
	if (image) {
		if (!(x = cords_model_alloc_input(m, 1)) || cords_drive_alloc(m, 1, &f->drive) ||
		    m->be->upload(m->be, x, image) ||
		    cords_model_drive(m, f->w, x, &f->drive) ||
		    cords_model_run(m, &m->dyn, f->w, &f->drive, &f->s, &f->t, m->dyn.stim_steps, m->dyn.spont_steps,
				    NULL, NULL))
			goto out;
		f->p = &f->drive;
	}
	float *b = f->buf;
	for (int i = 0; i < m->arch.depth; b += f->n[i++])
		if (m->be->download(m->be, f->s->r[i], b))
			goto out;
	for (int64_t k = 0; r && k < f->total; k++)
		r[k] = f->buf[k];
	rc = 0;
out:
	m->be->free(m->be, x);
	if (rc)
		cords_stepmap_free(f);
	return rc;
}

int cords_stepmap_apply(cords_stepmap *f, const double *r, double *Fr, float *z)
{
	const cords_model *m = f->m;
	for (int64_t k = 0; k < f->total; k++)
		f->buf[k] = (float)r[k];
	float *b = f->buf;
	for (int i = 0; i < m->arch.depth; b += f->n[i++])
		if (m->be->upload(m->be, f->s->r[i], b))
			return -1;
	if (cords_model_step(m, &m->dyn, f->w, f->p, f->s, f->t))
		return -1;
	b = f->buf;
	for (int i = 0; i < m->arch.depth; b += f->n[i++])
		if (m->be->download(m->be, f->t->r[i], b) || (z && m->be->download(m->be, f->t->z[i], z + (b - f->buf))))
			return -1;
	for (int64_t k = 0; k < f->total; k++)
		Fr[k] = f->buf[k];
	return 0;
}

int cords_eig_state_at(cords_stepmap *f, const double *r, cords_eig_state *st)
{
	memset(st, 0, sizeof *st);
	st->depth = f->m->arch.depth;
	double *Fr = malloc((size_t)f->total * sizeof *Fr), dd = 0, rr = 0;
	float *z = malloc((size_t)f->total * sizeof *z);
	int rc = !Fr || !z ? cords_err("out of memory") : cords_stepmap_apply(f, r, Fr, z);
	int64_t off = 0;
	for (int i = 0; !rc && i < st->depth; off += f->n[i++]) {
		int64_t n = st->n[i] = f->n[i];
		st->r[i] = malloc((size_t)n * sizeof(float));
		st->z[i] = malloc((size_t)n * sizeof(float));
		if (!st->r[i] || !st->z[i]) {
			rc = cords_err("out of memory");
			break;
		}
		memcpy(st->z[i], z + off, (size_t)n * sizeof(float));
		for (int64_t k = 0; k < n; k++) {
			float v = (float)r[off + k];
			st->r[i][k] = v;
			dd += (Fr[off + k] - v) * (Fr[off + k] - v);
			rr += (double)v * v;
		}
	}
	free(Fr);
	free(z);
	if (rc) {
		cords_eig_state_free(st);
		return -1;
	}
	st->norm = sqrt(rr);
	st->step_change = rr > 0 ? sqrt(dd / rr) : sqrt(dd);
	return 0;
}

int cords_eig_state_compute(const cords_model *m, const float *image, cords_eig_state *st)
{
	cords_stepmap f;
	memset(st, 0, sizeof *st);
	if (cords_stepmap_init(&f, m, image, NULL))
		return -1;
	double *r = malloc((size_t)f.total * sizeof *r);
	int rc = !r ? cords_err("out of memory") : 0;
	for (int64_t k = 0; !rc && k < f.total; k++)
		r[k] = f.buf[k];
	rc = rc || cords_eig_state_at(&f, r, st) ? -1 : 0;
	free(r);
	cords_stepmap_free(&f);
	return rc;
}
