/* test_stats.c — libshared/stats against published worked examples. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#include "report.h"
#include "stats.h"

#define Z95 1.959963984540054

static void
near(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("got %.6f, want %.6f (tol %g)", got, want, tol);
}

static void
test_norm_quantile(void **state)
{
	near(stats_norm_quantile(0.975), Z95, 1e-12);
	near(stats_norm_quantile(0.5), 0, 1e-15);
	near(stats_norm_quantile(0.001), -3.090232306167813, 1e-12);
	assert_true(isnan(stats_norm_quantile(1)));
}

/* Newcombe RG. Two-sided confidence intervals for the single proportion:
 * comparison of seven methods. Stat Med 1998;17:857-872, Table II,
 * method 3 (Wilson score without continuity correction). */
static void
test_wilson_newcombe(void **state)
{
	static const struct { double k, n, lo, hi; } ex[] = {
		{ 81, 263, 0.2553, 0.3662 },
		{ 15, 148, 0.0624, 0.1605 },
		{ 0, 20, 0.0000, 0.1611 },
		{ 1, 29, 0.0061, 0.1718 },
		{ 29, 29, 0.8830, 1.0000 },
	};
	double lo, hi;

	for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
		stats_wilson(ex[i].k, ex[i].n, Z95, &lo, &hi);
		near(lo, ex[i].lo, 0.00005);
		near(hi, ex[i].hi, 0.00005);
	}
	stats_wilson(0, 0, Z95, &lo, &hi);
	assert_true(isnan(lo) && isnan(hi));
}

/* Hanley JA, McNeil BJ. The meaning and use of the area under a ROC curve.
 * Radiology 1982;143:29-36, Table 1: 109 CT images rated 1..5 (58 normal,
 * 51 abnormal); published AUC 0.893, SE 0.032.  The DeLong SE of the same
 * data is 0.0307 with 95% interval 0.83295-0.95339 (Stata [R] roctab,
 * example 1, default method = DeLong et al. 1988). */
static size_t
hanley_data(double *score, int *pos)
{
	static const int normal[5] = { 33, 6, 6, 11, 2 }, abnormal[5] = { 3, 2, 2, 11, 33 };
	size_t n = 0;

	for (int r = 0; r < 5; r++) {
		for (int i = 0; i < normal[r]; i++)
			score[n] = r + 1, pos[n++] = 0;
		for (int i = 0; i < abnormal[r]; i++)
			score[n] = r + 1, pos[n++] = 1;
	}
	return n;
}

static void
test_auc_hanley_mcneil(void **state)
{
	double score[109];
	int pos[109];
	struct stats_auc a;
	size_t n = hanley_data(score, pos);

	assert_int_equal(n, 109);
	assert_int_equal(stats_auc(score, pos, n, &a), 0);
	assert_int_equal(a.n_pos, 51);
	assert_int_equal(a.n_neg, 58);
	near(a.auc, 0.893, 0.0005);
	near(a.se_hanley, 0.032, 0.0005);
	near(a.se_delong, 0.0307, 0.00005);
	near(a.auc - Z95 * a.se_delong, 0.83295, 0.000005);
	near(a.auc + Z95 * a.se_delong, 0.95339, 0.000005);
}

/* A tiny set worked by hand: 4 positives {0.9, 0.8, 0.4, 0.35},
 * 4 negatives {0.7, 0.3, 0.2, 0.1}.  Pairs won by the positive: 4+4+3+3 = 14
 * of 16, AUC 0.875.  DeLong: V10 = {1, 1, .75, .75}, V01 = {.5, 1, 1, 1};
 * S10 = 0.0208333, S01 = 0.0625, var = S10/4 + S01/4 = 0.0208333. */
static const double tiny_s[8] = { 0.9, 0.8, 0.4, 0.35, 0.7, 0.3, 0.2, 0.1 };
static const int tiny_p[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };

static void
test_auc_by_hand(void **state)
{
	struct stats_auc a;

	assert_int_equal(stats_auc(tiny_s, tiny_p, 8, &a), 0);
	near(a.auc, 0.875, 1e-12);
	near(a.se_delong, sqrt(0.0208333333333333), 1e-9);
	/* all tied: 1/2 */
	double s[4] = { 1, 1, 1, 1 };
	int p[4] = { 1, 0, 1, 0 };
	assert_int_equal(stats_auc(s, p, 4, &a), 0);
	near(a.auc, 0.5, 1e-12);
	int q[4] = { 1, 1, 1, 1 };
	assert_int_equal(stats_auc(s, q, 4, &a), -1);
}

static void
test_confusion_by_hand(void **state)
{
	struct stats_confusion c;

	/* at 0.5: predicted positive 0.9 0.8 0.7 -> TP 2, FP 1, FN 2, TN 3 */
	stats_confusion(tiny_s, tiny_p, 8, 0.5, &c);
	assert_int_equal(c.tp, 2);
	assert_int_equal(c.fp, 1);
	assert_int_equal(c.fn, 2);
	assert_int_equal(c.tn, 3);
	near(stats_f1(&c), 4.0 / 7.0, 1e-12);
	/* score == threshold is positive */
	stats_confusion(tiny_s, tiny_p, 8, 0.35, &c);
	assert_int_equal(c.tp, 4);
	assert_int_equal(c.fp, 1);
	near(stats_brier(tiny_s, tiny_p, 8),
	    (0.01 + 0.04 + 0.36 + 0.4225 + 0.49 + 0.09 + 0.04 + 0.01) / 8, 1e-12);
}

static void
test_roc_and_youden(void **state)
{
	struct stats_roc r;
	struct stats_youden y;
	static const double fpr[] = { 0, 0, 0, .25, .25, .25, .5, .75, 1 };
	static const double tpr[] = { 0, .25, .5, .5, .75, 1, 1, 1, 1 };

	stats_roc(tiny_s, tiny_p, 8, &r);
	assert_int_equal(r.n, 9);
	assert_true(isinf(r.thr[0]));
	for (size_t i = 0; i < r.n; i++) {
		near(r.fpr[i], fpr[i], 1e-12);
		near(r.tpr[i], tpr[i], 1e-12);
	}
	/* best point: score >= 0.35 (J 0.75); every t in (0.3, 0.35] ties and
	 * 0.5 is not among them: the logit middle, sqrt of the odds product */
	assert_int_equal(stats_youden(&r, 0.5, &y), 0);
	near(y.j, 0.75, 1e-12);
	near(y.lo, 0.3, 0), near(y.hi, 0.35, 0);
	assert_int_equal(y.how, STATS_YOUDEN_LOGIT_MIDDLE);
	{
		double odds = sqrt(0.3 / 0.7 * (0.35 / 0.65));
		near(y.t, odds / (1 + odds), 1e-12);
	}
	/* a default inside the interval is kept */
	assert_int_equal(stats_youden(&r, 0.32, &y), 0);
	near(y.t, 0.32, 0);
	assert_int_equal(y.how, STATS_YOUDEN_DEFAULT);
	/* the upper end of the interval belongs to it, the lower does not */
	stats_youden(&r, 0.35, &y);
	assert_int_equal(y.how, STATS_YOUDEN_DEFAULT);
	stats_youden(&r, 0.3, &y);
	assert_int_equal(y.how, STATS_YOUDEN_LOGIT_MIDDLE);
	/* trapezoid area of the curve equals the Mann-Whitney AUC */
	double area = 0;
	for (size_t i = 1; i < r.n; i++)
		area += (r.fpr[i] - r.fpr[i - 1]) * (r.tpr[i] + r.tpr[i - 1]) / 2;
	near(area, 0.875, 1e-12);
	stats_roc_free(&r);
}

/* Perfect separation (issue 15.7): chest scores below 0.001, abdomen
 * scores from 0.975: every threshold in the gap gives J = 1. */
static void
test_youden_separated(void **state)
{
	static const double s[6] = { 0.0001, 0.0009, 0.0003, 0.975, 0.999, 0.99 };
	static const int p[6] = { 0, 0, 0, 1, 1, 1 };
	static const double s2[4] = { 2, 3, 7, 9 }, s3[4] = { 0.6, 0.7, 0.8, 0.9 };
	static const int p2[4] = { 0, 0, 1, 1 };
	struct stats_roc r;
	struct stats_youden y;

	stats_roc(s, p, 6, &r);
	assert_int_equal(stats_youden(&r, 0.5, &y), 0);
	near(y.j, 1, 0);
	near(y.t, 0.5, 0);
	near(y.lo, 0.0009, 0), near(y.hi, 0.975, 0);
	assert_int_equal(y.how, STATS_YOUDEN_DEFAULT);
	stats_roc_free(&r);
	/* scores that are not probabilities: the plain middle of (3, 7] */
	stats_roc(s2, p2, 4, &r);
	stats_youden(&r, 0.5, &y);
	near(y.t, 5, 0);
	assert_int_equal(y.how, STATS_YOUDEN_MIDDLE);
	stats_roc_free(&r);
	/* two separate tied gaps, (0.8, 0.9] and (0.6, 0.7]: the higher one's
	 * middle, unless the default lies in either */
	static const int p3[4] = { 0, 1, 0, 1 };
	stats_roc(s3, p3, 4, &r);
	stats_youden(&r, 0.5, &y);
	near(y.j, 0.5, 1e-12);
	near(y.lo, 0.8, 0), near(y.hi, 0.9, 0);
	near(y.t, sqrt(4.0 * 9) / (1 + sqrt(4.0 * 9)), 1e-12);
	stats_youden(&r, 0.65, &y);
	near(y.t, 0.65, 0), near(y.lo, 0.6, 0), near(y.hi, 0.7, 0);
	stats_roc_free(&r);
	/* consecutive tied points (a tie of both classes at 0.5): one (0.2, 0.9] */
	stats_roc((const double[]){ 0.9, 0.5, 0.5, 0.2 }, (const int[]){ 1, 1, 0, 0 }, 4, &r);
	stats_youden(&r, 0.4, &y);
	near(y.lo, 0.2, 0), near(y.hi, 0.9, 0), near(y.t, 0.4, 0);
	stats_roc_free(&r);
	/* no negatives: J is NaN everywhere */
	stats_roc(s, (const int[]){ 1, 1, 1, 1, 1, 1 }, 6, &r);
	assert_int_equal(stats_youden(&r, 0.5, &y), -1);
	stats_roc_free(&r);
}

static void
test_bootstrap(void **state)
{
	double score[109], a1[2], f1[2], a2[2], f2[2];
	int pos[109];
	size_t n = hanley_data(score, pos);

	assert_int_equal(stats_bootstrap(score, pos, n, 4, 2000, 7, 0.05, a1, f1), 0);
	assert_int_equal(stats_bootstrap(score, pos, n, 4, 2000, 7, 0.05, a2, f2), 0);
	near(a1[0], a2[0], 0);
	near(f1[1], f2[1], 0);
	/* percentile interval close to the DeLong one (0.833, 0.953) */
	near(a1[0], 0.833, 0.015);
	near(a1[1], 0.953, 0.015);
	assert_true(f1[0] < f1[1]);
	assert_int_equal(stats_bootstrap(score, pos, 3, 4, 10, 7, 0.05, a1, f1), -1);
}

static void
test_quantile(void **state)
{
	double x[5] = { 5, 1, 4, 2, 3 };

	stats_sort(x, 5);
	near(stats_quantile_sorted(x, 5, 0.5), 3, 0);
	near(stats_quantile_sorted(x, 5, 0.25), 2, 0);
	near(stats_quantile_sorted(x, 4, 0.5), 2.5, 0);
	assert_true(isnan(stats_quantile_sorted(x, 0, 0.5)));
}

/* report_shortest: the shortest %.15g/%.16g/%.17g that reads back exactly
 * (issue 15.5); C's own strtod is the reader, and a longer form never wins. */
static void
test_shortest(void **state)
{
	static const struct { double v; const char *s; } ex[] = {
		{ 0.827, "0.827" }, { 0.1 + 0.2, "0.30000000000000004" }, { 0.5, "0.5" },
		{ 1e-300, "1e-300" }, { -2.5e10, "-25000000000" }, { 0.1, "0.1" },
		{ 1.0 / 3, "0.3333333333333333" }, { 0, "0" },
	};
	char b[32], c[32];
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++)
		assert_string_equal(report_shortest(b, sizeof b, ex[i].v), ex[i].s);
	for (int i = 0; i < 100000; i++) {
		double v;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;        /* xorshift64 */
		memcpy(&v, &x, sizeof v);
		if (!isfinite(v))
			continue;
		report_shortest(b, sizeof b, v);
		if (strtod(b, NULL) != v)
			fail_msg("%s does not read back as %.17g", b, v);
		/* one digit fewer would not read back */
		for (int p = 15; p <= 17; p++) {
			snprintf(c, sizeof c, "%.*g", p, v);
			if (strtod(c, NULL) == v) {
				assert_string_equal(b, c);
				break;
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_norm_quantile),
		cmocka_unit_test(test_wilson_newcombe),
		cmocka_unit_test(test_auc_hanley_mcneil),
		cmocka_unit_test(test_auc_by_hand),
		cmocka_unit_test(test_confusion_by_hand),
		cmocka_unit_test(test_roc_and_youden),
		cmocka_unit_test(test_youden_separated),
		cmocka_unit_test(test_bootstrap),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_shortest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
