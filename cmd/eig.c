/* cords-eig: eigenvalues of a model's recurrent convolutions and of its
 * linearised dynamics (cords-analysis(7)). */
#include "backend.h"
#include "batch.h"
#include "cli.h"
#include "conv_op.h"
#include "eig.h"
#include "eig_state.h"
#include "infer.h"
#include "meta.h"
#include "model.h"
#include "net_op.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-eig -m MODEL --area I [OPTION]...\n"
	"Eigenvalues of area I's recurrent convolution or of the linearised dynamics.\n"
	"\n"
	"  -m, --model FILE      the model stream (required)\n"
	"  -a, --area I          the area, 0..D-1 (required except for --op network)\n"
	"      --op OP           conv (area_conv_i, default), jacobian (J_i = (1-alpha) I\n"
	"                        + alpha diag(phi'(z)) area_conv_i at the state) or network\n"
	"                        (the whole one-step map's Jacobian, all areas coupled)\n"
	"      --at STATE        spont (default: the spontaneous state), FILE (a batch\n"
	"                        stream whose first x record holds one image: the state\n"
	"                        after its protocol), fixed or fixed:FILE (the fixed\n"
	"                        point r* = F(r*) of the one-step map found by Newton-\n"
	"                        Krylov from that state; --op defaults to network)\n"
	"      --save-state FILE write the state the spectrum is taken at (r*, with\n"
	"                        --at fixed) as a stream of records r0.. [1,c,h,w]\n"
	"      --method M        arnoldi (default), power or dense\n"
	"  -k, --k N             Arnoldi steps (default 300); with --converge, the\n"
	"                        eigenvalues wanted (default 6)\n"
	"      --converge        restart (Krylov-Schur) until the top k eigenvalues by\n"
	"                        modulus have converged to --tol\n"
	"      --ncv M           --converge: the basis, M vectors (default 100 or 2k,\n"
	"                        at least k + 2)\n"
	"      --top N           list the first N eigenvalues (default: all converged)\n"
	"      --tol X           convergence tolerance: residual ||A y - theta y|| <= X |theta|\n"
	"                        (Arnoldi 1e-6, power 1e-10)\n"
	"      --block S         products per orthogonalisation (default 16): S steps\n"
	"                        as one block against the basis; 1: one at a time\n"
	"      --reorth R        Gram-Schmidt: dgks (a second pass only where the first\n"
	"                        cancelled, default) or cgs2 (two passes always)\n"
	"      --basis P         Krylov basis in f64 (default) or f32 (half the memory,\n"
	"                        one step at a time)\n"
	"      --trials T        power iteration: parallel random starts (default 4)\n"
	"      --maxit N         power iteration: iterations (default 10000); --converge:\n"
	"                        restarts (default 1000)\n"
	"      --seed K          random start vectors (default 1)\n"
	"      --device DEV      cpu (default), cuda or cuda:N: the Krylov basis, its\n"
	"                        Gram-Schmidt and area_conv on the GPU, in double\n"
	"      --tsv             text: one eigenvalue a line, re<TAB>im\n"
	"  -o, --output FILE     write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet           no messages but errors\n"
	"  -h, --help            this help\n"
	"  -V, --version         version\n"
	"\n"
	"The spectral radius and the stability verdict go to stderr. See cords-eig(1).\n";

enum { OP_CONV, OP_JACOBIAN, OP_NETWORK };
enum { M_ARNOLDI, M_POWER, M_DENSE };

typedef struct {
	const char *model, *at, *save_state;
	const char *image; /* --at FILE or fixed:FILE */
	int fixed;         /* --at fixed */
	int op_set;
	int area, op, method, k, top, trials, maxit, tsv, dgks, f32, converge, ncv, block;
	int cuda; /* -1: the CPU; N: CUDA device N */
	double tol;
	long long seed;
} options;

/* The spectrum found: n eigenvalues sorted, of which `listed` are output. */
typedef struct {
	int n, listed;
	double *re, *im, *resid; /* resid may be NULL */
	int undetermined;        /* power iteration failed: the values are guesses */
	unsigned char *ok;       /* Arnoldi: converged flags (NULL: all trusted) */
	cords_power_result pw;   /* method power only */
} spectrum;

static int pick(const char *s, const char *what, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return i;
	cli_usage("%s: '%s' is not one of the choices", what, s);
}

static void parse(int argc, char **argv, options *o)
{
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'}, {"area", required_argument, 0, 'a'},
		{"op", required_argument, 0, 'O'}, {"at", required_argument, 0, 'A'},
		{"method", required_argument, 0, 'M'}, {"k", required_argument, 0, 'k'},
		{"top", required_argument, 0, 'T'}, {"tol", required_argument, 0, 't'},
		{"reorth", required_argument, 0, 'R'}, {"trials", required_argument, 0, 'r'},
		{"maxit", required_argument, 0, 'i'}, {"seed", required_argument, 0, 's'},
		{"tsv", no_argument, 0, 'x'}, {"basis", required_argument, 0, 'B'},
		{"device", required_argument, 0, 'D'}, {"converge", no_argument, 0, 'C'},
		{"ncv", required_argument, 0, 'N'}, {"block", required_argument, 0, 'b'},
		{"save-state", required_argument, 0, 'S'}, CLI_COMMON_OPTS, {0, 0, 0, 0}};
	static const char *const ops[] = {"conv", "jacobian", "network", NULL};
	static const char *const methods[] = {"arnoldi", "power", "dense", NULL};
	static const char *const reorth[] = {"cgs2", "dgks", NULL};
	static const char *const basis[] = {"f64", "f32", NULL};
	*o = (options){.area = -1, .trials = 4, .seed = 1, .at = "spont", .cuda = -1, .dgks = 1};
	int c;
	while ((c = getopt_long(argc, argv, "m:a:k:hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'a': o->area = (int)cli_int(optarg, "--area", 0, 1000); break;
		case 'O': o->op = pick(optarg, "--op", ops), o->op_set = 1; break;
		case 'A': o->at = optarg; break;
		case 'M': o->method = pick(optarg, "--method", methods); break;
		case 'k': o->k = (int)cli_int(optarg, "--k", 1, 100000); break;
		case 'T': o->top = (int)cli_int(optarg, "--top", 1, 1 << 30); break;
		case 't': o->tol = cli_double(optarg, "--tol", 1e-16, 1); break;
		case 'R': o->dgks = pick(optarg, "--reorth", reorth); break;
		case 'r': o->trials = (int)cli_int(optarg, "--trials", 1, 1024); break;
		case 'i': o->maxit = (int)cli_int(optarg, "--maxit", 1, 100000000); break;
		case 'C': o->converge = 1; break;
		case 'N': o->ncv = (int)cli_int(optarg, "--ncv", 3, 100000); break;
		case 'b': o->block = (int)cli_int(optarg, "--block", 1, CORDS_MAX_BLOCK); break;
		case 's': o->seed = cli_int(optarg, "--seed", 0, (1LL << 62)); break;
		case 'x': o->tsv = 1; break;
		case 'S': o->save_state = optarg; break;
		case 'B': o->f32 = pick(optarg, "--basis", basis); break;
		case 'D':
			if (cords_device_index(optarg, &o->cuda))
				cli_usage("--device: %s", cords_errmsg());
			break;
		}
	}
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!o->model)
		cli_usage("-m MODEL is required");
	o->fixed = !strcmp(o->at, "fixed") || !strncmp(o->at, "fixed:", 6);
	o->image = !strcmp(o->at, "spont") || !strcmp(o->at, "fixed") ? NULL : o->fixed ? o->at + 6 : o->at;
	if (o->image && !*o->image)
		cli_usage("--at fixed:FILE needs a FILE");
	if (o->fixed && !o->op_set)
		o->op = OP_NETWORK;
	if (o->area < 0 && o->op != OP_NETWORK)
		cli_usage("--area I is required");
	if (strcmp(o->at, "spont") && o->op == OP_CONV)
		cli_usage("--at applies to --op jacobian and network (area_conv does not depend on the state)");
	if (o->save_state && o->op == OP_CONV)
		cli_usage("--save-state: --op conv is taken at no state");
	if (o->cuda >= 0 && o->f32)
		cli_usage("--basis f32 is for host memory: on a GPU the basis is f64");
	if (o->converge && o->method != M_ARNOLDI)
		cli_usage("--converge restarts the Arnoldi method: not with --method %s", o->method == M_POWER ? "power" : "dense");
	if (o->ncv && !o->converge)
		cli_usage("--ncv is the basis of --converge");
	if (o->converge && o->f32)
		cli_usage("--converge keeps its basis in f64: a converged residual needs it");
	if (o->f32 && o->block > 1)
		cli_usage("--basis f32 takes one step at a time: not with --block %d", o->block);
	if (!o->block)
		o->block = o->f32 ? 1 : 16;
	if (!o->k)
		o->k = o->converge ? 6 : 300;
	if (!o->ncv) /* fewest products and least time on R8's first area (64 and 150 slower) */
		o->ncv = 2 * o->k > 100 ? 2 * o->k : 100;
	if (o->converge && o->ncv < o->k + 2)
		cli_usage("--ncv %d for -k %d: the basis needs at least k + 2 vectors", o->ncv, o->k);
	if (o->converge && o->top > o->k)
		cli_usage("--top %d with --converge -k %d: only the top %d are converged", o->top, o->k, o->k);
	if (!o->maxit)
		o->maxit = o->converge ? 1000 : 10000;
}

/* The first batch of a batch stream, one image, as model input: read and
 * normalised as cords-infer reads it (cords_infer_batches). */
static float *read_image(const char *path, const cords_model *m)
{
	cords_batches *r = cords_infer_batches(m, path);
	cords_batch b = {0};
	int rc = r ? cords_batches_next(r, &b) : -1;
	if (rc < 0)
		cli_die_lib();
	if (!rc)
		cli_die("%s: no x record (a batch stream holds x [B,C,H,W])", path);
	if (b.B != 1)
		cli_die("%s: batch x [%d,%d,%d,%d]: want one image [1,%d,%d,%d]", path, b.B, b.C, b.H, b.W, b.C, b.H, b.W);
	float *x = b.x;
	b.x = NULL;
	cords_batch_free(&b);
	cords_batches_close(r);
	return x;
}

/* --save-state: the state as records r0..r{D-1} [1,c,h,w] f32 (the model's
 * precision, what cords-infer --record writes per step). */
static void save_state(const options *o, const cords_model *m, const cords_eig_state *st, const char *what)
{
	FILE *f = cli_open_out(o->save_state);
	cords_writer *w = cords_writer_new(f, cli_out_name(o->save_state), cli_env()->zstd_level);
	char name[16];
	cords_tensor *meta = cords_meta_new();
	if (!w || !meta || cords_meta_set(meta, CORDS_KEY_FORMAT, "cords-state") || cords_meta_set(meta, CORDS_KEY_AT, o->at) ||
	    cords_meta_set(meta, CORDS_KEY_STATE, what) || cords_meta_setf(meta, CORDS_KEY_STEP_CHANGE, "%.9g", st->step_change) ||
	    cords_meta_setf(meta, CORDS_KEY_DEPTH, "%d", st->depth) || cords_write_tensor(w, meta))
		cli_die_lib();
	cords_tensor_free(meta);
	for (int i = 0; i < st->depth; i++) {
		int64_t sh[4] = {1, m->arch.c[i], m->arch.h[i], m->arch.w[i]};
		snprintf(name, sizeof name, "r%d", i);
		if (cords_write_begin(w, name, CORDS_F32, 4, sh) ||
		    cords_write_data(w, st->r[i], (size_t)st->n[i] * sizeof(float)) || cords_write_end(w))
			cli_die_lib();
	}
	if (cords_writer_close(w))
		cli_die_lib();
	cli_close_out(f);
}

/* --at fixed: Newton-Krylov from the protocol's state to r*. */
static void fixed_point(const options *o, const cords_tensor_list *params, cords_stepmap *f, double *r)
{
	cords_fixed_opts fo;
	cords_fixed_result fr;
	cords_fixed_opts_default(&fo);
	double t0 = cli_now();
	if (cords_fixed_point(f, params, r, &fo, &fr))
		cli_die("%s: %s", o->model, cords_errmsg());
	cli_info("fixed point: residual ||F(r*) - r*|| / ||r*|| = %.3g (%.6g at the protocol's state) after %d Newton "
		 "steps, %d Jacobian products, %.2f s; distance ||r* - r0|| / ||r0|| = %.6g from the protocol's state r0",
		 fr.resid, fr.resid0, fr.steps, fr.products, cli_now() - t0, fr.dist);
	if (!fr.converged)
		cli_warn("fixed point: the residual %.3g is above %g: %s", fr.resid, fo.tol,
			 fr.stalled ? "no Newton step lowered it further (the model's single-precision step is the limit, "
				      "or no fixed point is near)"
				    : "the Newton steps ran out");
}

/* The state for jacobian/network: report how close it is to a fixed point. */
static void get_state(const options *o, const cords_model *m, const cords_tensor_list *params, cords_eig_state *st)
{
	float *img = o->image ? read_image(o->image, m) : NULL;
	const char *src = o->image ? o->image : o->model;
	cords_stepmap f;
	if (cords_stepmap_init(&f, m, img, NULL))
		cli_die("%s: %s", src, cords_errmsg());
	double *r = malloc((size_t)f.total * sizeof *r);
	if (!r)
		cli_die("out of memory");
	for (int64_t k = 0; k < f.total; k++)
		r[k] = f.buf[k];
	if (o->fixed)
		fixed_point(o, params, &f, r);
	if (cords_eig_state_at(&f, r, st))
		cli_die("%s: %s", src, cords_errmsg());
	free(r);
	cords_stepmap_free(&f);
	free(img);
	const char *what = o->fixed ? "fixed point" : o->image ? "after the image's protocol" : "spontaneous";
	if (o->fixed)
		cli_info("state: the fixed point from the %s state%s%s, ||r*|| = %.6g", o->image ? "image's" : "spontaneous",
			 o->image ? " of " : "", o->image ? o->image : "", st->norm);
	else
		cli_info("state: %s, ||r|| = %.6g, one more step changes it by %.3g (relative)%s",
			 o->image ? o->image : "spontaneous", st->norm, st->step_change,
			 st->step_change > 1e-3 ? ": not a fixed point, the linearisation is of the step map there" : "");
	if (o->save_state)
		save_state(o, m, st, what);
}

static void run_arnoldi(const options *o, const cords_linop *A, spectrum *s)
{
	cords_arnoldi_opts ao;
	cords_arnoldi_result r;
	cords_arnoldi_opts_default(&ao);
	ao.k = o->converge ? o->ncv : o->k;
	ao.nev = o->converge ? o->k : 0;
	ao.max_restarts = o->maxit;
	ao.seed = (uint64_t)o->seed;
	ao.always_reorth = !o->dgks;
	ao.basis_f32 = o->f32;
	ao.block = o->block;
	ao.device = o->method == M_ARNOLDI ? o->cuda : -1;
	if (o->tol > 0)
		ao.tol = o->tol;
	if (cords_arnoldi(A, &ao, &r))
		cli_die_lib();
	if (o->converge)
		cli_info("krylov-schur: %d of the top %d converged (tol %g, residuals computed) after %d restarts of a %d-vector basis, %d "
			 "products on %lld unknowns; %.2f s operator, %.2f s orthogonalisation, %.2f s LAPACK, %.0f MB basis",
			 r.nwanted_conv, ao.nev, ao.tol, r.cycles, r.k, r.applies, (long long)A->n, r.t_apply, r.t_orth,
			 r.t_hess, r.basis_bytes / 1e6);
	else
		cli_info("arnoldi: %d steps on %lld unknowns, %d Ritz values converged (tol %g); %.2f s operator, "
			 "%.2f s orthogonalisation, %.2f s LAPACK, %.0f MB basis",
			 r.k, (long long)A->n, r.nconv, ao.tol, r.t_apply, r.t_orth, r.t_hess, r.basis_bytes / 1e6);
	if (o->dgks && r.reorth)
		cli_info("arnoldi: %d products needed a second Gram-Schmidt pass", r.reorth);
	if (r.restarts || r.block_fallbacks)
		cli_info("arnoldi: %d invariant subspaces met (continued from a random vector), %d blocks too ill-conditioned "
			 "(taken one step at a time)", r.restarts, r.block_fallbacks);
	if (o->converge && r.unconfirmed)
		cli_warn("%d of the top %d passed --tol by the Krylov relation's estimate but not by their computed "
			 "residual ||A x - theta x||: the relation lost accuracy to rounding", r.unconfirmed, ao.nev);
	else if (o->converge && r.nwanted_conv < ao.nev)
		cli_warn("only %d of the top %d converged in %d restarts: raise --maxit or --ncv", r.nwanted_conv, ao.nev,
			 r.cycles);
	s->n = o->converge && r.k > ao.nev ? ao.nev : r.k;
	s->re = r.re;
	s->im = r.im;
	s->resid = r.resid;
	if (!(s->ok = malloc((size_t)r.k)))
		cli_die("out of memory");
	for (int i = 0; i < s->n; i++)
		s->ok[i] = (unsigned char)cords_ritz_converged(&r, i);
	/* default: the converged ones, in modulus order */
	int keep = 0;
	for (int i = 0; i < s->n && !o->top; i++)
		if (s->ok[i]) {
			s->re[keep] = s->re[i];
			s->im[keep] = s->im[i];
			s->ok[keep] = 1;
			s->resid[keep++] = s->resid[i];
		}
	if (!o->top)
		s->n = keep;
	s->listed = o->top && o->top < s->n ? o->top : s->n;
	for (int i = 0; i < s->listed && o->top; i++)
		if (!s->ok[i]) {
			cli_warn("of the top %d Ritz values some have not converged (the first: #%d, residual %.3g)",
				 s->listed, i + 1, s->resid[i]);
			break;
		}
	if (!keep && !o->top)
		cli_warn("no Ritz value converged: raise --k, or use --top N to list unconverged ones");
}

static void run_power(const options *o, const cords_linop *A, spectrum *s)
{
	cords_power_opts po;
	cords_power_opts_default(&po);
	po.trials = o->trials;
	po.maxit = o->maxit;
	po.seed = (uint64_t)o->seed;
	if (o->tol > 0)
		po.tol = o->tol;
	cords_power_result *r = &s->pw;
	if (cords_power(A, &po, r))
		cli_die_lib();
	cli_info("power: %s after %d iterations, residual ||Av - lambda v|| = %.3g, %d of %d trials agree",
		 r->converged ? "converged" : "not converged", r->iters, r->resid, r->trials_agree, po.trials);
	if (!isnan(r->gap))
		cli_info("power: second eigenvalue %.9g%+.9gi, gap |lambda2/lambda1| = %.6f", r->re2, r->im2, r->gap);
	else if (r->converged && !isnan(r->rate))
		cli_info("power: the residual fell by %.6f per step at the end (~ the gap |lambda2/lambda1|)", r->rate);
	if (r->pair && r->im)
		cli_info("power: the dominant eigenvalues are a complex pair %.9g +- %.9gi: the complex "
			 "eigenvector is written (real and imaginary parts)", r->re, r->im);
	else if (r->pair)
		cli_warn("two real dominant eigenvalues of equal modulus, %.9g and %.9g: no single eigenvector",
			 r->re, r->re2);
	else if (!r->converged)
		cli_warn("power iteration did not converge: the residual falls by %.6f per step (~ the gap "
			 "|lambda2/lambda1|, too close to 1%s); the eigenvalue is not determined, use --method arnoldi",
			 r->rate, isnan(r->rate) || r->rate > 0.999 ? ", or a complex pair not yet resolved" : "");
	int n = r->pair ? 2 : 1;
	s->re = malloc(2 * sizeof(double));
	s->im = malloc(2 * sizeof(double));
	if (!s->re || !s->im)
		cli_die("out of memory");
	s->re[0] = r->re;
	s->im[0] = r->im;
	s->re[1] = r->im ? r->re : r->re2;
	s->im[1] = r->im ? -r->im : r->im2;
	s->n = s->listed = o->top && o->top < n ? o->top : n;
	s->undetermined = !r->converged && !r->pair;
	if (s->undetermined)
		s->listed = 0; /* a guess is not an answer */
}

static void run_dense(const options *o, const cords_linop *A, spectrum *s)
{
	s->re = malloc((size_t)(A->n > 0 ? A->n : 1) * sizeof(double));
	s->im = malloc((size_t)(A->n > 0 ? A->n : 1) * sizeof(double));
	if (!s->re || !s->im)
		cli_die("out of memory");
	if (cords_dense_eig(A, CORDS_DENSE_MAX, s->re, s->im, NULL))
		cli_die_lib();
	s->n = (int)A->n;
	s->listed = o->top && o->top < s->n ? o->top : s->n;
}

/* Spectral radius and the stability verdicts (see cords-eig(1), STABILITY). */
static void report(const options *o, const spectrum *s, double alpha)
{
	double rho = 0, re_max = -INFINITY, mu_max = 0;
	int used = 0;
	for (int i = 0; i < s->n; i++) {
		if (s->ok && !s->ok[i])
			continue; /* not converged: not evidence */
		used++;
		rho = fmax(rho, hypot(s->re[i], s->im[i]));
		re_max = fmax(re_max, s->re[i]);
		mu_max = fmax(mu_max, hypot(1 - alpha + alpha * s->re[i], alpha * s->im[i]));
	}
	if (!used || s->undetermined) {
		cli_info("spectral radius: not determined%s", s->undetermined ? " (power iteration did not converge)" : " (no converged eigenvalue)");
		return;
	}
	const char *of = o->method == M_POWER ? "dominant eigenvalue" : o->method == M_DENSE ? "all eigenvalues" : "converged Ritz values";
	cli_info("spectral radius %.9g (%s)", rho, of);
	if (o->method == M_POWER) {
		/* Only the dominant eigenvalue is known: what it gives is a lower
		 * bound of each maximum, and |lambda| <= rho for every eigenvalue
		 * an upper one (Re lambda <= rho, |1 - alpha + alpha lambda| <=
		 * 1 - alpha + alpha rho); a verdict only where the bounds agree. */
		double mu_hi = 1 - alpha + alpha * rho;
		const char *dv = mu_hi < 1 ? "stable" : mu_max >= 1 ? "UNSTABLE" : "not determined";
		const char *cv = rho < 1 ? "stable" : re_max >= 1 ? "UNSTABLE" : "not determined";
		if (o->op == OP_CONV)
			cli_info("linear dynamics (phi = identity, alpha %g), bounds from the dominant eigenvalue only: "
				 "discrete step %s (%.6g <= max |1 - alpha + alpha lambda| <= %.6g), continuous time %s "
				 "(%.6g <= max Re lambda <= %.6g, boundary 1)%s",
				 alpha, dv, mu_max, mu_hi, cv, re_max, rho,
				 strcmp(dv, "not determined") && strcmp(cv, "not determined") ? "" : "; --method arnoldi or dense decides");
		else
			cli_info("fixed point: %s for the discrete-time step (spectral radius %s 1); continuous time %s "
				 "(%.6g <= max Re mu <= %.6g, bounds from the dominant eigenvalue only, boundary 1)",
				 rho < 1 ? "stable" : "UNSTABLE", rho < 1 ? "<" : ">=", cv, re_max, rho);
		return;
	}
	if (o->op == OP_CONV) {
		cli_info("linear dynamics (phi = identity, alpha %g): discrete step %s (max |1 - alpha + alpha "
			 "lambda| = %.6g), continuous time %s (max Re lambda = %.6g, boundary Re = 1), over %s%s",
			 alpha, mu_max < 1 ? "stable" : "UNSTABLE", mu_max, re_max < 1 ? "stable" : "UNSTABLE", re_max,
			 o->method == M_DENSE ? "" : "the ", of);
		return;
	}
	cli_info("fixed point: %s for the discrete-time step (spectral radius %s 1); continuous time %s "
		 "(max Re mu = %.6g, boundary Re = 1)",
		 rho < 1 ? "stable" : "UNSTABLE", rho < 1 ? "<" : ">=", re_max < 1 ? "stable" : "UNSTABLE", re_max);
}

static void write_tsv(FILE *f, const spectrum *s)
{
	for (int i = 0; i < s->listed; i++)
		fprintf(f, "%.17g\t%.17g\n", s->re[i], s->im[i]);
}

static void write_stream(FILE *f, const options *o, const cords_model *m, const cords_linop *A, const spectrum *s)
{
	cords_writer *w = cords_writer_new(f, cli_out_name(cli_output), cli_env()->zstd_level);
	int64_t sh[2] = {s->listed, 2};
	cords_tensor *ev = cords_tensor_new("eigenvalues", CORDS_F64, 2, sh);
	if (!w || !ev)
		cli_die_lib();
	for (int i = 0; i < s->listed; i++) {
		((double *)ev->data)[2 * i] = s->re[i];
		((double *)ev->data)[2 * i + 1] = s->im[i];
	}
	static const char *const ops[] = {"conv", "jacobian", "network"}, *const methods[] = {"arnoldi", "power", "dense"};
	cords_tensor *meta = cords_meta_new();
	if (!meta || cords_meta_set(meta, CORDS_KEY_FORMAT, "cords-eig") || cords_meta_set(meta, CORDS_KEY_OP, ops[o->op]) ||
	    cords_meta_setf(meta, CORDS_KEY_AREA, "%d", o->area) ||
	    cords_meta_set(meta, CORDS_KEY_AT, o->op == OP_CONV ? "-" : o->at) ||
	    cords_meta_set(meta, CORDS_KEY_METHOD, methods[o->method]) ||
	    cords_meta_setf(meta, CORDS_KEY_ALPHA, "%g", m->dyn.alpha) ||
	    cords_meta_setf(meta, CORDS_KEY_N, "%lld", (long long)A->n) || cords_write_tensor(w, meta) ||
	    cords_write_tensor(w, ev))
		cli_die_lib();
	cords_tensor_free(meta);
	cords_tensor_free(ev);
	if (s->resid) {
		int64_t n1 = s->listed;
		cords_tensor *rt = cords_tensor_new("residuals", CORDS_F64, 1, &n1);
		if (!rt)
			cli_die_lib();
		memcpy(rt->data, s->resid, (size_t)n1 * sizeof(double));
		if (cords_write_tensor(w, rt))
			cli_die_lib();
		cords_tensor_free(rt);
	}
	const cords_power_result *p = &s->pw;
	if (p->vec && !s->undetermined) {
		const cords_arch *a = &m->arch;
		int64_t vs[4] = {2, a->c[o->area < 0 ? 0 : o->area], a->h[o->area < 0 ? 0 : o->area], a->w[o->area < 0 ? 0 : o->area]};
		int im = p->vec_im != NULL, nd = o->op == OP_NETWORK ? 1 + im : 3 + im;
		if (o->op == OP_NETWORK)
			vs[im] = A->n;
		if (cords_write_begin(w, "eigenvector", CORDS_F64, nd, im ? vs : vs + 1) ||
		    cords_write_data(w, p->vec, (size_t)A->n * sizeof(double)) ||
		    (im && cords_write_data(w, p->vec_im, (size_t)A->n * sizeof(double))) || cords_write_end(w))
			cli_die_lib();
	}
	if (cords_writer_close(w))
		cli_die_lib();
}

int main(int argc, char **argv)
{
	options o;
	cli_init("cords-eig", help);
	parse(argc, argv, &o);
	cords_tensor_list params = {0};
	if (cords_read_file(o.model, &params))
		cli_die("%s: %s", o.model, cords_errmsg());
	cords_backend *be = cli_backend("cpu", NULL);
	cords_model *m = be ? cords_model_new(&params, cords_list_find(&params, "meta"), be) : NULL;
	if (!m)
		cli_die("%s: %s", o.model, cords_errmsg());
	cords_eig_state st = {0};
	cords_conv_op conv = {0};
	cords_net_op net = {0};
	cords_linop A;
	if (o.op != OP_CONV)
		get_state(&o, m, &params, &st);
	int rc = o.op == OP_CONV     ? cords_area_conv_op(&params, &m->arch, o.area, &conv)
		 : o.op == OP_JACOBIAN ? cords_area_jacobian_op(&params, &m->arch, o.area, m->dyn.alpha, m->dyn.phi, &st, &conv)
				       : cords_net_op_init(&net, &params, &m->arch, m->dyn.alpha, m->dyn.phi, &st);
	if (rc)
		cli_die("%s: %s", o.model, cords_errmsg());
	A = o.op == OP_NETWORK ? cords_net_linop(&net) : cords_conv_linop(&conv);
	void *gpu_conv = NULL;
	if (o.cuda >= 0 && o.op != OP_NETWORK) {
		if (!(gpu_conv = cords_conv_op_cuda_new(&conv, o.cuda)))
			cli_die_lib();
		A = (cords_linop){A.n, cords_conv_op_cuda_apply, gpu_conv};
	} else if (o.cuda >= 0) {
		cli_info("--op network runs on the CPU%s", o.method == M_ARNOLDI ? " (the Krylov basis on the GPU)" : "");
	}
	/* text may go to a terminal; a stream may not. Opened before the work, to fail early. */
	FILE *out = o.tsv && !cli_output ? stdout : cli_open_out(cli_output);
	spectrum s = {0};
	if (o.method == M_ARNOLDI)
		run_arnoldi(&o, &A, &s);
	else if (o.method == M_POWER)
		run_power(&o, &A, &s);
	else
		run_dense(&o, &A, &s);
	report(&o, &s, m->dyn.alpha);
	if (o.tsv)
		write_tsv(out, &s);
	else
		write_stream(out, &o, m, &A, &s);
	if (out == stdout && o.tsv) {
		if (fflush(stdout) || ferror(stdout))
			cli_die("write error");
	} else {
		cli_close_out(out);
	}
	free(s.re);
	free(s.im);
	free(s.resid);
	free(s.ok);
	cords_power_result_free(&s.pw);
	cords_conv_op_cuda_free(gpu_conv);
	cords_conv_op_free(&conv);
	cords_net_op_free(&net);
	cords_eig_state_free(&st);
	cords_model_free(m);
	cords_list_free(&params);
	return 0;
}
