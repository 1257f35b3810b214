/* Checkpoints: atomic saves that read back equal and leave the old file
 * whole when a save fails; generator state round trip. (The stop on a
 * signal is the tools': test/cli/train_rnn.sh.) */
#include "arch.h"
#include "checkpoint.h"
#include "err.h"
#include "meta.h"
#include "stream.h"
#include "t.h"

#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/cords-ckpt-XXXXXX", path[256], tmp[300];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/state.tzst", dir);
	int64_t shape[2] = {2, 3};
	cords_tensor *a = cords_tensor_new("w", CORDS_F32, 2, shape), *m = cords_meta_new();
	for (int i = 0; i < 6; i++)
		((float *)a->data)[i] = (float)i / 7;
	cords_meta_set(m, "step", "12");
	const cords_tensor *items[2] = {m, a};
	CASE("save, read back equal, no temporary left") {
		CHECK(cords_save_atomic(path, items, 2) == 0, "%s", cords_errmsg());
		cords_tensor_list l = {0};
		CHECK(cords_read_file(path, &l) == 0 && l.n == 2, "read back");
		const cords_tensor *w = cords_list_find(&l, "w");
		CHECK(w && !memcmp(w->data, a->data, 24), "data differ");
		char *v = l.n ? cords_meta_get(l.items[0], "step") : NULL;
		CHECK(v && !strcmp(v, "12"), "meta");
		free(v);
		cords_list_free(&l);
		snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
		CHECK(access(tmp, F_OK) != 0, "temporary left behind");
	}
	CASE("a failed save keeps the previous checkpoint and removes its temporary") {
		cords_tensor *bad = cords_tensor_new("bad", CORDS_F32, 2, shape);
		bad->dtype = (cords_dtype)99; /* not writable: the save fails part-way */
		const cords_tensor *b3[3] = {m, a, bad};
		CHECK(cords_save_atomic(path, b3, 3) < 0, "bad save succeeded");
		cords_tensor_list l = {0};
		CHECK(cords_read_file(path, &l) == 0 && l.n == 2, "old checkpoint damaged");
		cords_list_free(&l);
		CHECK(access(tmp, F_OK) != 0, "temporary left behind");
		bad->dtype = CORDS_F32;
		cords_tensor_free(bad);
		char nodir[300];
		snprintf(nodir, sizeof nodir, "%s/missing/x.tzst", dir);
		CHECK(cords_save_atomic(nodir, items, 2) < 0 && strstr(cords_errmsg(), "missing"), "%s", cords_errmsg());
	}
	CASE("generator state round trip") {
		cords_rng r, s;
		char buf[72];
		cords_rng_seed(&r, 99);
		cords_rng_u64(&r);
		cords_rng_format(&r, buf);
		CHECK(cords_rng_parse(buf, &s) == 0 && !memcmp(&r, &s, sizeof r), "%s", buf);
		CHECK(cords_rng_u64(&r) == cords_rng_u64(&s), "sequences differ");
		CHECK(cords_rng_parse("12:34", &s) < 0, "short state accepted");
	}
	unlink(path);
	rmdir(dir);
	cords_tensor_free(a);
	cords_tensor_free(m);
	T_DONE();
}
