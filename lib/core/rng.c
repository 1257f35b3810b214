/* xoshiro256** (Blackman & Vigna) with splitmix64 seeding. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void cords_rng_seed(cords_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&seed);
}

void cords_rng_split(cords_rng *r, uint64_t seed, uint64_t id)
{
	uint64_t x = seed ^ 0x6a09e667f3bcc909ull;
	uint64_t mixed = splitmix(&x) ^ (id * 0xd1342543de82ef95ull + 0x2545f4914f6cdd1dull);
	cords_rng_seed(r, mixed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t cords_rng_u64(cords_rng *r)
{
	uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double cords_rng_uniform(cords_rng *r) { return (double)(cords_rng_u64(r) >> 11) * 0x1.0p-53; }

double cords_rng_range(cords_rng *r, double lo, double hi) { return lo + (hi - lo) * cords_rng_uniform(r); }

uint64_t cords_rng_below(cords_rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
	do
		x = cords_rng_u64(r);
	while (x >= limit);
	return x % n;
}

double cords_rng_normal(cords_rng *r)
{
	/* Box-Muller; one value per call keeps the state simple and reproducible. */
	double u1 = 1.0 - cords_rng_uniform(r), u2 = cords_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double cords_rng_beta11(cords_rng *r) { return cords_rng_uniform(r); }

void cords_rng_shuffle(cords_rng *r, int64_t *idx, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)cords_rng_below(r, (uint64_t)i + 1), t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}
