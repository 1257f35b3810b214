/* cords-inverse: stage 3 of the three-step method (cords-training(7)): build the linear
 * RNN from the folded CNN (stem, feed-forward, skip and read-out copied; a fresh
 * area_conv, conv_bias 0) and fit area_conv and conv_bias so that three
 * fixed-point iterations reproduce the CNN's pre-ReLU activities. */
#include "arch.h"
#include "backend.h"
#include "cli.h"
#include "cnn_stage.h"
#include "meta.h"
#include "train_cli.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-inverse -m FOLDED [OPTION]... [BATCHES] [-o OUT]\n"
	"Stage 3 of the three-step method: inverse initialisation of the linear RNN from the folded CNN\n"
	"(from cords-fold). Only area_conv and conv_bias are trained (AdamW); writes the RNN.\n"
	"\n"
	"  -m, --model FILE        the folded CNN (required)\n"
	"      --epochs N          epochs (default 100)\n"
	"      --epoch-batches N   batches per epoch (default: the whole file)\n"
	"      --steps N           stop after N optimiser steps in all\n"
	"      --lr X              AdamW learning rate (default 1e-4)\n"
	"      --weight-decay X    (default 0.01)\n"
	"      --clip X            global gradient-norm clip (default 1e-3)\n"
	"      --iterations K      fixed-point iterations (default 3)\n"
	"      --eig-weight X      weight of the stability term (default 10)\n"
	"      --seed K            seed of the fresh area_conv (default 0)\n"
	"      --stim-steps N      protocol recorded for the linear stage, and used by --eval (default 100)\n"
	"      --readouts N        read-outs for --eval's loss (default 30)\n" TC_COMMON_HELP "\n"
	"See cords-inverse(1).\n";

enum { O_ITER = 4000, O_EIGW, O_SEED, O_STIMS, O_READS };
static const struct option opts[] = {
	TC_COMMON_LONGOPTS, {"iterations", required_argument, 0, O_ITER}, {"eig-weight", required_argument, 0, O_EIGW},
	{"seed", required_argument, 0, O_SEED}, {"stim-steps", required_argument, 0, O_STIMS},
	{"readouts", required_argument, 0, O_READS}, CLI_COMMON_OPTS, {0, 0, 0, 0}};

/* The RNN: copies of the folded CNN's stem, feed-forward, skip and read-out;
 * area_conv from a default initialisation; conv_bias 0. */
static void build_rnn(const cords_arch *a, const cords_tensor_list *folded, uint64_t seed, cords_tensor_list *rnn)
{
	cords_tensor_list init = {0};
	if (cords_init_params(a, seed, &init))
		cli_die_lib();
	for (int i = 0; i < init.n; i++) {
		cords_tensor *t = init.items[i];
		const char *n = t->name;
		if (strncmp(n, "area_conv.", 10) && strncmp(n, "conv_bias.", 10)) {
			const cords_tensor *f = cords_list_find(folded, n);
			if (!f || f->nbytes != t->nbytes)
				cli_die("folded model lacks %s", n);
			memcpy(t->data, f->data, t->nbytes);
		}
		if (cords_list_push(rnn, t))
			cli_die_lib();
		init.items[i] = NULL;
	}
	cords_list_free(&init);
}

int main(int argc, char **argv)
{
	cli_init("cords-inverse", help);
	tc_opts o = {.data = "-", .device = "cpu", .loop = {.epochs = 100},
		     .opt = {.kind = CORDS_OPT_ADAMW, .lr = 1e-4, .weight_decay = 0.01, .beta1 = 0.9, .beta2 = 0.999,
			     .eps = 1e-8, .clip = 1e-3, .warmup_start = 1.0 / 3}};
	int iters = 3, stim = 100, reads = 30, c;
	double eigw = 10;
	uint64_t seed = 0;
	while ((c = getopt_long(argc, argv, "m:hVqvo:", opts, NULL)) != -1) {
		switch (c) {
		case O_ITER: iters = (int)cli_int(optarg, "--iterations", 1, 8); break;
		case O_EIGW: eigw = cli_double(optarg, "--eig-weight", 0, 1e9); break;
		case O_SEED: seed = (uint64_t)cli_int(optarg, "--seed", 0, INT64_MAX); break;
		case O_STIMS: stim = (int)cli_int(optarg, "--stim-steps", 1, 100000); break;
		case O_READS: reads = (int)cli_int(optarg, "--readouts", 1, 100000); break;
		default: tc_parse_common(c, &o);
		}
	}
	tc_args_done(&o, argc, argv, "-m FOLDED");
	tc_default_checkpoint(&o, "inverse");
	cords_tensor_list folded = {0}, rnn = {0};
	tc_load(o.model, &folded);
	cords_tensor *meta = cords_list_find(&folded, "meta");
	char *stage = cords_meta_get(meta, CORDS_KEY_STAGE);
	if (!cords_list_find(&folded, "area_bias.0"))
		cli_die("%s: model is not a folded CNN (stage %s); cords-inverse needs the output of cords-fold", o.model,
			stage ? stage : "unknown");
	free(stage);
	cords_arch a;
	if (cords_arch_from_meta(meta, &a))
		cli_die("%s: %s", o.model, cords_errmsg());
	cords_tensor *m2 = cords_meta_copy(meta);
	if (!m2 || cords_list_push(&rnn, m2))
		cli_die_lib();
	build_rnn(&a, &folded, seed, &rnn);
	tc_meta_set(&rnn, CORDS_KEY_PHI, "identity");
	tc_meta_set(&rnn, CORDS_KEY_SPONT_STEPS, "0");
	tc_meta_set(&rnn, CORDS_KEY_STIM_STEPS, "%d", stim);
	cords_backend *be = cli_backend(o.device, NULL);
	cords_batches *data = be ? cords_batches_open(o.data, o.norm_mean, o.norm_std) : NULL;
	if (!data)
		cli_die_lib();
	cords_rnn_loss ev = {.dyn = {.alpha = 0.2f, .phi = {CORDS_PHI_IDENTITY, 0}, .stim_steps = stim},
			     .readouts = reads < stim ? reads : stim};
	cords_params *ps = cords_params_new(be, &rnn, cords_inverse_trained);
	cords_opt *opt = ps ? cords_opt_new(&o.opt, ps) : NULL;
	cords_stage *s = opt ? cords_inverse_stage_new(&a, &folded, ps, iters, eigw, o.loop.eval_path ? &ev : NULL) : NULL;
	if (!s)
		cli_die_lib();
	tc_run(s, &rnn, opt, data, &o);
	tc_meta_from_data(&rnn, data, &o);
	tc_meta_set(&rnn, CORDS_KEY_STAGE, "inverse");
	tc_meta_set(&rnn, CORDS_KEY_SEED, "%llu", (unsigned long long)seed);
	tc_write(cli_output, &rnn);
	cords_cnn_stage_free(s);
	cords_opt_free(opt);
	cords_params_free(ps);
	cords_batches_close(data);
	cords_list_free(&rnn);
	cords_list_free(&folded);
	return 0;
}
