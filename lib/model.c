/* CordsNet-R{D} on a backend: parameters, stem drive, time step, read-out. */
#include "model.h"
#include "err.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WN ".parametrizations.weight.original"

void cords_weight_norm(int64_t out, int64_t fan, const float *g, const float *v, float *w)
{
	for (int64_t o = 0; o < out; o++) {
		const float *vr = v + o * fan;
		double ss = 0;
		for (int64_t i = 0; i < fan; i++)
			ss += (double)vr[i] * vr[i];
		float scale = (float)(g[o] / sqrt(ss));
		for (int64_t i = 0; i < fan; i++)
			w[o * fan + i] = vr[i] * scale;
	}
}

static cords_buf *alloc4(const cords_model *m, cords_buf_kind k, int64_t a, int64_t b, int64_t c, int64_t d)
{
	int64_t s[4] = {a, b, c, d};
	return m->be->alloc(m->be, k, 4, s);
}

/* The f32 values of a named tensor (converted if stored otherwise); *tmp
 * receives a converted copy to free. */
static const float *param_f32(const cords_tensor_list *l, const char *name, cords_tensor **tmp)
{
	const cords_tensor *t = cords_list_find(l, name);
	*tmp = NULL;
	if (!t) {
		cords_err("missing tensor %s", name);
		return NULL;
	}
	if (t->dtype == CORDS_F32)
		return t->data;
	*tmp = cords_tensor_to_f32(t);
	return *tmp ? (*tmp)->data : NULL;
}

/* Resolve one weight-normalised layer `base` into b. */
static int upload_wn(cords_model *m, const cords_tensor_list *l, const char *base, cords_buf *b)
{
	char gn[96], vn[96];
	snprintf(gn, sizeof gn, "%s" WN "0", base);
	snprintf(vn, sizeof vn, "%s" WN "1", base);
	cords_tensor *gt, *vt;
	const float *g = param_f32(l, gn, &gt), *v = param_f32(l, vn, &vt);
	int64_t out = cords_buf_shape(b)[0], fan = cords_buf_numel(b) / out;
	float *w = malloc((size_t)(out * fan) * sizeof *w);
	int rc = -1;
	if (g && v && w) {
		cords_weight_norm(out, fan, g, v, w);
		rc = m->be->upload(m->be, b, w);
	} else if (!w) {
		cords_err("out of memory");
	}
	free(w);
	cords_tensor_free(gt);
	cords_tensor_free(vt);
	return rc;
}

static int upload_plain(cords_model *m, const cords_tensor_list *l, const char *name, cords_buf *b)
{
	cords_tensor *tmp;
	const float *x = param_f32(l, name, &tmp);
	int rc = x ? m->be->upload(m->be, b, x) : -1;
	cords_tensor_free(tmp);
	return rc;
}

/* FNV-1a over the parameters' bytes, in checkpoint order. */
static uint64_t params_hash(const cords_arch *a, const cords_tensor_list *l)
{
	uint64_t h = 1469598103934665603ull;
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

int cords_model_set_params(cords_model *m, const cords_tensor_list *l)
{
	const cords_arch *a = &m->arch;
	char base[64];
	if (cords_arch_check(a, l))
		return -1;
	int rc = upload_wn(m, l, "inp_conv", m->inp_conv) || upload_wn(m, l, "inp_skip", m->inp_skip);
	for (int i = 0; i < a->depth && !rc; i++) {
		snprintf(base, sizeof base, "area_conv.%d", i);
		rc = upload_wn(m, l, base, m->area_conv[i]);
		snprintf(base, sizeof base, "area_area.%d", i);
		rc = rc || upload_wn(m, l, base, m->area_area[i]);
		snprintf(base, sizeof base, "conv_bias.%d", i);
		rc = rc || upload_plain(m, l, base, m->conv_bias[i]);
	}
	for (int k = 0; k < a->nskip && !rc; k++) {
		snprintf(base, sizeof base, "skip_area.%d", k);
		rc = upload_wn(m, l, base, m->skip[k]);
	}
	rc = rc || upload_wn(m, l, "out_fc", m->fc_w) || upload_plain(m, l, "out_fc.bias", m->fc_b);
	if (!rc)
		m->hash = params_hash(a, l);
	return rc ? -1 : 0;
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
	char *depth = meta ? cords_meta_get(meta, "depth") : NULL;
	int rc = depth ? cords_arch_from_meta(meta, &m->arch) : cords_arch_infer(l, &m->arch);
	free(depth);
	if (!rc && !meta) {
		m->meta = cords_meta_new();
		rc = !m->meta || cords_arch_to_meta(&m->arch, m->meta);
	} else if (!rc) {
		m->meta = cords_tensor_new("meta", CORDS_TEXT, meta->ndim, meta->shape);
		rc = !m->meta;
		if (!rc && meta->nbytes)
			memcpy(m->meta->data, meta->data, meta->nbytes);
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
	cords_tensor_free(m->meta);
	free(m);
}
