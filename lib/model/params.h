/* A model's parameters on a backend. Every float tensor of a host list
 * (cords-model(7) names; `meta` and integer tensors aside) gets a buffer on the
 * backend, in f32, and every trained one a gradient buffer beside it, so
 * weight norm, the gradients and the optimiser stay where the model runs
 * (a GPU: nothing crosses the bus per step but the read-out's few).
 *
 * The host list stays the record that checkpoints and outputs are written
 * from. What the backend changes is marked stale on the host, and brought
 * down when the host asks (cords_params_pull).
 *
 * Shapes on the backend: a 4-D tensor [O,...] as [O,K] (weight norm's rows,
 * plain on every backend), a 3-D one [C,H,W] as [1,C,H,W] (a bias added to
 * activations), others as they are. */
#ifndef CORDS_PARAMS_H
#define CORDS_PARAMS_H

#include "backend.h"
#include "tensor.h"

typedef struct {
	cords_backend *be;
	cords_tensor_list *host; /* borrowed */
	int n;
	cords_tensor **t;     /* the host tensors, in the list's order */
	cords_buf **p, **g;   /* on the backend; g NULL where not trained */
	unsigned char *stale; /* the host copy is older than p */
} cords_params;

/* trained(name) says which get gradients (NULL: none; only f32 tensors
 * can be). Uploads them all. */
cords_params *cords_params_new(cords_backend *be, cords_tensor_list *host, int (*trained)(const char *name));
void cords_params_free(cords_params *ps);
/* Every float tensor but `meta`: trained(name) for training all of them. */
int cords_params_all(const char *name);

/* The buffer of parameter name (NULL with a message when there is none). */
cords_buf *cords_params_buf(const cords_params *ps, const char *name);
/* Its gradient buffer: NULL (no message) when it is not trained. */
cords_buf *cords_params_grad(const cords_params *ps, const char *name);
/* The backend changed the buffer of name (or, for -1 below, of every
 * trained one): the host copy is stale. */
int cords_params_changed(cords_params *ps, const char *name);
void cords_params_changed_trained(cords_params *ps);
/* Weight norm of layer `base` (cords-model(7) names: base.parametrizations.weight.
 * original0 and 1, g and v) into w on the backend; and its backward from dw
 * into their gradients (nothing where the layer is not trained). */
int cords_params_wnorm(const cords_params *ps, const char *base, cords_buf *w);
int cords_params_wnorm_bwd(cords_params *ps, const char *base, const cords_buf *dw);
/* Every stale host copy brought down. */
int cords_params_pull(cords_params *ps);
/* The host list changed (a checkpoint restored): upload it all. */
int cords_params_push(cords_params *ps);

#endif
