/* Fuzz target: the zip reader under .pth and .npz: every record found and
 * its data (inflated, CRC checked). */
#include "zip.h"
#include "outcome.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cords_zip z;
	int rc = cords_zip_open(&z, data, size);
	fuzz_note("zip", rc < 0);
	if (rc)
		return 0;
	fuzz_add(" %d entries", z.count);
	for (int i = 0; i < z.count; i++) {
		const unsigned char *p;
		void *owned = NULL;
		unsigned sum = 0;
		if (cords_zip_data(&z, &z.e[i], &p, &owned)) {
			fuzz_note(z.e[i].name, 1);
			continue;
		}
		for (uint64_t j = 0; j < z.e[i].usize; j++)
			sum += p[j];
		free(owned);
		if (sum == 0xdeadbeef)
			break;
		cords_zip_find(&z, z.e[i].name);
	}
	cords_zip_close(&z);
	return 0;
}
