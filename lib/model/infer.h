/* Inference with the full protocol (spontaneous phase, then the image),
 * doing only the work the answer needs: the spontaneous phase once per run
 * at batch 1 (or from a cache), broadcast over each batch; the stem drive
 * once per batch. Time series (read-outs every K steps, recorded states)
 * cover all spont + stim steps; they are spooled to temporary files while a
 * batch runs, so memory does not grow with the number of steps. An
 * observer may also see the read-outs and each area's mean activity. */
#ifndef CORDS_INFER_H
#define CORDS_INFER_H

#include "model.h"
#include "noise.h"
#include "stream.h"

/* What an observer sees at a read-out step. */
typedef struct {
	int step;            /* t, 1..spont+stim */
	int spont;           /* 1 in the spontaneous phase */
	int batch;           /* images in the batch */
	int rows;            /* rows of logits: batch, or 1 in the spontaneous
	                      * phase (the state is the same for every image) */
	const float *logits; /* host [rows,N], the read-out at this step */
	const double *mean;  /* [depth]: mean of r_i over the rows and its units */
} cords_infer_obs;
typedef int (*cords_infer_observer)(void *ctx, const cords_infer_obs *o);

/* A stretch of the protocol after the spontaneous phase: steps with the
 * image shown (stim) or without it (blank: p = 0, as in the spontaneous
 * phase). */
#define CORDS_MAX_SEGMENTS 64
typedef struct {
	int stim, steps;
} cords_segment;

typedef struct {
	cords_dynamics dyn;
	/* The protocol after dyn.spont_steps: nseg segments, or (nseg 0) one
	 * stim segment of dyn.stim_steps. */
	int nseg;
	cords_segment seg[CORDS_MAX_SEGMENTS];
	/* Noise (noise.h), none in the spontaneous phase, which every image
	 * shares. image: x + sigma N once; frame: x + sigma N at every stim step
	 * (the drive recomputed each step); state: r_i' + sigma sqrt(alpha) N
	 * at every step, lesioned channels (m->silent) excepted. Frame and
	 * state take their path at sigma 0 too, adding exact zeros. */
	cords_noise noise;
	double rt;           /* > 0: reaction times at this threshold (cords_infer_rt) */
	int every;           /* > 0: read-out steps t % every == 0 (t = 1..spont+stim) */
	int readouts;        /* write logits_t at those steps (needs every > 0) */
	unsigned record;     /* bit i: record area i's state (needs every > 0) */
	/* Called at every read-out step of every batch, in step order: the
	 * spontaneous steps (run once, kept in memory) are replayed per batch.
	 * Needs every > 0; a nonzero return stops the batch (an error). */
	cords_infer_observer observe;
	void *observe_ctx;
	const char *spont_cache;
} cords_infer_opts;

typedef struct cords_infer cords_infer;
typedef struct cords_batches cords_batches;

/* The batches to run m on (lib/data/batch.h): each x must fit m's input
 * (checked at its header), labels are optional, and u8 pixels are
 * normalised with m's norm_mean/norm_std while the stream gives none
 * (cords-infer, cords-eig --at). NULL with a message. */
cords_batches *cords_infer_batches(const cords_model *m, const char *path);

/* Runs the spontaneous phase (or reads it from the cache). */
cords_infer *cords_infer_new(const cords_model *m, const cords_infer_opts *o);
void cords_infer_free(cords_infer *inf);
/* The steps after the spontaneous phase. */
int cords_infer_steps(const cords_infer_opts *o);
/* One batch: x host f32 [B,Cin,H,W] (normalised), its images numbered
 * first .. first + B - 1 in the run (the noise's key); logits host [B,N]
 * after the last step. The observer, if any, is called from here. */
int cords_infer_batch(cords_infer *inf, const float *x, int batch, int64_t first, float *logits);
/* The last batch's reaction times (o->rt > 0): for each image the first
 * step after the spontaneous phase (1, 2, ..) at which the read-out's
 * largest softmax probability reaches o->rt, or -1 if none does, and the
 * class it chose then (-1 if none): [B] each, valid until the next batch. */
void cords_infer_rt(const cords_infer *inf, const int64_t **rt, const int64_t **cls);
/* The last batch's time series: logits_t [T,B,N] (if readouts), then
 * r{i} [T,B,c,h,w] for each recorded area, T = (spont + stim) / every. */
int cords_infer_write_series(cords_infer *inf, cords_writer *w);
/* Whether the spontaneous state came from the cache. */
int cords_infer_spont_cached(const cords_infer *inf);

#endif
