/* Checkpoints you cannot lose: a training state (model, optimiser moments,
 * step/epoch counters and random generator state in the `meta` record) saved
 * as one tensor stream, atomically: written to a temporary sibling, flushed,
 * fsync'd and renamed over the old one, so a crash or a signal at any moment
 * leaves either the previous checkpoint or the new one, never a torn file.
 * Also the stop flag that SIGINT/SIGTERM raise so a trainer can save and exit
 * 130/143 between steps (the library never exits itself). */
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

/* Install SIGINT/SIGTERM handlers that only record the signal; a trainer
 * polls cords_stop_signal() between steps (0 = keep going). A second signal
 * while the first is pending restores the default action and re-raises, so
 * a stuck process can still be stopped. */
void cords_stop_install(void);
int cords_stop_signal(void);

#endif
