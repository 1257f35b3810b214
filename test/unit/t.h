/* A minimal unit-test harness: each CASE prints "PASS: file: name" or
 * "FAIL: file: name: why"; test/run.sh counts the lines. A test binary exits
 * non-zero if any case failed, so a crash is never mistaken for success. */
#ifndef CORDS_T_H
#define CORDS_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed_cases, t_case_failed;
static const char *t_case_name;

#define CASE(name) for (t_begin(name); t_case_name; t_end())
static void t_begin(const char *n) { t_case_name = n; t_case_failed = 0; }
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

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, rtol, atol)                                           \
	do {                                                                    \
		double t_a_ = (a), t_b_ = (b);                                  \
		CHECK(fabs(t_a_ - t_b_) <= (atol) + (rtol)*fabs(t_b_) && !isnan(t_a_), \
		      "%s = %.9g, expected %.9g", #a, t_a_, t_b_);           \
	} while (0)

#define T_DONE() return t_failed_cases ? 1 : 0

#endif
