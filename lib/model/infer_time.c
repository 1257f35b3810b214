/* Per read-out step sums over a run (infer_time.h). */
#include "infer_time.h"
#include "err.h"

#include <stdlib.h>

typedef struct {
	long long images, labelled, correct;
	double sum[CORDS_MAX_DEPTH]; /* mean activity of area i, times images */
} row;

struct cords_infer_time {
	int spont, every, depth, classes, nrows;
	const int64_t *labels;
	row rows[];
};

cords_infer_time *cords_infer_time_new(int spont, int stim, int every, int depth, int classes)
{
	if (every < 1 || depth < 1 || depth > CORDS_MAX_DEPTH) {
		cords_err("read-out time: bad step interval or depth");
		return NULL;
	}
	int n = (spont + stim) / every;
	cords_infer_time *t = calloc(1, sizeof *t + (size_t)n * sizeof(row));
	if (!t) {
		cords_err("out of memory");
		return NULL;
	}
	*t = (cords_infer_time){spont, every, depth, classes, n, NULL};
	return t;
}

void cords_infer_time_free(cords_infer_time *t)
{
	free(t);
}

void cords_infer_time_labels(cords_infer_time *t, const int64_t *labels)
{
	t->labels = labels;
}

int cords_infer_time_observe(void *ctx, const cords_infer_obs *o)
{
	cords_infer_time *t = ctx;
	int k = o->step / t->every - 1;
	if (o->step % t->every || k < 0 || k >= t->nrows)
		return cords_err("read-out time: step %d is not a read-out step", o->step);
	row *r = &t->rows[k];
	r->images += o->batch;
	for (int i = 0; i < t->depth; i++)
		r->sum[i] += o->mean[i] * o->batch;
	if (!t->labels)
		return 0;
	/* One row of logits in the spontaneous phase: the same for every image. */
	for (int b = 0; b < o->batch; b++)
		r->correct += cords_argmax(o->logits + (int64_t)(o->rows > 1 ? b : 0) * t->classes, t->classes) == t->labels[b];
	r->labelled += o->batch;
	return 0;
}

static void write_row(const cords_infer_time *t, int k, FILE *f)
{
	const row *r = &t->rows[k];
	int step = (k + 1) * t->every;
	fprintf(f, "%d\t%s\t%d\t", step, step <= t->spont ? "spont" : "stim", step - t->spont);
	if (r->labelled)
		fprintf(f, "%.6f", (double)r->correct / (double)r->labelled);
	for (int i = 0; i < t->depth; i++)
		fprintf(f, "\t%.9g", r->sum[i] / (double)r->images);
	fputc('\n', f);
}

int cords_infer_time_write(const cords_infer_time *t, FILE *f)
{
	fputs("step\tphase\tstim_step\taccuracy", f);
	for (int i = 0; i < t->depth; i++)
		fprintf(f, "\tr%d", i);
	fputc('\n', f);
	for (int k = 0; k < t->nrows && t->rows[k].images; k++)
		write_row(t, k, f);
	return ferror(f) ? cords_err("cannot write the read-out time table") : 0;
}
