/* The protocol's parameters (alpha, phi, steps) from model metadata. */
#include "model.h"
#include "err.h"
#include "meta.h"

#include <stdlib.h>
#include <string.h>

static const char *phi_names[] = {"relu", "identity", "prelu"};

const char *cords_phi_name(cords_phi_kind k)
{
	return k >= 0 && k <= CORDS_PHI_PRELU ? phi_names[k] : "?";
}

int cords_phi_parse(const char *s, float slope, cords_phi *phi)
{
	for (int k = 0; k <= CORDS_PHI_PRELU; k++)
		if (!strcmp(s, phi_names[k])) {
			phi->kind = (cords_phi_kind)k;
			phi->slope = k == CORDS_PHI_PRELU ? slope : 0.0f;
			return 0;
		}
	return cords_err("phi '%s' (expected relu, identity or prelu)", s);
}

/* A number from the metadata, if the key is there; range-checked. */
static int meta_num(const cords_tensor *meta, const char *key, double lo, double hi, double *out)
{
	char *s = cords_meta_get(meta, key), *end;
	if (!s)
		return 0;
	double v = strtod(s, &end);
	int bad = end == s || *end || !(v >= lo && v <= hi);
	free(s);
	if (bad)
		return cords_err("model metadata: bad value for '%s'", key);
	*out = v;
	return 0;
}

int cords_dynamics_from_meta(const cords_tensor *meta, cords_dynamics *d)
{
	double alpha = 0.2, slope = 0, spont = 100, stim = 100;
	*d = (cords_dynamics){.alpha = 0.2f, .phi = {CORDS_PHI_RELU, 0}, .spont_steps = 100, .stim_steps = 100};
	if (!meta)
		return 0;
	if (meta_num(meta, CORDS_KEY_ALPHA, 0, 1, &alpha) || meta_num(meta, CORDS_KEY_PRELU_SLOPE, -1e6, 1e6, &slope) ||
	    meta_num(meta, CORDS_KEY_SPONT_STEPS, 0, 1e7, &spont) || meta_num(meta, CORDS_KEY_STIM_STEPS, 0, 1e7, &stim))
		return -1;
	d->alpha = (float)alpha;
	d->spont_steps = (int)spont;
	d->stim_steps = (int)stim;
	char *phi = cords_meta_get(meta, CORDS_KEY_PHI);
	int rc = phi ? cords_phi_parse(phi, (float)slope, &d->phi) : 0;
	free(phi);
	return rc;
}
