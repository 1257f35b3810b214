/* Stream throughput: writes and reads records of activation-like float data
 * (post-ReLU, so about half zeros, as recordings are) and of dense normal
 * floats (as weights and logits are), in memory-bounded 32 MB records through
 * a file, and reports MB/s of tensor data and the compression ratio.
 *   build/bench/stream [MB] [FILE] [LEVEL...]   (defaults 1024, /tmp/cords-bench.tzst, 1 -1 3) */
#include "rng.h"
#include "stream.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void fill(float *d, int64_t n, int relu, cords_rng *r)
{
	for (int64_t i = 0; i < n; i++) {
		double z = cords_rng_normal(r);
		d[i] = relu ? (float)(z > 0 ? z : 0) : (float)z;
	}
}

int main(int argc, char **argv)
{
	int64_t mb = argc > 1 ? atoll(argv[1]) : 1024;
	const char *path = argc > 2 ? argv[2] : "/tmp/cords-bench.tzst";
	int levels[8] = {1, -1, 3}, nlev = 3;
	if (argc > 3)
		for (nlev = 0; nlev < 8 && 3 + nlev < argc; nlev++)
			levels[nlev] = atoi(argv[3 + nlev]);
	int64_t rec = 8 << 20; /* floats per record: 32 MB */
	int64_t nrec = mb * (1 << 20) / (rec * 4);
	float *buf = aligned_alloc(64, (size_t)rec * 4);
	cords_rng r;
	cords_rng_seed(&r, 1);
	printf("%-10s %6s %10s %10s %8s\n", "data", "level", "write MB/s", "read MB/s", "ratio");
	for (int relu = 1; relu >= 0; relu--) {
		fill(buf, rec, relu, &r);
		for (int l = 0; l < nlev; l++) {
			FILE *f = fopen(path, "wb");
			if (!f)
				cli_die("%s: cannot open", path);
			cords_writer *w = cords_writer_new(f, path, levels[l]);
			double t0 = cli_now();
			for (int64_t i = 0; i < nrec; i++) {
				int64_t shape[2] = {rec / 1024, 1024};
				buf[0] = (float)i; /* records differ */
				if (cords_write_begin(w, "r0", CORDS_F32, 2, shape) ||
				    cords_write_data(w, buf, (size_t)rec * 4) || cords_write_end(w))
					cli_die_lib();
			}
			uint64_t bytes = cords_writer_bytes(w);
			if (cords_writer_close(w) || fclose(f))
				cli_die_lib();
			double tw = cli_now() - t0;
			f = fopen(path, "rb");
			cords_reader *rd = cords_reader_new(f, path);
			cords_tensor h;
			t0 = cli_now();
			while (cords_read_header(rd, &h) > 0)
				if (cords_read_data(rd, buf, h.nbytes))
					cli_die_lib();
			double tr = cli_now() - t0;
			cords_reader_free(rd);
			fclose(f);
			double total = (double)(nrec * rec * 4) / (1 << 20);
			printf("%-10s %6d %10.0f %10.0f %8.2f\n", relu ? "relu" : "normal", levels[l],
			       total / tw, total / tr, total * (1 << 20) / (double)bytes);
		}
	}
	remove(path);
	free(buf);
	return 0;
}
