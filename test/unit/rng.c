/* Random numbers: reproducible, independent streams, right moments. */
#include "rng.h"
#include "t.h"

int main(void)
{
	cords_rng a, b;
	CASE("same seed, same sequence; different seeds differ") {
		cords_rng_seed(&a, 42);
		cords_rng_seed(&b, 42);
		int same = 1;
		for (int i = 0; i < 100; i++)
			same &= cords_rng_u64(&a) == cords_rng_u64(&b);
		CHECK(same, "sequences differ");
		cords_rng_seed(&b, 43);
		CHECK(cords_rng_u64(&a) != cords_rng_u64(&b), "seeds 42 and 43 agree");
		cords_rng_split(&a, 7, 0);
		cords_rng_split(&b, 7, 1);
		CHECK(cords_rng_u64(&a) != cords_rng_u64(&b), "split streams agree");
	}
	CASE("uniform and normal moments") {
		cords_rng_seed(&a, 1);
		double s = 0, s2 = 0, n1 = 0, n2 = 0;
		int N = 200000;
		for (int i = 0; i < N; i++) {
			double u = cords_rng_uniform(&a), z = cords_rng_normal(&a);
			CHECK(u >= 0 && u < 1, "u=%g", u);
			s += u, s2 += u * u, n1 += z, n2 += z * z;
		}
		CHECK_CLOSE(s / N, 0.5, 0, 0.005);
		CHECK_CLOSE(s2 / N - 0.25, 1.0 / 12, 0, 0.002);
		CHECK_CLOSE(n1 / N, 0, 0, 0.01);
		CHECK_CLOSE(n2 / N, 1, 0, 0.01);
	}
	CASE("below is in range and shuffle is a permutation") {
		cords_rng_seed(&a, 3);
		int64_t idx[50], seen[50] = {0};
		for (int i = 0; i < 50; i++)
			idx[i] = i;
		cords_rng_shuffle(&a, idx, 50);
		for (int i = 0; i < 50; i++)
			seen[idx[i]]++;
		int ok = 1;
		for (int i = 0; i < 50; i++)
			ok &= seen[i] == 1;
		CHECK(ok, "not a permutation");
		for (int i = 0; i < 1000; i++) {
			uint64_t v = cords_rng_below(&a, 7);
			CHECK(v < 7, "%llu", (unsigned long long)v);
		}
	}
	T_DONE();
}
