/* test_rng.c — libshared/rng.c: Philox4x32-10 against the known-answer
 * vectors of Random123 (tests/kat_vectors, "philox4x32 10" lines), then
 * properties of the draws built on it: uniformity, rng_below without bias,
 * distinct streams, reproducibility, the shuffle. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "rng.h"

/* Random123 kat_vectors: counter[4] key[2] -> output[4]. */
static void
test_philox_kat(void **state)
{
	static const uint32_t kat[3][10] = {
		{ 0, 0, 0, 0, 0, 0,
		  0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8 },
		{ 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
		  0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd },
		{ 0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
		  0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1 },
	};

	for (int i = 0; i < 3; i++) {
		uint32_t out[4];
		rng_philox(kat[i], kat[i] + 4, out);
		for (int k = 0; k < 4; k++)
			if (out[k] != kat[i][6 + k])
				fail_msg("vector %d word %d: %08x, want %08x", i, k, out[k], kat[i][6 + k]);
	}
}

/* rng_philox_uniform is the documented function of one Philox block. */
static void
test_philox_uniform_definition(void **state)
{
	uint32_t ctr[4] = { 0x9abcdef0, 0x12345678, 0x33, 0x1 }, key[2] = { 0x55667788, 0x11223344 }, out[4];
	float u = rng_philox_uniform(0x1122334455667788ull, 0x100000033ull, 0x123456789abcdef0ull);

	rng_philox(ctr, key, out);
	assert_true(u == (float)(out[0] >> 8) * (1.0f / 16777216.0f));
	assert_true(u >= 0.0f && u < 1.0f);
}

/* 10^6 uniforms: mean 1/2, variance 1/12, 20 equal bins within 5 sigma,
 * all in [0, 1). */
static void
test_uniformity(void **state)
{
	struct rng r;
	const int n = 1000000;
	int bins[20] = { 0 };
	double sum = 0, sq = 0, expect = n / 20.0, sigma = sqrt(expect * (1 - 1 / 20.0));

	rng_init(&r, 12345, 0, 0);
	for (int i = 0; i < n; i++) {
		double u = rng_uniform(&r);
		assert_true(u >= 0.0 && u < 1.0);
		sum += u;
		sq += u * u;
		bins[(int)(u * 20)]++;
	}
	assert_true(fabs(sum / n - 0.5) < 0.002);
	assert_true(fabs(sq / n - sum / n * (sum / n) - 1.0 / 12) < 0.002);
	for (int b = 0; b < 20; b++)
		if (fabs(bins[b] - expect) > 5 * sigma)
			fail_msg("bin %d: %d, expected %.0f +- %.0f", b, bins[b], expect, 5 * sigma);
}

/* rng_below(n) is uniform on [0, n): for n = 3 (2^64 is not a multiple)
 * and n = 2^63 + 1 (where x % n without rejection would put 2/3 of the
 * mass on the lower half). */
static void
test_below_unbiased(void **state)
{
	struct rng r;
	int counts[7] = { 0 }, low = 0;
	const int n = 700000;

	rng_init(&r, 7, 1, 2);
	for (int i = 0; i < n; i++) {
		uint64_t v = rng_below(&r, 7);
		assert_true(v < 7);
		counts[v]++;
	}
	for (int k = 0; k < 7; k++)
		assert_true(fabs(counts[k] - n / 7.0) < 5 * sqrt(n / 7.0));
	for (int i = 0; i < 100000; i++) {
		uint64_t m = ((uint64_t)1 << 63) + 1, v = rng_below(&r, m);
		assert_true(v < m);
		low += v < m / 2;
	}
	assert_true(abs(low - 50000) < 5 * 158);         /* sigma = sqrt(1e5)/2 */
	assert_int_equal(rng_below(&r, 1), 0);
}

/* The same (seed, a, b) repeats; any other seed or stream differs. */
static void
test_streams(void **state)
{
	struct rng r[6];
	uint64_t first[6];

	rng_init(&r[0], 1, 0, 0);
	rng_init(&r[1], 1, 0, 0);
	rng_init(&r[2], 2, 0, 0);
	rng_init(&r[3], 1, 1, 0);
	rng_init(&r[4], 1, 0, 1);
	rng_init(&r[5], 1, 0, (uint64_t)1 << 32);       /* the high half of b */
	for (int i = 0; i < 6; i++)
		first[i] = rng_u64(&r[i]);
	assert_true(first[0] == first[1]);
	for (int i = 2; i < 6; i++)
		for (int j = 0; j < i; j++)
			if (j != 1 && first[i] == first[j])
				fail_msg("streams %d and %d start alike", i, j);
	for (int k = 0; k < 1000; k++)
		assert_true(rng_u32(&r[0]) == rng_u32(&r[1]));
	/* successive blocks differ (the counter advances) */
	{
		struct rng q;
		uint32_t a[4], b[4];
		rng_init(&q, 9, 9, 9);
		for (int i = 0; i < 4; i++)
			a[i] = rng_u32(&q);
		for (int i = 0; i < 4; i++)
			b[i] = rng_u32(&q);
		assert_memory_not_equal(a, b, sizeof a);
	}
}

/* Normals: mean 0, variance 1. */
static void
test_normal(void **state)
{
	struct rng r;
	double sum = 0, sq = 0;
	const int n = 200000;

	rng_init(&r, 3, 0, 0);
	for (int i = 0; i < n; i++) {
		double z = rng_normal(&r);
		assert_true(isfinite(z));
		sum += z;
		sq += z * z;
	}
	assert_true(fabs(sum / n) < 0.015);
	assert_true(fabs(sq / n - 1) < 0.02);
}

/* FNV-1a 64 known values. */
static void
test_hash(void **state)
{
	assert_true(rng_hash("", 0) == 0xcbf29ce484222325ull);
	assert_true(rng_hash("a", 1) == 0xaf63dc4c8601ec8cull);
	assert_true(rng_hash("foobar", 6) == 0x85944171f73967e8ull);
}

/* dataset_shuffle: a permutation, the same for the same (seed, epoch),
 * different across epochs and seeds; every position gets every item
 * about equally often. */
static void
test_shuffle(void **state)
{
	size_t a[65], b[65], c[65];
	int pos[5][5] = { { 0 } };

	for (size_t i = 0; i < 65; i++)
		a[i] = b[i] = c[i] = i;
	dataset_shuffle(a, 65, 1, 0);
	dataset_shuffle(b, 65, 1, 0);
	assert_memory_equal(a, b, sizeof a);
	for (size_t i = 0; i < 65; i++)
		b[i] = i;
	dataset_shuffle(b, 65, 1, 1);
	assert_memory_not_equal(a, b, sizeof a);
	dataset_shuffle(c, 65, 2, 0);
	assert_memory_not_equal(a, c, sizeof a);
	{
		int seen[65] = { 0 };
		for (size_t i = 0; i < 65; i++)
			seen[a[i]]++;
		for (size_t i = 0; i < 65; i++)
			assert_int_equal(seen[i], 1);
	}
	for (uint64_t e = 0; e < 25000; e++) {
		size_t o[5] = { 0, 1, 2, 3, 4 };
		dataset_shuffle(o, 5, 42, e);
		for (int i = 0; i < 5; i++)
			pos[i][o[i]]++;
	}
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			assert_true(abs(pos[i][j] - 5000) < 5 * 63);  /* sigma = sqrt(25000*.2*.8) */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_philox_kat),
		cmocka_unit_test(test_philox_uniform_definition),
		cmocka_unit_test(test_uniformity),
		cmocka_unit_test(test_below_unbiased),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_shuffle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
