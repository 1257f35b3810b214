/* A minimal unit-test harness: each CASE prints "PASS: file: name",
 * "FAIL: file: name: why" or "SKIP: file: name: reason"; test/run.sh counts
 * the lines. A test binary exits non-zero if any case failed, so a crash is
 * never mistaken for success. */
#ifndef CORDS_T_H
#define CORDS_T_H

#include "env.h"
#include "err.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_cases, t_case_failed;
static const char *t_case_name;
/* Set: every CASE from here on prints a SKIP line with this reason and does
 * not run (a test that cannot run here, e.g. without a GPU). */
static const char *t_skip;

#define CASE(name) for (t_begin(name); t_case_name; t_end())
static void t_begin(const char *n)
{
	t_case_name = t_skip ? NULL : n;
	t_case_failed = 0;
	if (t_skip) {
		printf("SKIP: %s: %s: %s\n", __BASE_FILE__, n, t_skip);
		fflush(stdout);
	}
}
static void t_end(void)
{
	if (t_case_failed)
		t_failed_cases++;
	else
		printf("PASS: %s: %s\n", __BASE_FILE__, t_case_name);
	fflush(stdout);
	t_case_name = NULL;
}

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			printf("FAIL: %s: %s: %s:%d: ", __BASE_FILE__,         \
			       t_case_name ? t_case_name : "-", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
			t_case_failed = 1;                                      \
		}                                                               \
	} while (0)

/* Comparing arrays. Element i passes when
 *   |got[i] - want[i]| <= abs + rel |want[i]| + of_max max_j |want[j]|,
 * and its error is the left side over the right: the worst error over the
 * arrays compared is <= 1 when all pass. A NaN or an Inf on either side is
 * an error of +Inf, which no tolerance accepts and no later element can
 * replace (a running max by `e > worst` or fmax drops NaN: an all-NaN
 * gradient would score 0). */
typedef struct {
	double rel, of_max, abs;
} t_tol;

/* The worst error so far and where: "2.5 x tolerance at NAME[i]: got G, want W". */
typedef struct {
	double err;
	char at[300];
} t_worst;

static inline double t_get_(const void *p, int f64, int64_t i)
{
	return f64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

/* Folds an error into w (when worse than what w holds). */
static inline void t_note(t_worst *w, double err, const char *name, int64_t i, double got, double want)
{
	if (!w || !(err > w->err))
		return;
	w->err = err;
	if (i < 0)
		snprintf(w->at, sizeof w->at, "%.200s", name);
	else if (isinf(err) && (!isfinite(got) || !isfinite(want)))
		snprintf(w->at, sizeof w->at, "%.160s[%lld]: got %.9g, want %.9g (not finite)", name, (long long)i, got,
			 want);
	else
		snprintf(w->at, sizeof w->at, "%.3g x tolerance at %.160s[%lld]: got %.9g, want %.9g", err, name,
			 (long long)i, got, want);
}

/* A failure that is no element's (a missing tensor, a shape mismatch). */
static inline void t_fail(t_worst *w, const char *why) { t_note(w, INFINITY, why, -1, 0, 0); }

static inline double t_cmp_(t_worst *w, const char *name, const void *got, int got_f64, const void *want, int want_f64,
		     int64_t n, t_tol tol)
{
	double scale = 0, err = 0, g = 0, v = 0;
	int64_t at = -1;
	for (int64_t i = 0; tol.of_max != 0 && i < n; i++)
		if (isfinite(t_get_(want, want_f64, i)))
			scale = fmax(scale, fabs(t_get_(want, want_f64, i)));
	for (int64_t i = 0; i < n; i++) {
		double a = t_get_(got, got_f64, i), b = t_get_(want, want_f64, i), e;
		if (!isfinite(a) || !isfinite(b))
			e = INFINITY;
		else {
			double d = fabs(a - b);
			e = d == 0 ? 0 : d / (tol.abs + tol.rel * fabs(b) + tol.of_max * scale);
		}
		if (e > err || at < 0)
			err = e, at = i, g = a, v = b;
		if (isinf(err))
			break;
	}
	if (at >= 0)
		t_note(w, err, name, at, g, v);
	return err;
}

/* t_cmp(&worst, "name", got, want, n, .rel = 1e-4, .abs = 1e-5): this
 * array's worst error (folded into *worst too, when not NULL); float or
 * double arrays on either side. `.abs = 0` alone asks for equality. */
#define T_F64(p) _Generic((p), float *: 0, const float *: 0, double *: 1, const double *: 1)
#define t_cmp(w, name, got, want, n, ...) \
	t_cmp_((w), (name), (got), T_F64(got), (want), T_F64(want), (n), (t_tol){__VA_ARGS__})

/* Bit for bit and finite: 0, or +Inf at the first element that differs or
 * is not finite (two NaN of one bit pattern are no answer). */
static inline double t_same_(t_worst *w, const char *name, const void *got, int got_f64, const void *want, int want_f64,
			     int64_t n)
{
	size_t sz = got_f64 ? 8 : 4;
	for (int64_t i = 0; i < n; i++) {
		double a = t_get_(got, got_f64, i), b = t_get_(want, want_f64, i);
		if (got_f64 != want_f64 || !isfinite(a) || !isfinite(b) ||
		    memcmp((const char *)got + i * sz, (const char *)want + i * sz, sz)) {
			if (w && !isinf(w->err)) {
				w->err = INFINITY;
				snprintf(w->at, sizeof w->at, "%.160s[%lld]: got %.9g, want %.9g (bit for bit, finite)", name,
					 (long long)i, a, b);
			}
			return INFINITY;
		}
	}
	return 0;
}
#define t_same(w, name, got, want, n) t_same_((w), (name), (got), T_F64(got), (want), T_F64(want), (n))

/* |a-b| <= atol + rtol*|b|, both finite */
#define CHECK_CLOSE(a, b, rtol, atol)                                           \
	do {                                                                    \
		double t_a_ = (a), t_b_ = (b);                                  \
		t_worst t_w_ = {0, ""};                                         \
		t_cmp(&t_w_, #a, &t_a_, &t_b_, 1, .rel = (rtol), .abs = (atol)); \
		CHECK(t_w_.err <= 1, "%s", t_w_.at);                            \
	} while (0)

#define T_DONE() return t_failed_cases ? 1 : 0

/* The backend for device as the tools make it, with the CORDS_* environment
 * (test/run.sh runs some tests again with CORDS_CONV=winograd). */
static inline cords_backend *t_backend(const char *device)
{
	cords_env e;
	if (cords_env_read(&e)) {
		printf("FAIL: %s: %s\n", __BASE_FILE__, cords_errmsg());
		exit(1);
	}
	return cords_backend_get(device, &e.backend);
}

#endif
