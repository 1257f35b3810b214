/* Runs a fuzz target's LLVMFuzzerTestOneInput over files named on the command
 * line, without libFuzzer: make check replays the seed corpora and the crash
 * regressions in testdata/fuzz/NAME/ this way, under the sanitizers when
 * SANITIZE=1. Prints one PASS line per input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
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
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		printf("PASS: fuzz: %s\n", argv[i]);
	}
	return 0;
}
