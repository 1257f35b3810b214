/* cords-fold: stage 2 of the three-step method (cords-training(7)): fold every BatchNorm
 * of the BN CNN into the convolution before it (per-unit biases area_bias.i,
 * conv_bias.i). With --check, verifies on batches that the folded CNN gives
 * the BN CNN's eval-mode logits. */
#include "arch.h"
#include "backend.h"
#include "batch.h"
#include "cli.h"
#include "cnn_train.h"
#include "fold.h"
#include "meta.h"
#include "train_cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-fold [-m] MODEL [--check BATCHES] [-o OUT]\n"
	"Stage 2 of the three-step method: fold the BatchNorms of a BN CNN (from cords-cnn) into its\n"
	"convolutions, giving per-unit biases area_bias.i (after area_area.i) and conv_bias.i (after\n"
	"area_conv.i). Writes the folded CNN (default stdout).\n"
	"\n"
	"  -m, --model FILE      the BN CNN (or give it as the argument)\n"
	"      --check FILE      compare folded and BN-CNN (eval mode) logits on these batches\n"
	"      --check-batches N at most N batches of them (default 4)\n"
	"      --tolerance X     largest logit difference accepted (default 1e-4)\n"
	"      --device DEV      cpu (default) or cuda[:N] (for --check)\n"
	"  -o, --output FILE     write to FILE (atomically)\n"
	"  -q, --quiet / -v, --verbose / -h, --help / -V, --version\n"
	"\n"
	"See cords-fold(1).\n";

enum { O_CHECK = 3000, O_CHECKB, O_TOL, O_DEV };
static const struct option opts[] = {
	{"model", required_argument, 0, 'm'}, {"check", required_argument, 0, O_CHECK},
	{"check-batches", required_argument, 0, O_CHECKB}, {"tolerance", required_argument, 0, O_TOL},
	{"device", required_argument, 0, O_DEV}, CLI_COMMON_OPTS, {0, 0, 0, 0}};

/* Largest |folded - BN CNN| logit over the first n batches. */
static double check(const cords_arch *a, const char *dev, const char *path, int n, cords_tensor_list *bn,
		    cords_tensor_list *folded)
{
	cords_backend *be = cli_backend(dev, NULL);
	cords_batches *d = be ? cords_batches_open(path, NULL, NULL) : NULL;
	cords_cnn *f = d ? cords_cnn_new(a, be, 1, 1) : NULL, *b = f ? cords_cnn_new(a, be, 0, 1) : NULL;
	cords_params *fp = b ? cords_params_new(be, folded, NULL) : NULL, *bp = fp ? cords_params_new(be, bn, NULL) : NULL;
	if (!bp || cords_cnn_set_params(f, fp) || cords_cnn_set_params(b, bp))
		cli_die_lib();
	cords_batch x = {0};
	double worst = 0;
	int rc, k = 0;
	cords_labels none = {0};
	while (k++ < n && (rc = cords_batches_next(d, &x)) > 0) {
		if (cords_batch_fits(&x, a->in_ch, a->height, a->width, a->classes))
			cli_die("%s: %s", path, cords_errmsg());
		float *l1 = malloc((size_t)x.B * a->classes * sizeof *l1), *l2 = malloc((size_t)x.B * a->classes * sizeof *l2);
		if (!l1 || !l2 || isnan(cords_cnn_step(f, fp, 0, x.B, x.x, none, 0, l1)) ||
		    isnan(cords_cnn_step(b, bp, 0, x.B, x.x, none, 0, l2)))
			cli_die_lib();
		for (int i = 0; i < x.B * a->classes; i++) { /* a NaN sticks (fmax would drop it) */
			double e = fabs(l1[i] - l2[i]);
			if (e > worst || isnan(e))
				worst = e;
		}
		free(l1);
		free(l2);
	}
	cords_batch_free(&x);
	cords_cnn_free(f);
	cords_cnn_free(b);
	cords_params_free(fp);
	cords_params_free(bp);
	cords_batches_close(d);
	return worst;
}

int main(int argc, char **argv)
{
	cli_init("cords-fold", help);
	const char *model = NULL, *chk = NULL, *dev = "cpu";
	int nchk = 4, c;
	double tol = 1e-4;
	while ((c = getopt_long(argc, argv, "m:hVqvo:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case O_CHECK: chk = optarg; break;
		case O_CHECKB: nchk = (int)cli_int(optarg, "--check-batches", 1, 1 << 30); break;
		case O_TOL: tol = cli_double(optarg, "--tolerance", 0, 1e30); break;
		case O_DEV: dev = optarg; break;
		default:
			if (!cli_common_option(c))
				cli_usage("unknown option");
		}
	}
	if (!model && optind < argc)
		model = argv[optind++];
	if (!model || optind < argc)
		cli_usage(model ? "too many arguments" : "a model is required");
	cords_tensor_list bn = {0}, out = {0};
	cords_arch a;
	tc_load_bn_cnn(model, &bn, &a, "no BatchNorm statistics; cords-fold needs a BN CNN from cords-cnn");
	cords_tensor *m2 = cords_meta_copy(cords_list_find(&bn, "meta"));
	if (!m2 || cords_list_push(&out, m2))
		cli_die_lib();
	if (cords_fold(&a, &bn, &out))
		cli_die("%s: %s", model, cords_errmsg());
	tc_meta_set(&out, CORDS_KEY_STAGE, "fold");
	if (chk) {
		double d = check(&a, dev, chk, nchk, &bn, &out);
		cli_info("max |folded - BN CNN| logit difference: %.3g", d);
		if (!(d <= tol))
			cli_die("%s: folded logits differ from the BN CNN's by %.3g (more than %g)", chk, d, tol);
		tc_meta_set(&out, CORDS_KEY_FOLD_CHECK_MAX_DIFF, "%.3g", d);
	}
	tc_write(cli_output, &out);
	cords_list_free(&bn);
	cords_list_free(&out);
	return 0;
}
