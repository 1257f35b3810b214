/* Fuzz target: the tensor stream reader, record by record, with data read in
 * parts and whole, and metadata lookups on text records. */
#include "stream.h"
#include "meta.h"
#include "outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	FILE *f = fmemopen((void *)data, size, "rb");
	cords_reader *r = cords_reader_new(f, "fuzz");
	cords_tensor *x;
	int odd = 0, n = 0;
	/* Alternate whole-record reads and header + skip, as tools do both. */
	for (;;) {
		int rc;
		if (odd++ & 1) {
			cords_tensor h;
			if ((rc = cords_read_header(r, &h)) <= 0 || (rc = cords_read_skip(r) ? -1 : 1) < 0) {
				fuzz_note("stream", rc < 0);
				fuzz_add(" %d records", n);
				break;
			}
			n++;
			continue;
		}
		if ((rc = cords_read_tensor(r, &x)) <= 0) {
			fuzz_note("stream", rc < 0);
			fuzz_add(" %d records", n);
			break;
		}
		n++;
		if (x->dtype == CORDS_TEXT) {
			char *v = cords_meta_get(x, "depth");
			free(v);
		}
		cords_tensor_free(x);
	}
	cords_reader_free(r);
	fclose(f);
	return 0;
}
