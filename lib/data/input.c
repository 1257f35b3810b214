/* Batch records into model input: normalisation, checks, noise. */
#include "input.h"
#include "err.h"
#include "meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cords_norm_parse(const char *mean, const char *std, cords_norm *nm)
{
	double m[CORDS_NORM_MAX], s[CORDS_NORM_MAX];
	memset(nm, 0, sizeof *nm);
	if (!mean && !std)
		return 0;
	if (!mean || !std)
		return cords_err("norm_mean and norm_std go together");
	int a = cords_meta_numbers(mean, m, CORDS_NORM_MAX), b = cords_meta_numbers(std, s, CORDS_NORM_MAX);
	if (a < 1 || a != b)
		return cords_err("norm_mean '%s' and norm_std '%s' do not match (one number, or one per channel, each)",
				 mean, std);
	for (int i = 0; i < a; i++) {
		if (!(s[i] > 0))
			return cords_err("norm_std '%s' must be positive", std);
		nm->mean[i] = (float)m[i];
		nm->std[i] = (float)s[i];
	}
	nm->n = a;
	return 0;
}

int cords_norm_from_meta(const cords_tensor *meta, cords_norm *nm)
{
	memset(nm, 0, sizeof *nm);
	if (!meta)
		return 0;
	char *m = cords_meta_get(meta, CORDS_KEY_NORM_MEAN), *s = cords_meta_get(meta, CORDS_KEY_NORM_STD);
	int rc = 0;
	if (m || s)
		rc = cords_norm_parse(m, s, nm) ? cords_err_prefix("metadata: ") : 1;
	free(m);
	free(s);
	return rc;
}

void cords_norm_u8(const uint8_t *p, int64_t n, float mean, float std, float *out)
{
	for (int64_t i = 0; i < n; i++)
		out[i] = (p[i] / 255.0f - mean) / std;
}

int cords_input_f32(const cords_tensor *x, const cords_norm *nm, float *out)
{
	int64_t B = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], n = B * C * HW;
	if (x->dtype == CORDS_U8) {
		if (nm->n > 1 && nm->n != C)
			return cords_err("normalisation has %d channels, the batch %lld", nm->n, (long long)C);
		for (int64_t b = 0; b < B; b++)
			for (int64_t c = 0; c < C; c++) {
				int k = nm->n > 1 ? (int)c : 0;
				int64_t o = (b * C + c) * HW;
				cords_norm_u8((const uint8_t *)x->data + o, HW, nm->n ? nm->mean[k] : 0, nm->n ? nm->std[k] : 1,
					      out + o);
			}
		return 0;
	}
	if (x->dtype == CORDS_F32) {
		memcpy(out, x->data, (size_t)n * sizeof *out);
	} else {
		cords_tensor *f = cords_tensor_to_f32(x);
		if (!f)
			return -1;
		memcpy(out, f->data, (size_t)n * sizeof *out);
		cords_tensor_free(f);
	}
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(out[i]))
			return cords_err("x holds a non-finite value (%g at index %lld)", out[i], (long long)i);
	return 0;
}
