/* Keyed Gaussian draws (noise.h). */
#include "noise.h"
#include "err.h"
#include "rng.h"

#include <string.h>

static const char *names[] = {"image", "frame", "state"}; /* modes, not metadata */

int cords_noise_mode_parse(const char *s, cords_noise_mode *mode)
{
	for (int k = 0; k <= CORDS_NOISE_STATE; k++)
		if (!strcmp(s, names[k])) {
			*mode = (cords_noise_mode)k;
			return 0;
		}
	return cords_err("noise mode '%s' (expected image, frame or state)", s);
}

const char *cords_noise_mode_name(cords_noise_mode mode)
{
	return mode >= 0 && mode <= CORDS_NOISE_STATE ? names[mode] : "?";
}

/* One 64-bit stream id from the key's parts; splitmix64's finaliser between
 * them keeps nearby keys (image 1 step 2, image 2 step 1) apart. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	uint64_t z = (h ^ v) + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void cords_noise_add(uint64_t seed, uint64_t what, int64_t index, int64_t step, double scale, float *out, int64_t n)
{
	cords_rng r;
	cords_rng_split(&r, seed, mix(mix(mix(0, what), (uint64_t)index), (uint64_t)step));
	for (int64_t k = 0; k < n; k++)
		out[k] += (float)(scale * cords_rng_normal(&r));
}
