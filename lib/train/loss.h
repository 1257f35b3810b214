/* Losses of the training stages (cords-training(7)): labels, hard (class index) or
 * soft (distribution), checked and uploaded for the backends' xent (their
 * CPU loops are lib/cpu/readout.h), what the host makes of the backends'
 * answers (mean loss, accuracy), and the time-weighted ramp of the
 * read-outs. Sums are taken in double. */
#ifndef CORDS_LOSS_H
#define CORDS_LOSS_H

#include "backend.h"
#include "batch.h"

#include <stdint.h>

/* -1 with a message if a hard label is outside [0,N) or a soft row is not a
 * distribution (negative entries, or a sum not within 1e-3 of 1). */
int cords_labels_check(cords_labels y, int B, int N);
/* The class of item b's label (see cords_labels). */
int cords_label_class(cords_labels y, int b, int N);
/* Images whose argmax of logits equals the class of the label. */
int cords_correct_cpu(const float *logits, int B, int N, cords_labels y);

/* The labels of a batch into a backend's buffers for its xent: hard labels
 * into hard [B] (as floats: exact, as classes are fewer than 2^24), soft
 * ones into soft [B,N]. *h and *s: the one filled, and NULL. */
int cords_labels_upload(cords_backend *be, cords_labels y, cords_buf *hard, cords_buf *soft, const cords_buf **h,
			const cords_buf **s);
/* What xent's out [2,B] (brought to the host) says of a batch: returns the
 * mean CE; *correct (if not NULL) = the items whose argmax is the class of
 * their label, and hit[b] |= whether item b's is (hit may be NULL). */
double cords_xent_tally(const float *out, int B, int N, cords_labels y, int *correct, int *hit);

/* Weights of R read-outs for loss = sum_t w_t CE_t: w_t = ramp_t / R with
 * ramp = 10^linspace(-3, 0, R) (the mean over t is folded in). */
void cords_time_weights(int R, double *w);

#endif
