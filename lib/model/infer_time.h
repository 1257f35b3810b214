/* Accuracy and mean activity against read-out time, over a whole inference
 * run (cords-infer --time-tsv): an observer for cords_infer that sums every
 * read-out step over the batches, weighted by images, and writes one TSV
 * row per step. */
#ifndef CORDS_INFER_TIME_H
#define CORDS_INFER_TIME_H

#include "infer.h"

#include <stdio.h>

typedef struct cords_infer_time cords_infer_time;

/* Rows for the steps t = every, 2 every, .. <= spont + stim. */
cords_infer_time *cords_infer_time_new(int spont, int stim, int every, int depth, int classes);
void cords_infer_time_free(cords_infer_time *t);
/* The labels [batch] of the batch about to run, or NULL if it has none;
 * kept (not copied) until the next call. */
void cords_infer_time_labels(cords_infer_time *t, const int64_t *labels);
/* The observer: ctx is the cords_infer_time. */
int cords_infer_time_observe(void *ctx, const cords_infer_obs *o);
/* Header step, phase, stim_step, accuracy, r0 .. r{depth-1}, then a row per
 * step (none if no image was seen); accuracy empty without labels. */
int cords_infer_time_write(const cords_infer_time *t, FILE *f);

#endif
