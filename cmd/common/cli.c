/* Shared command-line plumbing (cli.h). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_verbose, cli_quiet;
const char *cli_output;
static const char *prog = "cords", *help_text = "";

#define MAX_OUT 16
static struct {
	FILE *f;
	char *tmp, *final;
} outs[MAX_OUT];
static volatile sig_atomic_t progress_shown;

static void remove_temps(void)
{
	for (int i = 0; i < MAX_OUT; i++)
		if (outs[i].tmp)
			unlink(outs[i].tmp);
}

/* The tools' one signal handler. SIGINT and SIGTERM, once cli_trap_stop
 * has been called and the first time, only ask the work to stop (cli_stop);
 * any other signal, or a second one, removes the temporary outputs and ends
 * the process as the signal would. */
volatile sig_atomic_t cli_stop;
static volatile sig_atomic_t trap_stop;

static void on_signal(int sig)
{
	if (trap_stop && !cli_stop && (sig == SIGINT || sig == SIGTERM)) {
		cli_stop = sig;
		return;
	}
	remove_temps(); /* unlink is async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

void cli_trap_stop(void)
{
	trap_stop = 1;
}

static const char *const precisions[] = {"fp32", "tf32", "bf16"};

void cli_precision(const char *precision, const char *device, int cpu_bf16)
{
	if (!precision)
		return;
	if (strcmp(precision, "fp32") && strcmp(precision, "tf32") && strcmp(precision, "bf16"))
		cli_usage("--precision: '%s' is none of fp32, tf32, bf16", precision);
	if (!strncmp(device, "cuda", 4) || !strcmp(precision, "fp32"))
		return;
	if (!strcmp(precision, "tf32"))
		cli_usage("--precision tf32 needs --device cuda (the CPU computes in fp32 or bf16)");
	if (!cpu_bf16)
		cli_usage("--precision bf16 needs --device cuda (the CPU trains in fp32; bf16 on the CPU is for cords-infer)");
}

const cords_env *cli_env(void)
{
	static cords_env env;
	static int have;
	if (!have && cords_env_read(&env))
		cli_die_lib();
	have = 1;
	return &env;
}

enum { MAX_PROFILED = 8 };
static cords_backend *profiled[MAX_PROFILED];
static int nprofiled;

static void print_profiles(void)
{
	const char *rank = getenv("OMPI_COMM_WORLD_RANK");
	char pre[48];
	snprintf(pre, sizeof pre, "cords-profile%s%s:", rank ? " rank " : "", rank ? rank : "");
	for (int i = 0; i < nprofiled; i++) {
		char *t = cords_backend_profile(profiled[i], pre);
		if (t)
			fputs(t, stderr);
		else
			fprintf(stderr, "%s: the profile: %s\n", prog, cords_errmsg());
		free(t);
	}
}

cords_backend *cli_backend(const char *device, const char *precision)
{
	cords_backend_opts o = cli_env()->backend;
	/* CORDS_PRECISION is the GPU's: on the CPU only --precision asks for bf16,
	 * so that a GPU job's environment changes no CPU tool's results. */
	if (strncmp(device, "cuda", 4))
		o.precision = CORDS_PREC_FP32;
	for (int i = 0; precision && i < 3; i++)
		if (!strcmp(precision, precisions[i]))
			o.precision = (cords_precision)i;
	cords_backend *be = cords_backend_get(device, &o);
	if (!be)
		return NULL;
	int seen = 0;
	for (int i = 0; i < nprofiled; i++)
		seen |= profiled[i] == be;
	if (o.profile && !seen && nprofiled < MAX_PROFILED) {
		if (!nprofiled)
			atexit(print_profiles);
		profiled[nprofiled++] = be;
	}
	return be;
}

void cli_init(const char *p, const char *help)
{
	prog = p;
	help_text = help;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART; /* as signal() installs it: reads go on after a stop request */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
}

static void vmsg(const char *fmt, va_list ap)
{
	if (progress_shown)
		cli_progress_end();
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

noreturn void cli_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	remove_temps();
	exit(1);
}

noreturn void cli_die_lib(void)
{
	cli_die("%s", cords_errmsg());
}

noreturn void cli_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	remove_temps();
	exit(2);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void cli_info(const char *fmt, ...)
{
	va_list ap;
	if (cli_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int cli_common_option(int c)
{
	switch (c) {
	case 'h':
		fputs(help_text, stdout);
		if (fflush(stdout) || ferror(stdout))
			exit(1);
		exit(0);
	case 'V':
		printf("%s %s\n", prog, CORDS_VERSION);
		exit(fflush(stdout) ? 1 : 0);
	case 'q': cli_quiet = 1; return 1;
	case 'v': cli_verbose++; return 1;
	case 'o': cli_output = optarg; return 1;
	case '?': cli_usage("invalid usage");
	case ':': cli_usage("option needs an argument");
	}
	return 0;
}

long long cli_int(const char *s, const char *what, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		cli_usage("%s: '%s' is not a whole number in %lld..%lld", what, s, lo, hi);
	return v;
}

double cli_double(const char *s, const char *what, double lo, double hi)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		cli_usage("%s: '%s' is not a number in %g..%g", what, s, lo, hi);
	return v;
}

static int is_std(const char *path) { return !path || !strcmp(path, "-"); }

const char *cli_in_name(const char *path) { return is_std(path) ? "<stdin>" : path; }
const char *cli_out_name(const char *path) { return is_std(path) ? "<stdout>" : path; }

FILE *cli_open_in(const char *path)
{
	if (is_std(path))
		return stdin;
	FILE *f = fopen(path, "rb");
	if (!f)
		cli_die("%s: %s", path, strerror(errno));
	return f;
}

void cli_close_in(FILE *f)
{
	if (f && f != stdin)
		fclose(f);
}

FILE *cli_open_out(const char *path)
{
	if (is_std(path)) {
		if (isatty(STDOUT_FILENO))
			cli_usage("refusing to write a binary stream to a terminal (use -o FILE or a pipe)");
		return stdout;
	}
	/* A device or a pipe (-o /dev/null, a fifo) is written in place: renaming
	 * a file over it would replace it. */
	struct stat st;
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		FILE *f = fopen(path, "wb");
		if (!f)
			cli_die("%s: %s", path, strerror(errno));
		return f;
	}
	int slot = 0;
	while (slot < MAX_OUT && outs[slot].tmp)
		slot++;
	if (slot == MAX_OUT)
		cli_die("too many open outputs");
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	if (!tmp)
		cli_die("out of memory");
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		cli_die("%s: %s", path, strerror(errno));
	}
	/* mkstemp makes 0600; the final file gets what open(2) would give it. */
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	FILE *f = fdopen(fd, "wb");
	if (!f)
		cli_die("%s: %s", path, strerror(errno));
	outs[slot].f = f;
	outs[slot].tmp = tmp;
	outs[slot].final = strdup(path);
	return f;
}

const char *cli_out_tmp(FILE *f)
{
	for (int i = 0; i < MAX_OUT && f != stdout; i++)
		if (outs[i].f == f)
			return outs[i].tmp;
	return NULL;
}

void cli_close_out(FILE *f)
{
	if (f == stdout) {
		if (fflush(stdout) || ferror(stdout))
			cli_die("<stdout>: %s", errno ? strerror(errno) : "write error");
		return;
	}
	for (int i = 0; i < MAX_OUT; i++) {
		if (outs[i].f != f)
			continue;
		/* fsync before rename: after a crash the name points at whole data. */
		if (fflush(f) || ferror(f) || fsync(fileno(f)))
			cli_die("%s: %s", outs[i].final, strerror(errno));
		if (fclose(f))
			cli_die("%s: %s", outs[i].final, strerror(errno));
		outs[i].f = NULL;
		if (rename(outs[i].tmp, outs[i].final))
			cli_die("%s: %s", outs[i].final, strerror(errno));
		free(outs[i].tmp);
		free(outs[i].final);
		outs[i].tmp = outs[i].final = NULL;
		return;
	}
	/* Written in place (a device or a pipe): nothing to rename. */
	if (fflush(f) || ferror(f) || fclose(f))
		cli_die("%s", strerror(errno));
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress(const char *fmt, ...)
{
	static double last;
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	double now = cli_now();
	if (!tty || cli_quiet || now - last < 0.25)
		return;
	last = now;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "\r%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputs("\033[K", stderr);
	va_end(ap);
	progress_shown = 1;
}

void cli_progress_end(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = 0;
}
