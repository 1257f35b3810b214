/* The model against the literal PyTorch implementation (testdata/model/gen.py):
 * logits, read-out at every step and every area's state at every step, within
 * 1e-4 relative / 1e-5 absolute; the batch-1 spontaneous phase broadcast over
 * the batch against the naive protocol; the spontaneous cache. */
#include "t.h"

#include "err.h"
#include "model.h"
#include "spont.h"
#include "stream.h"

#include <unistd.h>

static const char *dir(void)
{
	const char *d = getenv("TESTDATA");
	return d ? d : "testdata";
}

typedef struct {
	cords_model *m;
	cords_tensor_list c;
	cords_dynamics d;
	int batch;
} fixture;

static int load(fixture *f, const char *model, const char *cas)
{
	char path[1024];
	memset(f, 0, sizeof *f);
	snprintf(path, sizeof path, "%s/model/%s.model.tzst", dir(), model);
	f->m = cords_model_load(path, t_backend("cpu"));
	snprintf(path, sizeof path, "%s/model/%s-%s.case.tzst", dir(), model, cas);
	if (!f->m || cords_read_file(path, &f->c))
		return -1;
	if (cords_dynamics_from_meta(cords_list_find(&f->c, "meta"), &f->d))
		return -1;
	f->batch = (int)cords_list_find(&f->c, "x")->shape[0];
	return 0;
}

static void unload(fixture *f)
{
	cords_model_free(f->m);
	cords_list_free(&f->c);
}

/* b against want within 1e-5 absolute + 1e-4 relative, folded into *w. */
static void cmp_buf(const cords_model *m, const cords_buf *b, const float *want, t_worst *w, const char *name)
{
	int64_t n = cords_buf_numel(b);
	float *have = malloc((size_t)n * sizeof *have);
	if (!want)
		t_fail(w, name);
	else if (m->be->download(m->be, b, have))
		t_fail(w, cords_errmsg());
	else
		t_cmp(w, name, have, want, n, .rel = 1e-4, .abs = 1e-5);
	free(have);
}

/* Per-step comparison: the state of every area and the read-out. */
typedef struct {
	fixture *f;
	cords_work *w;
	cords_buf *logits;
	t_worst r, l;
	int steps;
} stepcheck;

static int on_step(void *ctx, int t, const cords_state *s)
{
	stepcheck *c = ctx;
	char name[16], at[40];
	for (int i = 0; i < s->depth && cords_list_find(&c->f->c, "r0"); i++) {
		snprintf(name, sizeof name, "r%d", i);
		const cords_tensor *r = cords_list_find(&c->f->c, name);
		int64_t per = cords_tensor_numel(r) / r->shape[0];
		snprintf(at, sizeof at, "r%d at step %d", i, t);
		cmp_buf(c->f->m, s->r[i], (const float *)r->data + (t - 1) * per, &c->r, at);
	}
	const cords_tensor *lt = cords_list_find(&c->f->c, "logits_t");
	int64_t per = cords_tensor_numel(lt) / lt->shape[0];
	if (cords_model_readout(c->f->m, c->w, s, c->logits))
		return -1;
	snprintf(at, sizeof at, "read-out at step %d", t);
	cmp_buf(c->f->m, c->logits, (const float *)lt->data + (t - 1) * per, &c->l, at);
	c->steps++;
	return 0;
}

static void naive_case(const char *model, const char *phi)
{
	fixture f;
	CHECK(!load(&f, model, phi), "load %s-%s: %s", model, phi, cords_errmsg());
	if (!f.m) {
		unload(&f);
		return;
	}
	cords_model *m = f.m;
	cords_work *w = cords_work_new(m, f.batch);
	cords_state *s = cords_state_new(m, f.batch), *tmp = cords_state_new(m, f.batch);
	cords_buf *x = cords_model_alloc_input(m, f.batch);
	cords_drive p;
	cords_drive_alloc(m, f.batch, &p);
	stepcheck c = {&f, w, cords_model_alloc_logits(m, f.batch), {0, ""}, {0, ""}, 0};
	m->be->upload(m->be, x, cords_list_find(&f.c, "x")->data);
	int rc = cords_model_run(m, &f.d, w, NULL, &s, &tmp, f.d.spont_steps, 0, on_step, &c);
	rc = rc || cords_model_drive(m, w, x, &p);
	rc = rc || cords_model_run(m, &f.d, w, &p, &s, &tmp, f.d.stim_steps, f.d.spont_steps, on_step, &c);
	CHECK(!rc, "run: %s", cords_errmsg());
	CHECK(c.r.err <= 1, "%s-%s: states: %s", model, phi, c.r.at);
	CHECK(c.l.err <= 1, "%s-%s: read-outs: %s", model, phi, c.l.at);
	CHECK(c.steps == f.d.spont_steps + f.d.stim_steps, "%s-%s: %d steps compared", model, phi, c.steps);
	/* A case of the long horizon keeps the last states only. */
	for (int i = 0; i < s->depth && cords_list_find(&f.c, "last_r0"); i++) {
		char name[24];
		snprintf(name, sizeof name, "last_r%d", i);
		const cords_tensor *r = cords_list_find(&f.c, name);
		cmp_buf(m, s->r[i], r ? r->data : NULL, &c.r, name);
	}
	CHECK(c.r.err <= 1, "%s-%s: last states: %s", model, phi, c.r.at);
	m->be->free(m->be, c.logits);
	m->be->free(m->be, x);
	cords_drive_free(m, &p);
	cords_state_free(m, s);
	cords_state_free(m, tmp);
	cords_work_free(m, w);
	unload(&f);
}

/* The answer through the batch-1 spontaneous phase (and its cache) against
 * the fixture's logits: its worst error. */
static double fast_logits(fixture *f, const char *cache, int *from_cache, t_worst *e)
{
	cords_model *m = f->m;
	cords_state *s1 = cords_state_new(m, 1);
	cords_state *s = cords_state_new(m, f->batch), *tmp = cords_state_new(m, f->batch);
	cords_work *w = cords_work_new(m, f->batch);
	cords_buf *x = cords_model_alloc_input(m, f->batch);
	cords_drive p;
	cords_drive_alloc(m, f->batch, &p);
	cords_buf *lg = cords_model_alloc_logits(m, f->batch);
	m->be->upload(m->be, x, cords_list_find(&f->c, "x")->data);
	if (!cords_spont(m, &f->d, cache, s1, from_cache, NULL, NULL) && !cords_state_copy(m, s, s1) &&
	    !cords_model_drive(m, w, x, &p) &&
	    !cords_model_run(m, &f->d, w, &p, &s, &tmp, f->d.stim_steps, 0, NULL, NULL) &&
	    !cords_model_readout(m, w, s, lg))
		cmp_buf(m, lg, cords_list_find(&f->c, "logits")->data, e, "logits");
	else
		t_fail(e, cords_errmsg());
	m->be->free(m->be, lg);
	m->be->free(m->be, x);
	cords_drive_free(m, &p);
	cords_state_free(m, s1);
	cords_state_free(m, s);
	cords_state_free(m, tmp);
	cords_work_free(m, w);
	return e->err;
}

int main(void)
{
	const char *phis[] = {"relu", "identity", "prelu"};
	for (int k = 0; k < 3; k++) {
		CASE("R2 28x28 1ch, step by step against PyTorch") naive_case("r2", phis[k]);
		CASE("R4 20x24 3ch (f16 file), step by step against PyTorch") naive_case("r4", phis[k]);
	}
	CASE("R4 over 100 + 100 steps, every read-out and the last states against PyTorch in float64")
	naive_case("r4", "long");
	CASE("spontaneous phase at batch 1, broadcast: same logits")
	{
		for (int k = 0; k < 3; k++) {
			fixture f;
			CHECK(!load(&f, "r4", phis[k]), "load: %s", cords_errmsg());
			t_worst e = {0, ""};
			if (f.m)
				fast_logits(&f, NULL, NULL, &e);
			CHECK(f.m && e.err <= 1, "r4-%s: logits: %s", phis[k], e.at);
			unload(&f);
		}
	}
	CASE("spontaneous cache: written, reused, refused for another protocol")
	{
		char cache[] = "/tmp/cords-spont-XXXXXX";
		int fd = mkstemp(cache), hit = -1;
		close(fd);
		unlink(cache);
		fixture f;
		CHECK(!load(&f, "r2", "prelu"), "load: %s", cords_errmsg());
		t_worst e = {0, ""};
		CHECK(fast_logits(&f, cache, &hit, &e) <= 1 && hit == 0, "first run computes (hit %d): %s", hit, e.at);
		CHECK(access(cache, F_OK) == 0, "cache written");
		CHECK(fast_logits(&f, cache, &hit, &e) <= 1 && hit == 1, "second run reads it (hit %d): %s", hit, e.at);
		f.d.alpha = 0.25f;
		t_worst ignored = {0, ""};
		fast_logits(&f, cache, &hit, &ignored);
		CHECK(hit == 0, "another alpha recomputes");
		unload(&f);
		unlink(cache);
	}
	T_DONE();
}
