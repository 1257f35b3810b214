/* Reproducible random numbers: xoshiro256** seeded through splitmix64. The
 * same seed gives the same sequence on every machine, so a seed in a model's
 * or a batch stream's metadata reproduces it. Independent streams for threads
 * or purposes come from cords_rng_split (seed, stream id), not from sharing. */
#ifndef CORDS_RNG_H
#define CORDS_RNG_H

#include <stdint.h>

typedef struct {
	uint64_t s[4];
} cords_rng;

void cords_rng_seed(cords_rng *r, uint64_t seed);
/* A generator for stream `id` of `seed`: distinct ids give unrelated sequences. */
void cords_rng_split(cords_rng *r, uint64_t seed, uint64_t id);
uint64_t cords_rng_u64(cords_rng *r);
double cords_rng_uniform(cords_rng *r);            /* [0, 1), 53 bits */
double cords_rng_range(cords_rng *r, double lo, double hi); /* [lo, hi) */
uint64_t cords_rng_below(cords_rng *r, uint64_t n); /* [0, n), unbiased; n > 0 */
double cords_rng_normal(cords_rng *r);             /* standard normal */
double cords_rng_beta11(cords_rng *r);             /* Beta(1,1) = U(0,1), named for intent */
/* Fisher-Yates shuffle of n indices. */
void cords_rng_shuffle(cords_rng *r, int64_t *idx, int64_t n);

#endif
