/* Gaussian noise for the experiments (cords-infer --noise, cords(7)
 * EXPERIMENTS), drawn so that an image gets the same noise at any batch size
 * and on any device: the draws are made on the host, keyed by (seed, what,
 * image index, step). Each key seeds a generator of its own (cords_rng_split
 * of a hash of the key) whose first n standard normals are the draws. */
#ifndef CORDS_NOISE_H
#define CORDS_NOISE_H

#include <stdint.h>

typedef enum {
	CORDS_NOISE_IMAGE = 0, /* one draw on the input per image, for the whole run */
	CORDS_NOISE_FRAME = 1, /* a fresh draw on the input at every step it is shown */
	CORDS_NOISE_STATE = 2, /* a draw on every area's state at every step */
} cords_noise_mode;

typedef struct {
	double sigma; /* 0: none */
	cords_noise_mode mode;
	uint64_t seed;
} cords_noise;

/* "image", "frame" or "state"; -1 with a message otherwise. */
int cords_noise_mode_parse(const char *s, cords_noise_mode *mode);
const char *cords_noise_mode_name(cords_noise_mode mode);

/* out[k] += scale * N(0,1)_k, k < n: the draws of (seed, what, index, step). */
void cords_noise_add(uint64_t seed, uint64_t what, int64_t index, int64_t step, double scale, float *out, int64_t n);

#endif
