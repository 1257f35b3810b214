/* cords-cnn: stage 1 of the three-step method (cords-training(7)): train the compatible
 * CNN (the RNN's convolutions with BatchNorm after each) with SGD + momentum,
 * in rounds of decreasing learning rate, each with a fresh optimiser and a
 * linear warm-up. Starts from a model (-m) or a default initialisation. */
#include "arch.h"
#include "backend.h"
#include "cli.h"
#include "cnn_stage.h"
#include "meta.h"
#include "train_cli.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-cnn [-m MODEL | --depth D --classes N --in-channels C --size S] [OPTION]... [BATCHES] [-o OUT]\n"
	"Stage 1 of the three-step method: train the BatchNorm CNN that shares the RNN's convolutions.\n"
	"Reads a model (an RNN-shaped model, e.g. from cords-init, or a BN CNN to continue) or makes a\n"
	"default-initialised one, and a batch stream (BATCHES, default stdin); writes the BN CNN.\n"
	"\n"
	"  -m, --model FILE        start from this model\n"
	"      --depth D           2, 4, 6 or 8 (default 4) } without -m: a default initialisation\n"
	"      --classes N         (default 10)             }\n"
	"      --in-channels C     (default 1)              }\n"
	"      --size S            input height and width (default 28)\n"
	"      --seed K            seed of the initialisation (default 0)\n"
	"      --rounds LIST       learning rates of the rounds (default 0.1,0.01,0.001)\n"
	"      --epochs N          epochs per round (default 100)\n"
	"      --epoch-batches N   batches per epoch (default: the whole file)\n"
	"      --steps N           stop after N optimiser steps in all\n"
	"      --momentum X        SGD momentum (default 0.9)\n"
	"      --weight-decay X    L2 weight decay (default 1e-4)\n"
	"      --warmup N          warm-up batches from lr/3 at each round's start (default 100)\n"
	"      --cosine            then decay the rate to 0 along a cosine over the rest of the round\n"
	"      --clip X            global gradient-norm clip (default 0: none)\n" TC_COMMON_HELP "\n"
	"BatchNorm tensors: bn_inp, bn_area_area.{i}, bn_area_conv.{i}, bn_skip_area.{k}, each with\n"
	".weight .bias .running_mean .running_var. See cords-cnn(1).\n";

enum { O_DEPTH = 2000, O_CLASSES, O_INCH, O_SIZE, O_SEED, O_ROUNDS, O_MOMENTUM };

static const struct option opts[] = {
	TC_COMMON_LONGOPTS,
	{"depth", required_argument, 0, O_DEPTH}, {"classes", required_argument, 0, O_CLASSES},
	{"in-channels", required_argument, 0, O_INCH}, {"size", required_argument, 0, O_SIZE},
	{"seed", required_argument, 0, O_SEED}, {"rounds", required_argument, 0, O_ROUNDS},
	{"momentum", required_argument, 0, O_MOMENTUM}, {"cosine", no_argument, 0, O_COSINE}, CLI_COMMON_OPTS, {0, 0, 0, 0}};

/* The starting model: -m's (its conv_bias dropped, BN added if missing) or a default one. */
static void start(tc_opts *o, int depth, int classes, int in_ch, int size, uint64_t seed, cords_tensor_list *p,
		  cords_arch *a)
{
	if (o->model) {
		tc_load(o->model, p);
		const cords_tensor *meta = cords_list_find(p, "meta");
		if (cords_list_find(p, "area_bias.0"))
			cli_die("%s: model is a folded CNN (stage fold); cords-cnn trains a BN CNN", o->model);
		if ((cords_arch_from_meta(meta, a) && cords_arch_infer(p, a)))
			cli_die("%s: %s", o->model, cords_errmsg());
	} else {
		if (cords_arch_init(a, depth, in_ch, size, size, classes) || cords_list_push(p, cords_meta_new()) ||
		    cords_arch_to_meta(a, p->items[0]) || cords_init_params(a, seed, p))
			cli_die_lib();
		tc_meta_set(p, CORDS_KEY_SEED, "%llu", (unsigned long long)seed);
	}
	if (cords_cnn_add_bn(a, p))
		cli_die_lib();
}

int main(int argc, char **argv)
{
	cli_init("cords-cnn", help);
	tc_opts o = {.data = "-", .device = "cpu", .loop = {.epochs = 100},
		     .opt = {.kind = CORDS_OPT_SGD, .lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4, .warmup = 100,
			     .warmup_start = 1.0 / 3}};
	int depth = 4, classes = 10, in_ch = 1, size = 28, cosine = 0, c;
	uint64_t seed = 0;
	double rounds[16] = {0.1, 0.01, 0.001};
	int nrounds = 3;
	while ((c = getopt_long(argc, argv, "m:hVqvo:", opts, NULL)) != -1) {
		switch (c) {
		case O_DEPTH: depth = (int)cli_int(optarg, "--depth", 2, 8); break;
		case O_CLASSES: classes = (int)cli_int(optarg, "--classes", 1, 1000000); break;
		case O_INCH: in_ch = (int)cli_int(optarg, "--in-channels", 1, 4096); break;
		case O_SIZE: size = (int)cli_int(optarg, "--size", 8, 65536); break;
		case O_SEED: seed = (uint64_t)cli_int(optarg, "--seed", 0, INT64_MAX); break;
		case O_COSINE: cosine = 1; break;
		case O_MOMENTUM: o.opt.momentum = cli_double(optarg, "--momentum", 0, 1); break;
		case O_ROUNDS:
			if ((nrounds = cords_meta_numbers(optarg, rounds, 16)) < 1)
				cli_usage("--rounds: expected learning rates separated by commas");
			break;
		default: tc_parse_common(c, &o);
		}
	}
	tc_args_done(&o, argc, argv, NULL);
	int per_round = o.loop.epochs;
	o.loop.epochs = per_round * nrounds;
	tc_default_checkpoint(&o, "cnn");

	cords_tensor_list p = {0};
	cords_arch a;
	start(&o, depth, classes, in_ch, size, seed, &p, &a);
	cords_backend *be = cli_backend(o.device, o.precision);
	cords_batches *data = be ? cords_batches_open(o.data, o.norm_mean, o.norm_std) : NULL;
	if (!data)
		cli_die_lib();
	if (cosine) {
		int64_t nb = tc_epoch_batches(&o, data, "--cosine");
		o.opt.decay = per_round * nb - o.opt.warmup;
		if (o.opt.decay < 1)
			cli_usage("--cosine: the warm-up (%lld batches) fills the whole round", (long long)o.opt.warmup);
	}
	cords_params *ps = cords_params_new(be, &p, cords_cnn_trained);
	cords_opt *opt = ps ? cords_opt_new(&o.opt, ps) : NULL;
	cords_stage *s = opt ? cords_cnn_stage_new(&a, ps, rounds, nrounds, per_round) : NULL;
	if (!s)
		cli_die_lib();
	tc_run(s, &p, opt, data, &o);
	cords_cnn_stage_free(s);
	cords_opt_free(opt);
	cords_params_free(ps);
	/* the BN CNN has no per-unit biases: drop an initial model's conv_bias */
	for (int i = 0; i < p.n; i++)
		if (!strncmp(p.items[i]->name, "conv_bias.", 10))
			p.items[i]->name[0] = 0;
	cords_tensor_list out = {0};
	for (int i = 0; i < p.n; i++)
		if (p.items[i]->name[0])
			cords_list_push(&out, p.items[i]);
		else
			cords_tensor_free(p.items[i]);
	free(p.items);
	tc_meta_from_data(&out, data, &o);
	tc_meta_set(&out, CORDS_KEY_STAGE, "cnn");
	tc_meta_set(&out, CORDS_KEY_TRAIN_EPOCHS_PER_ROUND, "%d", per_round);
	tc_meta_set(&out, CORDS_KEY_TRAIN_ROUNDS, "%d", nrounds);
	tc_write(cli_output, &out);
	cords_batches_close(data);
	cords_list_free(&out);
	return 0;
}
