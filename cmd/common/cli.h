/* What every tool shares: program name, --help/--version/-q/-v, messages and
 * exit codes (1 for failures, 2 for usage), checked number parsing, atomic
 * outputs (a temporary file renamed into place on success, removed on any
 * failure or signal), the one signal handler, the environment and the
 * backend made from it, and a rate-limited progress line on a terminal. It
 * prints and exits, as the library never does. */
#ifndef CORDS_CLI_H
#define CORDS_CLI_H

#include "env.h"
#include "err.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdnoreturn.h>

#ifndef CORDS_VERSION
#define CORDS_VERSION "0.0.0"
#endif

/* Long options every tool accepts; put CLI_COMMON_OPTS at the end of a
 * tool's option array (before the zero entry) and "hVqvo:" in its short list. */
#define CLI_COMMON_OPTS                                                        \
	{"help", no_argument, 0, 'h'}, {"version", no_argument, 0, 'V'},       \
	{"quiet", no_argument, 0, 'q'}, {"verbose", no_argument, 0, 'v'},      \
	{"output", required_argument, 0, 'o'}

extern int cli_verbose, cli_quiet;
extern const char *cli_output; /* -o argument, NULL = stdout */

void cli_init(const char *prog, const char *help);
/* From now on the first SIGINT or SIGTERM sets cli_stop to its number
 * instead of ending the process (a trainer polls it, saves and stops); a
 * second one ends it as usual. */
void cli_trap_stop(void);
extern volatile sig_atomic_t cli_stop;
/* Handles h, V, q, v, o and '?' (usage error); returns 0 for other options. */
int cli_common_option(int c);
noreturn void cli_die(const char *fmt, ...) CORDS_PRINTF(1, 2);
/* Die with the library's last error message. */
noreturn void cli_die_lib(void);
noreturn void cli_usage(const char *fmt, ...) CORDS_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) CORDS_PRINTF(1, 2);
void cli_info(const char *fmt, ...) CORDS_PRINTF(1, 2); /* unless -q */

long long cli_int(const char *s, const char *what, long long lo, long long hi);
double cli_double(const char *s, const char *what, double lo, double hi);

/* Input: "-" or NULL is stdin. Dies on failure. name() gives the name for messages. */
FILE *cli_open_in(const char *path);
const char *cli_in_name(const char *path);
/* Output: "-" or NULL is stdout (refused if it is a terminal, since streams
 * are binary); a path gets a temporary sibling, renamed by cli_close_out. */
FILE *cli_open_out(const char *path);
const char *cli_out_name(const char *path);
void cli_close_out(FILE *f); /* flush, fsync, rename; dies on failure */
/* The temporary file behind an output opened by cli_open_out, for a library
 * that writes by path (netCDF): NULL for stdout, a device or a pipe. */
const char *cli_out_tmp(FILE *f);
void cli_close_in(FILE *f);

/* Progress on stderr, only on a terminal and at most a few times a second. */
void cli_progress(const char *fmt, ...) CORDS_PRINTF(1, 2);
void cli_progress_end(void);
double cli_now(void); /* monotonic seconds */
/* --precision fp32|tf32|bf16 (NULL: not given) for --device: tf32 needs a
 * CUDA device, and so does bf16 unless cpu_bf16 (the tool computes bf16 on
 * the CPU: inference; whether this CPU can is the backend's to say). Exit 2
 * if bad. */
void cli_precision(const char *precision, const char *device, int cpu_bf16);
/* The CORDS_* environment (lib/core/env.h), read on first use; a variable
 * with a value it does not take ends the tool (exit 1). */
const cords_env *cli_env(void);
/* The backend for --device, made with the environment's settings and
 * --precision (checked by cli_precision; NULL: the environment's on CUDA,
 * fp32 on the CPU). With
 * CORDS_PROFILE its table goes to stderr at exit. NULL with the library's
 * message. */
cords_backend *cli_backend(const char *device, const char *precision);

#endif
