/* The inference driver and the read-out time table against the literal
 * PyTorch model's trajectory (testdata/model/gen.py, R4, 3 + 5 steps): the
 * logits, the recorded series (every step and every other step, some areas
 * only, two batch sizes), what the observer sees at each read-out step, and
 * the table's accuracy and mean activity per step over two batches. */
#include "t.h"

#include "err.h"
#include "infer.h"
#include "infer_time.h"
#include "model.h"
#include "stream.h"

#include <unistd.h>

#define D 4
#define N 7

static cords_model *m;
static cords_tensor_list fx;
static cords_dynamics dyn;
static int T, B; /* steps in all, images in the fixture */

static const float *fxd(const char *name) { return (const float *)cords_list_find(&fx, name)->data; }
static int64_t per(int i) { return (int64_t)m->arch.c[i] * m->arch.h[i] * m->arch.w[i]; }

/* Largest violation of |a-b| <= 1e-5 + 1e-4 |b| (<= 1 passes; NaN fails). */
static double worst(const float *a, const float *b, int64_t n)
{
	double w = 0;
	for (int64_t i = 0; i < n; i++) {
		double e = fabs((double)a[i] - b[i]) / (1e-5 + 1e-4 * fabs(b[i]));
		if (!(e <= w))
			w = isnan(e) ? INFINITY : e;
	}
	return w;
}

/* What the observer saw, by step. */
typedef struct {
	int n, steps[16], spont[16], rows[16], batch[16];
	double logit_err, mean_err;
	cords_infer_time *table;
	int fail_at;
} seen;

static int observer(void *ctx, const cords_infer_obs *o)
{
	seen *s = ctx;
	if (s->n < 16) {
		s->steps[s->n] = o->step, s->spont[s->n] = o->spont, s->rows[s->n] = o->rows, s->batch[s->n] = o->batch;
		s->n++;
	}
	if (o->step == s->fail_at)
		return cords_err("observer stops");
	/* logits_t[t-1] of the fixture, the first o->rows images; r_i's mean over them. */
	int t = o->step - 1;
	double e = worst(o->logits, fxd("logits_t") + (int64_t)t * B * N, (int64_t)o->rows * N);
	s->logit_err = e > s->logit_err || isnan(e) ? e : s->logit_err;
	for (int i = 0; i < D; i++) {
		char name[8];
		snprintf(name, sizeof name, "r%d", i);
		const float *r = fxd(name) + (int64_t)t * B * per(i);
		double sum = 0;
		for (int64_t j = 0; j < o->rows * per(i); j++)
			sum += r[j];
		double want = sum / (double)(o->rows * per(i));
		e = fabs(o->mean[i] - want) / (1e-7 + 1e-5 * fabs(want));
		s->mean_err = !(e <= s->mean_err) ? e : s->mean_err;
	}
	return s->table ? cords_infer_time_observe(s->table, o) : 0;
}

/* Runs batches of the fixture's first `batch` images; the series go to path. */
static int infer(const cords_infer_opts *o, int batch, const char *path, float *logits)
{
	cords_infer *inf = cords_infer_new(m, o);
	int rc = inf ? cords_infer_batch(inf, fxd("x"), batch, logits) : -1;
	if (!rc && path) {
		FILE *f = fopen(path, "wb");
		cords_writer *w = f ? cords_writer_new(f, path, 0) : NULL;
		rc = !w || cords_infer_write_series(inf, w) || cords_writer_close(w);
		if (f)
			fclose(f);
	}
	rc = rc || (inf && cords_infer_spont_cached(inf));
	cords_infer_free(inf);
	return rc ? -1 : 0;
}

/* Series name in path against the fixture's, every `every` steps, the first `batch` images. */
static double series_err(const char *path, const char *name, int every, int batch, int64_t n)
{
	cords_tensor_list l = {0};
	double e = INFINITY;
	const cords_tensor *s;
	if (!cords_read_file(path, &l) && (s = cords_list_find(&l, name)) && s->shape[0] == T / every &&
	    s->shape[1] == batch) {
		e = 0;
		for (int t = every; t <= T; t += every)
			for (int b = 0; b < batch; b++) {
				double k = worst((const float *)s->data + ((int64_t)(t / every - 1) * batch + b) * n,
						 fxd(name) + ((int64_t)(t - 1) * B + b) * n, n);
				e = !(k <= e) ? k : e;
			}
	}
	cords_list_free(&l);
	return e;
}

static int has(const char *path, const char *name)
{
	cords_tensor_list l = {0};
	int h = !cords_read_file(path, &l) && cords_list_find(&l, name);
	cords_list_free(&l);
	return h;
}

int main(void)
{
	const char *td = getenv("TESTDATA") ? getenv("TESTDATA") : "testdata";
	char path[1024], out[64];
	snprintf(out, sizeof out, "/tmp/cords-infer-%d.tzst", (int)getpid());
	snprintf(path, sizeof path, "%s/model/r4.model.tzst", td);
	m = cords_model_load(path, cords_backend_get("cpu"));
	snprintf(path, sizeof path, "%s/model/r4-relu.case.tzst", td);
	if (!m || cords_read_file(path, &fx) || cords_dynamics_from_meta(cords_list_find(&fx, "meta"), &dyn)) {
		printf("FAIL: %s: %s\n", path, cords_errmsg());
		return 1;
	}
	T = dyn.spont_steps + dyn.stim_steps;
	B = (int)cords_list_find(&fx, "x")->shape[0];
	float logits[2 * N];
	CASE("logits; read-outs and areas 0, 1, 3 at every step; what the observer sees")
	{
		seen s = {0};
		cords_infer_opts o = {dyn, 1, 1, 0xb, observer, &s, NULL};
		CHECK(T == 8 && B == 2 && m->arch.depth == D && m->arch.classes == N, "fixture");
		CHECK(!infer(&o, B, out, logits), "%s", cords_errmsg());
		CHECK(worst(logits, fxd("logits"), B * N) <= 1, "logits off by %.3g x tolerance",
		      worst(logits, fxd("logits"), B * N));
		CHECK(series_err(out, "logits_t", 1, B, N) <= 1, "logits_t off by %.3g x tolerance",
		      series_err(out, "logits_t", 1, B, N));
		for (int i = 0; i < D; i++) {
			char name[8];
			snprintf(name, sizeof name, "r%d", i);
			if (i == 2) {
				CHECK(!has(out, name), "r2 recorded");
				continue;
			}
			double e = series_err(out, name, 1, B, per(i));
			CHECK(e <= 1, "%s off by %.3g x tolerance", name, e);
		}
		CHECK(s.n == T, "observer called %d times", s.n);
		for (int k = 0; k < s.n && k < T; k++)
			CHECK(s.steps[k] == k + 1 && s.spont[k] == (k < 3) && s.rows[k] == (k < 3 ? 1 : B) &&
				      s.batch[k] == B,
			      "observation %d: step %d spont %d rows %d batch %d", k, s.steps[k], s.spont[k], s.rows[k],
			      s.batch[k]);
		CHECK(s.logit_err <= 1 && s.mean_err <= 1, "observed logits off by %.3g, means by %.3g x tolerance",
		      s.logit_err, s.mean_err);
	}
	CASE("every other step, one image, area 2 only")
	{
		seen s = {0};
		cords_infer_opts o = {dyn, 2, 0, 1u << 2, observer, &s, NULL};
		CHECK(!infer(&o, 1, out, logits), "%s", cords_errmsg());
		CHECK(worst(logits, fxd("logits"), N) <= 1, "logits");
		CHECK(!has(out, "logits_t") && !has(out, "r0"), "series not asked for");
		double e = series_err(out, "r2", 2, 1, per(2));
		CHECK(e <= 1, "r2 off by %.3g x tolerance", e);
		CHECK(s.n == T / 2 && s.steps[0] == 2 && s.steps[1] == 4 && s.spont[0] && !s.spont[1] &&
			      s.steps[T / 2 - 1] == T,
		      "observations %d", s.n);
		CHECK(s.logit_err <= 1 && s.mean_err <= 1, "observed logits off by %.3g, means by %.3g x tolerance",
		      s.logit_err, s.mean_err);
	}
	CASE("read-out time table: accuracy and mean activity per step over two batches")
	{
		cords_infer_time *tt = cords_infer_time_new(dyn.spont_steps, dyn.stim_steps, 1, D, N);
		seen s = {.table = tt};
		cords_infer_opts o = {dyn, 1, 0, 0, observer, &s, NULL};
		/* Labels: image 0 its final class, image 1 another. */
		int64_t lab[2];
		const float *lg = fxd("logits");
		for (int b = 0; b < 2; b++) {
			int k = 0;
			for (int j = 1; j < N; j++)
				k = lg[b * N + j] > lg[b * N + k] ? j : k;
			lab[b] = b ? (k + 1) % N : k;
		}
		cords_infer *inf = tt ? cords_infer_new(m, &o) : NULL;
		cords_infer_time_labels(tt, lab);
		int rc = !inf || cords_infer_batch(inf, fxd("x"), 2, logits);
		cords_infer_time_labels(tt, lab);
		rc = rc || cords_infer_batch(inf, fxd("x"), 1, logits);
		CHECK(!rc, "%s", cords_errmsg());
		cords_infer_free(inf);
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		CHECK(tt && !cords_infer_time_write(tt, f), "write");
		fclose(f);
		char *line = text ? strtok(text, "\n") : NULL;
		CHECK(line && !strcmp(line, "step\tphase\tstim_step\taccuracy\tr0\tr1\tr2\tr3"), "header %s", line ? line : "(none)");
		int rows = 0;
		while (line && (line = strtok(NULL, "\n"))) {
			int step, stim;
			char phase[8];
			double acc, r[D];
			int got = sscanf(line, "%d\t%7s\t%d\t%lf\t%lf\t%lf\t%lf\t%lf", &step, phase, &stim, &acc, &r[0], &r[1],
					 &r[2], &r[3]);
			int t = ++rows;
			CHECK(got == 8 && step == t && stim == t - 3 && !strcmp(phase, t <= 3 ? "spont" : "stim"), "row %s",
			      line);
			/* Three images: the two of the first batch, image 0 again. */
			const float *lt = fxd("logits_t") + (int64_t)(t - 1) * B * N;
			int right = 0;
			for (int k = 0; k < 3; k++) {
				int b = k % 2, row = t <= 3 ? 0 : b, best = 0;
				for (int j = 1; j < N; j++)
					best = lt[row * N + j] > lt[row * N + best] ? j : best;
				right += best == lab[b];
			}
			CHECK_CLOSE(acc, right / 3.0, 0, 2e-6);
			for (int i = 0; i < D; i++) {
				char name[8];
				snprintf(name, sizeof name, "r%d", i);
				const float *ri = fxd(name) + (int64_t)(t - 1) * B * per(i);
				double s0 = 0, s1 = 0;
				for (int64_t j = 0; j < per(i); j++)
					s0 += ri[j], s1 += ri[per(i) + j];
				CHECK_CLOSE(r[i], (2 * s0 + s1) / (3.0 * per(i)), 1e-5, 1e-7);
			}
		}
		CHECK(rows == T, "%d rows", rows);
		free(text);
		cords_infer_time_free(tt);
	}
	CASE("errors: no read-out interval; a step that is not a read-out step; an observer's error")
	{
		cords_infer_opts o = {dyn, 0, 1, 0, NULL, NULL, NULL};
		CHECK(!cords_infer_new(m, &o) && strstr(cords_errmsg(), "every > 0"), "%s", cords_errmsg());
		CHECK(!cords_infer_time_new(3, 5, 0, D, N), "interval 0 accepted");
		CHECK(!cords_infer_time_new(3, 5, 1, 0, N), "depth 0 accepted");
		cords_infer_time *tt = cords_infer_time_new(3, 5, 2, D, N);
		double mean[D] = {0};
		cords_infer_obs ob = {3, 1, 1, 1, logits, mean};
		CHECK(tt && cords_infer_time_observe(tt, &ob) < 0, "step 3 of every 2 accepted");
		ob.step = 10;
		CHECK(tt && cords_infer_time_observe(tt, &ob) < 0, "step 10 of 8 accepted");
		ob.step = 8;
		CHECK(tt && cords_infer_time_observe(tt, &ob) == 0, "%s", cords_errmsg());
		cords_infer_time_free(tt);
		seen s = {.fail_at = 5};
		cords_infer_opts f = {dyn, 1, 0, 0, observer, &s, NULL};
		CHECK(infer(&f, 1, NULL, logits) < 0 && s.n == 5, "observer's error ignored (%d calls)", s.n);
		float none[1];
		cords_infer_opts p = {dyn, 1, 0, 0, NULL, NULL, NULL};
		cords_infer *inf = cords_infer_new(m, &p);
		CHECK(inf && cords_infer_batch(inf, fxd("x"), 0, none) < 0, "empty batch accepted");
		cords_infer_free(inf);
	}
	unlink(out);
	cords_list_free(&fx);
	cords_model_free(m);
	T_DONE();
}
