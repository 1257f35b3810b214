/* What an input gave each reader of a fuzz target: "reader: ok" or
 * "reader: the error", joined by "; ". The replay driver (driver.c) checks it
 * against test/fuzz/expect where a line names the input, so a replay can fail
 * by a wrong answer (a seed refused, a corrupt input accepted, another error)
 * and not only by a crash. libFuzzer ignores it. */
#ifndef CORDS_FUZZ_OUTCOME_H
#define CORDS_FUZZ_OUTCOME_H

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

char fuzz_outcome[1024];

/* Appends to the outcome (a count, a shape). */
static inline void __attribute__((format(printf, 1, 2))) fuzz_add(const char *fmt, ...)
{
	size_t n = strlen(fuzz_outcome);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fuzz_outcome + n, sizeof fuzz_outcome - n, fmt, ap);
	va_end(ap);
}

/* failed: the reader returned an error (cords_errmsg says which) */
static inline void fuzz_note(const char *reader, int failed)
{
	fuzz_add("%s%s: %.120s", fuzz_outcome[0] ? "; " : "", reader, failed ? cords_errmsg() : "ok");
}

#endif
