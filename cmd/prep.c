/* cords-prep: sample streams -> training or test batches: decode, the
 * dataset's transforms (cords-data(7)), normalise, shuffle, batch, MixUp/CutMix,
 * N epochs. Deterministic: every sample's random draws come from a generator
 * keyed by (seed, epoch, position) and every batch's from (seed, epoch, batch),
 * so the bytes do not depend on the number of worker threads. */
#include "cli.h"
#include "decode.h"
#include "meta.h"
#include "mix.h"
#include "names.h"
#include "recipe.h"
#include "samplein.h"
#include "stream.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-prep [OPTION]... [IN]...\n"
	"Turn sample streams (from cords-unpack; default stdin) into batches: x f32 [B,C,S,S], y.\n"
	"\n"
	"  -d, --dataset NAME       mnist, fashion-mnist, cifar10, cifar100, imagenet, folder, files\n"
	"                           (default: from the input's metadata)\n"
	"  -s, --split SPLIT        train or test: which transforms (default: from the metadata;\n"
	"                           without a split there, test for files, else train)\n"
	"  -S, --size S             output size (default: native, 224 for imagenet/folder/files)\n"
	"  -b, --batch B            batch size (default 256; the last batch of an epoch may be smaller)\n"
	"  -e, --epochs N           write N epochs, each reshuffled and re-augmented (default 1)\n"
	"  -r, --seed K             random seed (default 0): same seed, same bytes\n"
	"  -j, --workers N          threads that decode, transform and compress (default:\n"
	"                           OMP_NUM_THREADS or the cores)\n"
	"      --shuffle-buffer N   samples in the shuffle buffer (train default 65536, 8192 for\n"
	"                           imagenet/folder/files; test 0: in order)\n"
	"      --interleave N       input files read at once when shuffling (default 8)\n"
	"      --augment LIST       train split: only these augmentations, a comma list of flip,\n"
	"                           affine, jitter, elastic, randaugment, or 'none' (default: the\n"
	"                           dataset's recipe, cords-data(7))\n"
	"      --no-mix             no MixUp/CutMix (y stays i64 class indices)\n"
	"      --u8                 x u8 [B,C,S,S] before normalisation (norm_mean/norm_std in the\n"
	"                           metadata; 4x smaller; not with MixUp/CutMix)\n"
	"      --skip-bad           skip samples that fail to decode or have a bad label, counting them\n"
	"  -o, --output FILE        write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet              no messages but errors\n"
	"  -v, --verbose            a summary at the end\n"
	"  -h, --help               this help\n"
	"  -V, --version            version\n"
	"\n"
	"See cords-prep(1).\n";

enum { TAG_ORDER = 0x4f52, TAG_AUG = 0x4147, TAG_MIX = 0x4d58 };

typedef struct {
	const char *dataset, *split_name;
	const char *in_name; /* the first input, for messages */
	int augment; /* --augment: the recipe's random operations replaced by these; -1: the recipe's */
	int split, size, batch, epochs, workers, no_mix, skip_bad, interleave, u8;
	long long buffer;
	uint64_t seed;
	/* set up from the first sample */
	cords_recipe rc;
	int classes, mix, ready;
	size_t img; /* values per sample */
	size_t es;  /* bytes per value: 4 (f32) or 1 (u8) */
	FILE *f;
	cords_writer *w;
	/* the batch being assembled */
	uint8_t *xb; /* f32 or u8 values */
	float *tmp, *soft;
	int64_t *yb;
	cords_bytebuf names; /* the batch's source names */
	int nb;
	long long batch_in_epoch, written, skipped;
} prep_t;

static char *meta_or(const cords_tensor *m, const char *key, const char *dflt)
{
	char *v = m ? cords_meta_get(m, key) : NULL;
	return v ? v : dflt ? strdup(dflt) : NULL;
}

static void write_meta(prep_t *p, const cords_tensor *in, const cords_dataset *d)
{
	cords_tensor *m = cords_meta_copy(in);
	char ops[256];
	if (!m)
		cli_die_lib();
	cords_recipe_describe(&p->rc, ops, sizeof ops);
	if (cords_meta_set(m, CORDS_KEY_FORMAT, "cords-batches") || cords_meta_set(m, CORDS_KEY_DATASET, d->name) ||
	    cords_meta_set(m, CORDS_KEY_SPLIT, cords_split_name(p->split)) ||
	    cords_meta_setf(m, CORDS_KEY_CLASSES, "%d", p->classes) ||
	    cords_meta_setf(m, CORDS_KEY_CHANNELS, "%d", p->rc.channels) ||
	    cords_meta_setf(m, CORDS_KEY_HEIGHT, "%d", p->rc.size) || cords_meta_setf(m, CORDS_KEY_WIDTH, "%d", p->rc.size) ||
	    cords_meta_setf(m, CORDS_KEY_BATCH, "%lld", (long long)p->batch) ||
	    cords_meta_setf(m, CORDS_KEY_EPOCHS, "%lld", (long long)p->epochs) ||
	    cords_meta_setf(m, CORDS_KEY_SEED, "%lld", (long long)p->seed) || cords_meta_set(m, CORDS_KEY_TRANSFORMS, ops) ||
	    cords_meta_set(m, CORDS_KEY_MIX, p->mix ? "mixup|cutmix" : "none") ||
	    cords_meta_set(m, CORDS_KEY_NORMALIZED, p->u8 ? "no" : "yes") || cords_dataset_set_norm(d, m) ||
	    cords_write_tensor(p->w, m))
		cli_die_lib();
	cords_tensor_free(m);
}

/* --augment LIST as recipe operations. */
static int augment_parse(const char *list)
{
	static const struct { const char *name; int op; } ops[] = {{"flip", CORDS_OP_FLIP},
		{"affine", CORDS_OP_AFFINE}, {"jitter", CORDS_OP_JITTER}, {"elastic", CORDS_OP_ELASTIC},
		{"randaugment", CORDS_OP_RANDAUG}};
	int want = 0;
	if (strcmp(list, "none")) {
		for (const char *s = list; *s;) {
			size_t n = strcspn(s, ",");
			size_t i = 0;
			while (i < sizeof ops / sizeof *ops && (strlen(ops[i].name) != n || strncmp(ops[i].name, s, n)))
				i++;
			if (i == sizeof ops / sizeof *ops)
				cli_usage("--augment: unknown augmentation '%.*s'", (int)n, s);
			want |= ops[i].op;
			s += n + (s[n] == ',');
		}
	}
	return want;
}

/* Everything that depends on the data: dataset, split, classes, recipe, meta. */
static void setup(prep_t *p, const cords_tensor *in)
{
	char *ds = meta_or(in, CORDS_KEY_DATASET, p->dataset);
	char *cl = meta_or(in, CORDS_KEY_CLASSES, NULL);
	if (p->dataset)
		free(ds), ds = strdup(p->dataset);
	const cords_dataset *d = ds ? cords_dataset_find(ds) : NULL;
	if (!d)
		cli_die("%s: %s; use --dataset", p->in_name, ds ? "unknown dataset" : "no metadata says which dataset");
	/* one's own images (files) are looked at, not trained on, unless asked */
	char *sp = meta_or(in, CORDS_KEY_SPLIT, strcmp(d->name, "files") ? "train" : "test");
	if (p->split < 0 && (p->split = cords_split_parse(sp)) < 0)
		cli_die("%s: metadata: split '%s' is neither train nor test", p->in_name, sp);
	p->classes = cl ? (int)strtol(cl, NULL, 10) : d->classes;
	if (cords_recipe_init(&p->rc, d, p->split, p->size))
		cli_die_lib();
	if (p->augment >= 0) /* the recipe's geometry (resize, crops) stays */
		p->rc.ops = (p->rc.ops & (CORDS_OP_RESIZE | CORDS_OP_CENTER | CORDS_OP_RRC)) | p->augment;
	p->mix = p->rc.mix && !p->no_mix;
	if (p->mix && p->u8)
		cli_die("--u8 cannot hold MixUp/CutMix blends; add --no-mix");
	p->es = p->u8 ? 1 : sizeof(float);
	if (p->buffer < 0) /* shuffle the training split by default; JPEGs (~110 kB) in a smaller buffer */
		p->buffer = p->split == CORDS_TEST ? 0 : d->size ? 65536 : 8192;
	if (p->mix && p->classes < 1)
		cli_die("MixUp/CutMix need the number of classes (no 'classes' in the metadata); use --no-mix");
	p->img = (size_t)p->rc.channels * (size_t)p->rc.size * (size_t)p->rc.size;
	p->xb = malloc(p->es * p->img * (size_t)p->batch);
	p->tmp = p->mix ? malloc(sizeof *p->tmp * p->img * (size_t)p->batch) : NULL;
	p->soft = p->mix ? malloc(sizeof *p->soft * (size_t)p->classes * (size_t)p->batch) : NULL;
	p->yb = malloc(sizeof *p->yb * (size_t)p->batch);
	if (!p->xb || !p->yb || (p->mix && (!p->tmp || !p->soft)))
		cli_die("out of memory");
	write_meta(p, in, d);
	p->ready = 1;
	free(ds), free(sp), free(cl);
}

static void flush_batch(prep_t *p, int epoch)
{
	if (!p->nb)
		return;
	int S = p->rc.size, C = p->rc.channels;
	cords_tensor x = {.name = "x", .dtype = p->u8 ? CORDS_U8 : CORDS_F32, .ndim = 4, .shape = {p->nb, C, S, S},
			  .data = p->xb};
	cords_tensor y = {.name = "y", .dtype = CORDS_I64, .ndim = 1, .shape = {p->nb}, .data = p->yb};
	x.nbytes = p->es * p->img * (size_t)p->nb;
	y.nbytes = sizeof *p->yb * (size_t)p->nb;
	if (p->mix) {
		cords_rng r;
		cords_mix m;
		cords_rng_split(&r, p->seed ^ TAG_MIX, (uint64_t)epoch << 40 | (uint64_t)p->batch_in_epoch);
		cords_mix_draw(&r, S, S, &m);
		cords_mix_apply(&m, (float *)p->xb, p->tmp, p->nb, C, S, S, p->yb, p->classes, p->soft);
		y.dtype = CORDS_F32, y.ndim = 2, y.shape[1] = p->classes, y.data = p->soft;
		y.nbytes = sizeof *p->soft * (size_t)p->classes * (size_t)p->nb;
	}
	/* unlabelled images (classes 0, labels -1) get no y: nothing to score */
	if (cords_names_write(p->w, &p->names) || cords_write_tensor(p->w, &x) ||
	    (p->classes > 0 && cords_write_tensor(p->w, &y)))
		cli_die_lib();
	p->written += p->nb;
	p->batch_in_epoch++;
	p->nb = 0;
}

static void bad(prep_t *p, const cords_item *it, const char *msg)
{
	if (!p->skip_bad)
		cli_die("%s: sample %lld: %s", it->file, (long long)it->index, msg);
	cli_warn("skipped: %s: sample %lld: %s", it->file, (long long)it->index, msg);
	p->skipped++;
}

/* Decode and transform n items in parallel into out (n x img values of es
 * bytes); err[k] is NULL or the message of item k. */
static void transform(prep_t *p, const cords_item *items, int n, uint8_t *out, char **err, int epoch, long long pos)
{
	int S = p->rc.size;
#pragma omp parallel for schedule(dynamic, 1)
	for (int k = 0; k < n; k++) {
		cords_image im = {0};
		cords_rng r;
		cords_rng_split(&r, p->seed ^ TAG_AUG, (uint64_t)epoch << 40 | (uint64_t)(pos + k));
		int min = p->rc.ops & CORDS_OP_RRC ? 0 : p->rc.ops & CORDS_OP_CENTER ? p->rc.resize : S;
		err[k] = NULL;
		uint8_t *o = out + p->es * p->img * (size_t)k;
		if (cords_item_decode(&items[k], &im, min, min) ||
		    (p->u8 ? cords_recipe_image(&p->rc, &im, &r) : cords_recipe_apply(&p->rc, &im, &r, (float *)o)))
			err[k] = strdup(cords_errmsg());
		else if (p->u8)
			memcpy(o, im.p, p->img);
		cords_image_free(&im);
	}
}

static void epoch_run(prep_t *p, char **files, int nfiles, int epoch)
{
	cords_samplein *in = cords_samplein_open(files, nfiles);
	if (in && !p->ready)
		setup(p, cords_samplein_meta(in));
	/* Enough samples per parallel region to keep the threads busy, ~16 MB of output. */
	int chunk = 8 * omp_get_max_threads();
	if (p->ready && (size_t)chunk * p->img < ((size_t)4 << 20))
		chunk = (int)(((size_t)4 << 20) / p->img);
	chunk = chunk < 32 ? 32 : chunk > 4096 ? 4096 : chunk;
	cords_item *items = malloc(sizeof *items * (size_t)chunk);
	char **err = malloc(sizeof *err * (size_t)chunk);
	uint8_t *out = NULL;
	cords_rng order;
	cords_rng_split(&order, p->seed ^ TAG_ORDER, (uint64_t)epoch);
	if (!in || !items || !err)
		cli_die_lib();
	if (cords_samplein_start(in, p->buffer > 0, p->interleave, p->buffer, &order))
		cli_die_lib();
	long long pos = 0;
	double t0 = cli_now();
	for (int n = 1; n;) {
		int rc = 0;
		for (n = 0; n < chunk && (rc = cords_samplein_next(in, &items[n])) > 0; n++)
			;
		if (rc < 0)
			cli_die_lib();
		if (n && !out && !(out = malloc(p->es * p->img * (size_t)chunk)))
			cli_die("out of memory");
		transform(p, items, n, out, err, epoch, pos);
		for (int k = 0; k < n; k++) {
			if (err[k] || (p->classes > 0 && (items[k].label < 0 || items[k].label >= p->classes))) {
				char msg[64];
				snprintf(msg, sizeof msg, "label %lld outside 0..%d", (long long)items[k].label, p->classes - 1);
				bad(p, &items[k], err[k] ? err[k] : msg);
			} else {
				memcpy(p->xb + p->es * p->img * (size_t)p->nb, out + p->es * p->img * (size_t)k, p->es * p->img);
				p->yb[p->nb++] = items[k].label;
				if (items[k].name) {
					cords_names_add(&p->names, items[k].name);
				} else { /* a stream without names: where the sample was */
					char at[4096];
					snprintf(at, sizeof at, "%s:%lld", items[k].file, (long long)items[k].index);
					cords_names_add(&p->names, at);
				}
				if (p->nb == p->batch)
					flush_batch(p, epoch);
			}
			free(err[k]);
			cords_item_free(&items[k]);
		}
		pos += n;
		cli_progress("epoch %d/%d: %lld samples, %.0f/s", epoch + 1, p->epochs, pos, pos / (cli_now() - t0 + 1e-9));
	}
	flush_batch(p, epoch);
	cords_samplein_close(in);
	free(items), free(err), free(out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dataset", required_argument, 0, 'd'}, {"split", required_argument, 0, 's'},
		{"size", required_argument, 0, 'S'}, {"batch", required_argument, 0, 'b'},
		{"epochs", required_argument, 0, 'e'}, {"seed", required_argument, 0, 'r'},
		{"workers", required_argument, 0, 'j'}, {"shuffle-buffer", required_argument, 0, 'B'},
		{"interleave", required_argument, 0, 'I'}, {"no-mix", no_argument, 0, 'M'},
		{"augment", required_argument, 0, 'A'},
		{"skip-bad", no_argument, 0, 'K'}, {"u8", no_argument, 0, 'U'}, CLI_COMMON_OPTS, {0, 0, 0, 0}};
	prep_t p = {.augment = -1, .split = -1, .batch = 256, .epochs = 1, .buffer = -1, .interleave = 8};
	int c;
	cli_init("cords-prep", help);
	while ((c = getopt_long(argc, argv, "d:s:S:b:e:r:j:hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		switch (c) {
		case 'd':
			if (!cords_dataset_find(optarg))
				cli_usage("--dataset: unknown dataset '%s'", optarg);
			p.dataset = optarg;
			break;
		case 's':
			if ((p.split = cords_split_parse(optarg)) < 0)
				cli_usage("--split: '%s' is neither train nor test", optarg);
			break;
		case 'S': p.size = (int)cli_int(optarg, "--size", 1, 4096); break;
		case 'b': p.batch = (int)cli_int(optarg, "--batch", 1, 1 << 16); break;
		case 'e': p.epochs = (int)cli_int(optarg, "--epochs", 1, 1 << 20); break;
		case 'r': p.seed = (uint64_t)cli_int(optarg, "--seed", 0, INT64_MAX); break;
		case 'j': omp_set_num_threads((int)cli_int(optarg, "--workers", 1, 1024)); break;
		case 'B': p.buffer = cli_int(optarg, "--shuffle-buffer", 0, 1LL << 32); break;
		case 'I': p.interleave = (int)cli_int(optarg, "--interleave", 1, 1024); break;
		case 'M': p.no_mix = 1; break;
		case 'A': p.augment = augment_parse(optarg); break;
		case 'K': p.skip_bad = 1; break;
		case 'U': p.u8 = 1; break;
		}
	}
	char *stdin_only[] = {"-"};
	char **files = optind < argc ? argv + optind : stdin_only;
	int nfiles = optind < argc ? argc - optind : 1;
	for (int i = 0; i < nfiles && p.epochs > 1; i++)
		if (!strcmp(files[i], "-"))
			cli_usage("--epochs %d needs files to read again, not stdin", p.epochs);
	p.in_name = strcmp(files[0], "-") ? files[0] : "<stdin>";
	p.f = cli_open_out(cli_output);
	/* compression (most of the time for f32 output) on as many threads as the
	 * transforms, between their parallel regions */
	if (!(p.w = cords_writer_new(p.f, cli_out_name(cli_output), cli_env()->zstd_level)) ||
	    cords_writer_threads(p.w, omp_get_max_threads()))
		cli_die_lib();
	for (int e = 0; e < p.epochs; e++)
		epoch_run(&p, files, nfiles, e);
	if (cords_writer_close(p.w))
		cli_die_lib();
	cli_close_out(p.f);
	cli_progress_end();
	if (cli_verbose || p.skipped)
		cli_info("%lld samples in %d epoch(s) written, %lld skipped", p.written, p.epochs, p.skipped);
	free(p.xb), free(p.tmp), free(p.soft), free(p.yb), free(p.names.p);
	return 0;
}
