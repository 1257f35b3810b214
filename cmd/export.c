/* cords-export: a model stream to a PyTorch .pth, a .safetensors or a
 * NumPy .npz file. */
#include "cli.h"
#include "npy.h"
#include "pth.h"
#include "safetensors.h"
#include "stream.h"

#include <string.h>

static const char help[] =
	"Usage: cords-export --pth OUT.pth | --safetensors OUT | --npz OUT [FILE]\n"
	"Write the tensors of a model stream (default: stdin) in another format.\n"
	"\n"
	"      --pth OUT           a torch.save checkpoint: an OrderedDict state_dict\n"
	"                          that torch.load(OUT, weights_only=True) reads\n"
	"      --safetensors OUT   a safetensors file; the meta record becomes __metadata__\n"
	"      --npz OUT           a NumPy .npz, one NAME.npy per tensor\n"
	"  -q, --quiet             no messages but errors\n"
	"  -h, --help              this help\n"
	"  -V, --version           version\n"
	"\n"
	"The output is written atomically. Text records (the meta record) are not\n"
	"tensors: only --safetensors keeps them. See cords-export(1).\n";

enum { OUT_NONE, OUT_PTH, OUT_ST, OUT_NPZ };

static int write_npz(FILE *f, const char *what, const cords_tensor_list *l)
{
	cords_zipw *w = cords_zipw_new(f, what, 1);
	if (!w)
		return -1;
	for (int i = 0; i < l->n; i++) {
		const cords_tensor *x = l->items[i];
		if (x->dtype == CORDS_TEXT)
			continue;
		for (int k = 0; k < i; k++)
			if (!strcmp(l->items[k]->name, x->name) && l->items[k]->dtype != CORDS_TEXT) {
				cords_zipw_free(w);
				return cords_err("tensor %s appears twice", x->name);
			}
		if (cords_npz_add(w, x->name, x)) {
			cords_zipw_free(w);
			return -1;
		}
	}
	return cords_zipw_close(w);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pth", required_argument, 0, 'P'}, {"safetensors", required_argument, 0, 'S'},
		{"npz", required_argument, 0, 'Z'}, CLI_COMMON_OPTS, {0, 0, 0, 0}};
	int kind = OUT_NONE, c;
	const char *out_path = NULL;
	cli_init("cords-export", help);
	while ((c = getopt_long(argc, argv, "hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		if (kind != OUT_NONE)
			cli_usage("give one of --pth, --safetensors, --npz");
		kind = c == 'P' ? OUT_PTH : c == 'S' ? OUT_ST : OUT_NPZ;
		out_path = optarg;
	}
	if (kind == OUT_NONE)
		cli_usage("give one of --pth, --safetensors, --npz");
	if (cli_output)
		cli_usage("the output is the argument of --pth, --safetensors or --npz, not -o");
	if (argc - optind > 1)
		cli_usage("at most one input file");
	const char *in = optind < argc ? argv[optind] : "-";

	cords_tensor_list l = {0};
	if (cords_read_file(in, &l))
		cli_die_lib();
	const cords_tensor *meta = cords_list_find(&l, "meta");
	FILE *f = cli_open_out(out_path);
	const char *what = cli_out_name(out_path);
	int rc = kind == OUT_PTH ? cords_pth_write(f, what, &l)
	       : kind == OUT_ST	 ? cords_safetensors_write(f, what, &l, meta && meta->dtype == CORDS_TEXT ? meta : NULL)
				 : write_npz(f, what, &l);
	if (rc)
		cli_die("%s: %s", what, cords_errmsg());
	cli_close_out(f);
	cords_list_free(&l);
	return 0;
}
