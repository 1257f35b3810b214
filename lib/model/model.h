/* The CordsNet-R{D} model (cords-model(7)) on a backend: parameters (weight norm
 * resolved), the stem drive, one synchronous time step, the read-out.
 *
 * One step is a clean function (state in, input drive) -> (state out): it
 * reads `in` only and writes `out` only, so callers that need the activations
 * of every step (backward passes) keep one cords_state per step, and callers
 * that do not ping-pong two. After a step, out->z[i] holds the pre-activation
 * that produced out->r[i]:
 *   z_i = area_conv_i(r_i) + conv_bias_i + area_area_i(u_i)   (r, u of `in`)
 *   r_i' = (1 - alpha) r_i + alpha phi(z_i).
 * Blank input (drive NULL) is exactly p = 0: the convolutions of p are skipped. */
#ifndef CORDS_MODEL_H
#define CORDS_MODEL_H

#include "arch.h"
#include "backend.h"
#include "params.h"
#include "tensor.h"

typedef struct {
	float alpha;     /* dt / tau */
	cords_phi phi;
	int spont_steps; /* blank steps before the image */
	int stim_steps;  /* steps with the image */
} cords_dynamics;

/* Defaults (alpha 0.2, ReLU, 100 + 100), overridden by the metadata keys
 * alpha, phi (relu|identity|prelu), prelu_slope, spont_steps, stim_steps. */
int cords_dynamics_from_meta(const cords_tensor *meta, cords_dynamics *d);
int cords_phi_parse(const char *s, float slope, cords_phi *phi);
const char *cords_phi_name(cords_phi_kind k);

typedef struct {
	cords_arch arch;
	cords_backend *be;
	cords_tensor *meta;   /* the model's metadata record (owned; never NULL) */
	cords_dynamics dyn;   /* the protocol the metadata asks for */
	uint64_t hash;        /* of the parameter values: keys caches of results */
	/* Resolved weights (W = g v / ||v||), kind WEIGHT [O,I,k,k]. */
	cords_buf *inp_conv, *inp_skip;
	cords_buf *area_conv[CORDS_MAX_DEPTH], *area_area[CORDS_MAX_DEPTH];
	cords_buf *skip[3];
	cords_buf *conv_bias[CORDS_MAX_DEPTH]; /* [1,c_i,h_i,w_i], broadcast over the batch */
	cords_buf *fc_w, *fc_b;                 /* [N,c_{D-1}], [N] */
	unsigned char *silent[CORDS_MAX_DEPTH]; /* [c_i]: 1 for a lesioned channel; NULL: none */
} cords_model;

/* A model from a file ("-" = stdin) or from tensors already read: meta may
 * be NULL (the architecture is then inferred from the shapes, input size 4 h_0).
 * Parameters of any float dtype; extra tensors are ignored. */
cords_model *cords_model_load(const char *path, cords_backend *be);
cords_model *cords_model_new(const cords_tensor_list *params, const cords_tensor *meta, cords_backend *be);
void cords_model_free(cords_model *m);
/* Re-resolve and upload every parameter from host tensors. */
int cords_model_set_params(cords_model *m, const cords_tensor_list *params);
/* The same from parameters already on the backend (training: after each
 * step), through its weight norm. */
int cords_model_use_params(cords_model *m, const cords_params *ps);

/* Perturbations (cords(7) EXPERIMENTS), made on the weights so that every
 * backend and every caller gets them. A lesion of channels [c0, c1) of area
 * i zeroes their rows of area_conv_i, area_area_i and conv_bias_i: they get
 * no drive, and from the zero state every run starts from their r stays
 * exactly 0 (phi(0) = 0 for each phi); m->silent[i] marks them. No
 * recurrence zeroes every area_conv_i: feed-forward drive and leak only.
 * Both change m->hash (caches of results follow). */
int cords_model_lesion(cords_model *m, int area, int c0, int c1);
int cords_model_no_recurrence(cords_model *m);

/* The state of all areas for a batch. */
typedef struct {
	int batch, depth;
	cords_buf *r[CORDS_MAX_DEPTH]; /* [B,c_i,h_i,w_i] */
	cords_buf *z[CORDS_MAX_DEPTH]; /* pre-activations (see above) */
} cords_state;

cords_state *cords_state_new(const cords_model *m, int batch); /* zero */
void cords_state_free(const cords_model *m, cords_state *s);
int cords_state_zero(const cords_model *m, cords_state *s);
/* dst = src; a batch-1 src is broadcast to every item of dst. */
int cords_state_copy(const cords_model *m, cords_state *dst, const cords_state *src);

/* Scratch buffers for one batch size (stem map, inputs u_i, relu(r_i), skips). */
typedef struct cords_work cords_work;
cords_work *cords_work_new(const cords_model *m, int batch);
void cords_work_free(const cords_model *m, cords_work *w);
/* State noise from now on (cords(7) EXPERIMENTS): every step adds
 * scale * noise->r[i] to its r_i' after the update (noise a state of w's
 * batch whose contents the caller sets between steps); noise NULL: none. */
void cords_work_noise(cords_work *w, const cords_state *noise, float scale);

/* Buffers of the model's shapes: x [B,Cin,H,W], logits [B,N]. */
cords_buf *cords_model_alloc_input(const cords_model *m, int batch);
cords_buf *cords_model_alloc_logits(const cords_model *m, int batch);

/* The image's drive, constant while it is shown, so computed once per batch:
 * p = avgpool3x3/2(conv_inp(x)) and its skip inp_skip(p), both [B,64,h_0,w_0],
 * and area 0's feed-forward input f0 = area_area_0(p) [B,c_0,h_0,w_0]. */
typedef struct {
	cords_buf *p, *skip, *f0;
} cords_drive;
int cords_drive_alloc(const cords_model *m, int batch, cords_drive *d);
void cords_drive_free(const cords_model *m, cords_drive *d);
int cords_model_drive(const cords_model *m, cords_work *w, const cords_buf *x, cords_drive *d);

/* One synchronous step: out = step(in, drive). in and out must differ. */
int cords_model_step(const cords_model *m, const cords_dynamics *dyn, cords_work *w, const cords_drive *d,
		     const cords_state *in, cords_state *out);
/* logits [B,N] = fc(mean_hw(relu(r_{D-1}) + relu(r_{D-2}))). */
int cords_model_readout(const cords_model *m, cords_work *w, const cords_state *s, cords_buf *logits);

/* Run `steps` steps from *s, ping-ponging with *tmp (so the final state ends
 * in *s); after step t (t0+1 .. t0+steps) calls fn(ctx, t, *s) if fn. */
typedef int (*cords_step_fn)(void *ctx, int t, const cords_state *s);
int cords_model_run(const cords_model *m, const cords_dynamics *dyn, cords_work *w, const cords_drive *d,
		    cords_state **s, cords_state **tmp, int steps, int t0, cords_step_fn fn, void *ctx);

#endif
