/* cords-infer: run a CordsNet model on batches of images (the protocol of cords-model(7)). */
#include "batch.h"
#include "cli.h"
#include "cnn_train.h"
#include "infer.h"
#include "infer_time.h"
#include "input.h"
#include "loss.h"
#include "meta.h"
#include "model.h"
#include "noise.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-infer -m MODEL [OPTION]... [FILE]\n"
	"Run a CordsNet model on a stream of batches (x [B,C,H,W] u8 or f32, optional y)\n"
	"and write per batch its logits [B,N] (and y, if present). A BatchNorm CNN\n"
	"(cords-cnn's model) runs as the feed-forward net it is: one pass per image,\n"
	"with frame noise one per stimulus step, the logits averaged.\n"
	"\n"
	"  -m, --model FILE       the model (a cords-model stream)\n"
	"      --spont N          blank steps before the image (default: model's, else 100)\n"
	"      --stim N           steps with the image (default: model's, else 100)\n"
	"      --alpha A          dt/tau (default: model's, else 0.2)\n"
	"      --phi F            relu, identity or prelu (default: model's, else relu)\n"
	"      --slope S          PReLU slope (default: model's prelu_slope)\n"
	"      --every K          also write logits_t [T,B,N]: read-outs every K steps\n"
	"      --record LIST      also write r{i} [T,B,c,h,w] for areas LIST (e.g. 0,3 or all)\n"
	"                         every K steps (K = 1 without --every)\n"
	"      --time-tsv FILE    accuracy and each area's mean activity per read-out step\n"
	"                         (every K steps, K = 1 without --every) as TSV\n"
	"      --batches N        stop after the first N batches\n"
	"      --blank N          N blank steps after the image (read out and recorded)\n"
	"      --protocol LIST    the steps as segments, e.g. spont:100,stim:50,blank:20,stim:50\n"
	"                         (spont first, if at all; instead of --spont, --stim, --blank)\n"
	"      --contrast C       the image scaled by C toward the normalisation mean\n"
	"      --noise SIGMA      Gaussian noise of standard deviation SIGMA (see --noise-mode)\n"
	"      --noise-mode M     image (default: one draw on the input per image), frame\n"
	"                         (a fresh draw each step the image is shown) or state (each\n"
	"                         step, SIGMA sqrt(alpha) on every area's r)\n"
	"      --seed K           seed of the noise (default 0)\n"
	"      --lesion I[:C0-C1] hold area I's r (channels C0..C1) at 0 (repeatable)\n"
	"      --no-recurrence    drop the within-area recurrent convolutions\n"
	"      --rt THETA         also write rt [B] and rt_class [B]: the first step after the\n"
	"                         spontaneous phase whose softmax maximum reaches THETA (-1: none)\n"
	"      --spont-cache FILE keep the spontaneous state in FILE (reused when it matches)\n"
	"      --device DEV       cpu (default), cuda or cuda:N\n"
	"      --precision P      fp32 (default), tf32 or bf16: the convolutions' math (tf32:\n"
	"                         CUDA; bf16: CUDA, or CPUs with AVX512_BF16 or AMX)\n"
	"  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet            no messages but errors\n"
	"  -v, --verbose          more messages\n"
	"  -h, --help             this help\n"
	"  -V, --version          version\n"
	"\n"
	"With y in the input, the accuracy goes to stderr. See cords-infer(1).\n";

#define MAX_LESIONS 64

typedef struct {
	const char *model, *device, *precision, *phi, *record, *time_tsv;
	double alpha, slope, noise, contrast, rt;
	long long spont, stim, every, seed, batches, blank;
	const char *cache, *noise_mode, *protocol;
	const char *lesion[MAX_LESIONS];
	int nlesion, no_recurrence;
} options;

enum {
	O_SPONT = 256, O_STIM, O_ALPHA, O_PHI, O_SLOPE, O_EVERY, O_RECORD, O_NOISE, O_SEED, O_CACHE, O_DEVICE,
	O_TIME_TSV, O_BATCHES, O_PRECISION, O_NOISE_MODE, O_BLANK, O_PROTOCOL, O_CONTRAST, O_LESION,
	O_NO_RECURRENCE, O_RT
};

/* The options of the experiments (cords(7) EXPERIMENTS). */
static void parse_experiment(int c, options *o)
{
	switch (c) {
	case O_NOISE_MODE: o->noise_mode = optarg; break;
	case O_BLANK: o->blank = cli_int(optarg, "--blank", 0, 1000000); break;
	case O_PROTOCOL: o->protocol = optarg; break;
	case O_CONTRAST: o->contrast = cli_double(optarg, "--contrast", -1e6, 1e6); break;
	case O_NO_RECURRENCE: o->no_recurrence = 1; break;
	case O_RT: o->rt = cli_double(optarg, "--rt", 1e-9, 1); break;
	case O_LESION:
		if (o->nlesion == MAX_LESIONS)
			cli_usage("--lesion: at most %d", MAX_LESIONS);
		o->lesion[o->nlesion++] = optarg;
		break;
	}
}

static const char *parse(int argc, char **argv, options *o)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'}, {"spont", required_argument, 0, O_SPONT},
		{"stim", required_argument, 0, O_STIM}, {"alpha", required_argument, 0, O_ALPHA},
		{"phi", required_argument, 0, O_PHI}, {"slope", required_argument, 0, O_SLOPE},
		{"every", required_argument, 0, O_EVERY}, {"record", required_argument, 0, O_RECORD},
		{"noise", required_argument, 0, O_NOISE}, {"seed", required_argument, 0, O_SEED},
		{"spont-cache", required_argument, 0, O_CACHE}, {"device", required_argument, 0, O_DEVICE},
		{"precision", required_argument, 0, O_PRECISION},
		{"time-tsv", required_argument, 0, O_TIME_TSV}, {"batches", required_argument, 0, O_BATCHES},
		{"noise-mode", required_argument, 0, O_NOISE_MODE}, {"blank", required_argument, 0, O_BLANK},
		{"protocol", required_argument, 0, O_PROTOCOL}, {"contrast", required_argument, 0, O_CONTRAST},
		{"lesion", required_argument, 0, O_LESION}, {"no-recurrence", no_argument, 0, O_NO_RECURRENCE},
		{"rt", required_argument, 0, O_RT},
		CLI_COMMON_OPTS, {0, 0, 0, 0}};
	*o = (options){.device = "cpu", .alpha = -1, .slope = -1e30, .spont = -1, .stim = -1, .blank = -1,
		      .contrast = 1, .batches = 0x7fffffffffffffffLL};
	int c;
	while ((c = getopt_long(argc, argv, "m:hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		switch (c) {
		case 'm': o->model = optarg; break;
		case O_SPONT: o->spont = cli_int(optarg, "--spont", 0, 1000000); break;
		case O_STIM: o->stim = cli_int(optarg, "--stim", 0, 1000000); break;
		case O_ALPHA: o->alpha = cli_double(optarg, "--alpha", 0, 1); break;
		case O_PHI: o->phi = optarg; break;
		case O_SLOPE: o->slope = cli_double(optarg, "--slope", -1e6, 1e6); break;
		case O_EVERY: o->every = cli_int(optarg, "--every", 1, 1000000); break;
		case O_RECORD: o->record = optarg; break;
		case O_NOISE: o->noise = cli_double(optarg, "--noise", 0, 1e6); break;
		case O_SEED: o->seed = cli_int(optarg, "--seed", 0, 0x7fffffffffffffffLL); break;
		case O_CACHE: o->cache = optarg; break;
		case O_DEVICE: o->device = optarg; break;
		case O_PRECISION: o->precision = optarg; break;
		case O_TIME_TSV: o->time_tsv = optarg; break;
		case O_BATCHES: o->batches = cli_int(optarg, "--batches", 1, 0x7fffffffffffffffLL); break;
		default: parse_experiment(c, o); break;
		}
	}
	if (!o->model)
		cli_usage("a model is required (-m MODEL)");
	if (optind < argc - 1)
		cli_usage("one input at most");
	if (o->time_tsv && !strcmp(o->time_tsv, "-") && (!cli_output || !strcmp(cli_output, "-")))
		cli_usage("--time-tsv -: standard output already carries the stream (use -o FILE)");
	if (o->protocol && (o->spont >= 0 || o->stim >= 0 || o->blank >= 0))
		cli_usage("--protocol gives every step: not with --spont, --stim or --blank");
	cli_precision(o->precision, o->device, 1);
	return optind < argc ? argv[optind] : "-";
}

/* "all" or a comma-separated list of area indices into a bit mask. */
static unsigned parse_record(const char *s, int depth)
{
	if (!strcmp(s, "all"))
		return (1u << depth) - 1;
	unsigned mask = 0;
	char *end;
	while (*s) {
		long i = strtol(s, &end, 10);
		if (end == s || i < 0 || i >= depth)
			cli_usage("--record: '%s' is not a list of areas 0..%d (or all)", s, depth - 1);
		mask |= 1u << i;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			cli_usage("--record: expected numbers separated by commas");
	}
	return mask;
}

/* --protocol: "kind:N" segments, spont only first (it is the phase every
 * image shares). */
static void parse_protocol(const char *s, cords_infer_opts *io)
{
	io->dyn.spont_steps = 0;
	io->nseg = 0;
	for (const char *p = s; *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : 0;
		char *end;
		long n = colon ? strtol(colon + 1, &end, 10) : -1;
		if (!colon || end == colon + 1 || (*end && *end != ',') || n < 0 || n > 1000000)
			cli_usage("--protocol: '%s' is not KIND:STEPS[,KIND:STEPS]...", s);
		int spont = len == 5 && !strncmp(p, "spont", 5), stim = len == 4 && !strncmp(p, "stim", 4);
		int blank = len == 5 && !strncmp(p, "blank", 5);
		if (spont && (p != s))
			cli_usage("--protocol: spont comes first, if at all (later steps without the image are blank)");
		if (!spont && !stim && !blank)
			cli_usage("--protocol: '%.*s' is not spont, stim or blank", (int)len, p);
		if (spont)
			io->dyn.spont_steps = (int)n;
		else if (io->nseg == CORDS_MAX_SEGMENTS)
			cli_usage("--protocol: at most %d segments", CORDS_MAX_SEGMENTS);
		else
			io->seg[io->nseg++] = (cords_segment){stim, (int)n};
		p = *end ? end + 1 : end;
	}
}

/* Noise, the protocol's segments and reaction times. */
static void experiment(const options *o, cords_infer_opts *io)
{
	if (o->protocol)
		parse_protocol(o->protocol, io);
	else if (o->blank > 0) {
		io->seg[0] = (cords_segment){1, io->dyn.stim_steps};
		io->seg[1] = (cords_segment){0, (int)o->blank};
		io->nseg = 2;
	}
	io->dyn.stim_steps = cords_infer_steps(io); /* the output's stim_steps: every step after spont */
	io->noise = (cords_noise){.sigma = o->noise, .mode = CORDS_NOISE_IMAGE, .seed = (uint64_t)o->seed};
	if (o->noise_mode && cords_noise_mode_parse(o->noise_mode, &io->noise.mode))
		cli_usage("--noise-mode: %s", cords_errmsg());
	io->rt = o->rt;
}

/* --lesion I or I:C0-C1 (channels C0..C1, inclusive), then --no-recurrence. */
static void perturb(const options *o, cords_model *m)
{
	for (int k = 0; k < o->nlesion; k++) {
		const char *s = o->lesion[k];
		char *end;
		long i = strtol(s, &end, 10), c0 = 0, c1 = -1;
		if (end == s || (*end && *end != ':'))
			cli_usage("--lesion: '%s' is not I or I:C0-C1", s);
		if (*end == ':') {
			const char *p = end + 1;
			c0 = strtol(p, &end, 10);
			if (end == p || *end != '-')
				cli_usage("--lesion: '%s' is not I or I:C0-C1", s);
			p = end + 1;
			c1 = strtol(p, &end, 10);
			if (end == p || *end)
				cli_usage("--lesion: '%s' is not I or I:C0-C1", s);
		}
		if (i >= 0 && i < m->arch.depth && c1 < 0)
			c1 = m->arch.c[i] - 1;
		if (c0 < 0 || c1 < c0 || c1 > 1000000 || i > 1000000 || cords_model_lesion(m, (int)i, (int)c0, (int)c1 + 1))
			cli_usage("--lesion %s: %s", s, c1 < c0 ? "empty channel range" : cords_errmsg());
	}
	if (o->no_recurrence && cords_model_no_recurrence(m))
		cli_die_lib();
}

static cords_infer_opts protocol(const options *o, const cords_model *m)
{
	cords_infer_opts io = {.dyn = m->dyn, .every = (int)o->every, .readouts = o->every > 0, .spont_cache = o->cache};
	if (o->spont >= 0)
		io.dyn.spont_steps = (int)o->spont;
	if (o->stim >= 0)
		io.dyn.stim_steps = (int)o->stim;
	if (o->alpha >= 0)
		io.dyn.alpha = (float)o->alpha;
	float slope = o->slope > -1e30 ? (float)o->slope : io.dyn.phi.slope;
	if (o->phi && cords_phi_parse(o->phi, slope, &io.dyn.phi))
		cli_die_lib();
	if (io.dyn.phi.kind == CORDS_PHI_PRELU)
		io.dyn.phi.slope = slope;
	if (o->record)
		io.record = parse_record(o->record, m->arch.depth);
	if ((o->record || o->time_tsv) && !io.every)
		io.every = 1;
	experiment(o, &io);
	return io;
}

/* The state of the run across batches. */
typedef struct {
	const options *o;
	cords_model *m;
	cords_infer_opts io;
	cords_infer *inf;
	cords_batches *in;
	cords_writer *w;
	cords_infer_time *time; /* --time-tsv, or NULL */
	FILE *time_f;
	float *logits;
	int64_t *labels;        /* the batch's labels [B] */
	long long batches, images, labelled, correct;
	double t0;
	int labelled_batch;              /* the batch has labels (--rt) */
	struct bn_cnn *cnn;              /* a BatchNorm CNN instead of the RNN, or NULL */
	long long rt_crossed, rt_correct; /* --rt: images that reached it, and chose right then */
	double rt_sum;
} run;

/* Refuses a stream that is not batches (or has none), saying which tool
 * makes them; the format names the stream's maker (cords-stream(5)). */
static void need_batches(run *r, int none)
{
	const char *name = cords_batches_name(r->in);
	char *f = cords_batches_meta(r->in, CORDS_KEY_FORMAT);
	if (f && !strcmp(f, "cords-samples"))
		cli_die("%s: a sample stream (cords-unpack's), not batches: run cords-prep on it first", name);
	if (f && !strcmp(f, "cords-model"))
		cli_die("%s: a model, not data: give it with -m, and batches from cords-prep as input", name);
	if (none)
		cli_die("%s: no batches (x records)%s%s%s: make them with cords-unpack | cords-prep", name,
			f ? " in this " : "", f ? f : "", f ? " stream" : "");
	free(f);
}

/* Before the first batch: the output's metadata and the spontaneous phase. */
static void start(run *r)
{
	need_batches(r, 0);
	cords_tensor *meta = cords_meta_copy(cords_batches_meta_record(r->in));
	const cords_dynamics *d = &r->io.dyn;
	if (!meta || cords_meta_setf(meta, CORDS_KEY_ALPHA, "%g", d->alpha) ||
	    cords_meta_setf(meta, CORDS_KEY_PHI, "%s", cords_phi_name(d->phi.kind)) ||
	    cords_meta_setf(meta, CORDS_KEY_PRELU_SLOPE, "%g", d->phi.slope) ||
	    cords_meta_setf(meta, CORDS_KEY_SPONT_STEPS, "%d", d->spont_steps) ||
	    cords_meta_setf(meta, CORDS_KEY_STIM_STEPS, "%d", d->stim_steps) ||
	    cords_meta_setf(meta, CORDS_KEY_EVERY, "%d", r->io.readouts || r->io.record ? r->io.every : 0) ||
	    cords_write_tensor(r->w, meta))
		cli_die_lib();
	cords_tensor_free(meta);
	if (!r->cnn && !(r->inf = cords_infer_new(r->m, &r->io)))
		cli_die_lib();
	if (cli_verbose && r->inf)
		cli_info("spontaneous state %s", cords_infer_spont_cached(r->inf) ? "read from the cache" : "computed");
	r->t0 = cli_now();
}

static int put(cords_writer *w, const char *name, cords_dtype t, int ndim, const int64_t *shape, const void *p,
	       size_t n)
{
	return cords_write_begin(w, name, t, ndim, shape) || cords_write_data(w, p, n) || cords_write_end(w);
}

static void score(run *r, int64_t B)
{
	int64_t N = r->m->arch.classes;
	for (int64_t b = 0; b < B; b++)
		r->correct += cords_argmax(r->logits + b * N, N) == r->labels[b];
	r->labelled += B;
}

/* A BatchNorm CNN (stage 1, cords-cnn's model) as the feed-forward net it
 * is, in eval mode: one pass, or with frame noise one pass per stimulus step
 * (the frames the RNN would see at steps spont+1 .. spont+stim) and the
 * logits averaged. */
typedef struct bn_cnn {
	cords_tensor_list params;
	cords_params *ps;
	cords_cnn *net;
	float *x, *lg; /* a noisy frame, one pass's logits */
} bn_cnn;

/* The model file: a BatchNorm CNN gives r->cnn and a model shell (its
 * architecture, metadata and protocol, no parameters) for the rest of the
 * tool; else the RNN. */
static cords_model *load_model(run *r, const options *o, cords_backend *be)
{
	cords_tensor_list l = {0};
	if (cords_read_file(o->model, &l))
		cli_die_lib();
	const cords_tensor *meta = cords_list_find(&l, "meta");
	if (meta && meta->dtype != CORDS_TEXT)
		meta = NULL;
	if (!cords_list_find(&l, "bn_inp.running_var")) {
		cords_model *m = cords_model_new(&l, meta, be);
		cords_list_free(&l);
		if (!m)
			cli_die("%s: %s", o->model, cords_errmsg());
		return m;
	}
	cords_noise_mode nm;
	if (o->every || o->record || o->time_tsv || o->rt > 0 || o->nlesion || o->no_recurrence || o->protocol ||
	    o->blank > 0 || o->cache || (o->noise_mode && !cords_noise_mode_parse(o->noise_mode, &nm) && nm == CORDS_NOISE_STATE))
		cli_usage("%s is a BatchNorm CNN: it has no time steps, states, lesions or recurrence (only "
			  "--noise with image or frame, --contrast, --stim, --batches)", o->model);
	cords_model *m = calloc(1, sizeof *m);
	bn_cnn *c = calloc(1, sizeof *c);
	if (!m || !c)
		cli_die("out of memory");
	m->be = be;
	c->params = l;
	if (!meta || cords_arch_from_meta(meta, &m->arch) || !(m->meta = cords_meta_copy(meta)) ||
	    cords_dynamics_from_meta(m->meta, &m->dyn) || !(c->net = cords_cnn_new(&m->arch, be, 0, 1)) ||
	    !(c->ps = cords_params_new(be, &c->params, NULL)) || cords_cnn_set_params(c->net, c->ps))
		cli_die("%s: %s", o->model, meta ? cords_errmsg() : "a BatchNorm CNN without its metadata");
	r->cnn = c;
	return m;
}

static void cnn_free(bn_cnn *c)
{
	if (!c)
		return;
	cords_cnn_free(c->net);
	cords_params_free(c->ps);
	cords_list_free(&c->params);
	free(c->x);
	free(c->lg);
	free(c);
}

static int cnn_batch(run *r, const float *x, int64_t B, float *logits)
{
	bn_cnn *c = r->cnn;
	const cords_arch *a = &r->m->arch;
	const cords_noise *nz = &r->io.noise;
	int64_t per = (int64_t)a->in_ch * a->height * a->width, N = a->classes;
	int frames = nz->mode == CORDS_NOISE_FRAME ? r->io.dyn.stim_steps : 1;
	float *cx = realloc(c->x, (size_t)(B * per) * sizeof *cx), *cl = realloc(c->lg, (size_t)(B * N) * sizeof *cl);
	if (!cx || !cl)
		return cords_err("out of memory");
	c->x = cx, c->lg = cl;
	memset(logits, 0, (size_t)(B * N) * sizeof *logits);
	cords_labels none = {0};
	for (int f = 0; f < frames; f++) {
		memcpy(cx, x, (size_t)(B * per) * sizeof *cx);
		/* the keys of the RNN's draws (lib/model/infer.c): the same noise */
		int64_t step = nz->mode == CORDS_NOISE_FRAME ? r->io.dyn.spont_steps + 1 + f : 0;
		for (int64_t b = 0; b < B && (nz->sigma > 0 || nz->mode == CORDS_NOISE_FRAME); b++)
			cords_noise_add(nz->seed, nz->mode, r->images + b, step, nz->sigma, cx + b * per, per);
		if (isnan(cords_cnn_step(c->net, c->ps, 0, (int)B, cx, none, 0, frames > 1 ? cl : logits)))
			return -1;
		for (int64_t i = 0; i < B * N && frames > 1; i++)
			logits[i] += cl[i] / (float)frames;
	}
	return 0;
}

/* --rt: the batch's records, and the sums for the summary (labels in r->labels). */
static int write_rt(run *r, int64_t B)
{
	if (!(r->o->rt > 0))
		return 0;
	const int64_t *rt, *cls;
	cords_infer_rt(r->inf, &rt, &cls);
	for (int64_t b = 0; b < B; b++) {
		r->rt_crossed += rt[b] >= 0;
		r->rt_sum += rt[b] >= 0 ? (double)rt[b] : 0;
		r->rt_correct += r->labelled_batch && cls[b] == r->labels[b];
	}
	int64_t shape[1] = {B};
	return put(r->w, "rt", CORDS_I64, 1, shape, rt, (size_t)B * sizeof *rt) ||
	       put(r->w, "rt_class", CORDS_I64, 1, shape, cls, (size_t)B * sizeof *cls);
}

/* The logits of a batch, and its labels (the argmax of soft ones) passed on. */
static void batch(run *r, cords_batch *b)
{
	int64_t B = b->B, n = B * b->C * b->H * b->W, N = r->m->arch.classes;
	int y = b->hard || b->soft;
	if (!r->batches)
		start(r);
	float *lg = realloc(r->logits, (size_t)(B * N) * sizeof *lg);
	int64_t *lb = realloc(r->labels, (size_t)B * sizeof *lb);
	if (!lg || !lb)
		cli_die("out of memory");
	r->logits = lg;
	r->labels = lb;
	for (int64_t i = 0; i < B && y; i++)
		lb[i] = b->hard ? b->hard[i] : cords_argmax(b->soft + i * N, N);
	if (r->time)
		cords_infer_time_labels(r->time, y ? lb : NULL);
	r->labelled_batch = y;
	for (int64_t i = 0; i < n && r->o->contrast != 1; i++)
		b->x[i] *= (float)r->o->contrast; /* toward 0, the normalised mean */
	int64_t shape[2] = {B, N};
	if ((r->cnn ? cnn_batch(r, b->x, B, lg) : cords_infer_batch(r->inf, b->x, (int)B, r->images, lg)) ||
	    (b->names && cords_write_tensor(r->w, b->names)) ||
	    put(r->w, "logits", CORDS_F32, 2, shape, lg, (size_t)(B * N) * sizeof *lg) ||
	    (b->hard && put(r->w, "y", CORDS_I64, 1, shape, b->hard, (size_t)B * sizeof *b->hard)) ||
	    (b->soft && put(r->w, "y", CORDS_F32, 2, shape, b->soft, (size_t)(B * N) * sizeof *b->soft)) ||
	    write_rt(r, B) || (r->inf && cords_infer_write_series(r->inf, r->w)))
		cli_die_lib();
	if (y)
		score(r, B);
	r->batches++;
	r->images += B;
	cli_progress("%lld batches, %lld images, %.1f images/s", r->batches, r->images,
		     (double)r->images / (cli_now() - r->t0 + 1e-9));
}

int main(int argc, char **argv)
{
	options o;
	cli_init("cords-infer", help);
	const char *in = parse(argc, argv, &o);
	cords_backend *be = cli_backend(o.device, o.precision);
	if (!be)
		cli_die_lib();
	run r = {.o = &o};
	r.m = load_model(&r, &o, be);
	perturb(&o, r.m);
	r.io = protocol(&o, r.m);
	if (o.time_tsv) {
		r.time_f = strcmp(o.time_tsv, "-") ? cli_open_out(o.time_tsv) : stdout;
		if (!(r.time = cords_infer_time_new(r.io.dyn.spont_steps, cords_infer_steps(&r.io), r.io.every, r.m->arch.depth,
						    r.m->arch.classes)))
			cli_die_lib();
		r.io.observe = cords_infer_time_observe;
		r.io.observe_ctx = r.time;
	}
	if (!(r.in = cords_infer_batches(r.m, in)))
		cli_die_lib();
	FILE *fo = cli_open_out(cli_output);
	if (!(r.w = cords_writer_new(fo, cli_out_name(cli_output), cli_env()->zstd_level)))
		cli_die_lib();
	cords_batch b = {0};
	int rc = 0;
	while (r.batches < o.batches && (rc = cords_batches_next(r.in, &b)) > 0)
		batch(&r, &b);
	cords_batch_free(&b);
	if (rc < 0)
		cli_die_lib();
	if (!r.batches)
		need_batches(&r, 1);
	if (cords_writer_close(r.w))
		cli_die_lib();
	cli_close_out(fo);
	if (r.time && cords_infer_time_write(r.time, r.time_f))
		cli_die("%s: %s", o.time_tsv, cords_errmsg());
	if (r.time)
		cli_close_out(r.time_f);
	cli_progress_end();
	cords_batches_close(r.in);
	if (r.labelled)
		cli_info("accuracy %.4f (%lld/%lld)", (double)r.correct / (double)r.labelled, r.correct, r.labelled);
	if (o.rt > 0 && r.images)
		cli_info("rt %g: accuracy %.4f (%lld/%lld), mean rt %.2f steps (%lld reached it)", o.rt,
			 r.labelled ? (double)r.rt_correct / (double)r.labelled : 0.0, r.rt_correct, r.labelled,
			 r.rt_crossed ? r.rt_sum / (double)r.rt_crossed : -1.0, r.rt_crossed);
	else if (cli_verbose)
		cli_info("%lld images in %lld batches", r.images, r.batches);
	cords_infer_free(r.inf);
	cords_model_free(r.m);
	cnn_free(r.cnn);
	free(r.logits);
	free(r.labels);
	cords_infer_time_free(r.time);
	return 0;
}
