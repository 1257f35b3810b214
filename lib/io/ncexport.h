/* An activity stream (cords-infer's output) as a netCDF-4 dataset that
 * xarray.open_dataset opens as is (man 1 cords-cat, --netcdf):
 *
 *   dimensions   presentation (unlimited: the batches, concatenated),
 *                time_bin, class, and per recorded area i c{i}, y{i}, x{i}
 *   coordinates  time_ms (time_bin): the end of step t = (k+1)*every is at
 *                (t - spont_steps) * alpha * tau_ms (tau_ms 10 unless the
 *                metadata says otherwise), so the blank (spontaneous) phase
 *                is at time <= 0 and the image is shown from time 0;
 *                stimulus (presentation): the samples' source names (the
 *                names records; a presentation's index where a batch has none)
 *   variables    logits (presentation, class), label (presentation) from an
 *                integer y [B], and every record of a time series table
 *                (r{i}, logits_t: [T,B,...]) as (time_bin, presentation, ...);
 *                any other record [B,...] of a batch (after its logits) as
 *                NAME (presentation, NAME_1, ...): a new per-presentation
 *                record needs no code here
 *   attributes   the first meta record's keys, Conventions = CF-1.8
 *
 * Data are written record by record, a time step of a batch at a time, so
 * memory does not grow with the stream; variables are deflate-compressed. */
#ifndef CORDS_NCEXPORT_H
#define CORDS_NCEXPORT_H

#include "stream.h"
#include "tensor.h"

typedef struct cords_ncx cords_ncx;

/* Creates (overwrites) path. name is used in messages. */
cords_ncx *cords_ncx_create(const char *path, const char *name);
/* The record whose header h was just read from r: its data are read (and
 * written to the dataset) or left for the reader to skip. */
int cords_ncx_record(cords_ncx *x, cords_reader *r, const cords_tensor *h);
/* Completes the file; -1 if it holds no logits (not an activity stream).
 * Frees x either way. */
int cords_ncx_close(cords_ncx *x);
/* After an error: frees x (the file is left to the caller to remove). */
void cords_ncx_free(cords_ncx *x);

#endif
