/* cords-cat: list, check, select and concatenate tensor streams; convert
 * them to and from NumPy .npy / .npz files. */
#include "cli.h"
#include "ncexport.h"
#include "npy.h"
#include "stream.h"

#include <errno.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
	"Usage: cords-cat [OPTION]... [FILE]...\n"
	"Concatenate tensor streams (default: stdin) to stdout, or list or check them.\n"
	"\n"
	"  -l, --list          list records: name, dtype, shape, min, mean, max\n"
	"  -n, --name NAME     keep only records called NAME (repeatable)\n"
	"  -m, --meta          print the text (metadata) records\n"
	"      --check         read every record, verify sizes and checksums\n"
	"      --from-npy NAME=FILE.npy [NAME=FILE.npy]...\n"
	"                      write a stream of the given .npy files instead\n"
	"      --npz OUT.npz   write the records to a NumPy .npz (atomically)\n"
	"      --npy-dir DIR   write each record to DIR/NAME.npy\n"
	"      --netcdf OUT.nc write an activity stream (cords-infer's) as a netCDF-4 file for\n"
	"                      xarray: r{i}, logits, logits_t over time_bin and presentation,\n"
	"                      with time_ms and stimulus coordinates (atomically)\n"
	"  -o, --output FILE   write to FILE (atomically) instead of stdout\n"
	"  -q, --quiet         no messages but errors\n"
	"  -h, --help          this help\n"
	"  -V, --version       version\n"
	"\n"
	"FILE '-' is stdin. A name that repeats (x in a batch stream) is numbered\n"
	"in .npz keys and .npy files: x, x.1, x.2, ... See cords-cat(1) and cords-stream(5).\n";

enum { MODE_CAT, MODE_LIST, MODE_META, MODE_CHECK, MODE_NPZ, MODE_NPY_DIR, MODE_FROM_NPY, MODE_NETCDF };

/* One of -l, -m, --check, --from-npy, --npz, --npy-dir, --netcdf: two are
 * refused rather than the last one silently winning. */
static void set_mode(int *mode, int m, const char *opt)
{
	static const char *first;
	if (*mode != MODE_CAT && *mode != m)
		cli_usage("%s and %s do not go together (one of -l, -m, --check, --from-npy, --npz, --npy-dir, --netcdf)",
			  first, opt);
	if (*mode == MODE_CAT)
		first = opt;
	*mode = m;
}

static char **names;
static int nnames;

static int selected(const char *name)
{
	if (!nnames)
		return 1;
	for (int i = 0; i < nnames; i++)
		if (!strcmp(names[i], name))
			return 1;
	return 0;
}

/* Streams the record's data through a bounded buffer: min/mean/max for
 * numbers, the first line for text. */
static void list_record(cords_reader *r, const cords_tensor *h, FILE *out)
{
	char shape[160];
	cords_shape_str(h->ndim, h->shape, shape, sizeof shape);
	fprintf(out, "%-28s %-5s %-22s", h->name, cords_dtype_name(h->dtype), shape);
	size_t es = cords_dtype_size(h->dtype), chunk = (1u << 20) / es * es, done = 0;
	cords_tensor buf = {.dtype = h->dtype, .ndim = 1};
	buf.data = malloc(chunk ? chunk : 1);
	if (!buf.data)
		cli_die("out of memory");
	double mn = DBL_MAX, mx = -DBL_MAX, sum = 0;
	int64_t nan = 0;
	char text[64] = "";
	while (done < h->nbytes) {
		size_t k = h->nbytes - done < chunk ? h->nbytes - done : chunk;
		if (cords_read_data(r, buf.data, k))
			cli_die_lib();
		if (h->dtype == CORDS_TEXT && !done) {
			size_t n = k < sizeof text - 1 ? k : sizeof text - 1;
			memcpy(text, buf.data, n);
			text[n] = 0;
			for (char *p = text; *p; p++)
				if (*p == '\n')
					*p = ' ';
		}
		for (size_t i = 0; h->dtype != CORDS_TEXT && i < k / es; i++) {
			double v = cords_get_f64(&buf, (int64_t)i);
			if (v != v) {
				nan++;
				continue;
			}
			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
			sum += v;
		}
		done += k;
	}
	free(buf.data);
	int64_t n = (int64_t)(h->nbytes / es) - nan;
	if (h->dtype == CORDS_TEXT)
		fprintf(out, " %s%s", text, h->nbytes >= sizeof text ? "..." : "");
	else if (n > 0)
		fprintf(out, " %12.6g %12.6g %12.6g", mn, sum / (double)n, mx);
	if (nan)
		fprintf(out, "  (%lld NaN)", (long long)nan);
	fputc('\n', out);
}

/* "x", then "x.1", "x.2", ... for the n-th record called x. */
static void numbered(const char *name, char *key, size_t n)
{
	static struct {
		char *name;
		long count;
	} *seen;
	static int nseen, cap;
	int i = 0;
	while (i < nseen && strcmp(seen[i].name, name))
		i++;
	if (i == nseen) {
		if (nseen == cap && !(seen = realloc(seen, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *seen)))
			cli_die("out of memory");
		if (!(seen[nseen].name = strdup(name)))
			cli_die("out of memory");
		seen[nseen++].count = 0;
	}
	if (seen[i].count++)
		snprintf(key, n, "%s.%ld", name, seen[i].count - 1);
	else
		snprintf(key, n, "%s", name);
	for (char *c = key; *c; c++)
		if (*c == '/')
			*c = '_'; /* a key is a file name */
}

/* One record as DIR/KEY.npy, written atomically. */
static void write_npy(const char *dir, const cords_tensor *x)
{
	char key[CORDS_NAME_MAX + 32], path[4096];
	numbered(x->name, key, sizeof key);
	snprintf(path, sizeof path, "%s/%s.npy", dir, key);
	FILE *f = cli_open_out(path);
	if (cords_npy_write(f, path, x))
		cli_die_lib();
	cli_close_out(f);
}

static void add_npz(cords_zipw *z, const cords_tensor *x)
{
	char key[CORDS_NAME_MAX + 32];
	numbered(x->name, key, sizeof key);
	if (cords_npz_add(z, key, x))
		cli_die_lib();
}

/* --from-npy: each NAME=FILE.npy becomes a record NAME of the output. */
static void from_npy(char **pairs, int n)
{
	FILE *out = cli_open_out(cli_output);
	cords_writer *w = cords_writer_new(out, cli_out_name(cli_output), cli_env()->zstd_level);
	if (!w)
		cli_die_lib();
	for (int i = 0; i < n; i++) {
		char *eq = strchr(pairs[i], '=');
		if (!eq || eq == pairs[i])
			cli_usage("--from-npy: '%s' is not NAME=FILE.npy", pairs[i]);
		*eq = 0;
		cords_tensor *x = NULL;
		if (cords_npy_read_file(eq + 1, pairs[i], &x) || cords_write_tensor(w, x))
			cli_die_lib();
		cords_tensor_free(x);
	}
	if (cords_writer_close(w))
		cli_die_lib();
	cli_close_out(out);
}

static void copy_record(cords_reader *r, const cords_tensor *h, cords_writer *w)
{
	static char buf[1 << 20];
	if (cords_write_begin(w, h->name, h->dtype, h->ndim, h->shape))
		cli_die_lib();
	for (size_t done = 0; done < h->nbytes;) {
		size_t k = h->nbytes - done < sizeof buf ? h->nbytes - done : sizeof buf;
		if (cords_read_data(r, buf, k) || cords_write_data(w, buf, k))
			cli_die_lib();
		done += k;
	}
	if (cords_write_end(w))
		cli_die_lib();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"list", no_argument, 0, 'l'}, {"name", required_argument, 0, 'n'},
		{"meta", no_argument, 0, 'm'}, {"check", no_argument, 0, 'C'},
		{"from-npy", required_argument, 0, 'F'}, {"npz", required_argument, 0, 'Z'},
		{"npy-dir", required_argument, 0, 'D'}, {"netcdf", required_argument, 0, 'N'},
		CLI_COMMON_OPTS, {0, 0, 0, 0}};
	int mode = MODE_CAT, c, nnpy = 0;
	char **npys = calloc((size_t)argc, sizeof *npys);
	const char *np_out = NULL;
	cli_init("cords-cat", help);
	names = calloc((size_t)argc, sizeof *names);
	while ((c = getopt_long(argc, argv, "ln:mhVqvo:", opts, NULL)) != -1) {
		if (cli_common_option(c))
			continue;
		switch (c) {
		case 'l': set_mode(&mode, MODE_LIST, "-l"); break;
		case 'm': set_mode(&mode, MODE_META, "-m"); break;
		case 'C': set_mode(&mode, MODE_CHECK, "--check"); break;
		case 'n': names[nnames++] = optarg; break;
		case 'F': set_mode(&mode, MODE_FROM_NPY, "--from-npy"); npys[nnpy++] = optarg; break;
		case 'Z': set_mode(&mode, MODE_NPZ, "--npz"); np_out = optarg; break;
		case 'D': set_mode(&mode, MODE_NPY_DIR, "--npy-dir"); np_out = optarg; break;
		case 'N': set_mode(&mode, MODE_NETCDF, "--netcdf"); np_out = optarg; break;
		}
	}
	if (mode == MODE_FROM_NPY) { /* the operands are more NAME=FILE pairs */
		while (optind < argc)
			npys[nnpy++] = argv[optind++];
		from_npy(npys, nnpy);
		free(npys);
		free(names);
		return 0;
	}
	if (mode == MODE_NPY_DIR && mkdir(np_out, 0777) && errno != EEXIST)
		cli_die("%s: %s", np_out, strerror(errno));
	char *stdin_only[] = {"-"};
	char **files = optind < argc ? argv + optind : stdin_only;
	int nfiles = optind < argc ? argc - optind : 1;

	FILE *out = NULL;
	cords_writer *w = NULL;
	cords_zipw *z = NULL;
	cords_ncx *nc = NULL;
	if (mode == MODE_NETCDF) {
		out = cli_open_out(np_out);
		if (!cli_out_tmp(out))
			cli_usage("--netcdf needs a regular file, not '%s'", np_out);
		if (!(nc = cords_ncx_create(cli_out_tmp(out), np_out)))
			cli_die_lib();
	} else if (mode == MODE_NPZ) {
		out = cli_open_out(np_out);
		if (!(z = cords_zipw_new(out, np_out, 64)))
			cli_die_lib();
	} else if (mode == MODE_NPY_DIR) {
		out = stdout;
	} else if (mode == MODE_CAT) {
		out = cli_open_out(cli_output);
		if (!(w = cords_writer_new(out, cli_out_name(cli_output), cli_env()->zstd_level)))
			cli_die_lib();
	} else if (cli_output && !(out = fopen(cli_output, "w"))) {
		cli_die("%s: cannot open", cli_output);
	} else if (!out) {
		out = stdout;
	}

	unsigned long long records = 0, bytes = 0;
	for (int i = 0; i < nfiles; i++) {
		FILE *f = cli_open_in(files[i]);
		cords_reader *r = cords_reader_new(f, cli_in_name(files[i]));
		cords_tensor h;
		int rc;
		if (!r)
			cli_die_lib();
		while ((rc = cords_read_header(r, &h)) > 0) {
			records++;
			bytes += h.nbytes;
			if (!selected(h.name))
				continue; /* the next read_header skips (and verifies) it */
			if (mode == MODE_LIST)
				list_record(r, &h, out);
			else if (nc && cords_ncx_record(nc, r, &h))
				cli_die_lib();
			else if (mode == MODE_CAT)
				copy_record(r, &h, w);
			else if (mode == MODE_NPZ || mode == MODE_NPY_DIR) {
				cords_tensor *x = cords_tensor_new(h.name, h.dtype, h.ndim, h.shape);
				if (!x || (x->nbytes && cords_read_data(r, x->data, x->nbytes)))
					cli_die_lib();
				if (z)
					add_npz(z, x);
				else
					write_npy(np_out, x);
				cords_tensor_free(x);
			}
			else if (mode == MODE_META && h.dtype == CORDS_TEXT) {
				char *t = malloc(h.nbytes + 1);
				if (!t || cords_read_data(r, t, h.nbytes))
					cli_die_lib();
				fprintf(out, "# %s\n%.*s%s", h.name, (int)h.nbytes, t,
					h.nbytes && t[h.nbytes - 1] != '\n' ? "\n" : "");
				free(t);
			}
		}
		if (rc < 0)
			cli_die_lib();
		cords_reader_free(r);
		cli_close_in(f);
	}
	if (nc) {
		if (cords_ncx_close(nc))
			cli_die_lib();
		cli_close_out(out);
	} else if (mode == MODE_CAT || mode == MODE_NPZ) {
		if (w ? cords_writer_close(w) : cords_zipw_close(z))
			cli_die_lib();
		cli_close_out(out);
	} else if (fflush(out) || ferror(out)) {
		cli_die("write error");
	}
	if (mode == MODE_CHECK)
		cli_info("%llu records, %llu data bytes: ok", records, bytes);
	free(names);
	free(npys);
	return 0;
}
