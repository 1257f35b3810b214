/* cords-import: a PyTorch checkpoint, .safetensors or .npz file into a
 * CordsNet model stream (meta record, then the parameters in cords-model(7) order). */
#include "arch.h"
#include "blob.h"
#include "cli.h"
#include "meta.h"
#include "npy.h"
#include "pth.h"
#include "safetensors.h"
#include "stream.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
	"Usage: cords-import [OPTION]... FILE.pth|FILE.safetensors|FILE.npz\n"
	"Convert a CordsNet checkpoint into a model stream (default: stdout).\n"
	"The architecture (depth, input channels, classes) is inferred from the\n"
	"tensor shapes and every parameter is checked; values become f32.\n"
	"\n"
	"      --size H[xW]    input size (default: 4 x the first area's map)\n"
	"  -o, --output FILE   write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet         no messages but errors\n"
	"  -h, --help          this help\n"
	"  -V, --version       version\n"
	"\n"
	"The format is recognised from the content: a torch.save zip (torch >= 1.6),\n"
	"a safetensors file, or a NumPy .npz. Pickles are read by a whitelist\n"
	"reader that never executes anything. A safetensors file's __metadata__\n"
	"from cords-export (format=cords-model) is kept. See cords-import(1).\n";

/* Which reader: by content, not by name. */
static int read_any(const cords_blob *b, cords_tensor_list *l, cords_tensor **meta)
{
	const unsigned char *p = b->p;
	if (b->n >= 4 && !memcmp(p, "PK\3\4", 4)) {
		cords_zip z;
		if (cords_zip_open(&z, p, b->n))
			return -1;
		int is_npz = z.count > 0;
		for (int i = 0; i < z.count; i++) {
			size_t k = strlen(z.e[i].name);
			is_npz &= k >= 4 && !strcmp(z.e[i].name + k - 4, ".npy");
		}
		cords_zip_close(&z);
		return is_npz ? cords_npz_parse(p, b->n, l) : cords_pth_parse(p, b->n, l);
	}
	if (b->n >= 2 && p[0] == 0x80)
		return cords_pth_parse(p, b->n, l); /* refuses the legacy format clearly */
	if (b->n >= 9 && p[8] == '{')
		return cords_safetensors_parse(p, b->n, l, meta);
	return cords_err("not a torch.save zip, safetensors or .npz file");
}

static void parse_size(const char *s, cords_arch *a)
{
	char h[32];
	const char *x = strchr(s, 'x');
	size_t k = x ? (size_t)(x - s) : strlen(s);
	if (k >= sizeof h)
		cli_usage("--size: '%s' is not H or HxW", s);
	memcpy(h, s, k);
	h[k] = 0;
	a->height = (int)cli_int(h, "--size", 1, 65536);
	a->width = x ? (int)cli_int(x + 1, "--size", 1, 65536) : a->height;
}

/* The file's own metadata when it is a model's (cords-export --safetensors
 * writes it as __metadata__): kept whole, so that a round trip is lossless,
 * with the architecture as the tensors say. Else the paper's protocol. */
static cords_tensor *make_meta(const cords_arch *a, const char *file, const cords_tensor *own)
{
	if (own) { /* the architecture first, as every model writes it, then the rest in order */
		cords_tensor *m = cords_meta_new();
		if (!m || cords_arch_to_meta(a, m))
			cli_die_lib();
		const char *t = own->data, *end = t + own->nbytes;
		while (t < end) {
			const char *nl = memchr(t, '\n', (size_t)(end - t)), *e = nl ? nl : end;
			const char *eq = memchr(t, '=', (size_t)(e - t));
			if (eq) {
				char *k = strndup(t, (size_t)(eq - t)), *v = strndup(eq + 1, (size_t)(e - eq - 1));
				char *have = k ? cords_meta_get(m, k) : NULL;
				if (!k || !v || (!have && cords_meta_set(m, k, v)))
					cli_die_lib();
				free(have), free(k), free(v);
			}
			t = e + 1;
		}
		return m;
	}
	const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	cords_tensor *m = cords_meta_new();
	if (!m || cords_arch_to_meta(a, m) || cords_meta_set(m, CORDS_KEY_STAGE, "imported") ||
	    cords_meta_set(m, CORDS_KEY_PHI, "relu") || cords_meta_set(m, CORDS_KEY_ALPHA, "0.2") ||
	    cords_meta_set(m, CORDS_KEY_SPONT_STEPS, "100") || cords_meta_set(m, CORDS_KEY_STIM_STEPS, "100") ||
	    cords_meta_set(m, CORDS_KEY_SOURCE, base))
		cli_die_lib();
	return m;
}

static void write_model(const cords_arch *a, const cords_tensor_list *l, const char *file, const cords_tensor *own)
{
	FILE *out = cli_open_out(cli_output);
	cords_writer *w = cords_writer_new(out, cli_out_name(cli_output), cli_env()->zstd_level);
	cords_tensor *meta = make_meta(a, file, own);
	if (!w || cords_write_tensor(w, meta))
		cli_die_lib();
	cords_tensor_free(meta);
	char name[CORDS_NAME_MAX + 1];
	int64_t shape[CORDS_MAX_DIMS];
	int ndim;
	for (int i = 0; i < cords_arch_nparams(a); i++) {
		cords_arch_param(a, i, name, sizeof name, &ndim, shape);
		cords_tensor *x = cords_tensor_to_f32(cords_list_find(l, name));
		if (!x || cords_write_tensor(w, x))
			cli_die_lib();
		cords_tensor_free(x);
	}
	if (cords_writer_close(w))
		cli_die_lib();
	cli_close_out(out);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"size", required_argument, 0, 's'}, CLI_COMMON_OPTS,
					     {0, 0, 0, 0}};
	cords_arch a = {0};
	int c;
	cli_init("cords-import", help);
	while ((c = getopt_long(argc, argv, "hVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		if (c == 's')
			parse_size(optarg, &a);
	}
	if (argc - optind != 1)
		cli_usage("expected one input file");
	const char *file = argv[optind];
	cords_blob b;
	cords_tensor_list l = {0};
	cords_tensor *own = NULL;
	if (cords_blob_load(file, &b))
		cli_die_lib();
	if (read_any(&b, &l, &own))
		cli_die("%s: %s", cli_in_name(file), cords_errmsg());
	char *f = own ? cords_meta_get(own, CORDS_KEY_FORMAT) : NULL;
	if (!f || strcmp(f, "cords-model")) { /* another program's __metadata__ */
		cords_tensor_free(own);
		own = NULL;
	} else if (!a.height) { /* the input size the model was made for, not a guess */
		char *h = cords_meta_get(own, CORDS_KEY_HEIGHT), *w = cords_meta_get(own, CORDS_KEY_WIDTH);
		a.height = h ? atoi(h) : 0;
		a.width = w ? atoi(w) : 0;
		free(h);
		free(w);
	}
	free(f);
	if (cords_arch_infer(&l, &a))
		cli_die("%s: %s", cli_in_name(file), cords_errmsg());
	cords_blob_free(&b);
	write_model(&a, &l, file, own);
	cords_tensor_free(own);
	if (cli_verbose)
		cli_info("%s: CordsNet-R%d, %d input channels, %dx%d, %d classes", cli_in_name(file), a.depth,
			 a.in_ch, a.height, a.width, a.classes);
	cords_list_free(&l);
	return 0;
}
