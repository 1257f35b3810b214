/* CordsNet-R{D} on a backend: parameters, stem drive, time step, read-out. */
#include "model.h"
#include "err.h"
#include "meta.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


static cords_buf *alloc4(const cords_model *m, cords_buf_kind k, int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t s[4] = {a, b, c, d};
	return m->be->alloc(m->be, k, 4, s);
}

static int copy_plain(cords_model *m, const cords_params *ps, const char *name, cords_buf *b)
{
	const cords_buf *x = cords_params_buf(ps, name);
	return x ? m->be->copy(m->be, b, x) : -1;
}

/* FNV-1a over the parameters' bytes, in checkpoint order. */
static uint64_t params_hash(const cords_arch *a, const cords_tensor_list *l)
{
	uint64_t h = 14695981039346656037ull;
	char name[CORDS_NAME_MAX + 1];
	int64_t shape[CORDS_MAX_DIMS];
	int nd;
	for (int i = 0; i < cords_arch_nparams(a); i++) {
		cords_arch_param(a, i, name, sizeof name, &nd, shape);
		const cords_tensor *t = cords_list_find(l, name);
		const uint32_t *p = t->data;
		for (size_t j = 0; j < t->nbytes / 4; j++)
			h = (h ^ p[j]) * 1099511628211ull;
	}
	return h;
}

int cords_model_use_params(cords_model *m, const cords_params *ps)
{
	const cords_arch *a = &m->arch;
	char base[64];
	int rc = cords_params_wnorm(ps, "inp_conv", m->inp_conv) || cords_params_wnorm(ps, "inp_skip", m->inp_skip);
	for (int i = 0; i < a->depth && !rc; i++) {
		snprintf(base, sizeof base, "area_conv.%d", i);
		rc = cords_params_wnorm(ps, base, m->area_conv[i]);
		snprintf(base, sizeof base, "area_area.%d", i);
		rc = rc || cords_params_wnorm(ps, base, m->area_area[i]);
		snprintf(base, sizeof base, "conv_bias.%d", i);
		rc = rc || copy_plain(m, ps, base, m->conv_bias[i]);
	}
	for (int k = 0; k < a->nskip && !rc; k++) {
		snprintf(base, sizeof base, "skip_area.%d", k);
		rc = cords_params_wnorm(ps, base, m->skip[k]);
	}
	rc = rc || cords_params_wnorm(ps, "out_fc", m->fc_w) || copy_plain(m, ps, "out_fc.bias", m->fc_b);
	m->hash = 0; /* unknown: the host copy may be stale */
	return rc ? -1 : 0;
}

int cords_model_set_params(cords_model *m, const cords_tensor_list *l)
{
	if (cords_arch_check(&m->arch, l))
		return -1;
	cords_params *ps = cords_params_new(m->be, (cords_tensor_list *)l, NULL);
	int rc = !ps || cords_model_use_params(m, ps) ? -1 : 0;
	cords_params_free(ps);
	if (!rc)
		m->hash = params_hash(&m->arch, l);
	return rc;
}

static int alloc_params(cords_model *m)
{
	const cords_arch *a = &m->arch;
	const cords_buf_kind W = CORDS_BUF_WEIGHT;
	int ok = (m->inp_conv = alloc4(m, W, 64, a->in_ch, 7, 7)) && (m->inp_skip = alloc4(m, W, 64, 64, 3, 3));
	for (int i = 0; i < a->depth && ok; i++)
		ok = (m->area_conv[i] = alloc4(m, W, a->c[i], a->c[i], 3, 3)) &&
		     (m->area_area[i] = alloc4(m, W, a->c[i], a->cin[i], 3, 3)) &&
		     (m->conv_bias[i] = alloc4(m, CORDS_BUF_ACT, 1, a->c[i], a->h[i], a->w[i]));
	for (int k = 0; k < a->nskip && ok; k++)
		ok = (m->skip[k] = alloc4(m, W, a->skip_out[k], a->skip_in[k], 1, 1)) != NULL;
	int64_t fw[2] = {a->classes, a->c[a->depth - 1]}, fb[1] = {a->classes};
	ok = ok && (m->fc_w = m->be->alloc(m->be, CORDS_BUF_ACT, 2, fw)) &&
	     (m->fc_b = m->be->alloc(m->be, CORDS_BUF_ACT, 1, fb));
	return ok ? 0 : -1;
}

cords_model *cords_model_new(const cords_tensor_list *l, const cords_tensor *meta, cords_backend *be)
{
	cords_model *m = calloc(1, sizeof *m);
	if (!m) {
		cords_err("out of memory");
		return NULL;
	}
	m->be = be;
	/* A metadata record without the architecture (an import) still gives
	 * the protocol; the shapes then give the architecture. */
	char *depth = meta ? cords_meta_get(meta, CORDS_KEY_DEPTH) : NULL;
	int rc = depth ? cords_arch_from_meta(meta, &m->arch) : cords_arch_infer(l, &m->arch);
	free(depth);
	if (!rc) {
		m->meta = cords_meta_copy(meta);
		rc = !m->meta || (!meta && cords_arch_to_meta(&m->arch, m->meta));
	}
	rc = rc || cords_dynamics_from_meta(m->meta, &m->dyn) || alloc_params(m) || cords_model_set_params(m, l);
	if (rc) {
		cords_model_free(m);
		return NULL;
	}
	return m;
}

cords_model *cords_model_load(const char *path, cords_backend *be)
{
	cords_tensor_list l = {0};
	if (cords_read_file(path, &l))
		return NULL;
	const cords_tensor *meta = cords_list_find(&l, "meta");
	if (meta && meta->dtype != CORDS_TEXT)
		meta = NULL;
	cords_model *m = cords_model_new(&l, meta, be);
	cords_list_free(&l);
	if (!m)
		cords_err_prefix("%s: ", path);
	return m;
}

void cords_model_free(cords_model *m)
{
	if (!m)
		return;
	cords_backend *be = m->be;
	be->free(be, m->inp_conv);
	be->free(be, m->inp_skip);
	for (int i = 0; i < CORDS_MAX_DEPTH; i++) {
		be->free(be, m->area_conv[i]);
		be->free(be, m->area_area[i]);
		be->free(be, m->conv_bias[i]);
	}
	for (int k = 0; k < 3; k++)
		be->free(be, m->skip[k]);
	be->free(be, m->fc_w);
	be->free(be, m->fc_b);
	for (int i = 0; i < CORDS_MAX_DEPTH; i++)
		free(m->silent[i]);
	cords_tensor_free(m->meta);
	free(m);
}

/* Rows [o0, o1) of dimension dim of b (0 or, for a leading 1, 1) set to 0,
 * through the host: a lesion is made once. */
static int zero_rows(cords_model *m, cords_buf *b, int dim, int64_t o0, int64_t o1)
{
	int64_t n = cords_buf_numel(b), per = n / cords_buf_shape(b)[dim];
	float *h = malloc((size_t)n * sizeof *h);
	if (!h)
		return cords_err("out of memory");
	int rc = m->be->download(m->be, b, h);
	if (!rc) {
		memset(h + o0 * per, 0, (size_t)((o1 - o0) * per) * sizeof *h);
		rc = m->be->upload(m->be, b, h);
	}
	free(h);
	return rc;
}

static void rehash(cords_model *m, uint64_t v)
{
	m->hash = (m->hash ^ v) * 1099511628211ull;
}

int cords_model_lesion(cords_model *m, int area, int c0, int c1)
{
	const cords_arch *a = &m->arch;
	if (area < 0 || area >= a->depth)
		return cords_err("lesion: no area %d (the model has areas 0..%d)", area, a->depth - 1);
	if (c0 < 0 || c1 > a->c[area] || c0 >= c1)
		return cords_err("lesion: area %d has channels 0..%d, not %d-%d", area, a->c[area] - 1, c0, c1 - 1);
	if (!m->silent[area] && !(m->silent[area] = calloc((size_t)a->c[area], 1)))
		return cords_err("out of memory");
	memset(m->silent[area] + c0, 1, (size_t)(c1 - c0));
	if (zero_rows(m, m->area_conv[area], 0, c0, c1) || zero_rows(m, m->area_area[area], 0, c0, c1) ||
	    zero_rows(m, m->conv_bias[area], 1, c0, c1)) /* [1,c_i,h_i,w_i] */
		return -1;
	rehash(m, 0x1e5100ull ^ (uint64_t)area << 40 ^ (uint64_t)c0 << 20 ^ (uint64_t)c1);
	return 0;
}

int cords_model_no_recurrence(cords_model *m)
{
	for (int i = 0; i < m->arch.depth; i++)
		if (m->be->fill(m->be, m->area_conv[i], 0))
			return -1;
	rehash(m, 0x2ec0ull);
	return 0;
}
