/* Runs a fuzz target's LLVMFuzzerTestOneInput over files named on the command
 * line, without libFuzzer: make check replays the seed corpora and the crash
 * regressions in testdata/fuzz/NAME/ this way, under the sanitizers when
 * SANITIZE=1. Prints one PASS or FAIL line per input.
 *
 * --expect FILE (first): lines "NAME/INPUT<TAB>PATTERN" (NAME: this target's
 * file name; # starts a comment). An input with a line must give an outcome
 * (outcome.h: what each reader said) that matches the fnmatch(3) PATTERN: a
 * seed must be read, a regression refused for its reason. Every line of this
 * target must name an input given, so none goes stale. */
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern char fuzz_outcome[1024];

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
	static char key[4096][256], pat[4096][1024];
	static int used[4096];
	int nexp = 0, first = 1, failed = 0;
	const char *me = base(argv[0]);
	if (argc > 2 && !strcmp(argv[1], "--expect")) {
		FILE *e = fopen(argv[2], "r");
		char line[1400];
		if (!e) {
			printf("FAIL: fuzz: cannot open %s\n", argv[2]);
			return 1;
		}
		while (fgets(line, sizeof line, e) && nexp < 4096) {
			char *tab = strchr(line, '\t'), *slash = strchr(line, '/');
			line[strcspn(line, "\n")] = 0;
			if (line[0] == '#' || !tab || !slash || slash > tab || (size_t)(slash - line) != strlen(me) ||
			    strncmp(line, me, strlen(me)))
				continue;
			*tab = 0;
			snprintf(key[nexp], sizeof key[nexp], "%s", slash + 1);
			snprintf(pat[nexp], sizeof pat[nexp], "%s", tab + 1);
			nexp++;
		}
		fclose(e);
		first = 3;
	}
	for (int i = first; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			printf("FAIL: fuzz: cannot open %s\n", argv[i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		fseek(f, 0, SEEK_SET);
		uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
		if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
			printf("FAIL: fuzz: cannot read %s\n", argv[i]);
			return 1;
		}
		fclose(f);
		fuzz_outcome[0] = 0;
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		int k = 0;
		while (k < nexp && strcmp(key[k], base(argv[i])))
			k++;
		if (k < nexp && fnmatch(pat[k], fuzz_outcome, 0)) {
			printf("FAIL: fuzz: %s/%s: %s; expected %s\n", me, base(argv[i]), fuzz_outcome, pat[k]);
			failed = 1;
		} else
			printf("PASS: fuzz: %s/%s%s%s\n", me, base(argv[i]), k < nexp ? ": " : "", k < nexp ? fuzz_outcome : "");
		if (k < nexp)
			used[k] = 1;
	}
	for (int k = 0; k < nexp; k++)
		if (!used[k]) {
			printf("FAIL: fuzz: %s/%s: in the expectations, not among the inputs\n", me, key[k]);
			failed = 1;
		}
	return failed;
}
