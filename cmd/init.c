/* cords-init: a default-initialised CordsNet model, reproducible from a seed. */
#include "cli.h"
#include "cnn_train.h"
#include "dataset.h"
#include "meta.h"
#include "stream.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-init --dataset NAME [OPTION]...\n"
	"   or: cords-init --classes N --in-channels C --size S [OPTION]...\n"
	"Write a default-initialised CordsNet-R{D} model (cords-model(7)) to stdout.\n"
	"\n"
	"  -d, --dataset NAME     mnist, fashion-mnist (1x28x28, 10 classes), cifar10,\n"
	"                         cifar100 (3x32x32), imagenet (3x224x224, 1000 classes);\n"
	"                         also records its normalisation in the metadata\n"
	"      --classes N        number of classes\n"
	"      --in-channels C    input channels\n"
	"      --size S           input size S x S (or --height/--width)\n"
	"      --height H, --width W\n"
	"  -D, --depth D          2, 4, 6 or 8 (default 8)\n"
	"  -s, --seed K           seed (default 0)\n"
	"  -o, --output FILE      write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet, -v, --verbose, -h, --help, -V, --version\n"
	"\n"
	"Options after --dataset override its values. See cords-init(1).\n";

enum { O_CLASSES = 256, O_INCH, O_SIZE, O_HEIGHT, O_WIDTH };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dataset", required_argument, 0, 'd'}, {"classes", required_argument, 0, O_CLASSES},
		{"in-channels", required_argument, 0, O_INCH}, {"size", required_argument, 0, O_SIZE},
		{"height", required_argument, 0, O_HEIGHT}, {"width", required_argument, 0, O_WIDTH},
		{"depth", required_argument, 0, 'D'}, {"seed", required_argument, 0, 's'},
		CLI_COMMON_OPTS, {0, 0, 0, 0}};
	const cords_dataset *ds = NULL;
	long long classes = 0, in_ch = 0, height = 0, width = 0, depth = 8, seed = 0;
	int c;
	cli_init("cords-init", help);
	while ((c = getopt_long(argc, argv, "d:D:s:hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		switch (c) {
		case 'd':
			if (!(ds = cords_dataset_find(optarg)) || !ds->classes)
				cli_usage("--dataset: '%s' is not one of mnist, fashion-mnist, cifar10, cifar100, imagenet", optarg);
			classes = ds->classes, in_ch = ds->channels;
			height = width = ds->size ? ds->size : 224; /* ImageNet: the paper's 224 */
			break;
		case O_CLASSES: classes = cli_int(optarg, "--classes", 1, 1000000); break;
		case O_INCH: in_ch = cli_int(optarg, "--in-channels", 1, 4096); break;
		case O_SIZE: height = width = cli_int(optarg, "--size", 1, 65536); break;
		case O_HEIGHT: height = cli_int(optarg, "--height", 1, 65536); break;
		case O_WIDTH: width = cli_int(optarg, "--width", 1, 65536); break;
		case 'D': depth = cli_int(optarg, "--depth", 2, 8); break;
		case 's': seed = cli_int(optarg, "--seed", 0, 0x7fffffffffffffffLL); break;
		}
	}
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!classes || !in_ch || !height || !width)
		cli_usage("give --dataset, or --classes, --in-channels and --size");
	cords_arch a;
	if (cords_arch_init(&a, (int)depth, (int)in_ch, (int)height, (int)width, (int)classes))
		cli_usage("%s", cords_errmsg());

	cords_tensor *meta = cords_meta_new();
	if (!meta || cords_arch_to_meta(&a, meta) || cords_meta_set(meta, CORDS_KEY_STAGE, "init") ||
	    cords_meta_setf(meta, CORDS_KEY_SEED, "%lld", seed) || cords_meta_set(meta, CORDS_KEY_PHI, "relu") ||
	    cords_meta_set(meta, CORDS_KEY_PRELU_SLOPE, "0") || cords_meta_set(meta, CORDS_KEY_ALPHA, "0.2") ||
	    cords_meta_set(meta, CORDS_KEY_SPONT_STEPS, "100") || cords_meta_set(meta, CORDS_KEY_STIM_STEPS, "100") ||
	    (ds && (cords_meta_set(meta, CORDS_KEY_DATASET, ds->name) || cords_dataset_set_norm(ds, meta))))
		cli_die_lib();
	cords_tensor_list l = {0};
	if (cords_init_params(&a, (uint64_t)seed, &l))
		cli_die_lib();
	FILE *f = cli_open_out(cli_output);
	cords_writer *w = cords_writer_new(f, cli_out_name(cli_output), cli_env()->zstd_level);
	if (!w || cords_write_tensor(w, meta))
		cli_die_lib();
	for (int i = 0; i < l.n; i++)
		if (cords_write_tensor(w, l.items[i]))
			cli_die_lib();
	if (cords_writer_close(w))
		cli_die_lib();
	cli_close_out(f);
	cli_info("CordsNet-R%lld, %lldx%lldx%lld input, %lld classes, seed %lld", depth, in_ch, height, width, classes,
		 seed);
	cords_list_free(&l);
	cords_tensor_free(meta);
	return 0;
}
