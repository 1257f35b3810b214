/* Inference throughput of the model on a backend, the way cords-infer runs it:
 * the spontaneous phase once per model (batch 1, broadcast), then per batch
 * the stem drive, the stimulus steps and the read-out. Random weights
 * (weight-norm g = 0.5, v uniform) and random input, shared through DIR with
 * bench/gpu_torch.py (the literal PyTorch model) so both compute the same
 * thing:
 *   DIR/manifest.txt   one line per tensor: name ndim d0 d1 ...
 *   DIR/NAME.f32       its raw little-endian floats (parameters and x)
 *   DIR/logits-DEVICE.f32   the logits of the last batch
 *   DIR/model.tzst, DIR/x.tzst   the same as a model file and a batch
 *                      stream (x repeated `batches` times), for cords-infer
 *   DIR/train.tzst     4 training batches: the first 8 images of x, random
 *                      labels y [8] i64, for the training tools
 * Written on the first run, read by later ones.
 *   build/bench/gpu_infer DEVICE DIR [batch 64] [batches 3] [spont 100] [stim 100] [depth 8] [size 224]
 * Prints one line: device, batch, seconds, images/s, timing the spontaneous
 * phase and `batches` batches through lib/model/infer.h (what cords-infer runs),
 * after one untimed round that lets cuDNN choose its algorithms. */
#include "cli.h"
#include "meta.h"
#include "model.h"
#include "rng.h"
#include "infer.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int save(const char *dir, FILE *man, const cords_tensor *t)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s.f32", dir, t->name);
	FILE *f = fopen(path, "wb");
	int64_t n = cords_tensor_numel(t);
	int ok = f && fwrite(t->data, sizeof(float), (size_t)n, f) == (size_t)n;
	ok = (f && !fclose(f)) && ok;
	fprintf(man, "%s %d", t->name, t->ndim);
	for (int i = 0; i < t->ndim; i++)
		fprintf(man, " %lld", (long long)t->shape[i]);
	fprintf(man, "\n");
	return ok ? 0 : cords_err("%s: cannot write", path);
}

static int load(const char *dir, cords_tensor_list *l)
{
	char path[1024], name[256];
	snprintf(path, sizeof path, "%s/manifest.txt", dir);
	FILE *man = fopen(path, "r");
	if (!man)
		return 1; /* not yet written */
	int nd, rc = 0;
	while (!rc && fscanf(man, "%255s %d", name, &nd) == 2) {
		int64_t s[8] = {0};
		long long v;
		for (int i = 0; i < nd && i < 8; i++)
			s[i] = fscanf(man, "%lld", &v) == 1 ? v : 0;
		cords_tensor *t = cords_tensor_new(name, CORDS_F32, nd, s);
		snprintf(path, sizeof path, "%s/%s.f32", dir, name);
		FILE *f = fopen(path, "rb");
		size_t n = (size_t)cords_tensor_numel(t);
		rc = !f || fread(t->data, sizeof(float), n, f) != n ? cords_err("%s: cannot read", path) : 0;
		if (f)
			fclose(f);
		cords_list_push(l, t);
	}
	fclose(man);
	return rc ? -1 : 0;
}

/* Random parameters under the cords-model(7) names, and the input batch x. */
static int make(const cords_arch *a, int batch, const char *dir, cords_tensor_list *l)
{
	cords_rng r;
	cords_rng_seed(&r, 1);
	char path[1024], name[128];
	snprintf(path, sizeof path, "%s/manifest.txt", dir);
	mkdir(dir, 0777);
	FILE *man = fopen(path, "w");
	if (!man)
		return cords_err("%s: cannot write", path);
	int rc = 0;
	for (int i = 0; i < cords_arch_nparams(a) && !rc; i++) {
		int nd;
		int64_t s[4];
		cords_arch_param(a, i, name, sizeof name, &nd, s);
		cords_tensor *t = cords_tensor_new(name, CORDS_F32, nd, s);
		float *d = t->data;
		int64_t n = cords_tensor_numel(t), fan = nd > 1 ? n / s[0] : 1;
		int is_g = strstr(name, "original0") != NULL, is_bias = strstr(name, "bias") != NULL;
		for (int64_t k = 0; k < n; k++)
			d[k] = is_g ? 0.5f
			       : is_bias ? (float)(0.1 * cords_rng_normal(&r))
					 : (float)cords_rng_range(&r, -1, 1) / sqrtf((float)fan);
		rc = save(dir, man, t);
		cords_list_push(l, t);
	}
	int64_t xs[4] = {batch, a->in_ch, a->height, a->width};
	cords_tensor *x = cords_tensor_new("x", CORDS_F32, 4, xs);
	for (int64_t k = 0; k < cords_tensor_numel(x); k++)
		((float *)x->data)[k] = (float)cords_rng_uniform(&r);
	rc = rc || save(dir, man, x);
	cords_list_push(l, x);
	return fclose(man) || rc ? -1 : 0;
}

/* Training batches: 4 of the first tb images of x, labels spread over the
 * classes, in dir/name. */
static int write_train(const char *dir, const char *name, const cords_tensor *x, int64_t tb, int classes)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int64_t ts[4] = {tb, x->shape[1], x->shape[2], x->shape[3]};
	cords_tensor *tx = cords_tensor_new("x", CORDS_F32, 4, ts), *ty = cords_tensor_new("y", CORDS_I64, 1, &tb);
	FILE *f = tx && ty ? fopen(path, "wb") : NULL;
	cords_writer *w = f ? cords_writer_new(f, path, 1) : NULL;
	int rc = !w;
	if (!rc) {
		memcpy(tx->data, x->data, (size_t)cords_tensor_numel(tx) * sizeof(float));
		for (int64_t i = 0; i < tb; i++)
			((int64_t *)ty->data)[i] = (i * 7919) % classes;
	}
	for (int b = 0; !rc && b < 4; b++)
		rc = cords_write_tensor(w, tx) || cords_write_tensor(w, ty);
	if (w && cords_writer_close(w))
		rc = -1;
	if (f && fclose(f))
		rc = -1;
	cords_tensor_free(tx);
	cords_tensor_free(ty);
	return rc ? cords_err("%s: cannot write", path) : 0;
}

/* The model file (meta + parameters), the batch stream for cords-infer and
 * the training batches: train.tzst of 8 images (the timed step), and
 * train16.tzst of 16 (issue 7's memory target) when there are 16. */
static int write_streams(const char *dir, const cords_arch *a, const cords_tensor_list *l, int batches)
{
	char path[1024];
	const cords_tensor *x = cords_list_find(l, "x");
	cords_tensor *meta = cords_meta_new();
	int rc = !meta || cords_arch_to_meta(a, meta);
	for (int which = 0; which < 2 && !rc; which++) {
		snprintf(path, sizeof path, "%s/%s", dir, which == 0 ? "model.tzst" : "x.tzst");
		FILE *f = fopen(path, "wb");
		cords_writer *w = f ? cords_writer_new(f, path, 1) : NULL;
		rc = !w || (which == 0 && cords_write_tensor(w, meta));
		for (int i = 0; !rc && which == 0 && i < l->n; i++)
			if (strcmp(l->items[i]->name, "x"))
				rc = cords_write_tensor(w, l->items[i]);
		for (int b = 0; !rc && which == 1 && b < batches; b++)
			rc = cords_write_tensor(w, x);
		if (w && cords_writer_close(w))
			rc = -1;
		if (!f || fclose(f))
			rc = -1;
	}
	cords_tensor_free(meta);
	if (rc)
		return cords_err("%s: cannot write", path);
	return write_train(dir, "train.tzst", x, x->shape[0] < 8 ? x->shape[0] : 8, a->classes) ||
		       (x->shape[0] >= 16 && write_train(dir, "train16.tzst", x, 16, a->classes))
		       ? -1
		       : 0;
}

/* cords-infer's path: the spontaneous phase once (cords_infer_new), then
 * `batches` batches from host memory to host memory. */
static int run(const cords_model *m, const cords_infer_opts *o, const float *x, int batch, int batches,
	       float *logits)
{
	cords_infer *inf = cords_infer_new(m, o);
	int rc = inf ? 0 : -1;
	for (int b = 0; b < batches && !rc; b++)
		rc = cords_infer_batch(inf, x, batch, 0, logits);
	cords_infer_free(inf);
	return rc;
}

int main(int argc, char **argv)
{
	cli_init("gpu_infer", "usage: gpu_infer DEVICE DIR [batch] [batches] [spont] [stim] [depth] [size]\n");
	if (argc < 3)
		cli_usage("expected DEVICE and DIR");
	const char *dev = argv[1], *dir = argv[2];
	int batch = argc > 3 ? (int)cli_int(argv[3], "batch", 1, 4096) : 64;
	int batches = argc > 4 ? (int)cli_int(argv[4], "batches", 1, 1000) : 3;
	int spont = argc > 5 ? (int)cli_int(argv[5], "spont", 0, 100000) : 100;
	int stim = argc > 6 ? (int)cli_int(argv[6], "stim", 1, 100000) : 100;
	int depth = argc > 7 ? (int)cli_int(argv[7], "depth", 2, 8) : 8;
	int size = argc > 8 ? (int)cli_int(argv[8], "size", 16, 4096) : 224;
	cords_arch a;
	cords_tensor_list l = {0};
	cords_model *m = NULL;
	if (cords_arch_init(&a, depth, 3, size, size, 1000))
		cli_die_lib();
	/* The model and the streams first: PyTorch's rows need them even when
	 * the device cannot be used. */
	int got = load(dir, &l);
	if (got < 0 || (got > 0 && (make(&a, batch, dir, &l) || write_streams(dir, &a, &l, batches))))
		cli_die_lib();
	cords_backend *be = cli_backend(dev, NULL);
	if (!be)
		cli_die_lib();
	cords_tensor *meta = cords_meta_new();
	if (!meta || cords_arch_to_meta(&a, meta) || !(m = cords_model_new(&l, meta, be)))
		cli_die_lib();
	cords_infer_opts o = {.dyn = m->dyn};
	o.dyn.spont_steps = spont;
	o.dyn.stim_steps = stim;
	const float *x = cords_list_find(&l, "x")->data;
	float *lg = malloc((size_t)batch * a.classes * sizeof *lg);
	if (!lg || run(m, &o, x, batch, 1, lg))
		cli_die_lib();
	double t0 = now();
	if (run(m, &o, x, batch, batches, lg))
		cli_die_lib();
	double sec = now() - t0;
	char path[1024];
	snprintf(path, sizeof path, "%s/logits-%s.f32", dir, dev);
	FILE *f = fopen(path, "wb");
	size_t n = (size_t)batch * a.classes;
	if (!f || fwrite(lg, sizeof *lg, n, f) != n || fclose(f))
		cli_die("%s: cannot write the logits", path);
	printf("device=%s batch=%d batches=%d steps=%d+%d seconds=%.3f images_per_s=%.2f\n", be->name, batch, batches,
	       spont, stim, sec, batch * batches / sec);
	free(lg);
	cords_model_free(m);
	cords_tensor_free(meta);
	cords_list_free(&l);
	return 0;
}
