/* Activity streams as netCDF-4 (ncexport.h). */
#include "ncexport.h"

#include "err.h"
#include "meta.h"
#include "names.h"

#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_VARS = 256 };

struct cords_ncx {
	int nc;
	char *name;
	int d_pres, d_time, d_class; /* -1 until defined */
	int64_t T;                   /* time bins, once a series was seen */
	double every, alpha, spont, tau; /* the protocol, from the metadata */
	int have_meta, batches;
	int64_t p0, B;               /* the current batch: first presentation, size */
	cords_tensor *names;         /* names record for the next batch */
	struct {
		char name[CORDS_NAME_MAX + 1];
		int id;
	} vars[MAX_VARS];
	int nvars;
};

static int nc_fail(cords_ncx *x, int rc) { return rc ? cords_err("%s: netCDF: %s", x->name, nc_strerror(rc)) : 0; }

/* Time series ([T,B,...]): the recorded areas r{i} and the read-outs. */
static int is_series(const char *n)
{
	if (!strcmp(n, "logits_t"))
		return 1;
	if (n[0] != 'r' || !n[1])
		return 0;
	for (n++; *n; n++)
		if (*n < '0' || *n > '9')
			return 0;
	return 1;
}

cords_ncx *cords_ncx_create(const char *path, const char *name)
{
	cords_ncx *x = calloc(1, sizeof *x);
	if (!x || !(x->name = strdup(name))) {
		free(x);
		return cords_err("out of memory"), NULL;
	}
	x->d_pres = x->d_time = x->d_class = -1;
	x->every = 1, x->tau = 10;
	x->nc = -1;
	int rc = nc_create(path, NC_CLOBBER | NC_NETCDF4, &x->nc);
	if (rc || (rc = nc_def_dim(x->nc, "presentation", NC_UNLIMITED, &x->d_pres)) ||
	    (rc = nc_put_att_text(x->nc, NC_GLOBAL, "Conventions", 6, "CF-1.8"))) {
		nc_fail(x, rc);
		cords_ncx_free(x);
		return NULL;
	}
	return x;
}

void cords_ncx_free(cords_ncx *x)
{
	if (!x)
		return;
	if (x->nc >= 0)
		nc_close(x->nc);
	cords_tensor_free(x->names);
	free(x->name);
	free(x);
}

static int find_var(const cords_ncx *x, const char *name)
{
	for (int i = 0; i < x->nvars; i++)
		if (!strcmp(x->vars[i].name, name))
			return x->vars[i].id;
	return -1;
}

/* A fixed dimension: found by name (its length must agree) or made. */
static int dim(cords_ncx *x, const char *name, int64_t len, int *id)
{
	size_t have;
	if (!nc_inq_dimid(x->nc, name, id)) {
		if (nc_inq_dimlen(x->nc, *id, &have) || (int64_t)have != len)
			return cords_err("%s: dimension %s: %lld after %zu in an earlier batch", x->name, name,
					 (long long)len, have);
		return 0;
	}
	return nc_fail(x, nc_def_dim(x->nc, name, (size_t)len, id));
}

/* The first meta record: global attributes, and the protocol for time_ms. */
static int meta(cords_ncx *x, const char *text, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && text[e] != '\n')
			e++;
		const char *eq = memchr(text + i, '=', e - i);
		if (eq && eq > text + i) {
			char key[NC_MAX_NAME + 1];
			size_t k = (size_t)(eq - text - (ptrdiff_t)i);
			if (k <= NC_MAX_NAME) {
				memcpy(key, text + i, k);
				key[k] = 0;
				int rc = nc_put_att_text(x->nc, NC_GLOBAL, key, e - i - k - 1, eq + 1);
				if (rc)
					return nc_fail(x, rc);
			}
		}
		i = e + 1;
	}
	cords_tensor t = {.dtype = CORDS_TEXT, .ndim = 1, .shape = {(int64_t)n}, .data = (void *)text, .nbytes = n};
	strcpy(t.name, "meta");
	const char *keys[] = {CORDS_KEY_EVERY, CORDS_KEY_ALPHA, CORDS_KEY_SPONT_STEPS, CORDS_KEY_TAU_MS};
	double *to[] = {&x->every, &x->alpha, &x->spont, &x->tau};
	for (int i = 0; i < 4; i++) {
		char *v = cords_meta_get(&t, keys[i]);
		if (v)
			*to[i] = strtod(v, NULL);
		free(v);
	}
	x->have_meta = 1;
	return 0;
}

static int def_var(cords_ncx *x, const char *name, nc_type type, int ndims, const int *dims, const size_t *chunk,
		   int *id)
{
	if (x->nvars == MAX_VARS)
		return cords_err("%s: more than %d variables", x->name, MAX_VARS);
	int rc = nc_def_var(x->nc, name, type, ndims, dims, id);
	if (!rc)
		rc = nc_def_var_chunking(x->nc, *id, NC_CHUNKED, chunk);
	if (!rc && type != NC_STRING) /* level 1: most of the gain at a fraction of the time */
		rc = nc_def_var_deflate(x->nc, *id, 1, 1, 1);
	if (rc)
		return nc_fail(x, rc);
	strcpy(x->vars[x->nvars].name, name);
	x->vars[x->nvars++].id = *id;
	return 0;
}

/* time_bin and its coordinate, at the first time series. */
static int time_axis(cords_ncx *x, int64_t T)
{
	if (x->d_time >= 0)
		return T == x->T ? 0 : cords_err("%s: %lld time bins after %lld", x->name, (long long)T, (long long)x->T);
	if (!x->have_meta || x->alpha <= 0)
		return cords_err("%s: no alpha in the metadata to give the time axis (not cords-infer's output?)", x->name);
	int v, rc;
	size_t one = (size_t)T;
	if (dim(x, "time_bin", T, &x->d_time) || def_var(x, "time_ms", NC_DOUBLE, 1, &x->d_time, &one, &v))
		return -1;
	x->T = T;
	double *t = malloc(sizeof *t * (size_t)T);
	if (!t)
		return cords_err("out of memory");
	for (int64_t k = 0; k < T; k++)
		t[k] = ((double)(k + 1) * x->every - x->spont) * (x->alpha * x->tau);
	static const char ln[] = "end of the time step; the image is shown from 0, blank (spontaneous) steps at <= 0";
	rc = nc_put_att_text(x->nc, v, "units", 2, "ms");
	if (!rc)
		rc = nc_put_att_text(x->nc, v, "long_name", sizeof ln - 1, ln);
	if (!rc)
		rc = nc_put_var_double(x->nc, v, t);
	free(t);
	return nc_fail(x, rc);
}

/* stimulus for the batch that starts at p0 (B presentations). */
static int stimulus(cords_ncx *x)
{
	int v = find_var(x, "stimulus");
	size_t one = 1024, start = (size_t)x->p0, count = (size_t)x->B;
	if (v < 0 && def_var(x, "stimulus", NC_STRING, 1, &x->d_pres, &one, &v))
		return -1;
	char **s = calloc((size_t)x->B, sizeof *s);
	char *text = NULL;
	int rc = 0;
	if (!s)
		return cords_err("out of memory");
	if (x->names && cords_names_count(x->names->data, x->names->nbytes) == x->B) {
		if (!(text = malloc(x->names->nbytes + 1)))
			rc = cords_err("out of memory");
		for (int64_t i = 0, at = 0; !rc && i < x->B; i++) {
			char *nl = memchr((char *)x->names->data + at, '\n', x->names->nbytes - (size_t)at);
			memcpy(text + at, (char *)x->names->data + at, (size_t)(nl - (char *)x->names->data - at));
			text[nl - (char *)x->names->data] = 0;
			s[i] = text + at;
			at = nl - (char *)x->names->data + 1;
		}
	} else if (x->names) {
		rc = cords_err("%s: batch %d: the names record does not hold one name per presentation", x->name,
			       x->batches);
	} else if (!(text = malloc((size_t)x->B * 24))) {
		rc = cords_err("out of memory");
	} else {
		for (int64_t i = 0; i < x->B; i++)
			snprintf(s[i] = text + 24 * i, 24, "%lld", (long long)(x->p0 + i));
	}
	if (!rc)
		rc = nc_fail(x, nc_put_vara_string(x->nc, v, &start, &count, (const char **)s));
	free(s);
	free(text);
	cords_tensor_free(x->names);
	x->names = NULL;
	return rc;
}

static nc_type nc_type_of(cords_dtype t)
{
	switch (t) {
	case CORDS_F32: return NC_FLOAT;
	case CORDS_F64: return NC_DOUBLE;
	case CORDS_I64: return NC_INT64;
	case CORDS_I32: return NC_INT;
	case CORDS_I16: return NC_SHORT;
	case CORDS_I8: return NC_BYTE;
	case CORDS_U8: return NC_UBYTE;
	default: return NC_NAT;
	}
}

/* The variable of a record of this batch: its name and dims (made the first
 * time). series: [T,B,...] over (time_bin, presentation, ...), else
 * [B,...] over (presentation, ...). */
static int var_of(cords_ncx *x, const cords_tensor *h, const char *vname, int series, int *id)
{
	if ((*id = find_var(x, vname)) >= 0)
		return 0; /* dims agree: checked by the writes' counts below */
	int dims[CORDS_MAX_DIMS], lead = series ? 2 : 1;
	size_t chunk[CORDS_MAX_DIMS];
	if (series) {
		if (time_axis(x, h->shape[0]))
			return -1;
		dims[0] = x->d_time, dims[1] = x->d_pres, chunk[0] = chunk[1] = 1;
	} else {
		dims[0] = x->d_pres, chunk[0] = (size_t)x->B;
	}
	for (int k = lead; k < h->ndim; k++) {
		char dn[CORDS_NAME_MAX + 16];
		const char *area = h->name + 1;
		if ((!strcmp(h->name, "logits") || !strcmp(h->name, "logits_t")) && k == h->ndim - 1)
			snprintf(dn, sizeof dn, "class");
		else if (series && h->name[0] == 'r' && h->ndim == 5)
			snprintf(dn, sizeof dn, "%c%s", "cyx"[k - 2], area);
		else
			snprintf(dn, sizeof dn, "%s_%d", vname, k - lead + 1);
		if (dim(x, dn, h->shape[k], &dims[k]))
			return -1;
		chunk[k] = (size_t)h->shape[k];
	}
	nc_type t = nc_type_of(h->dtype);
	if (t == NC_NAT)
		return cords_err("%s: record %s: dtype %s has no netCDF type here", x->name, h->name,
				 cords_dtype_name(h->dtype));
	return def_var(x, vname, t, h->ndim, dims, chunk, id);
}

int cords_ncx_record(cords_ncx *x, cords_reader *r, const cords_tensor *h)
{
	int text = h->dtype == CORDS_TEXT;
	if (text && !strcmp(h->name, "meta") && !x->have_meta) {
		char *t = malloc(h->nbytes + 1);
		int rc = !t || cords_read_data(r, t, h->nbytes) ? -1 : meta(x, t, h->nbytes);
		free(t);
		return rc;
	}
	if (text && !strcmp(h->name, CORDS_RECORD_NAMES)) {
		cords_tensor_free(x->names);
		if (!(x->names = cords_tensor_new_uninit(h->name, h->dtype, h->ndim, h->shape)))
			return -1;
		return cords_read_data(r, x->names->data, h->nbytes);
	}
	if (text)
		return 0;
	int series = is_series(h->name);
	if (!strcmp(h->name, "logits") && h->ndim == 2) { /* a new batch */
		x->p0 += x->B;
		x->B = h->shape[0];
		x->batches++;
		if (stimulus(x))
			return -1;
	} else if (!x->batches || h->ndim < 1 + series || h->shape[series] != x->B) {
		return 0; /* not part of a batch's output: left out */
	}
	const char *vname = !strcmp(h->name, "y") && h->ndim == 1 && h->dtype != CORDS_F32 ? "label" : h->name;
	int v;
	if (var_of(x, h, vname, series, &v))
		return -1;
	/* one slab at a time: a time step of the batch, or the whole [B,...] record */
	size_t start[CORDS_MAX_DIMS] = {0}, count[CORDS_MAX_DIMS];
	for (int k = 0; k < h->ndim; k++)
		count[k] = (size_t)h->shape[k];
	start[series] = (size_t)x->p0;
	int64_t slabs = series ? h->shape[0] : 1;
	size_t bytes = h->nbytes / (size_t)(slabs ? slabs : 1);
	if (series)
		count[0] = 1;
	void *buf = malloc(bytes ? bytes : 1);
	int rc = buf ? 0 : cords_err("out of memory");
	for (int64_t t = 0; !rc && t < slabs; t++) {
		start[0] = series ? (size_t)t : start[0];
		rc = cords_read_data(r, buf, bytes) ? -1 : nc_fail(x, nc_put_vara(x->nc, v, start, count, buf));
	}
	free(buf);
	return rc;
}

/* CF's "coordinates" attribute on each data variable, which xarray decodes:
 * time_ms over time_bin, stimulus and label over presentation. */
static int coordinates(cords_ncx *x)
{
	int label = find_var(x, "label") >= 0;
	for (int i = 0; i < x->nvars; i++) {
		const char *n = x->vars[i].name;
		int dims[CORDS_MAX_DIMS], nd, t = 0, p = 0;
		if (!strcmp(n, "time_ms") || !strcmp(n, "stimulus") || !strcmp(n, "label"))
			continue;
		int rc = nc_inq_varndims(x->nc, x->vars[i].id, &nd) || nc_inq_vardimid(x->nc, x->vars[i].id, dims);
		for (int k = 0; !rc && k < nd; k++)
			t |= dims[k] == x->d_time, p |= dims[k] == x->d_pres;
		char c[64];
		snprintf(c, sizeof c, "%s%s%s", t ? "time_ms " : "", p ? "stimulus " : "", p && label ? "label " : "");
		if (!rc && *c)
			rc = nc_put_att_text(x->nc, x->vars[i].id, "coordinates", strlen(c) - 1, c);
		if (rc)
			return cords_err("%s: netCDF: cannot set the coordinates of %s", x->name, n);
	}
	return 0;
}

int cords_ncx_close(cords_ncx *x)
{
	int rc = x->batches ? 0 : cords_err("%s: no logits: not an activity stream (run cords-infer first)", x->name);
	if (!rc)
		rc = coordinates(x);
	if (!rc)
		rc = nc_fail(x, nc_close(x->nc));
	x->nc = -1;
	cords_ncx_free(x);
	return rc;
}
