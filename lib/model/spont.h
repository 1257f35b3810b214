/* The spontaneous phase: blank input from the zero state. It does not
 * depend on the image, so it is one batch-1 trajectory per model and
 * protocol, computed once and broadcast over every batch; it may be kept in
 * a cache file (a stream: meta with the model's parameter hash and the
 * protocol, then r{i} and z{i} [1,c,h,w]). */
#ifndef CORDS_SPONT_H
#define CORDS_SPONT_H

#include "model.h"

/* out (batch 1) = the state after d->spont_steps blank steps. With cache
 * non-NULL: read from it when it matches the model and d; otherwise computed
 * and (re)written there (atomically). *from_cache tells which (may be NULL).
 * With fn, the trajectory is wanted: it is computed (never read from the
 * cache) and fn(ctx, t, state) called after every step. */
int cords_spont(const cords_model *m, const cords_dynamics *d, const char *cache, cords_state *out,
		int *from_cache, cords_step_fn fn, void *ctx);

#endif
