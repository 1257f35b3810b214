/* Checkpoints you cannot lose: a training state (model, optimiser moments,
 * step/epoch counters and random generator state in the `meta` record) saved
 * as one tensor stream, atomically: written to a temporary sibling, flushed,
 * fsync'd and renamed over the old one, so a crash or a signal at any moment
 * leaves either the previous checkpoint or the new one, never a torn file. */
#ifndef CORDS_CHECKPOINT_H
#define CORDS_CHECKPOINT_H

#include "rng.h"
#include "tensor.h"

/* Write items[0..n-1] to path atomically (temp file path.tmp.PID, fsync,
 * rename, fsync of the directory). On failure the old file is untouched and
 * the temporary removed. */
int cords_save_atomic(const char *path, const cords_tensor *const *items, int n);

/* Random generator state as text for metadata: four 16-digit hex words. */
void cords_rng_format(const cords_rng *r, char buf[72]);
int cords_rng_parse(const char *s, cords_rng *r);

#endif
