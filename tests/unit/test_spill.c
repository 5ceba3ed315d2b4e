/* test_spill.c — the structures imgload keeps in temporary files instead of
 * memory (issue 17): strsort against qsort, in memory and in runs on disk;
 * epoch_order against dataset_shuffle (the in-memory shuffle, the
 * specification) for sizes across its window; fidmap against the keys
 * put; framecache within its limit; a missing $TMPDIR as a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "epochorder.h"
#include "fidmap.h"
#include "framecache.h"
#include "rng.h"
#include "spill.h"
#include "strsort.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* n random names (the strsort input) sorted by strsort and by qsort. */
static void
check_strsort(size_t n, int expect_runs)
{
	struct strsort s;
	struct rng r;
	char **v = calloc(n ? n : 1, sizeof *v), err[256];
	const char *got;
	size_t k = 0;

	rng_init(&r, 7, n, 1);
	strsort_init(&s);
	for (size_t i = 0; i < n; i++) {
		int len = 1 + (int)rng_below(&r, 40);
		v[i] = malloc((size_t)len + 1);
		for (int j = 0; j < len; j++)
			v[i][j] = (char)(' ' + rng_below(&r, 95));
		v[i][len] = '\0';
		assert_int_equal(strsort_add(&s, v[i], err, sizeof err), 0);
	}
	assert_int_equal(strsort_finish(&s, err, sizeof err), 0);
	assert_int_equal(s.nruns > 0, expect_runs);
	assert_int_equal(strsort_count(&s), n);
	qsort(v, n, sizeof *v, cmp_str);
	while (strsort_next(&s, &got, err, sizeof err) == 1) {
		assert_true(k < n);
		assert_string_equal(got, v[k]);
		k++;
	}
	assert_int_equal(k, n);
	strsort_free(&s);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
test_strsort(void **state)
{
	struct strsort s;
	char err[256], big[STRSORT_MAX + 2];

	(void)state;
	check_strsort(0, 0);
	check_strsort(1, 0);
	check_strsort(1000, 0);
	check_strsort(30000, 1);        /* ~750 KB: several runs on disk */
	strsort_init(&s);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(strsort_add(&s, big, err, sizeof err), -1);
	assert_non_null(strstr(err, "at most 1023"));
	strsort_free(&s);
}

/* epoch_order gives dataset_shuffle's order for every n, window, seed and
 * epoch, read in order and with a stride (a shard). */
static void
test_epoch_order(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 10, 64, 65, 1000, 20011 };
	static const size_t windows[] = { 1, 7, 64, 0 };
	char err[256];

	(void)state;
	for (size_t a = 0; a < sizeof sizes / sizeof *sizes; a++) {
		size_t n = sizes[a], *want = malloc((n ? n : 1) * sizeof *want), got;
		for (size_t b = 0; b < sizeof windows / sizeof *windows; b++) {
			struct epoch_order o;
			epoch_order_init(&o, windows[b]);
			for (uint64_t e = 0; e < 3; e++) {
				for (size_t i = 0; i < n; i++)
					want[i] = i;
				dataset_shuffle(want, n, 42 + a, e);
				assert_int_equal(epoch_order_make(&o, n, 1, 42 + a, e, err, sizeof err), 0);
				for (size_t p = 0; p < n; p++) {
					assert_int_equal(epoch_order_at(&o, p, &got, err, sizeof err), 0);
					assert_int_equal(got, want[p]);
				}
				for (size_t p = 1; p < n; p += 3) {
					assert_int_equal(epoch_order_at(&o, p, &got, err, sizeof err), 0);
					assert_int_equal(got, want[p]);
				}
			}
			assert_int_equal(epoch_order_make(&o, n, 0, 1, 0, err, sizeof err), 0);
			for (size_t p = 0; p < n; p++) {
				assert_int_equal(epoch_order_at(&o, p, &got, err, sizeof err), 0);
				assert_int_equal(got, p);
			}
			epoch_order_free(&o);
		}
		free(want);
	}
}

static void
test_fidmap(void **state)
{
	struct fidmap m;
	char err[256];
	uint64_t v;
	const uint64_t n = 150000;      /* the table grows from 256k slots once */

	(void)state;
	fidmap_init(&m);
	assert_int_equal(fidmap_get(&m, 1, 2, &v, err, sizeof err), 0);
	for (uint64_t i = 0; i < n; i++)
		assert_int_equal(fidmap_add(&m, i % 3, i * 7919 + 1, i, &v, err, sizeof err), 0);
	for (uint64_t i = 0; i < n; i += 7) {
		assert_int_equal(fidmap_get(&m, i % 3, i * 7919 + 1, &v, err, sizeof err), 1);
		assert_int_equal(v, i);
		assert_int_equal(fidmap_add(&m, i % 3, i * 7919 + 1, 5, &v, err, sizeof err), 1);
		assert_int_equal(v, i);
	}
	assert_int_equal(fidmap_get(&m, 3, 1, &v, err, sizeof err), 0);
	assert_int_equal(fidmap_get(&m, 0, 2, &v, err, sizeof err), 0);
	fidmap_free(&m);
}

static void
test_framecache(void **state)
{
	struct framecache c = { .limit = 10000 };
	size_t len, kept = 0;

	(void)state;
	for (uint64_t k = 0; k < 100; k++) {
		char *b = malloc(1000);
		memset(b, (int)k, 1000);
		if (framecache_put(&c, k * 1000003, b, 1000))
			kept++;
		else
			free(b);
	}
	assert_true(kept >= 8 && kept <= 9);
	assert_true(c.used <= c.limit);
	for (uint64_t k = 0; k < 100; k++) {
		const char *b = framecache_get(&c, k * 1000003, &len);
		assert_int_equal(b != NULL, k < kept);
		if (b) {
			assert_int_equal(len, 1000);
			assert_int_equal((unsigned char)b[999], (unsigned char)k);
		}
	}
	framecache_free(&c);
}

/* A $TMPDIR that is not there: a message naming it, no file. */
static void
test_no_tmpdir(void **state)
{
	struct spill s;
	char err[256], *old = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;

	(void)state;
	setenv("TMPDIR", "/nonexistent-radpipe-dir", 1);
	assert_int_equal(spill_open(&s, err, sizeof err), -1);
	assert_string_equal(err, "temporary file in /nonexistent-radpipe-dir: No such file or directory "
	    "(TMPDIR names the folder)");
	spill_close(&s);
	if (old)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strsort),
		cmocka_unit_test(test_epoch_order),
		cmocka_unit_test(test_fidmap),
		cmocka_unit_test(test_framecache),
		cmocka_unit_test(test_no_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
