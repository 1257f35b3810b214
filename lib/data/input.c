/* Batch records into model input: normalisation, checks, noise. */
#include "input.h"
#include "err.h"
#include "meta.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int parse_list(const char *s, float *v, int max)
{
	int n = 0;
	char *end;
	while (*s) {
		if (n == max)
			return -1;
		double d = strtod(s, &end);
		if (end == s || !isfinite(d))
			return -1;
		v[n++] = (float)d;
		s = end;
		while (*s == ',' || *s == ' ')
			s++;
	}
	return n;
}

int cords_norm_from_meta(const cords_tensor *meta, cords_norm *nm)
{
	memset(nm, 0, sizeof *nm);
	if (!meta)
		return 0;
	char *m = cords_meta_get(meta, "norm_mean"), *s = cords_meta_get(meta, "norm_std");
	int rc = 0;
	if (m || s) {
		int a = m ? parse_list(m, nm->mean, 16) : -1, b = s ? parse_list(s, nm->std, 16) : -1;
		rc = 1;
		if (a < 1 || a != b)
			rc = cords_err("metadata: norm_mean '%s' and norm_std '%s' do not match", m ? m : "", s ? s : "");
		for (int i = 0; i < b && rc > 0; i++)
			if (!(nm->std[i] > 0))
				rc = cords_err("metadata: norm_std must be positive");
		nm->n = rc > 0 ? a : 0;
	}
	free(m);
	free(s);
	return rc;
}

int cords_input_f32(const cords_tensor *x, const cords_norm *nm, float *out)
{
	int64_t B = x->shape[0], C = x->shape[1], HW = x->shape[2] * x->shape[3], n = B * C * HW;
	if (x->dtype == CORDS_U8) {
		if (nm->n > 1 && nm->n != C)
			return cords_err("normalisation has %d channels, the batch %lld", nm->n, (long long)C);
		const uint8_t *p = x->data;
		for (int64_t b = 0; b < B; b++)
			for (int64_t c = 0; c < C; c++) {
				float mu = nm->n ? nm->mean[nm->n > 1 ? c : 0] : 0, sd = nm->n ? nm->std[nm->n > 1 ? c : 0] : 1;
				int64_t o = (b * C + c) * HW;
				for (int64_t i = 0; i < HW; i++)
					out[o + i] = (p[o + i] / 255.0f - mu) / sd;
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

void cords_input_noise(float *x, int64_t n, double sigma, cords_rng *r)
{
	for (int64_t i = 0; i < n; i++)
		x[i] += (float)(sigma * cords_rng_normal(r));
}
