/* Losses of the training stages (SPEC §3), plain CPU float kernels that the
 * backends wrap: cross-entropy with hard (class index) or soft (distribution)
 * labels averaged over the batch, its gradient, the time-weighted ramp of the
 * read-outs and accuracy. Sums are taken in double. */
#ifndef CORDS_LOSS_H
#define CORDS_LOSS_H

#include <stdint.h>

/* Labels of a batch: exactly one of hard [B] (class indices) or soft [B,N].
 * Accuracy counts the class of a soft label as its argmax, or as truth [B]
 * when given (soft labels made from hard ones, e.g. by a teacher). */
typedef struct {
	const int64_t *hard;
	const float *soft;
	const int64_t *truth;
} cords_labels;

/* Mean over the batch of CE(logits [B,N], labels). If dlogits [B,N] is not
 * NULL it receives scale * d(loss)/d(logits) (overwritten). Hard labels out of
 * range are the caller's to check (cords_labels_check). */
double cords_xent_cpu(const float *logits, int B, int N, cords_labels y, float scale, float *dlogits);
/* -1 with a message if a hard label is outside [0,N) or a soft row is not a
 * distribution (negative entries, or a sum not within 1e-3 of 1). */
int cords_labels_check(cords_labels y, int B, int N);
/* The index of the largest of v[0..n) (the first of equals). */
int cords_argmax(const float *v, int64_t n);
/* The class of item b's label (see cords_labels). */
int cords_label_class(cords_labels y, int b, int N);
/* Images whose argmax of logits equals the class of the label. */
int cords_correct_cpu(const float *logits, int B, int N, cords_labels y);

/* The read-out layer y = x W^T + b on the host (the trainers bring the
 * features x [B,C] down from the device): its forward, dx = dy W and
 * dW = dy^T x, db = column sums of dy. Sums in double, each in a fixed order;
 * big ones (ImageNet's 1000 classes) run in threads, one per output element,
 * so the bits do not depend on the thread count. */
void cords_fc_forward_cpu(const float *x, const float *W, const float *b, int B, int C, int N, float *y);
void cords_fc_dx_cpu(const float *dy, const float *W, int B, int C, int N, float *dx);
void cords_fc_dw_cpu(const float *dy, const float *x, int B, int C, int N, float *dW, float *db);

/* Weights of R read-outs for loss = sum_t w_t CE_t: w_t = ramp_t / R with
 * ramp = 10^linspace(-3, 0, R) (the mean over t is folded in). */
void cords_time_weights(int R, double *w);

#endif
