/* The metadata record: a text record named "meta" of key=value lines, one
 * per line, that a stream may start with (man 5 cords-stream). */
#ifndef CORDS_META_H
#define CORDS_META_H

#include "err.h"
#include "tensor.h"

#include <stdarg.h>

/* Every key the tools write or read, one a line: its type; who writes it;
 * who reads it. Tools are cords-NAME; "training tools" are linear, anneal,
 * finetune, cnn and inverse; "spont cache" is cords-infer's cache of the
 * spontaneous state (lib/model/spont.c); "any model reader/runner" every
 * tool that loads/runs a model; "-": only people and cords-cat read it.
 * Types: text, int, number, list (of numbers, cords_meta_numbers). The same
 * table, with what each key means, is METADATA KEYS in man 5 cords-stream;
 * test/cli/meta_keys.sh checks that the two agree and that no key is spelt
 * out in lib/, cmd/ or kernels/ but here. */

/* Every stream */
#define CORDS_KEY_FORMAT "format" /* text; init import cnn unpack prep eig, spont cache; infer (cache match) */

/* Models: the architecture (lib/model/arch.c) */
#define CORDS_KEY_DEPTH "depth"             /* int; init import cnn, spont cache; any model reader, infer (cache match) */
#define CORDS_KEY_IN_CHANNELS "in_channels" /* int; init import cnn; any model reader */
#define CORDS_KEY_HEIGHT "height"           /* int; init import cnn unpack prep; any model reader */
#define CORDS_KEY_WIDTH "width"             /* int; init import cnn unpack prep; any model reader */
#define CORDS_KEY_CLASSES "classes"         /* int; init import cnn unpack prep; any model reader, prep */

/* Models: where they come from */
#define CORDS_KEY_STAGE "stage"   /* text; init import cnn fold inverse linear anneal finetune; linear anneal finetune fold inverse (messages) */
#define CORDS_KEY_SEED "seed"     /* int; init cnn inverse prep; - */
#define CORDS_KEY_SOURCE "source" /* text; import; - */

/* Models: the protocol (lib/model/dynamics.c) */
#define CORDS_KEY_PHI "phi"                 /* text; init import inverse linear anneal finetune infer, spont cache; any model runner */
#define CORDS_KEY_PRELU_SLOPE "prelu_slope" /* number; init linear anneal finetune infer, spont cache; any model runner */
#define CORDS_KEY_ALPHA "alpha"             /* number; init import linear anneal finetune infer eig, spont cache; any model runner */
#define CORDS_KEY_SPONT_STEPS "spont_steps" /* int; init import inverse linear anneal finetune infer, spont cache; any model runner */
#define CORDS_KEY_STIM_STEPS "stim_steps"   /* int; init import inverse linear anneal finetune infer; any model runner */
#define CORDS_KEY_TAU_MS "tau_ms"           /* number; - (a person, for another tau than 10 ms); cat (--netcdf time_ms) */

/* Data, and the models trained on it */
#define CORDS_KEY_DATASET "dataset"     /* text; unpack prep init, training tools (from data); prep */
#define CORDS_KEY_NORM_MEAN "norm_mean" /* list; unpack prep init, training tools (from data); training tools, infer, eig */
#define CORDS_KEY_NORM_STD "norm_std"   /* list; unpack prep init, training tools (from data); training tools, infer, eig */

/* Training records (lib/train, cmd/common/train_cli.c) */
#define CORDS_KEY_TRAIN_EPOCHS "train_epochs"                     /* int; linear anneal finetune; - */
#define CORDS_KEY_TRAIN_LR "train_lr"                             /* number; linear anneal finetune; - */
#define CORDS_KEY_TRAIN_READOUTS "train_readouts"                 /* int; linear anneal finetune; - */
#define CORDS_KEY_TRAIN_BLANK_STEPS "train_blank_steps"           /* int; linear anneal finetune; - */
#define CORDS_KEY_TRAIN_TEACHER "train_teacher"                   /* text; linear anneal finetune; - */
#define CORDS_KEY_TRAIN_ROUNDS "train_rounds"                     /* int; cnn; - */
#define CORDS_KEY_TRAIN_EPOCHS_PER_ROUND "train_epochs_per_round" /* int; cnn; - */
#define CORDS_KEY_FOLD_CHECK_MAX_DIFF "fold_check_max_diff"       /* number; fold; - */

/* Checkpoints (lib/train/trainloop.c) */
#define CORDS_KEY_CKPT_EPOCH "ckpt_epoch"       /* int; training tools; training tools (--resume) */
#define CORDS_KEY_CKPT_BATCH "ckpt_batch"       /* int; training tools; training tools (--resume) */
#define CORDS_KEY_CKPT_STEP "ckpt_step"         /* int; training tools; training tools (--resume) */
#define CORDS_KEY_CKPT_OPT_STEP "ckpt_opt_step" /* int; training tools; training tools (--resume) */

/* The spontaneous-state cache (lib/model/spont.c) and cords-infer's output */
#define CORDS_KEY_MODEL_HASH "model_hash" /* text; spont cache; infer (cache match) */
#define CORDS_KEY_PRECISION "precision"   /* text; spont cache (bf16, tf32; fp32: absent); infer (cache match) */
#define CORDS_KEY_EVERY "every"           /* int; infer; - */

/* Sample streams (cords-unpack, lib/data/dataset.c) */
#define CORDS_KEY_SPLIT "split"             /* text; unpack prep; prep */
#define CORDS_KEY_CLASS_NAMES "class_names" /* text; unpack; - */
#define CORDS_KEY_CHANNELS "channels"       /* int; unpack prep; - */
#define CORDS_KEY_COUNT "count"             /* int; unpack; - */
#define CORDS_KEY_LABELS "labels"           /* text; unpack; - */
#define CORDS_KEY_SHARD "shard"             /* int; unpack; - */

/* Batch streams (cords-prep) */
#define CORDS_KEY_BATCH "batch"           /* int; prep; - */
#define CORDS_KEY_EPOCHS "epochs"         /* int; prep; - */
#define CORDS_KEY_TRANSFORMS "transforms" /* text; prep; - */
#define CORDS_KEY_MIX "mix"               /* text; prep; - */
#define CORDS_KEY_NORMALIZED "normalized" /* text; prep; - */

/* Spectra (cords-eig) */
#define CORDS_KEY_OP "op"         /* text; eig; - */
#define CORDS_KEY_AREA "area"     /* int; eig; - */
#define CORDS_KEY_AT "at"         /* text; eig; - */
#define CORDS_KEY_METHOD "method" /* text; eig; - */
#define CORDS_KEY_N "n"           /* int; eig; - */
#define CORDS_KEY_STATE "state"             /* text; eig (--save-state); - */
#define CORDS_KEY_STEP_CHANGE "step_change" /* float; eig (--save-state); - */

/* A new empty text record called "meta". */
cords_tensor *cords_meta_new(void);
/* A new "meta" record with the lines of meta (NULL: an empty one). */
cords_tensor *cords_meta_copy(const cords_tensor *meta);
/* The value of key (malloc'd) or NULL. */
char *cords_meta_get(const cords_tensor *meta, const char *key);
/* Set or replace key in a text record (reallocates its data). */
int cords_meta_set(cords_tensor *meta, const char *key, const char *value);
/* The same with the value printf-formatted. */
int cords_meta_setf(cords_tensor *meta, const char *key, const char *fmt, ...) CORDS_PRINTF(3, 4);
int cords_meta_vsetf(cords_tensor *meta, const char *key, const char *fmt, va_list ap);

/* A list value, e.g. "0.4914,0.4822,0.4465": numbers separated by commas,
 * blanks, or both ("0.5, 0.5" and "0.5 0.5" read as "0.5,0.5"). Up to max
 * finite numbers into v; the count, or -1 for an empty or malformed list or
 * one longer than max. The same syntax for list options (--norm-mean, ...). */
int cords_meta_numbers(const char *s, double *v, int max);

#endif
