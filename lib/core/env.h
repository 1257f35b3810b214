/* The CORDS_* environment variables (cords(7), ENVIRONMENT), every one read
 * here and nowhere else: the tools (and tests and benchmarks that mean to
 * run as the tools do) read them once, with cords_env_read, and hand what
 * they say to what they make: a backend, a stream writer, MPI. */
#ifndef CORDS_ENV_H
#define CORDS_ENV_H

#include "backend.h"

/* How gradients are summed across ranks (lib/train/dist.h). */
typedef enum { CORDS_NCCL_AUTO = 0, CORDS_NCCL_OFF = 1, CORDS_NCCL_ON = 2 } cords_nccl;

typedef struct {
	/* CORDS_PRECISION, CORDS_CONV, CORDS_LANES, CORDS_DETERMINISTIC,
	 * CORDS_GRAPHS, CORDS_PROFILE; the rest as cords_backend_defaults */
	cords_backend_opts backend;
	cords_nccl nccl; /* CORDS_NCCL */
	int zstd_level;  /* CORDS_ZSTD_LEVEL; 0 when unset: the writers' default */
} cords_env;

/* Fills e from the environment; -1 with a message naming a variable that
 * holds a value it does not take (e is filled all the same, such a variable
 * at its default). */
int cords_env_read(cords_env *e);

#endif
