/* The training tools' shared command line (train_cli.h). */
#include "train_cli.h"
#include "dist.h"
#include "arch.h"
#include "backend.h"
#include "checkpoint.h"
#include "cli.h"
#include "meta.h"
#include "model.h"
#include "stream.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tc_load(const char *path, cords_tensor_list *l)
{
	cords_tensor_list raw = {0};
	if (cords_read_file(path, &raw))
		cli_die_lib();
	cords_tensor *meta = NULL;
	for (int i = 0; i < raw.n; i++) {
		cords_tensor *x = raw.items[i];
		if (!strcmp(x->name, "meta")) {
			meta = x;
			raw.items[i] = NULL;
		}
	}
	if (!meta && !(meta = cords_meta_new()))
		cli_die_lib();
	cords_list_push(l, meta);
	for (int i = 0; i < raw.n; i++) {
		cords_tensor *x = raw.items[i];
		if (!x || x->dtype == CORDS_TEXT)
			continue;
		cords_tensor *f = x->dtype == CORDS_F32 ? x : cords_tensor_to_f32(x);
		if (!f)
			cli_die_lib();
		if (f == x)
			raw.items[i] = NULL;
		cords_list_push(l, f);
	}
	cords_list_free(&raw);
}

void tc_load_bn_cnn(const char *path, cords_tensor_list *params, cords_arch *a, const char *what)
{
	tc_load(path, params);
	const cords_tensor *meta = cords_list_find(params, "meta");
	if (!cords_list_find(params, "bn_inp.running_var")) {
		char *stage = cords_meta_get(meta, CORDS_KEY_STAGE);
		cli_die("%s: model of stage %s: %s", path, stage ? stage : "unknown", what);
	}
	if (cords_arch_from_meta(meta, a))
		cli_die("%s: %s", path, cords_errmsg());
}

void tc_meta_set(cords_tensor_list *params, const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = cords_meta_vsetf(cords_list_find(params, "meta"), key, fmt, ap);
	va_end(ap);
	if (rc)
		cli_die_lib();
}

void tc_meta_from_data(cords_tensor_list *params, cords_batches *data, const tc_opts *o)
{
	static const char *keys[] = {CORDS_KEY_DATASET, CORDS_KEY_NORM_MEAN, CORDS_KEY_NORM_STD};
	const char *opt[] = {NULL, o->norm_mean, o->norm_std};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		char *v = cords_batches_meta(data, keys[i]);
		if (v || opt[i]) /* the stream's, else --norm-mean/--norm-std, which the batches were read with */
			tc_meta_set(params, keys[i], "%s", v ? v : opt[i]);
		free(v);
	}
}

void tc_write(const char *path, const cords_tensor_list *params)
{
	if (cords_dist_rank() != 0) /* under mpirun, rank 0 writes */
		return;
	FILE *f = cli_open_out(path);
	cords_writer *w = cords_writer_new(f, cli_out_name(path), cli_env()->zstd_level);
	if (!w || cords_write_tensor(w, cords_list_find(params, "meta")))
		cli_die_lib();
	for (int i = 0; i < params->n; i++)
		if (strcmp(params->items[i]->name, "meta") && cords_write_tensor(w, params->items[i]))
			cli_die_lib();
	if (cords_writer_close(w))
		cli_die_lib();
	cli_close_out(f);
}

void tc_log_header(FILE *f, const cords_stage *s)
{
	if (!f)
		return;
	fprintf(f, "kind\tstage\tepoch\tstep\timages\tloss\tacc");
	for (int i = 0; i < CORDS_MAX_EXTRA && s->extra_names[i]; i++)
		fprintf(f, "\t%s", s->extra_names[i]);
	fprintf(f, "\tlr\tgnorm\timg_s\tnote\n");
}

typedef struct {
	FILE *log;
	int nextra;
	int64_t images;
} report_ctx;

int tc_report(void *ctx, const cords_loop_event *e)
{
	if (cords_dist_rank() != 0)
		return 0;
	report_ctx *r = ctx;
	if (e->is_eval) {
		if (r->log) {
			fprintf(r->log, "eval\t%s\t%d\t%lld\t\t\t%.6f", e->stage, e->epoch, (long long)e->step, e->eval_acc);
			for (int i = 0; i < r->nextra; i++)
				fputc('\t', r->log);
			fprintf(r->log, "\t\t\t\t%s\n", e->note ? e->note : "");
			fflush(r->log);
		}
		cli_progress_end();
		cli_info("epoch %d: evaluation accuracy %.2f %%", e->epoch, 100 * e->eval_acc);
		return 0;
	}
	r->images += e->images;
	if (r->log) {
		fprintf(r->log, "train\t%s\t%d\t%lld\t%lld\t%.6g\t%.6g", e->stage, e->epoch, (long long)e->step,
			(long long)r->images, e->st.loss, e->st.acc);
		for (int i = 0; i < r->nextra; i++)
			fprintf(r->log, "\t%.6g", e->st.extra[i]);
		fprintf(r->log, "\t%.6g\t%.6g\t%.4g\t%s\n", e->lr, e->gnorm, e->img_s, e->note ? e->note : "");
		if (ferror(r->log))
			cli_die("log: write error");
	}
	cli_progress("%s: epoch %d step %lld loss %.4f acc %.1f %% %.3g img/s %s", e->stage, e->epoch,
		     (long long)e->step, e->st.loss, 100 * e->st.acc, e->img_s, e->note ? e->note : "");
	return 0;
}

void tc_run(const cords_stage *s, cords_tensor_list *params, cords_opt *opt, cords_batches *data, tc_opts *o)
{
	FILE *log = NULL;
	if (cords_dist_init(NULL, NULL, cli_env()->nccl))
		cli_die_lib();
	if (o->log && cords_dist_rank() == 0 && !(log = fopen(o->log, o->loop.resume ? "a" : "w")))
		cli_die("%s: cannot open the log", o->log);
	if (log && !o->loop.resume)
		tc_log_header(log, s);
	report_ctx r = {log, 0, 0};
	while (r.nextra < CORDS_MAX_EXTRA && s->extra_names[r.nextra])
		r.nextra++;
	cli_trap_stop();
	o->loop.stop = &cli_stop;
	int rc = cords_train_loop(s, params, opt, data, &o->loop, tc_report, &r);
	/* On an error this rank exits without MPI_Finalize, and mpirun then ends
	 * the others (which would otherwise wait for it in the next all-reduce). */
	if (rc >= 0)
		cords_dist_finalize();
	cli_progress_end();
	if (log && fclose(log))
		cli_die("%s: write error", o->log);
	if (rc < 0)
		cli_die_lib();
	if (rc > 0) {
		cli_warn("stopped by signal %d; checkpoint in %s (continue with --resume %s)", rc, o->loop.checkpoint,
			 o->loop.checkpoint);
		exit(128 + rc);
	}
	if (!o->user_checkpoint)
		unlink(o->loop.checkpoint);
}

/* ---- the RNN tools */


static const struct option rnn_opts[] = {
	TC_COMMON_LONGOPTS,
	{"alpha", required_argument, 0, O_ALPHA}, {"spont-steps", required_argument, 0, O_SPONT},
	{"stim-steps", required_argument, 0, O_STIM}, {"readouts", required_argument, 0, O_READ},
	{"blank-steps", required_argument, 0, O_BLANK}, {"spont-window", required_argument, 0, O_WINDOW},
	{"spont-weight", required_argument, 0, O_SPW}, {"bptt-checkpoint", required_argument, 0, O_BPTT},
	{"bptt-window", required_argument, 0, O_BPTTW},
	{"phi", required_argument, 0, O_PHI}, {"slope", required_argument, 0, O_SLOPE},
	{"slope-start", required_argument, 0, O_SLOPE0}, {"slope-step", required_argument, 0, O_SLOPED},
	{"fresh-optimizer", no_argument, 0, O_FRESH}, {"cosine", no_argument, 0, O_COSINE},
	{"teacher", required_argument, 0, O_TEACHER}, {"teacher-mix", required_argument, 0, O_TMIX},
	{"teacher-temp", required_argument, 0, O_TTEMP}, CLI_COMMON_OPTS,
	{0, 0, 0, 0}};

static const char rnn_help_fmt[] =
	"Usage: cords-%s -m MODEL [OPTION]... [BATCHES] [-o OUT]\n"
	"%s\n"
	"Reads the model MODEL and a batch stream (BATCHES, default stdin: x [B,C,H,W], y [B] or [B,N]),\n"
	"writes the trained model (default stdout). Defaults are the paper's (cords-training(7)).\n"
	"\n"
	"  -m, --model FILE        the model to train (required)\n"
	"      --epochs N          epochs (default %d)\n"
	"      --epoch-batches N   batches per epoch (default: the whole file)\n"
	"      --steps N           stop after N optimiser steps in all\n"
	"      --lr X              AdamW learning rate (default %g)\n"
	"      --weight-decay X    decoupled weight decay (default 0.01)\n"
	"      --clip X            global gradient-norm clip (default %g; 0 = none)\n"
	"      --warmup N          linear warm-up batches from lr/3 (default 0)\n"
	"      --cosine            then decay the rate to 0 along a cosine, over each epoch when\n"
	"                          every epoch has a fresh optimiser, else over the whole run\n"
	"      --alpha A           dt/tau (default 0.2)\n"
	"      --phi NAME          relu, identity or prelu (default %s)\n"
	"      --slope A           PReLU slope when --phi prelu\n"
	"      --spont-steps N     blank steps before the image, no gradient (default %d)\n"
	"      --stim-steps N      steps with the image (default %d)\n"
	"      --readouts N        read-outs at the end of the stimulus (default %d)\n"
	"      --blank-steps N     blank steps after it, with gradient (default %d)\n"
	"      --spont-window N    last blank steps in the spont penalty (default %d)\n"
	"      --spont-weight X    weight of the spont penalty (default %g)\n"
	"      --slope-start X     annealing: slope of epoch 0 (default 0.95)\n"
	"      --slope-step X      annealing: decrease per epoch (default 0.05)\n"
	"      --fresh-optimizer   a fresh optimiser every epoch\n"
	"      --bptt-checkpoint K keep every K-th state, recompute the rest (default: automatic)\n"
	"      --bptt-window W     back through the last W steps only (default 0: all)\n"
	"      --teacher FILE      distil from a BN CNN (cords-cnn's model, same architecture): each\n"
	"                          label becomes W softmax(teacher logits / T) + (1 - W) label\n"
	"      --teacher-mix W     the teacher's share W, 0 to 1 (default 0.5)\n"
	"      --teacher-temp T    the softmax temperature T (default 1)\n"
	TC_COMMON_HELP
	"\n"
	"See cords-%s(1).\n";

void tc_args_done(tc_opts *o, int argc, char **argv, const char *model_usage)
{
	if (optind < argc)
		o->data = argv[optind++];
	if (optind < argc)
		cli_usage("too many arguments");
	if (model_usage && !o->model)
		cli_usage("a model is required (%s)", model_usage);
	cli_precision(o->precision, o->device, 0);
}

int64_t tc_epoch_batches(const tc_opts *o, cords_batches *data, const char *what)
{
	if (o->loop.epoch_batches)
		return o->loop.epoch_batches;
	if (!strcmp(cords_batches_name(data), "<stdin>"))
		cli_usage("%s on stdin needs --epoch-batches (the epoch's length)", what);
	cords_batch b = {0};
	int64_t n = 0;
	int got;
	while ((got = cords_batches_next(data, &b)) > 0)
		n++;
	cords_batch_free(&b);
	if (got < 0 || cords_batches_rewind(data))
		cli_die_lib();
	return n;
}

void tc_parse_common(int c, tc_opts *o)
{
	switch (c) {
	case O_EPOCHS: o->loop.epochs = (int)cli_int(optarg, "--epochs", 1, 1000000); break;
	case O_EPOCH_BATCHES: o->loop.epoch_batches = cli_int(optarg, "--epoch-batches", 1, INT64_MAX); break;
	case O_STEPS: o->loop.max_steps = cli_int(optarg, "--steps", 1, INT64_MAX); break;
	case O_LR: o->opt.lr = cli_double(optarg, "--lr", 0, 100); break;
	case O_WD: o->opt.weight_decay = cli_double(optarg, "--weight-decay", 0, 10); break;
	case O_CLIP: o->opt.clip = cli_double(optarg, "--clip", 0, 1e30); break;
	case O_WARMUP: o->opt.warmup = cli_int(optarg, "--warmup", 0, INT64_MAX); break;
	case O_CKPT: o->loop.checkpoint = optarg, o->user_checkpoint = 1; break;
	case O_EVERY: o->loop.every = cli_int(optarg, "--every", 1, INT64_MAX); break;
	case O_RESUME: o->loop.resume = optarg; break;
	case O_EVAL: o->loop.eval_path = optarg; break;
	case O_EVALB: o->loop.eval_batches = cli_int(optarg, "--eval-batches", 1, INT64_MAX); break;
	case O_EVALE: o->loop.eval_every = (int)cli_int(optarg, "--eval-every", 1, 1000000); break;
	case O_LOG: o->log = optarg; break;
	case O_DEVICE: o->device = optarg; break;
	case O_PRECISION: o->precision = optarg; break;
	case O_NORM_MEAN: o->norm_mean = optarg; break;
	case O_NORM_STD: o->norm_std = optarg; break;
	case 'm': o->model = optarg; break;
	default:
		if (!cli_common_option(c))
			cli_usage("unknown option");
	}
}

void tc_default_checkpoint(tc_opts *o, const char *stage)
{
	static char path[4096];
	if (o->loop.checkpoint)
		return;
	snprintf(path, sizeof path, "%s.ckpt", cli_output && strcmp(cli_output, "-") ? cli_output : stage);
	o->loop.checkpoint = path;
}

/* A wrong stage's model: BN statistics or folded biases mean it is not an RNN yet. */
static void check_rnn_model(const cords_tensor_list *params, const char *tool)
{
	const cords_tensor *meta = cords_list_find(params, "meta");
	char *stage = meta ? cords_meta_get(meta, CORDS_KEY_STAGE) : NULL;
	if (cords_list_find(params, "bn_inp.running_mean"))
		cli_die("%s: model is a BatchNorm CNN (stage %s); cords-%s trains the RNN: run cords-fold and "
			"cords-inverse first", cli_in_name(NULL) ? "model" : "model", stage ? stage : "cnn", tool);
	if (cords_list_find(params, "area_bias.0"))
		cli_die("model is a folded CNN (stage %s); cords-%s trains the RNN: run cords-inverse first",
			stage ? stage : "fold", tool);
	free(stage);
}

/* The --teacher model: a BN CNN with the student's architecture, in eval mode. */
static cords_cnn *load_teacher(const char *path, const cords_arch *student, cords_backend *be,
			       cords_tensor_list *params, cords_params **ps)
{
	cords_arch a;
	tc_load_bn_cnn(path, params, &a, "the teacher must be a BatchNorm CNN from cords-cnn");
	if (a.depth != student->depth || a.in_ch != student->in_ch || a.height != student->height ||
	    a.width != student->width || a.classes != student->classes)
		cli_die("%s: the teacher is an R%d on %dx%dx%d with %d classes, the model an R%d on %dx%dx%d with %d", path,
			a.depth, a.in_ch, a.height, a.width, a.classes, student->depth, student->in_ch, student->height,
			student->width, student->classes);
	cords_cnn *c = cords_cnn_new(&a, be, 0, 1);
	if (!c || !(*ps = cords_params_new(be, params, NULL)) || cords_cnn_set_params(c, *ps))
		cli_die("%s: %s", path, cords_errmsg());
	return c;
}

int cords_rnn_tool_main(int argc, char **argv, const cords_rnn_tool *t)
{
	static char help[4096], prog[64];
	const cords_rnn_stage_cfg *d = &t->rnn;
	snprintf(prog, sizeof prog, "cords-%s", t->stage);
	snprintf(help, sizeof help, rnn_help_fmt, t->stage, t->summary, t->epochs, t->opt.lr, t->opt.clip,
		 cords_phi_name(d->loss.dyn.phi.kind), d->loss.dyn.spont_steps, d->loss.dyn.stim_steps, d->loss.readouts,
		 d->loss.blank_steps, d->loss.spont_window, d->loss.spont_weight, t->stage);
	cli_init(prog, help);
	tc_opts o = {.data = "-", .device = "cpu", .opt = t->opt, .loop = {.epochs = t->epochs}};
	cords_rnn_stage_cfg cfg = t->rnn;
	const char *phi_name = NULL, *teacher = NULL;
	double slope = 0;
	cfg.teacher_mix = 0.5, cfg.teacher_temp = 1;
	int c, cosine = 0;
	while ((c = getopt_long(argc, argv, "m:hVqvo:", rnn_opts, NULL)) != -1) {
		switch (c) {
		case O_ALPHA: cfg.loss.dyn.alpha = (float)cli_double(optarg, "--alpha", 1e-6, 1); break;
		case O_SPONT: cfg.loss.dyn.spont_steps = (int)cli_int(optarg, "--spont-steps", 0, 100000); break;
		case O_STIM: cfg.loss.dyn.stim_steps = (int)cli_int(optarg, "--stim-steps", 1, 100000); break;
		case O_READ: cfg.loss.readouts = (int)cli_int(optarg, "--readouts", 1, 100000); break;
		case O_BLANK: cfg.loss.blank_steps = (int)cli_int(optarg, "--blank-steps", 0, 100000); break;
		case O_WINDOW: cfg.loss.spont_window = (int)cli_int(optarg, "--spont-window", 1, 100000); break;
		case O_SPW: cfg.loss.spont_weight = cli_double(optarg, "--spont-weight", 0, 1e6); break;
		case O_BPTTW: cfg.loss.bptt_window = (int)cli_int(optarg, "--bptt-window", 0, 100000); break;
		case O_BPTT: cfg.loss.ckpt_every = (int)cli_int(optarg, "--bptt-checkpoint", 1, 100000); break;
		case O_SLOPE0: cfg.slope_start = cli_double(optarg, "--slope-start", 0, 1); break;
		case O_SLOPED: cfg.slope_step = cli_double(optarg, "--slope-step", 0, 1); break;
		case O_FRESH: cfg.fresh_per_epoch = 1; break;
		case O_COSINE: cosine = 1; break;
		case O_PHI: phi_name = optarg; break;
		case O_SLOPE: slope = cli_double(optarg, "--slope", 0, 1); break;
		case O_TEACHER: teacher = optarg; break;
		case O_TMIX: cfg.teacher_mix = cli_double(optarg, "--teacher-mix", 0, 1); break;
		case O_TTEMP: cfg.teacher_temp = cli_double(optarg, "--teacher-temp", 1e-3, 1e9); break;
		default: tc_parse_common(c, &o);
		}
	}
	tc_args_done(&o, argc, argv, "-m MODEL");
	if (phi_name && cords_phi_parse(phi_name, (float)slope, &cfg.loss.dyn.phi))
		cli_usage("%s", cords_errmsg());
	if (cfg.loss.readouts > cfg.loss.dyn.stim_steps)
		cfg.loss.readouts = cfg.loss.dyn.stim_steps;
	if (cfg.loss.blank_steps && cfg.loss.spont_window > cfg.loss.blank_steps)
		cfg.loss.spont_window = cfg.loss.blank_steps;
	tc_default_checkpoint(&o, t->stage);

	cords_tensor_list params = {0}, tparams = {0};
	tc_load(o.model, &params);
	check_rnn_model(&params, t->stage);
	cords_backend *be = cli_backend(o.device, o.precision);
	if (!be)
		cli_die_lib();
	cords_model *m = cords_model_new(&params, cords_list_find(&params, "meta"), be);
	if (!m)
		cli_die("%s: %s", o.model, cords_errmsg());
	if (teacher)
		cfg.teacher = load_teacher(teacher, &m->arch, be, &tparams, &cfg.teacher_params);
	cords_batches *data = cords_batches_open(o.data, o.norm_mean, o.norm_std);
	if (!data)
		cli_die_lib();
	if (cosine) { /* the optimiser's life: one epoch or the run (--steps only stops it early) */
		int64_t life = tc_epoch_batches(&o, data, "--cosine") * (cfg.fresh_per_epoch ? 1 : o.loop.epochs);
		if ((o.opt.decay = life - o.opt.warmup) < 1)
			cli_usage("--cosine: the warm-up (%lld batches) fills the optimiser's %lld", (long long)o.opt.warmup,
				  (long long)life);
	}
	cords_params *ps = cords_params_new(be, &params, cords_params_all);
	cords_opt *opt = ps ? cords_opt_new(&o.opt, ps) : NULL;
	cords_stage *s = opt ? cords_rnn_stage_new(t->stage, m, ps, &cfg, 1) : NULL;
	if (!s)
		cli_die_lib();
	tc_run(s, &params, opt, data, &o);

	const cords_dynamics *dy = &cfg.loss.dyn;
	double final_slope = cfg.anneal ? cords_anneal_slope(&cfg, o.loop.epochs - 1)
				       : dy->phi.kind == CORDS_PHI_PRELU ? dy->phi.slope : 0;
	tc_meta_from_data(&params, data, &o);
	tc_meta_set(&params, CORDS_KEY_STAGE, "%s", t->stage);
	tc_meta_set(&params, CORDS_KEY_PHI, "%s", cords_phi_name(cfg.anneal && final_slope == 0 ? CORDS_PHI_RELU : dy->phi.kind));
	tc_meta_set(&params, CORDS_KEY_PRELU_SLOPE, "%g", final_slope);
	tc_meta_set(&params, CORDS_KEY_ALPHA, "%g", dy->alpha);
	tc_meta_set(&params, CORDS_KEY_SPONT_STEPS, "%d", dy->spont_steps);
	tc_meta_set(&params, CORDS_KEY_STIM_STEPS, "%d", dy->stim_steps);
	tc_meta_set(&params, CORDS_KEY_TRAIN_READOUTS, "%d", cfg.loss.readouts);
	tc_meta_set(&params, CORDS_KEY_TRAIN_BLANK_STEPS, "%d", cfg.loss.blank_steps);
	tc_meta_set(&params, CORDS_KEY_TRAIN_EPOCHS, "%d", o.loop.epochs);
	tc_meta_set(&params, CORDS_KEY_TRAIN_LR, "%g", o.opt.lr);
	if (teacher) /* set either way: the model's meta carries over from the stage before */
		tc_meta_set(&params, CORDS_KEY_TRAIN_TEACHER, "mix %g temp %g", cfg.teacher_mix, cfg.teacher_temp);
	else
		tc_meta_set(&params, CORDS_KEY_TRAIN_TEACHER, "none");
	tc_write(cli_output, &params);
	cords_rnn_stage_free(s);
	cords_opt_free(opt);
	cords_params_free(ps);
	cords_batches_close(data);
	cords_model_free(m);
	cords_cnn_free(cfg.teacher);
	cords_params_free(cfg.teacher_params);
	cords_list_free(&tparams);
	cords_list_free(&params);
	return 0;
}
