/* The CORDS_* environment variables (env.h). */
#include "env.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* The index of the variable's value among names (unset or empty: 0). */
static int choice(const char *var, const char *const *names, int n, int *out, const char *expected)
{
	const char *s = getenv(var);
	*out = 0;
	if (!s || !*s)
		return 0;
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return *out = i, 0;
	return cords_err("%s=%s: expected %s", var, s, expected);
}

/* A switch: unset, empty or 1 is on, 0 off. */
static int on_off(const char *var, int *on)
{
	static const char *const names[] = {"1", "0"};
	int k, rc = choice(var, names, 2, &k, "0 or 1");
	*on = !k;
	return rc;
}

int cords_env_read(cords_env *e)
{
	static const char *const prec[] = {"fp32", "tf32", "bf16"}, *const conv[] = {"auto", "direct", "winograd"},
				 *const nccl[] = {"auto", "0", "1"};
	int p, c, n, rc = 0;
	memset(e, 0, sizeof *e);
	e->backend = cords_backend_defaults;
	rc |= choice("CORDS_PRECISION", prec, 3, &p, "fp32, tf32 or bf16");
	rc |= choice("CORDS_CONV", conv, 3, &c, "auto, direct or winograd");
	rc |= choice("CORDS_NCCL", nccl, 3, &n, "auto, 0 or 1");
	rc |= on_off("CORDS_LANES", &e->backend.lanes);
	rc |= on_off("CORDS_DETERMINISTIC", &e->backend.deterministic);
	rc |= on_off("CORDS_GRAPHS", &e->backend.graphs);
	e->backend.precision = (cords_precision)p;
	e->backend.conv = (cords_conv_algo)c;
	e->nccl = (cords_nccl)n;
	const char *s = getenv("CORDS_PROFILE");
	e->backend.profile = s && *s && strcmp(s, "0");
	if ((s = getenv("CORDS_ZSTD_LEVEL")) && *s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end || v < -(1L << 17) || v > 22)
			rc |= cords_err("CORDS_ZSTD_LEVEL=%s: expected a zstd level, -131072 to 22", s);
		else
			e->zstd_level = (int)v;
	}
	return rc ? -1 : 0;
}
