/* The inference driver and the read-out time table against the literal
 * PyTorch model's trajectory (testdata/model/gen.py, R4, 3 + 5 steps): the
 * logits, the recorded series (every step and every other step, some areas
 * only, two batch sizes), what the observer sees at each read-out step, and
 * the table's accuracy and mean activity per step over two batches. */
#include "t.h"

#include "eig_state.h"
#include "err.h"
#include "infer.h"
#include "infer_time.h"
#include "meta.h"
#include "model.h"
#include "net_op.h"
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

/* The fixture's tolerance: |a - b| <= 1e-5 + 1e-4 |b| (t_cmp: <= 1 passes, NaN fails). */
static double worst(const float *a, const float *b, int64_t n)
{
	return t_cmp(NULL, "values", a, b, n, .rel = 1e-4, .abs = 1e-5);
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
	s->logit_err = !(e <= s->logit_err) ? e : s->logit_err;
	for (int i = 0; i < D; i++) {
		char name[8];
		snprintf(name, sizeof name, "r%d", i);
		const float *r = fxd(name) + (int64_t)t * B * per(i);
		double sum = 0;
		for (int64_t j = 0; j < o->rows * per(i); j++)
			sum += r[j];
		double want = sum / (double)(o->rows * per(i));
		e = t_cmp(NULL, "mean", &o->mean[i], &want, 1, .rel = 1e-5, .abs = 1e-7);
		s->mean_err = !(e <= s->mean_err) ? e : s->mean_err;
	}
	return s->table ? cords_infer_time_observe(s->table, o) : 0;
}

/* Runs batches of the fixture's first `batch` images; the series go to path. */
static int infer(const cords_infer_opts *o, int batch, const char *path, float *logits)
{
	cords_infer *inf = cords_infer_new(m, o);
	int rc = inf ? cords_infer_batch(inf, fxd("x"), batch, 0, logits) : -1;
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

static const char *td;

static int load(const char *phi)
{
	char path[1024];
	cords_list_free(&fx);
	snprintf(path, sizeof path, "%s/model/r4-%s.case.tzst", td, phi);
	if (cords_read_file(path, &fx) || cords_dynamics_from_meta(cords_list_find(&fx, "meta"), &dyn)) {
		printf("FAIL: %s: %s\n", path, cords_errmsg());
		return -1;
	}
	T = dyn.spont_steps + dyn.stim_steps;
	B = (int)cords_list_find(&fx, "x")->shape[0];
	return 0;
}

int main(void)
{
	char path[1024], out[64];
	td = getenv("TESTDATA") ? getenv("TESTDATA") : "testdata";
	snprintf(out, sizeof out, "/tmp/cords-infer-%d.tzst", (int)getpid());
	snprintf(path, sizeof path, "%s/model/r4.model.tzst", td);
	m = cords_model_load(path, t_backend("cpu"));
	if (!m) {
		printf("FAIL: %s: %s\n", path, cords_errmsg());
		return 1;
	}
	float logits[2 * N];
	const char *phis[2] = {"relu", "identity"};
	for (int k = 0; k < 2; k++)
		CASE(k ? "identity: the same, with activity of both signs"
		       : "logits; read-outs and areas 0, 1, 3 at every step; what the observer sees")
		{
			seen s = {0};
			CHECK(!load(phis[k]), "fixture");
			cords_infer_opts o = {.dyn = dyn, .every = 1, .readouts = 1, .record = 0xb,
					      .observe = observer, .observe_ctx = &s};
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
			for (int j = 0; j < s.n && j < T; j++)
				CHECK(s.steps[j] == j + 1 && s.spont[j] == (j < 3) && s.rows[j] == (j < 3 ? 1 : B) &&
					      s.batch[j] == B,
				      "observation %d: step %d spont %d rows %d batch %d", j, s.steps[j], s.spont[j], s.rows[j],
				      s.batch[j]);
			CHECK(s.logit_err <= 1 && s.mean_err <= 1, "observed logits off by %.3g, means by %.3g x tolerance",
			      s.logit_err, s.mean_err);
		}
	CHECK(!load("relu"), "fixture");
	CASE("series without an observer; record bits past the depth ignored")
	{
		cords_infer_opts o = {.dyn = dyn, .every = 1, .readouts = 1, .record = 0x11};
		CHECK(!infer(&o, B, out, logits), "%s", cords_errmsg());
		CHECK(series_err(out, "logits_t", 1, B, N) <= 1 && series_err(out, "r0", 1, B, per(0)) <= 1,
		      "logits_t off by %.3g, r0 by %.3g x tolerance", series_err(out, "logits_t", 1, B, N),
		      series_err(out, "r0", 1, B, per(0)));
		CHECK(!has(out, "r1") && !has(out, "r4"), "areas recorded that were not asked for");
		cords_infer_opts plain = {.dyn = dyn};
		CHECK(!infer(&plain, B, NULL, logits) && worst(logits, fxd("logits"), B * N) <= 1, "no series: %s",
		      cords_errmsg());
	}
	CASE("every other step, one image, area 2 only")
	{
		seen s = {0};
		cords_infer_opts o = {.dyn = dyn, .every = 2, .record = 1u << 2, .observe = observer, .observe_ctx = &s};
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
	for (int every = 1; every <= 2; every++)
		CASE(every == 1 ? "read-out time table: accuracy and mean activity per step over two batches"
				: "read-out time table every other step")
		{
			cords_infer_time *tt = cords_infer_time_new(dyn.spont_steps, dyn.stim_steps, every, D, N);
			seen s = {.table = tt};
			cords_infer_opts o = {.dyn = dyn, .every = every, .observe = observer, .observe_ctx = &s};
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
			int rc = !inf || cords_infer_batch(inf, fxd("x"), 2, 0, logits);
			cords_infer_time_labels(tt, lab);
			rc = rc || cords_infer_batch(inf, fxd("x"), 1, 0, logits);
			CHECK(!rc, "%s", cords_errmsg());
			cords_infer_free(inf);
			char *text = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&text, &len);
			CHECK(tt && !cords_infer_time_write(tt, f), "write");
			fclose(f);
			char *line = text ? strtok(text, "\n") : NULL;
			CHECK(line && !strcmp(line, "step\tphase\tstim_step\taccuracy\tr0\tr1\tr2\tr3"), "header %s",
			      line ? line : "(none)");
			int rows = 0;
			while (line && (line = strtok(NULL, "\n"))) {
				int step, stim, fields = 1;
				char phase[8];
				double acc, r[D];
				int got = sscanf(line, "%d\t%7s\t%d\t%lf\t%lf\t%lf\t%lf\t%lf", &step, phase, &stim, &acc, &r[0],
						 &r[1], &r[2], &r[3]);
				for (const char *c = line; *c; c++)
					fields += *c == '\t';
				int t = ++rows * every;
				CHECK(got == 8 && fields == 8 && step == t && stim == t - 3 &&
					      !strcmp(phase, t <= 3 ? "spont" : "stim"),
				      "row %s", line);
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
			CHECK(rows == T / every, "%d rows", rows);
			free(text);
			cords_infer_time_free(tt);
		}
	CASE("read-out time table from observations made up here: rows, spontaneous broadcast, weights, no labels")
	{
		/* Steps 2, 4, 6 of 2 + 4; two images labelled 0 and 2, then one without a label. */
		cords_infer_time *tt = cords_infer_time_new(2, 4, 2, 2, 3);
		const int64_t lab[2] = {0, 2};
		const float sp[3] = {0.1f, 0.9f, 0.3f}, st4[6] = {1, 0, 0, 0, 0, 1}, st6[6] = {0, 0, 1, 0, 0, 1};
		const double m2[2] = {0.5, 1.5}, m4[2] = {1, 2}, m6[2] = {-1, 4}, n1[2] = {3, 8};
		cords_infer_obs obs[3] = {{2, 1, 2, 1, sp, m2}, {4, 0, 2, 2, st4, m4}, {6, 0, 2, 2, st6, m6}};
		int rc = 0;
		cords_infer_time_labels(tt, lab);
		for (int k = 0; tt && k < 3; k++)
			rc |= cords_infer_time_observe(tt, &obs[k]);
		cords_infer_time_labels(tt, NULL);
		for (int k = 0; tt && k < 2; k++) { /* step 6 never seen by the second batch */
			cords_infer_obs o1 = {obs[k].step, obs[k].spont, 1, 1, st6, n1};
			rc |= cords_infer_time_observe(tt, &o1);
		}
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		CHECK(tt && !rc && !cords_infer_time_write(tt, f), "%s", cords_errmsg());
		fclose(f);
		const char *want = "step\tphase\tstim_step\taccuracy\tr0\tr1\n"
				   "2\tspont\t0\t0.000000\t1.33333333\t3.66666667\n"
				   "4\tstim\t2\t1.000000\t1.66666667\t4\n"
				   "6\tstim\t4\t0.500000\t-1\t4\n";
		CHECK(text && !strcmp(text, want), "table:\n%s", text ? text : "(none)");
		free(text);
		cords_infer_time_free(tt);
		/* Without labels: no accuracy; without images: the header only. */
		tt = cords_infer_time_new(2, 4, 2, 2, 3);
		text = NULL;
		f = open_memstream(&text, &len);
		cords_infer_time_write(tt, f);
		cords_infer_obs o1 = {2, 1, 1, 1, st6, n1};
		rc = tt ? cords_infer_time_observe(tt, &o1) : -1;
		cords_infer_time_write(tt, f);
		fclose(f);
		CHECK(!rc && text && !strcmp(text, "step\tphase\tstim_step\taccuracy\tr0\tr1\n"
						     "step\tphase\tstim_step\taccuracy\tr0\tr1\n"
						     "2\tspont\t0\t\t3\t8\n"),
		      "table:\n%s", text ? text : "(none)");
		free(text);
		cords_infer_time_free(tt);
	}
	CASE("model files: the metadata's protocol, a meta record that is not text ignored, a hash of every value")
	{
		cords_tensor_list l = {0};
		char mp[1024];
		snprintf(mp, sizeof mp, "%s/model/r2.model.tzst", td);
		CHECK(!cords_read_file(mp, &l), "%s", cords_errmsg());
		cords_tensor *meta = cords_list_find(&l, "meta");
		cords_meta_set(meta, "alpha", "0.3");
		cords_meta_set(meta, "stim_steps", "7");
		cords_model *a = cords_model_new(&l, meta, t_backend("cpu"));
		CHECK(a && a->dyn.alpha == 0.3f && a->dyn.stim_steps == 7 && a->arch.depth == 2, "protocol from meta: %s",
		      cords_errmsg());
		char *v = a ? cords_meta_get(a->meta, "alpha") : NULL;
		CHECK(v && !strcmp(v, "0.3"), "the model keeps its meta record");
		free(v);
		/* Saved with a meta record of floats: ignored, the shapes give the architecture. */
		int64_t one = 1;
		cords_tensor *fake = cords_tensor_new("meta", CORDS_F32, 1, &one);
		snprintf(mp, sizeof mp, "%s.model.tzst", out);
		FILE *f = fopen(mp, "wb");
		cords_writer *w = f ? cords_writer_new(f, mp, 0) : NULL;
		cords_write_tensor(w, fake);
		for (int i = 0; i < l.n; i++)
			if (l.items[i] != meta)
				cords_write_tensor(w, l.items[i]);
		CHECK(w && !cords_writer_close(w), "write");
		fclose(f);
		cords_tensor_free(fake);
		cords_model *b = cords_model_load(mp, t_backend("cpu"));
		CHECK(b && b->dyn.alpha == 0.2f && b->dyn.stim_steps == 100 && b->arch.depth == 2 && b->arch.height == 28,
		      "non-text meta: %s", cords_errmsg());
		/* ... and with the text one, the file's protocol */
		f = fopen(mp, "wb");
		w = f ? cords_writer_new(f, mp, 0) : NULL;
		for (int i = 0; i < l.n; i++)
			cords_write_tensor(w, l.items[i]);
		CHECK(w && !cords_writer_close(w), "write");
		fclose(f);
		cords_model *t = cords_model_load(mp, t_backend("cpu"));
		CHECK(t && t->dyn.alpha == 0.3f && t->dyn.stim_steps == 7, "text meta: %s", cords_errmsg());
		cords_model_free(t);
		unlink(mp);
		/* The hash: the same values, the same hash; the first or the last value changed, another. */
		cords_model *c = cords_model_new(&l, NULL, t_backend("cpu"));
		CHECK(a && b && c && a->hash == b->hash && b->hash == c->hash && a->hash, "hashes differ for one model");
		/* 64-bit FNV-1a (offset basis 14695981039346656037, prime 1099511628211) over the
		 * parameters' 32-bit words in checkpoint order: the key of the spontaneous-state caches */
		uint64_t fnv = 14695981039346656037ull;
		for (int i = 0; c && i < cords_arch_nparams(&c->arch); i++) {
			char pn[CORDS_NAME_MAX + 1];
			int64_t ps[CORDS_MAX_DIMS];
			int nd;
			cords_arch_param(&c->arch, i, pn, sizeof pn, &nd, ps);
			const cords_tensor *pt = cords_list_find(&l, pn);
			for (size_t j = 0; pt && j < pt->nbytes / 4; j++)
				fnv = (fnv ^ ((const uint32_t *)pt->data)[j]) * 1099511628211ull;
		}
		CHECK(c && c->hash == fnv, "hash %016llx, FNV-1a gives %016llx", c ? (unsigned long long)c->hash : 0ull,
		      (unsigned long long)fnv);
		cords_tensor *first = cords_list_find(&l, "inp_conv.parametrizations.weight.original0");
		cords_tensor *last = cords_list_find(&l, "out_fc.bias");
		const float v0 = ((float *)first->data)[0];
		((float *)first->data)[0] += 1;
		cords_model *d = cords_model_new(&l, NULL, t_backend("cpu"));
		((float *)first->data)[0] = v0;
		((float *)last->data)[cords_tensor_numel(last) - 1] += 1;
		cords_model *e = cords_model_new(&l, NULL, t_backend("cpu"));
		CHECK(d && e && d->hash != c->hash && e->hash != c->hash && d->hash != e->hash, "hash misses a change");
		cords_model_free(a), cords_model_free(b), cords_model_free(c), cords_model_free(d), cords_model_free(e);
		cords_list_free(&l);
	}
	CASE("states: zeroed and copied, r and z of every area")
	{
		cords_state *s = cords_state_new(m, 2), *t = cords_state_new(m, 2), *u = cords_state_new(m, 2);
		cords_work *w = cords_work_new(m, 2);
		int rc = !s || !t || !u || !w || cords_model_step(m, &dyn, w, NULL, s, t) ||
			 cords_model_step(m, &dyn, w, NULL, t, s) || cords_state_copy(m, u, s);
		CHECK(!rc, "%s", cords_errmsg());
		int64_t most = 0;
		for (int i = 0; i < D; i++)
			most = 2 * per(i) > most ? 2 * per(i) : most;
		float *a = malloc((size_t)most * sizeof *a), *b = malloc((size_t)most * sizeof *b);
		int nonzero = 0, copied = 1;
		for (int i = 0; !rc && i < D; i++)
			for (int k = 0; k < 2; k++) {
				m->be->download(m->be, k ? s->z[i] : s->r[i], a);
				m->be->download(m->be, k ? u->z[i] : u->r[i], b);
				copied &= !memcmp(a, b, (size_t)(2 * per(i)) * sizeof *a);
				for (int64_t j = 0; j < 2 * per(i); j++)
					nonzero |= a[j] != 0;
			}
		CHECK(nonzero && copied, "after two steps: nonzero %d, copy equal %d", nonzero, copied);
		CHECK(!cords_state_zero(m, s), "%s", cords_errmsg());
		int zero = 1;
		for (int i = 0; !rc && i < D; i++)
			for (int k = 0; k < 2; k++) {
				m->be->download(m->be, k ? s->z[i] : s->r[i], a);
				for (int64_t j = 0; j < 2 * per(i); j++)
					zero &= a[j] == 0;
			}
		CHECK(zero, "a zeroed state has nonzero values");
		CHECK(cords_model_step(m, &dyn, w, NULL, s, s) < 0, "a step in place accepted");
		free(a), free(b);
		cords_state_free(m, s), cords_state_free(m, t), cords_state_free(m, u);
		cords_work_free(m, w);
	}
	CASE("the state for cords-eig --at: after the image or the spontaneous phase, its z, norm and step change")
	{
		const cords_dynamics keep = m->dyn;
		m->dyn = dyn;
		int64_t s1[4] = {1, 3, 20, 24};
		cords_tensor *img = cords_tensor_new("x", CORDS_F32, 4, s1);
		memcpy(img->data, fxd("x"), img->nbytes);
		cords_tensor_list params = {0};
		char mp[1024];
		snprintf(mp, sizeof mp, "%s/model/r4.model.tzst", td);
		cords_read_file(mp, &params);
		for (int spont = 0; spont < 2; spont++) {
			cords_eig_state st;
			CHECK(!cords_eig_state_compute(m, spont ? NULL : (const float *)img->data, &st), "%s", cords_errmsg());
			int t = spont ? dyn.spont_steps : T; /* the fixture's step, image 0 */
			double rr = 0, dd = 0, e = 0;
			for (int i = 0; i < D; i++) {
				char name[8];
				snprintf(name, sizeof name, "r%d", i);
				const float *want = fxd(name) + (int64_t)(t - 1) * B * per(i);
				double k = st.n[i] == per(i) ? worst(st.r[i], want, per(i)) : INFINITY;
				e = !(k <= e) ? k : e;
				for (int64_t j = 0; j < st.n[i]; j++) {
					double z = st.z[i][j], next = (1 - dyn.alpha) * st.r[i][j] + dyn.alpha * (z > 0 ? z : 0);
					rr += (double)st.r[i][j] * st.r[i][j];
					dd += (next - st.r[i][j]) * (next - st.r[i][j]);
				}
			}
			CHECK(st.depth == D && e <= 1, "%s: state off by %.3g x tolerance", spont ? "spont" : "image", e);
			CHECK(fabs(st.norm - sqrt(rr)) <= 1e-9 * sqrt(rr), "norm %.9g of %.9g", st.norm, sqrt(rr));
			CHECK(fabs(st.step_change - sqrt(dd / rr)) <= 1e-5 * sqrt(dd / rr) + 1e-7, "step change %.9g of %.9g",
			      st.step_change, sqrt(dd / rr));
			/* the area Jacobian at it: (1 - alpha) x + alpha phi'(z) conv(x) */
			cords_conv_op J;
			CHECK(!cords_area_jacobian_op(&params, &m->arch, 1, dyn.alpha, dyn.phi, &st, &J), "%s",
			      cords_errmsg());
			int bad = J.a != 1 - (double)dyn.alpha || J.b != (double)dyn.alpha;
			for (int64_t j = 0; j < st.n[1]; j++)
				bad += J.d[j] != (st.z[1][j] > 0);
			CHECK(!bad, "%d mask entries or factors wrong", bad);
			cords_conv_op_free(&J);
			cords_eig_state_free(&st);
		}
		cords_list_free(&params);
		cords_tensor_free(img);
		m->dyn = keep;
	}
	CASE("the state of R2 with no weights and the same small bias everywhere (|r| < 1), and with none (r = 0)")
	{
		cords_tensor_list l = {0};
		char mp[1024];
		snprintf(mp, sizeof mp, "%s/model/r2.model.tzst", td);
		CHECK(!cords_read_file(mp, &l), "%s", cords_errmsg());
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < l.n; i++) {
				cords_tensor *t = l.items[i];
				size_t n = strlen(t->name);
				int g = n > 9 && !strcmp(t->name + n - 9, "original0"), b = !strncmp(t->name, "conv_bias.", 10);
				for (int64_t j = 0; (g || b) && j < cords_tensor_numel(t); j++)
					((float *)t->data)[j] = b && !k ? 1e-3f : 0;
			}
			cords_model *z = cords_model_new(&l, NULL, t_backend("cpu"));
			cords_eig_state st;
			CHECK(z, "%s", cords_errmsg());
			if (!z)
				break;
			z->dyn.spont_steps = 5;
			CHECK(!cords_eig_state_compute(z, NULL, &st), "%s", cords_errmsg());
			double rr = 0, dd = 0;
			for (int i = 0; i < 2; i++)
				for (int64_t j = 0; j < st.n[i]; j++) {
					double next = (1 - z->dyn.alpha) * st.r[i][j] + z->dyn.alpha * (st.z[i][j] > 0 ? st.z[i][j] : 0);
					rr += (double)st.r[i][j] * st.r[i][j];
					dd += (next - st.r[i][j]) * (next - st.r[i][j]);
				}
			double want = rr > 0 ? sqrt(dd / rr) : 0;
			CHECK(k ? rr == 0 && st.norm == 0 && st.step_change == 0 : rr > 0 && rr < 1 && dd > 0,
			      "bias %d: rr %g, dd %g, norm %g, change %g", !k, rr, dd, st.norm, st.step_change);
			CHECK(fabs(st.norm - sqrt(rr)) <= 1e-9 * sqrt(rr) && fabs(st.step_change - want) <= 1e-6 * want,
			      "norm %.9g of %.9g, step change %.9g of %.9g", st.norm, sqrt(rr), st.step_change, want);
			cords_eig_state_free(&st);
			cords_model_free(z);
		}
		cords_list_free(&l);
	}
	CASE("errors: no read-out interval; a step that is not a read-out step; an observer's error")
	{
		cords_infer_opts o = {.dyn = dyn, .readouts = 1};
		CHECK(!cords_infer_new(m, &o) && strstr(cords_errmsg(), "every > 0"), "%s", cords_errmsg());
		CHECK(!cords_infer_time_new(3, 5, 0, D, N), "interval 0 accepted");
		CHECK(!cords_infer_time_new(3, 5, 1, 0, N), "depth 0 accepted");
		CHECK(!cords_infer_time_new(3, 5, 1, 9, N), "depth 9 accepted");
		cords_infer_time *lim = cords_infer_time_new(3, 5, 1, 8, N), *one = cords_infer_time_new(3, 5, 1, 1, N);
		CHECK(lim && one, "depth 8 or 1 refused: %s", cords_errmsg());
		cords_infer_time_free(lim);
		cords_infer_time_free(one);
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
		cords_infer_opts f = {.dyn = dyn, .every = 1, .observe = observer, .observe_ctx = &s};
		CHECK(infer(&f, 1, NULL, logits) < 0 && s.n == 5, "observer's error ignored (%d calls)", s.n);
		float none[1];
		cords_infer_opts p = {.dyn = dyn, .every = 1};
		cords_infer *inf = cords_infer_new(m, &p);
		CHECK(inf && cords_infer_batch(inf, fxd("x"), 0, 0, none) < 0, "empty batch accepted");
		cords_infer_free(inf);
	}
	unlink(out);
	cords_list_free(&fx);
	cords_model_free(m);
	T_DONE();
}
