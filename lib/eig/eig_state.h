/* The state a linearisation is taken at (cords-eig --at): the spontaneous
 * state (spont_steps blank steps from zero), the state after the
 * spontaneous phase and stim_steps steps with one image, or a fixed point
 * of the one-step map found from either. Host copies of the states r_i and
 * of the pre-activations z_i at that state (what one more step computes:
 * z_i = area_conv_i(r_i) + conv_bias_i + area_area_i(u_i)), plus how far
 * the state is from a fixed point of the one-step map. */
#ifndef CORDS_EIG_STATE_H
#define CORDS_EIG_STATE_H

#include "model.h"

typedef struct {
	int depth;
	int64_t n[CORDS_MAX_DEPTH];
	float *r[CORDS_MAX_DEPTH], *z[CORDS_MAX_DEPTH];
	double step_change; /* ||F(r) - r|| / ||r|| for the one-step map F (0/0 -> 0) */
	double norm;        /* ||r|| over all areas */
} cords_eig_state;

/* The one-step map r -> F(r) of a model with a fixed drive (blank, or one
 * image's), run by the model code on its backend in the model's precision:
 * the map whose fixed points cords-eig --at fixed finds. A state is one
 * vector of all areas' r_i in area order, `total` doubles. */
typedef struct {
	const cords_model *m;
	cords_state *s, *t;
	cords_work *w;
	cords_drive drive;
	const cords_drive *p; /* NULL: blank input */
	int64_t n[CORDS_MAX_DEPTH], total;
	float *buf; /* [total] */
} cords_stepmap;

/* Runs the protocol (the spontaneous phase; with image, its stim_steps
 * steps) and keeps the map. image: NULL (spontaneous) or one image as
 * model input, [1,C,H,W] floats (as cords_infer_batches reads it).
 * r [total] (may be NULL) gets the state the protocol ends in. */
int cords_stepmap_init(cords_stepmap *f, const cords_model *m, const float *image, double *r);
void cords_stepmap_free(cords_stepmap *f);
/* Fr = F(r), r rounded to the model's precision first (r is left as is);
 * z (may be NULL) gets the pre-activations, area after area. */
int cords_stepmap_apply(cords_stepmap *f, const double *r, double *Fr, float *z);
/* st at the state r (rounded as above). */
int cords_eig_state_at(cords_stepmap *f, const double *r, cords_eig_state *st);

/* The protocol's final state (cords_stepmap_init's arguments). */
int cords_eig_state_compute(const cords_model *m, const float *image, cords_eig_state *st);
void cords_eig_state_free(cords_eig_state *st);

/* A fixed point r* = F(r*) by Newton's method on G(r) = F(r) - r: each
 * step solves (J - I) d = -G(r) by restarted GMRES with J the whole
 * network's Jacobian at r (lib/eig/net_op.h, in double), then backtracks
 * along d until ||G|| falls. Stops when ||G(r)|| <= tol ||r||, when no step
 * along d lowers ||G|| (the model's rounding is reached), or after maxit
 * steps: the result says which. */
typedef struct {
	double tol;  /* on ||F(r) - r|| / ||r|| */
	int maxit;   /* Newton steps */
	int krylov;  /* GMRES basis (vectors before a restart) */
	int maxprod; /* Jacobian products per linear solve */
} cords_fixed_opts;

typedef struct {
	int steps;     /* Newton steps taken */
	int products;  /* Jacobian products, all steps */
	int maps;      /* evaluations of F */
	double resid0; /* ||F(r) - r|| / ||r|| at the start */
	double resid;  /* the same at the end */
	double dist;   /* ||r* - r0|| / ||r0|| (0/0 -> 0) */
	int converged; /* resid <= tol */
	int stalled;   /* no step lowered the residual: rounding reached */
} cords_fixed_result;

void cords_fixed_opts_default(cords_fixed_opts *o); /* tol 1e-6, 50 steps, basis 40, 1000 products */
/* r [f->total]: the start in, r* out (rounded to the model's precision). */
int cords_fixed_point(cords_stepmap *f, const cords_tensor_list *params, double *r, const cords_fixed_opts *o,
		      cords_fixed_result *res);

#endif
