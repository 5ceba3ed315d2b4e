/* test_phash.c — libshared/phash.c: the pixel digest tells images apart by
 * their pixels only; the DCT hash stays put under resizing and intensity
 * changes, flips under inversion, and refuses what is not an image.  (The
 * hash's values are checked against an independent implementation, numpy
 * and PIL, in tests/cli/leakcheck.bats.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "phash.h"
#include "resize.h"
#include "rng.h"

/* A synthetic radiograph-like image: smooth blobs and a gradient, with
 * some noise, h x w u8 gray. */
static void
make_image(struct tensor *t, int h, int w, uint64_t seed)
{
	struct rng r;
	double cx[4], cy[4], s[4], a[4];

	rng_init(&r, seed, 0, 0);
	for (int k = 0; k < 4; k++) {
		cx[k] = rng_uniform(&r) * w;
		cy[k] = rng_uniform(&r) * h;
		s[k] = (0.1 + 0.3 * rng_uniform(&r)) * w;
		a[k] = 60 + 80 * rng_uniform(&r);
	}
	tensor_alloc_hwc(t, DT_U8, h, w, 1);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double v = 40.0 * y / h;
			for (int k = 0; k < 4; k++)
				v += a[k] * exp(-((x - cx[k]) * (x - cx[k]) + (y - cy[k]) * (y - cy[k])) / (2 * s[k] * s[k]));
			v += 4 * (rng_uniform(&r) - 0.5);
			((uint8_t *)t->data)[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)fmin(255, fmax(0, v));
		}
}

static uint64_t
hash_of(const struct tensor *t)
{
	uint64_t h;

	assert_int_equal(phash64(t, &h), 0);
	return h;
}

static void
test_digest(void **state)
{
	struct tensor a = { 0 }, b = { 0 };
	uint8_t da[32], db[32];

	make_image(&a, 40, 30, 1);
	make_image(&b, 40, 30, 1);
	pixel_digest(&a, da);
	pixel_digest(&b, db);
	assert_memory_equal(da, db, 32);
	((uint8_t *)b.data)[7] ^= 1;            /* one pixel, one bit */
	pixel_digest(&b, db);
	assert_memory_not_equal(da, db, 32);
	((uint8_t *)b.data)[7] ^= 1;
	b.shape[0] = 30, b.shape[1] = 40;       /* same bytes, other shape */
	pixel_digest(&b, db);
	assert_memory_not_equal(da, db, 32);
	tensor_free(&a);
	tensor_free(&b);
}

/* Resized copies and intensity changes stay near; other images do not. */
static void
test_invariance(void **state)
{
	struct tensor a = { 0 }, small = { 0 }, big = { 0 }, other = { 0 }, f = { 0 };
	uint64_t h;

	make_image(&a, 256, 224, 7);
	h = hash_of(&a);
	assert_int_equal(h & 1, 0);
	assert_int_equal(resize_image(&a, 128, 112, INTERP_AREA, &small, NULL, 0), 0);
	assert_int_equal(resize_image(&a, 384, 336, INTERP_BILINEAR, &big, NULL, 0), 0);
	assert_true(phash_distance(h, hash_of(&small)) <= 2);
	assert_true(phash_distance(h, hash_of(&big)) <= 2);
	/* y = 0.8 x + 20 as f32: the DCT's AC part scales by 0.8, the bits stay */
	tensor_alloc_hwc(&f, DT_F32, 256, 224, 1);
	for (size_t i = 0; i < tensor_count(&a); i++)
		((float *)f.data)[i] = 0.8f * ((uint8_t *)a.data)[i] + 20;
	assert_int_equal(phash_distance(h, hash_of(&f)), 0);
	for (size_t i = 0; i < tensor_count(&a); i++)     /* inverted */
		((float *)f.data)[i] = 255.0f - ((uint8_t *)a.data)[i];
	assert_true(phash_distance(h, hash_of(&f)) >= 62);
	make_image(&other, 256, 224, 8);
	assert_true(phash_distance(h, hash_of(&other)) > PHASH_NEAR_DEFAULT);
	tensor_free(&a);
	tensor_free(&small);
	tensor_free(&big);
	tensor_free(&other);
	tensor_free(&f);
}

/* RGB is hashed as the mean of its channels; alpha is ignored; images
 * smaller than 32 x 32 are hashed too. */
static void
test_channels(void **state)
{
	struct tensor g = { 0 }, rgba = { 0 }, tiny = { 0 };

	make_image(&g, 64, 48, 3);
	tensor_alloc_hwc(&rgba, DT_U8, 64, 48, 4);
	for (size_t i = 0; i < tensor_count(&g); i++) {
		uint8_t v = ((uint8_t *)g.data)[i];
		uint8_t *p = (uint8_t *)rgba.data + 4 * i;
		p[0] = p[1] = p[2] = v;
		p[3] = (uint8_t)i;
	}
	assert_int_equal(phash_distance(hash_of(&g), hash_of(&rgba)), 0);
	make_image(&tiny, 5, 3, 3);
	(void)hash_of(&tiny);
	tensor_free(&g);
	tensor_free(&rgba);
	tensor_free(&tiny);
}

static void
test_refuses(void **state)
{
	struct tensor t = { 0 };
	int64_t shape[4] = { 2, 2, 2, 2 };
	uint64_t h;

	tensor_alloc(&t, DT_U8, 4, shape);
	assert_int_equal(phash64(&t, &h), -1);  /* rank 4 */
	tensor_free(&t);
	tensor_alloc_hwc(&t, DT_I32, 4, 4, 1);
	assert_int_equal(phash64(&t, &h), -1);  /* dtype */
	tensor_free(&t);
	tensor_alloc_hwc(&t, DT_U8, 4, 4, 5);
	assert_int_equal(phash64(&t, &h), -1);  /* 5 channels */
	tensor_free(&t);
	tensor_alloc_hwc(&t, DT_U8, 0, 4, 1);
	assert_int_equal(phash64(&t, &h), -1);  /* empty */
	tensor_free(&t);
	assert_int_equal(phash_distance(0, ~(uint64_t)0), 64);
}

struct pairlist {
	size_t n, cap;
	size_t (*v)[3];
};

static void
collect(size_t i, size_t j, int d, void *ctx)
{
	struct pairlist *l = ctx;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		assert_non_null(l->v);
	}
	l->v[l->n][0] = i, l->v[l->n][1] = j, l->v[l->n][2] = (size_t)d;
	l->n++;
}

/* The bucketed search finds exactly the pairs, distances and order that
 * comparing every pair finds: random hashes, some clustered (sharing most
 * bytes, as radiographs' do), with planted near and inverted copies. */
static void
test_pairs_match_exhaustive(void **state)
{
	enum { N = 3000 };
	uint64_t *h = calloc(N, sizeof *h);
	struct rng r;

	assert_non_null(h);
	rng_init(&r, 11, 0, 0);
	for (size_t i = 0; i < N; i++) {
		uint64_t x = rng_u64(&r);
		if (i % 3 == 1)                         /* a near copy of the one before */
			x = h[i - 1] ^ ((uint64_t)1 << (1 + rng_below(&r, 63))) ^ ((uint64_t)1 << (1 + rng_below(&r, 63)));
		else if (i % 7 == 2)                    /* an inverted copy, one bit off */
			x = ~h[i - 1] ^ ((uint64_t)1 << (1 + rng_below(&r, 63)));
		else if (i % 5 == 0)                    /* clustered: one byte differs */
			x = (h[i ? i - 1 : 0] & ~(uint64_t)0xff00) | (rng_u64(&r) & 0xff00);
		h[i] = x & ~(uint64_t)1;
	}
	for (int near = 0; near <= 7; near++)
		for (int inv = 0; inv <= 1; inv++) {
			struct pairlist a = { 0 }, b = { 0 };
			phash_pairs(h, N, near, inv, 0, collect, &a);
			phash_pairs(h, N, near, inv, 1, collect, &b);
			assert_int_equal(a.n, b.n);
			if (b.n > 0)
				assert_memory_equal(a.v, b.v, b.n * sizeof *b.v);
			if (near >= 2)
				assert_true(b.n >= N / 3);      /* the planted pairs are there */
			free(a.v);
			free(b.v);
		}
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_invariance),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_pairs_match_exhaustive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
