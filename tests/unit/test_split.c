/* test_split.c — libshared/split.c: every group in one set, class counts
 * within one image of count_c * N_s / n when groups are single images,
 * the same split for the same seed whatever the input order, and clear
 * refusals of what cannot be split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "split.h"

#define N 300
#define K 3

struct data {
	int label[N];
	char key[N][16];
	const char *group[N];
	int set[N];
};

/* n items of K classes (60/30/10 %); groups of 1 to maxg items of one
 * class (maxg 1: no groups). */
static void
make_data(struct data *d, size_t n, int maxg, uint64_t seed)
{
	struct rng r;
	size_t i = 0;
	int gno = 0;

	rng_init(&r, seed, 1, 2);
	while (i < n) {
		double u = rng_uniform(&r);
		int c = u < 0.6 ? 0 : u < 0.9 ? 1 : 2;
		int len = 1 + (int)rng_below(&r, (uint64_t)maxg);
		for (int k = 0; k < len && i < n; k++, i++) {
			d->label[i] = c;
			snprintf(d->key[i], sizeof d->key[i], "p%04d", gno);
			d->group[i] = maxg > 1 ? d->key[i] : NULL;
		}
		gno++;
	}
}

static void
count(const struct data *d, size_t n, size_t have[][K], size_t per_class[K])
{
	memset(have, 0, sizeof(size_t) * SPLIT_MAX_SETS * K);
	memset(per_class, 0, sizeof(size_t) * K);
	for (size_t i = 0; i < n; i++) {
		assert_true(d->set[i] >= 0 && d->set[i] < 3);
		have[d->set[i]][d->label[i]]++;
		per_class[d->label[i]]++;
	}
}

static void
test_singletons_exact(void **state)
{
	static struct data d;
	struct split_spec sp = { .nsets = 3, .frac = { 0.7, 0.15, 0.15 }, .seed = 5 };
	size_t have[SPLIT_MAX_SETS][K], per_class[K];
	char err[200];

	make_data(&d, N, 1, 1);
	assert_int_equal(split_assign(N, d.label, K, d.group, &sp, d.set, err, sizeof err), 0);
	count(&d, N, have, per_class);
	for (int s = 0; s < 3; s++) {
		size_t total = 0;
		for (int c = 0; c < K; c++) {
			double want = (double)per_class[c] * sp.frac[s];
			assert_true(fabs((double)have[s][c] - want) < 1.0 + 1e-9);
			total += have[s][c];
		}
		assert_true(fabs((double)total - N * sp.frac[s]) < 1.0 + 1e-9);
	}
}

static void
test_groups_apart(void **state)
{
	static struct data d;
	struct split_spec sp = { .nsets = 3, .frac = { 0.6, 0.2, 0.2 }, .seed = 9 };
	size_t have[SPLIT_MAX_SETS][K], per_class[K];
	char err[200];

	make_data(&d, N, 6, 2);
	assert_int_equal(split_assign(N, d.label, K, d.group, &sp, d.set, err, sizeof err), 0);
	for (size_t i = 0; i < N; i++)          /* a group's items in one set */
		for (size_t j = i + 1; j < N && strcmp(d.key[j], d.key[i]) == 0; j++)
			assert_int_equal(d.set[j], d.set[i]);
	count(&d, N, have, per_class);
	for (int s = 0; s < 3; s++)             /* within a group's size */
		for (int c = 0; c < K; c++)
			assert_true(fabs((double)have[s][c] - (double)per_class[c] * sp.frac[s]) <= 6);
}

/* The same seed gives the same split, also with the items reversed; another
 * seed gives another. */
static void
test_deterministic(void **state)
{
	static struct data a, b;
	struct split_spec sp = { .nsets = 2, .frac = { 0.8, 0.2 }, .seed = 3 };
	char err[200];
	int differ = 0;

	make_data(&a, N, 4, 3);
	for (size_t i = 0; i < N; i++) {
		b.label[i] = a.label[N - 1 - i];
		memcpy(b.key[i], a.key[N - 1 - i], sizeof b.key[i]);
		b.group[i] = b.key[i];
	}
	assert_int_equal(split_assign(N, a.label, K, a.group, &sp, a.set, err, sizeof err), 0);
	assert_int_equal(split_assign(N, b.label, K, b.group, &sp, b.set, err, sizeof err), 0);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(a.set[i], b.set[N - 1 - i]);
	sp.seed = 4;
	assert_int_equal(split_assign(N, b.label, K, b.group, &sp, b.set, err, sizeof err), 0);
	for (size_t i = 0; i < N; i++)
		differ += a.set[i] != b.set[N - 1 - i];
	assert_true(differ > 0);
}

static void
test_counts(void **state)
{
	static struct data d;
	struct split_spec sp = { .nsets = 3, .count = { 200, 50, 50 }, .seed = 1 };
	size_t have[SPLIT_MAX_SETS][K], per_class[K];
	char err[200];

	make_data(&d, N, 1, 4);
	assert_int_equal(split_assign(N, d.label, K, d.group, &sp, d.set, err, sizeof err), 0);
	count(&d, N, have, per_class);
	for (int s = 0; s < 3; s++)
		assert_int_equal(have[s][0] + have[s][1] + have[s][2], sp.count[s]);
}

static void
expect_error(const struct data *d, size_t n, const struct split_spec *sp, const char *what)
{
	char err[200] = "";
	int set[N];

	assert_int_equal(split_assign(n, d->label, K, d->group, sp, set, err, sizeof err), -1);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, what);
}

static void
test_refusals(void **state)
{
	static struct data d;
	struct split_spec sp = { .nsets = 3, .frac = { 0.8, 0.2, 0 } };

	make_data(&d, N, 1, 5);
	expect_error(&d, N, &sp, "set 3 would be empty");
	sp = (struct split_spec){ .nsets = 2, .frac = { 0.5, 0.4 } };
	expect_error(&d, N, &sp, "add up to 0.9");
	sp = (struct split_spec){ .nsets = 2, .count = { 100, 100 } };
	expect_error(&d, N, &sp, "add up to 200 images, the set holds 300");
	sp = (struct split_spec){ .nsets = 2, .frac = { 0.5, 0.5 } };
	for (size_t i = 0; i < N; i++)
		d.label[i] = 1;
	expect_error(&d, N, &sp, "one class only");
	expect_error(&d, 0, &sp, "no images");
	make_data(&d, N, 1, 5);                 /* one group of 40, a set of 15 */
	for (size_t i = 0; i < 40; i++)
		d.group[i] = "big";
	sp = (struct split_spec){ .nsets = 3, .frac = { 0.9, 0.05, 0.05 } };
	expect_error(&d, N, &sp, "group big holds 40 images, more than the smallest set's 15");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_singletons_exact),
		cmocka_unit_test(test_groups_apart),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
