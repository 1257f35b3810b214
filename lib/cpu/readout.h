/* The read-out layer and cross-entropy on the host, plain CPU float loops:
 * what the CPU backend's linear, its backward and xent compute. Sums are
 * taken in double. */
#ifndef CORDS_READOUT_H
#define CORDS_READOUT_H

#include <stdint.h>

/* The backends' xent on the host (lib/core/backend.h): for each row b of logits
 * [B,N], against hard [B] (class indices as floats) or soft [B,N] labels,
 * out[b] = CE of row b and out[B + b] = its argmax; dlogits [B,N] (or NULL)
 * = scale/B d(sum_b CE_b)/d(logits). Labels out of range are the caller's to
 * check (lib/train/loss.h: cords_labels_check). */
void cords_xent_cpu(const float *logits, int B, int N, const float *hard, const float *soft, float scale,
		    float *dlogits, float *out);

/* The read-out layer y = x W^T + b (b may be NULL) on the host, the CPU
 * backend's linear and its backward: the forward, dx = dy W and dW = dy^T x,
 * db (or NULL) = column sums of dy. Sums in double, each in a fixed order; big ones
 * (ImageNet's 1000 classes) run in threads, one per output element, so the
 * bits do not depend on the thread count. */
void cords_fc_forward_cpu(const float *x, const float *W, const float *b, int B, int C, int N, float *y);
void cords_fc_dx_cpu(const float *dy, const float *W, int B, int C, int N, float *dx);
void cords_fc_dw_cpu(const float *dy, const float *x, int B, int C, int N, float *dW, float *db);

/* log sum exp of a row of N logits, stable (in double). */
double cords_row_lse(const float *z, int N);

#endif
