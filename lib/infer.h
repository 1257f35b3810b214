/* Inference with the full protocol (spontaneous phase, then the image),
 * doing only the work the answer needs: the spontaneous phase once per run
 * at batch 1 (or from a cache), broadcast over each batch; the stem drive
 * once per batch. Time series (read-outs every K steps, recorded states)
 * cover all spont + stim steps; they are spooled to temporary files while a
 * batch runs, so memory does not grow with the number of steps. */
#ifndef CORDS_INFER_H
#define CORDS_INFER_H

#include "model.h"
#include "stream.h"

typedef struct {
	cords_dynamics dyn;
	int every;           /* > 0: time series at steps t % every == 0 (t = 1..spont+stim) */
	unsigned record;     /* bit i: record area i's state (needs every > 0) */
	const char *spont_cache;
} cords_infer_opts;

typedef struct cords_infer cords_infer;

/* Runs the spontaneous phase (or reads it from the cache). */
cords_infer *cords_infer_new(const cords_model *m, const cords_infer_opts *o);
void cords_infer_free(cords_infer *inf);
/* One batch: x host f32 [B,Cin,H,W] (normalised); logits host [B,N]. */
int cords_infer_batch(cords_infer *inf, const float *x, int batch, float *logits);
/* The last batch's time series: logits_t [T,B,N] (if every > 0), then
 * r{i} [T,B,c,h,w] for each recorded area, T = (spont + stim) / every. */
int cords_infer_write_series(cords_infer *inf, cords_writer *w);
/* Whether the spontaneous state came from the cache. */
int cords_infer_spont_cached(const cords_infer *inf);

#endif
