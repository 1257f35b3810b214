/* cords-unpack: datasets as distributed -> a sample stream (meta, then
 * x u8 [B,C,H,W] / y i64 [B] batches, or one `jpeg` record + y [1] per
 * encoded image), optionally in shards. */
#include "cifar.h"
#include "cli.h"
#include "dataset.h"
#include "folder.h"
#include "imagenet.h"
#include "meta.h"
#include "mnist.h"
#include "names.h"
#include "sample.h"
#include "stream.h"
#include "tarfile.h"

#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <strings.h>

static const char help[] =
	"Usage: cords-unpack [OPTION]... SOURCE...\n"
	"Read a dataset as distributed (archives, directories, files) and write a sample stream.\n"
	"\n"
	"  -d, --dataset NAME     mnist, fashion-mnist, cifar10, cifar100, imagenet (train tar, or\n"
	"                         val tar + devkit tarball), folder (class/image.jpg\n"
	"                         tree), files (images, label -1; a directory's images in\n"
	"                         sorted order)\n"
	"                         (default: recognised from the file names)\n"
	"  -s, --split SPLIT      train or test (default: test for files, else train)\n"
	"  -b, --batch B          samples per record (default 256)\n"
	"      --shard-size N     start a new file OUT-00000.tzst, ... every N samples (needs -o OUT)\n"
	"      --allow-partial    accept a sample count other than the dataset's\n"
	"      --skip-bad         skip bad items (bad label, corrupt image), counting them\n"
	"      --coarse           CIFAR-100: the 20 superclass labels instead of the 100 classes\n"
	"  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet            no messages but errors\n"
	"  -v, --verbose          a summary at the end\n"
	"  -h, --help             this help\n"
	"  -V, --version          version\n"
	"\n"
	"See cords-unpack(1).\n";

typedef struct {
	cords_sink sink;
	const cords_dataset *ds;
	int split, batch;
	long long shard_size;
	char *class_names;
	int coarse, allow_partial;
	FILE *f;
	cords_writer *w;
	char *fname;
	int shard;
	long long in_shard;
	int c, h, wd, nb; /* the pending batch: nb samples of c x h x wd */
	uint8_t *xb;
	int64_t *yb;
	cords_bytebuf names; /* of the pending batch, or of one encoded image */
} out_t;

static void flush_batch(out_t *o)
{
	if (!o->nb)
		return;
	cords_tensor x = {.dtype = CORDS_U8, .ndim = 4, .shape = {o->nb, o->c, o->h, o->wd}};
	cords_tensor y = {.dtype = CORDS_I64, .ndim = 1, .shape = {o->nb}};
	strcpy(x.name, "x");
	strcpy(y.name, "y");
	x.data = o->xb, x.nbytes = (size_t)o->nb * (size_t)(o->c * o->h * o->wd);
	y.data = o->yb, y.nbytes = (size_t)o->nb * sizeof(int64_t);
	if (cords_names_write(o->w, &o->names) || cords_write_tensor(o->w, &x) || cords_write_tensor(o->w, &y))
		cli_die_lib();
	o->nb = 0;
}

static void close_file(out_t *o)
{
	if (!o->w)
		return;
	flush_batch(o);
	if (cords_writer_close(o->w))
		cli_die_lib();
	cli_close_out(o->f);
	o->w = NULL;
}

static void open_file(out_t *o)
{
	const char *path = cli_output;
	if (o->shard_size) {
		size_t n = strlen(cli_output) + 32;
		free(o->fname);
		o->fname = malloc(n);
		snprintf(o->fname, n, "%s-%05d.tzst", cli_output, o->shard);
		path = o->fname;
	}
	o->f = cli_open_out(path);
	if (!(o->w = cords_writer_new(o->f, cli_out_name(path), cli_env()->zstd_level)))
		cli_die_lib();
	/* the count when it is known before the data: from the reader, else the dataset's */
	long long total = o->sink.total >= 0 ? o->sink.total : o->allow_partial ? 0 : o->ds->count[o->split];
	cords_tensor *m = cords_dataset_meta(o->ds, o->split, o->sink.classes, o->class_names, total ? total : -1);
	if (!m ||
	    (o->ds->size && (cords_meta_setf(m, CORDS_KEY_HEIGHT, "%d", o->ds->size) ||
			     cords_meta_setf(m, CORDS_KEY_WIDTH, "%d", o->ds->size))) ||
	    (o->coarse && cords_meta_set(m, CORDS_KEY_LABELS, "coarse")) ||
	    (o->shard_size && cords_meta_setf(m, CORDS_KEY_SHARD, "%d", o->shard)) || cords_write_tensor(o->w, m))
		cli_die_lib();
	cords_tensor_free(m);
	o->shard++;
	o->in_shard = 0;
}

static void put_encoded(out_t *o, const cords_sample *s)
{
	int64_t n = (int64_t)s->enc_n, one = 1;
	flush_batch(o);
	cords_names_add(&o->names, s->id ? s->id : s->name ? s->name : "");
	if (cords_names_write(o->w, &o->names) || cords_write_begin(o->w, s->enc_kind, CORDS_U8, 1, &n) || cords_write_data(o->w, s->enc, s->enc_n) ||
	    cords_write_end(o->w) || cords_write_begin(o->w, "y", CORDS_I64, 1, &one) ||
	    cords_write_data(o->w, &s->label, sizeof s->label) || cords_write_end(o->w))
		cli_die_lib();
}

static int put(cords_sink *sink, const cords_sample *s)
{
	out_t *o = (out_t *)sink;
	if (!o->w || (o->shard_size && o->in_shard == o->shard_size)) {
		close_file(o);
		open_file(o);
	}
	o->in_shard++;
	if (!s->pix) {
		put_encoded(o, s);
	} else {
		if (o->nb && (s->c != o->c || s->h != o->h || s->w != o->wd))
			flush_batch(o);
		size_t sz = (size_t)s->c * (size_t)s->h * (size_t)s->w;
		if (!o->nb) {
			o->c = s->c, o->h = s->h, o->wd = s->w;
			free(o->xb);
			o->xb = malloc(sz * (size_t)o->batch);
			if (!o->xb)
				cli_die("out of memory");
		}
		memcpy(o->xb + sz * (size_t)o->nb, s->pix, sz);
		if (s->id) {
			cords_names_add(&o->names, s->id);
		} else { /* the sample's index in its split */
			char i[32];
			snprintf(i, sizeof i, "%lld", (long long)(sink->done + sink->skipped));
			cords_names_add(&o->names, i);
		}
		o->yb[o->nb++] = s->label;
		if (o->nb == o->batch)
			flush_batch(o);
	}
	cli_progress("%lld samples", (long long)sink->done + 1);
	return 0;
}

static void bad(cords_sink *sink, const char *msg)
{
	(void)sink;
	cli_warn("skipped: %s", msg);
}

static void ignored(cords_sink *sink, const char *msg)
{
	(void)sink;
	if (cli_verbose)
		cli_info("ignored: %s", msg);
}

static int says(const char *s, const char *word)
{
	for (; *s; s++) {
		size_t i = 0;
		while (word[i] && tolower((unsigned char)s[i]) == word[i])
			i++;
		if (!word[i])
			return 1;
	}
	return 0;
}

/* The dataset from the sources' names: CIFAR tarball names, IDX file names
 * (fashion-mnist when a path says "fashion"). */
static const char *guess(char **src, int n)
{
	for (int i = 0; i < n; i++) {
		const char *b = strrchr(src[i], '/');
		char *im = NULL, *lb = NULL;
		int c100;
		b = b && b[1] ? b + 1 : src[i];
		if (cords_cifar_name(b, &c100) || cords_cifar_py_name(b, &c100))
			return c100 ? "cifar100" : "cifar10";
		if (cords_imagenet_name(b))
			return "imagenet";
		const char *dot = strrchr(b, '.');
		if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png")))
			return "files";
		int idx = cords_mnist_name(b) || !cords_mnist_locate(&src[i], 1, CORDS_TRAIN, &im, &lb) ||
			  !cords_mnist_locate(&src[i], 1, CORDS_TEST, &im, &lb);
		free(im);
		free(lb);
		if (idx)
			return says(src[i], "fashion") ? "fashion-mnist" : "mnist";
	}
	return NULL;
}

static int unpack(out_t *o, char **src, int n)
{
	char *im, *lb;
	int c100 = !strcmp(o->ds->name, "cifar100");
	if (!strcmp(o->ds->name, "imagenet")) {
		const char *tar = NULL, *devkit = NULL;
		for (int i = 0; i < n; i++)
			*(says(cords_base_name(src[i]), "devkit") ? &devkit : &tar) = src[i];
		if (o->split == CORDS_TRAIN)
			return tar ? cords_imagenet_train(tar, &o->class_names, &o->sink) : cords_err("no train tar given");
		if (!tar || !devkit)
			return cords_err("the test split needs ILSVRC2012_img_val.tar and the devkit tarball");
		return cords_imagenet_val(tar, devkit, &o->class_names, &o->sink);
	}
	if (!strcmp(o->ds->name, "files"))
		return cords_files_read(src, n, &o->sink);
	if (!strcmp(o->ds->name, "folder")) {
		if (n != 1)
			return cords_err("%s: give one ImageFolder directory", src[1]);
		return cords_folder_read(src[0], &o->class_names, &o->sink.classes, &o->sink);
	}
	if (c100 || !strcmp(o->ds->name, "cifar10")) {
		if (n != 1)
			return cords_err("%s: give one CIFAR tarball", src[1]);
		int py = strstr(cords_base_name(src[0]), "python") != NULL;
		if (!(o->class_names = (py ? cords_cifar_py_classes : cords_cifar_classes)(src[0], c100, o->coarse)))
			return -1;
		return (py ? cords_cifar_py_read : cords_cifar_read)(src[0], c100, o->split, o->coarse, &o->sink);
	}
	if (cords_mnist_locate(src, n, o->split, &im, &lb))
		return -1;
	int rc = cords_mnist_read(im, lb, &o->sink);
	free(im);
	free(lb);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dataset", required_argument, 0, 'd'}, {"split", required_argument, 0, 's'},
		{"batch", required_argument, 0, 'b'}, {"shard-size", required_argument, 0, 'S'},
		{"allow-partial", no_argument, 0, 'P'}, {"skip-bad", no_argument, 0, 'K'},
		{"coarse", no_argument, 0, 'C'},
		CLI_COMMON_OPTS, {0, 0, 0, 0}};
	const char *dsname = NULL;
	int c, split_given = 0;
	out_t o = {.sink = {.put = put, .bad = bad, .ignored = ignored, .total = -1}, .batch = 256};
	cli_init("cords-unpack", help);
	while ((c = getopt_long(argc, argv, "d:s:b:hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		switch (c) {
		case 'd': dsname = optarg; break;
		case 's':
			if ((o.split = cords_split_parse(optarg)) < 0)
				cli_usage("--split: '%s' is neither train nor test", optarg);
			split_given = 1;
			break;
		case 'b': o.batch = (int)cli_int(optarg, "--batch", 1, 1 << 20); break;
		case 'S': o.shard_size = cli_int(optarg, "--shard-size", 1, 1LL << 40); break;
		case 'P': o.allow_partial = 1; break;
		case 'K': o.sink.skip_bad = 1; break;
		case 'C': o.coarse = 1; break;
		}
	}
	if (optind == argc)
		cli_usage("no SOURCE given");
	if (o.shard_size && (!cli_output || !strcmp(cli_output, "-")))
		cli_usage("--shard-size needs -o PREFIX");
	if (!dsname && !(dsname = guess(argv + optind, argc - optind)))
		cli_die("%s: cannot tell the dataset from the names; use --dataset", argv[optind]);
	if (!(o.ds = cords_dataset_find(dsname)))
		cli_usage("--dataset: unknown or unsupported dataset '%s'", dsname);
	if (o.coarse && strcmp(o.ds->name, "cifar100"))
		cli_usage("--coarse is for cifar100");
	if (!split_given && !strcmp(o.ds->name, "files")) /* one's own images: to look at, not to train on */
		o.split = CORDS_TEST;
	for (int i = optind; i < argc && !split_given; i++) /* ILSVRC2012_img_val.tar is the test split */
		if (!strcmp(o.ds->name, "imagenet") && says(cords_base_name(argv[i]), "img_val"))
			o.split = CORDS_TEST;
	o.sink.classes = o.coarse ? 20 : o.ds->classes;
	o.yb = malloc(sizeof *o.yb * (size_t)o.batch);
	if (unpack(&o, argv + optind, argc - optind))
		cli_die_lib();
	if (!o.sink.done && !strcmp(o.ds->name, "files"))
		cli_die("%s: no images (%lld files ignored, %lld skipped; -v names them)", argv[optind],
			(long long)o.sink.ignored_n, (long long)o.sink.skipped);
	long long seen = o.sink.done + o.sink.skipped, want = o.ds->count[o.split];
	if (want && seen != want && !o.allow_partial)
		cli_die("%s: %lld samples, expected %lld for %s %s (--allow-partial accepts this)", argv[optind], seen,
			want, o.ds->name, cords_split_name(o.split));
	if (!o.w)
		open_file(&o);
	close_file(&o);
	cli_progress_end();
	if (cli_verbose || o.sink.skipped)
		cli_info("%s %s: %lld samples written, %lld skipped, %lld files ignored (not images)", o.ds->name,
			 cords_split_name(o.split), (long long)o.sink.done, (long long)o.sink.skipped,
			 (long long)o.sink.ignored_n);
	free(o.xb);
	free(o.yb);
	free(o.fname);
	free(o.class_names);
	free(o.names.p);
	return 0;
}
