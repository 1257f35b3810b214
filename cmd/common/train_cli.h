/* The command line the training tools share (like cli.h, this serves only
 * cmd/ and may print and exit): model in, batches in, trained model out,
 * TSV log, progress on a tty, checkpoints and resumption, evaluation.
 * cords-linear, cords-anneal and cords-finetune are this with their
 * defaults (cords-training(7)); cords-cnn and cords-inverse reuse its pieces. */
#ifndef CORDS_TRAIN_CLI_H
#define CORDS_TRAIN_CLI_H

#include "err.h"
#include "rnn_stage.h"
#include "trainloop.h"

#include <getopt.h>
#include <stdio.h>

/* Options every training tool takes (long options, values in tc_opts). */
typedef struct {
	const char *model, *data, *log, *device, *precision, *norm_mean, *norm_std;
	cords_loop_cfg loop;
	cords_opt_cfg opt;
	int batch_hint;
	uint64_t seed;
	int user_checkpoint; /* --checkpoint given (else a default path, removed at the end) */
} tc_opts;

enum {
	O_EPOCHS = 1000, O_EPOCH_BATCHES, O_STEPS, O_LR, O_WD, O_CLIP, O_ALPHA, O_SPONT, O_STIM, O_READ, O_BLANK,
	O_WINDOW, O_SPW, O_BPTT, O_BPTTW, O_SLOPE0, O_SLOPED, O_FRESH, O_CKPT, O_EVERY, O_RESUME, O_EVAL, O_EVALB, O_LOG,
	O_DEVICE, O_NORM_MEAN, O_NORM_STD, O_WARMUP, O_PHI, O_SLOPE, O_PRECISION, O_COSINE, O_EVALE, O_TEACHER, O_TMIX, O_TTEMP,
};

#define TC_COMMON_LONGOPTS                                                                              \
	{"model", required_argument, 0, 'm'}, {"epochs", required_argument, 0, O_EPOCHS},               \
	{"epoch-batches", required_argument, 0, O_EPOCH_BATCHES}, {"steps", required_argument, 0, O_STEPS}, \
	{"lr", required_argument, 0, O_LR}, {"weight-decay", required_argument, 0, O_WD},               \
	{"clip", required_argument, 0, O_CLIP}, {"warmup", required_argument, 0, O_WARMUP},             \
	{"checkpoint", required_argument, 0, O_CKPT}, {"every", required_argument, 0, O_EVERY},        \
	{"resume", required_argument, 0, O_RESUME}, {"eval", required_argument, 0, O_EVAL},            \
	{"eval-batches", required_argument, 0, O_EVALB}, {"eval-every", required_argument, 0, O_EVALE}, \
	{"log", required_argument, 0, O_LOG},                                                           \
	{"device", required_argument, 0, O_DEVICE}, {"norm-mean", required_argument, 0, O_NORM_MEAN},  \
	{"norm-std", required_argument, 0, O_NORM_STD}, {"precision", required_argument, 0, O_PRECISION}

#define TC_COMMON_HELP                                                                   \
	"      --checkpoint FILE   checkpoint file (also written on SIGINT/SIGTERM)\n"     \
	"      --every N           write the checkpoint every N steps\n"                   \
	"      --resume FILE       continue from a checkpoint\n"                           \
	"      --eval FILE         evaluate on these batches after each epoch\n"           \
	"      --eval-batches N    at most N of them\n"                                    \
	"      --eval-every N      evaluate after every N-th epoch and the last (default 1)\n" \
	"      --log FILE          metrics per step as TSV\n"                              \
	"      --device DEV        cpu (default) or cuda[:N]\n"                            \
	"      --precision P       fp32 (default), tf32 or bf16 (CUDA convolutions, GEMMs)\n" \
	"      --norm-mean LIST    normalisation of u8 pixels when the stream has none\n"  \
	"      --norm-std LIST\n"                                                          \
	"  -o, --output FILE       write the model to FILE (atomically)\n"                 \
	"  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n"

/* Options shared by all training tools (the O_ codes above, and -m). */
void tc_parse_common(int c, tc_opts *o);
/* After the options: the optional BATCHES argument and nothing more, -m when
 * model_usage names it ("-m MODEL"; NULL: optional), --precision for --device. */
void tc_args_done(tc_opts *o, int argc, char **argv, const char *model_usage);
/* Batches in one epoch of data: --epoch-batches, else a file read through
 * once and rewound (stdin cannot be: a usage error naming `what`). */
int64_t tc_epoch_batches(const tc_opts *o, cords_batches *data, const char *what);
/* Checkpoint path when --checkpoint is not given: OUT.ckpt or STAGE.ckpt. */
void tc_default_checkpoint(tc_opts *o, const char *stage);

/* An RNN tool: its name and defaults. */
typedef struct {
	const char *stage, *summary;
	cords_rnn_stage_cfg rnn;
	cords_opt_cfg opt;
	int epochs;
} cords_rnn_tool;

int cords_rnn_tool_main(int argc, char **argv, const cords_rnn_tool *t);

/* Pieces for the other tools. */
/* A model file as f32 tensors, meta first (a fresh one if it has none). */
void tc_load(const char *path, cords_tensor_list *l);
/* Load a BN CNN (cords-cnn's model: BatchNorm statistics) and its
 * architecture; anything else is fatal: "PATH: model of stage S: WHAT". */
void tc_load_bn_cnn(const char *path, cords_tensor_list *params, cords_arch *a, const char *what);
/* Carry the batch stream's dataset and normalisation (else o's --norm-mean
 * and --norm-std) into the model's meta, so that cords-infer normalises as
 * training did. */
void tc_meta_from_data(cords_tensor_list *params, cords_batches *data, const tc_opts *o);
void tc_meta_set(cords_tensor_list *params, const char *key, const char *fmt, ...) CORDS_PRINTF(3, 4);
/* Write params (meta first) to path ("-" = stdout), atomically. */
void tc_write(const char *path, const cords_tensor_list *params);
/* The TSV log and progress callback for cords_train_loop; ctx: a FILE * or NULL. */
int tc_report(void *ctx, const cords_loop_event *e);
void tc_log_header(FILE *f, const cords_stage *s);
/* Run the loop with signals, checkpoint default and the exit status (returns on success). */
void tc_run(const cords_stage *s, cords_tensor_list *params, cords_opt *opt, cords_batches *data, tc_opts *o);

#endif
