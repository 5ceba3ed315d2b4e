/* test_calibration.c — reliability bins, ECE/MCE and the Brier
 * decomposition of libshared/stats against an independent numpy reference
 * (tests/ref/make_calibration_fixture.py wrote tests/ref/calibration_fixture.h),
 * and the AUC interval under perfect separation, with its coverage checked
 * by simulation. */
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
#include "stats.h"

#include "../ref/calibration_fixture.h"

#define Z95 1.959963984540054
/* Tolerance for the sums against the reference: 1e-12 relative, with an
 * absolute floor of 1e-15 for terms that are 0 in exact arithmetic. */
#define REL_TOL 1e-12
#define ABS_TOL 1e-15

static void
close_to(const char *what, const char *name, double got, double want)
{
	if (isnan(want) && isnan(got))
		return;
	if (!(fabs(got - want) <= fmax(REL_TOL * fabs(want), ABS_TOL)))
		fail_msg("%s %s: got %.17g, want %.17g", name, what, got, want);
}

static void
check_bins(const struct calfx_case *c, const struct stats_reliability *r)
{
	for (int k = 0; k < c->nbins; k++) {
		const struct calfx_bin *w = &c->bin[k];
		const struct stats_bin *b = &r->bin[k];
		if (b->n != w->n || b->n_pos != w->n_pos)
			fail_msg("%s bin %d: %zu/%zu cases, want %zu/%zu", c->name, k,
			    b->n_pos, b->n, w->n_pos, w->n);
		/* edges are data values or (double)b / M: exact */
		if (b->lo != w->lo || b->hi != w->hi)
			fail_msg("%s bin %d: edges [%.17g, %.17g], want [%.17g, %.17g]", c->name,
			    k, b->lo, b->hi, w->lo, w->hi);
		close_to("score", c->name, b->score, w->score);
		close_to("frac", c->name, b->frac, w->frac);
		close_to("frac_lo", c->name, b->frac_lo, w->frac_lo);
		close_to("frac_hi", c->name, b->frac_hi, w->frac_hi);
	}
}

/* Every case of the fixture: the same bins, counts, edges and sums. */
static void
test_reference(void **state)
{
	for (size_t i = 0; i < sizeof calfx_cases / sizeof calfx_cases[0]; i++) {
		const struct calfx_case *c = &calfx_cases[i];
		struct stats_reliability r;
		assert_int_equal(stats_reliability(c->score, c->pos, c->n, c->nbins_asked,
		    c->equal_mass, Z95, &r), 0);
		if (r.nbins != c->nbins)
			fail_msg("%s: %d bins, want %d", c->name, r.nbins, c->nbins);
		assert_int_equal(r.n, c->n);
		check_bins(c, &r);
		close_to("ece", c->name, r.ece, c->ece);
		close_to("mce", c->name, r.mce, c->mce);
		close_to("brier", c->name, r.brier, c->brier);
		close_to("rel", c->name, r.rel, c->rel);
		close_to("res", c->name, r.res, c->res);
		close_to("unc", c->name, r.unc, c->unc);
		close_to("wbv", c->name, r.wbv, c->wbv);
		close_to("wbc", c->name, r.wbc, c->wbc);
		/* the parts add up to the Brier score */
		close_to("identity", c->name, r.rel - r.res + r.unc + r.wbv - r.wbc, r.brier);
		stats_reliability_free(&r);
	}
}

/* Worked by hand: scores {0.9 0.8 0.4 0.35 | 0.7 0.3 0.2 0.1}, the first
 * four positive, two equal-width bins.  [0, 0.5): 0.4 0.35 0.3 0.2 0.1,
 * 2 positive, mean 0.27, gap 0.13; [0.5, 1]: 0.9 0.8 0.7, 2 positive, mean
 * 0.8, gap 2/15.  ECE = 5/8 0.13 + 3/8 2/15 = 0.13125, MCE = 2/15. */
static void
test_by_hand(void **state)
{
	static const double s[8] = { 0.9, 0.8, 0.4, 0.35, 0.7, 0.3, 0.2, 0.1 };
	static const int p[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
	struct stats_reliability r;

	assert_int_equal(stats_reliability(s, p, 8, 2, 0, Z95, &r), 0);
	assert_int_equal(r.nbins, 2);
	assert_int_equal(r.bin[0].n, 5);
	assert_int_equal(r.bin[1].n_pos, 2);
	close_to("mean", "hand", r.bin[0].score, 0.27);
	close_to("ece", "hand", r.ece, 0.13125);
	close_to("mce", "hand", r.mce, 2.0 / 15);
	close_to("rel", "hand", r.rel, (5 * 0.13 * 0.13 + 3 * (2.0 / 15) * (2.0 / 15)) / 8);
	close_to("unc", "hand", r.unc, 0.25);
	stats_reliability_free(&r);
	/* equal mass, 2 bins: the lower four and the upper four */
	assert_int_equal(stats_reliability(s, p, 8, 2, 1, Z95, &r), 0);
	assert_int_equal(r.nbins, 2);
	assert_int_equal(r.bin[0].n, 4);
	close_to("lo", "hand", r.bin[0].lo, 0.1);
	close_to("hi", "hand", r.bin[0].hi, 0.35);
	close_to("lo", "hand", r.bin[1].lo, 0.4);
	stats_reliability_free(&r);
}

/* Equal-mass bins do not depend on the order of the cases (ties are never
 * split), nor do equal-width ones: the grid137 fixture reversed. */
static void
test_order(void **state)
{
	const struct calfx_case *c = NULL;
	double s[256];
	int p[256];

	for (size_t i = 0; i < sizeof calfx_cases / sizeof calfx_cases[0]; i++)
		if (strcmp(calfx_cases[i].name, "grid137_mass7") == 0)
			c = &calfx_cases[i];
	assert_non_null(c);
	assert_true(c->n <= 256);
	for (size_t i = 0; i < c->n; i++)
		s[i] = c->score[c->n - 1 - i], p[i] = c->pos[c->n - 1 - i];
	struct stats_reliability r;
	assert_int_equal(stats_reliability(s, p, c->n, c->nbins_asked, 1, Z95, &r), 0);
	assert_int_equal(r.nbins, c->nbins);
	check_bins(c, &r);
	stats_reliability_free(&r);
}

static void
test_errors(void **state)
{
	static const double s[3] = { 0.1, 0.5, 0.9 };
	static const int p[3] = { 0, 1, 1 };
	double bad[3] = { 0.1, NAN, 0.9 };
	struct stats_reliability r;

	assert_int_equal(stats_reliability(s, p, 0, 10, 0, Z95, &r), STATS_REL_NOCASES);
	assert_null(r.bin);
	assert_int_equal(stats_reliability(s, p, 3, 0, 0, Z95, &r), STATS_REL_NBINS);
	assert_int_equal(stats_reliability(s, p, 3, -1, 1, Z95, &r), STATS_REL_NBINS);
	assert_int_equal(stats_reliability(s, p, 3, STATS_REL_MAXBINS + 1, 0, Z95, &r),
	    STATS_REL_NBINS);
	assert_int_equal(stats_reliability(bad, p, 3, 10, 0, Z95, &r), STATS_REL_RANGE);
	bad[1] = 1.0000000000000002;
	assert_int_equal(stats_reliability(bad, p, 3, 10, 1, Z95, &r), STATS_REL_RANGE);
	bad[1] = -1e-300;
	assert_int_equal(stats_reliability(bad, p, 3, 10, 0, Z95, &r), STATS_REL_RANGE);
	assert_null(r.bin);
	assert_string_equal(stats_reliability_error(STATS_REL_RANGE),
	    "a score is not a probability in [0, 1]");
	/* many bins are fine, and free leaves nothing behind */
	assert_int_equal(stats_reliability(s, p, 3, STATS_REL_MAXBINS, 0, Z95, &r), 0);
	assert_int_equal(r.nbins, STATS_REL_MAXBINS);
	stats_reliability_free(&r);
	assert_null(r.bin);
}

/* The interval under separation: k = min(n_pos, n_neg) = 10, alpha 0.05. */
static void
test_separated_ci(void **state)
{
	struct stats_auc a = { .auc = 1, .n_pos = 10, .n_neg = 30 };
	double ci[2];

	assert_int_equal(stats_auc_separated_ci(&a, 0.05, ci), 0);
	close_to("lo", "k10", ci[0], exp(log(0.025) / 10));
	assert_true(ci[1] == 1);
	assert_int_equal(stats_auc_ci(&a, 0.05, ci), STATS_AUC_CI_SEPARATED);
	assert_string_equal(stats_auc_ci_methods[STATS_AUC_CI_SEPARATED], "exact-pairs");
	a.auc = 0;
	assert_int_equal(stats_auc_separated_ci(&a, 0.05, ci), 0);
	assert_true(ci[0] == 0);
	close_to("hi", "k10", ci[1], 1 - exp(log(0.025) / 10));
	a.auc = 0.9;
	assert_int_equal(stats_auc_separated_ci(&a, 0.05, ci), -1);
	assert_true(isnan(ci[0]) && isnan(ci[1]));
	a.auc = 1;
	assert_int_equal(stats_auc_separated_ci(&a, 0, ci), -1);
	assert_int_equal(stats_auc_separated_ci(&a, 1, ci), -1);
	a.n_neg = 0;
	assert_int_equal(stats_auc_separated_ci(&a, 0.05, ci), -1);

	/* stats_auc_ci elsewhere: DeLong, as metrics computes it; none when
	 * DeLong's variance is 0 with AUC inside (0, 1) (all tied) */
	static const double s[8] = { 0.9, 0.8, 0.4, 0.35, 0.7, 0.3, 0.2, 0.1 };
	static const int p[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
	assert_int_equal(stats_auc(s, p, 8, &a), 0);
	assert_int_equal(stats_auc_ci(&a, 0.05, ci), STATS_AUC_CI_DELONG);
	close_to("delong lo", "tiny", ci[0], fmax(0, 0.875 - Z95 * a.se_delong));
	assert_true(ci[1] == 1);        /* clipped */
	static const double t[4] = { 0.5, 0.5, 0.5, 0.5 };
	assert_int_equal(stats_auc(t, (const int[]){ 1, 0, 1, 0 }, 4, &a), 0);
	assert_int_equal(stats_auc_ci(&a, 0.05, ci), STATS_AUC_CI_NONE);
	assert_true(isnan(ci[0]));
	/* a separated sample through stats_auc: exactly 1, DeLong's SE 0 */
	assert_int_equal(stats_auc((const double[]){ 0.9, 0.8, 0.2, 0.1 },
	    (const int[]){ 1, 1, 0, 0 }, 4, &a), 0);
	assert_true(a.auc == 1 && a.se_delong == 0);
	assert_int_equal(stats_auc_ci(&a, 0.05, ci), STATS_AUC_CI_SEPARATED);
	close_to("lo", "k2", ci[0], sqrt(0.025));
}

/* One simulated sample: npos positives, nneg negatives; positives from
 * N(d, 1) and negatives from N(0, 1) when worst is 0; when worst is 1, the
 * distribution that makes the bound sharp: negatives U(0, 1), a positive
 * above every negative (U(2, 3)) with probability theta, else below (U(-1,
 * 0)), so that AUC = theta and P(AUC_obs = 1) = theta^npos. */
static void
simulate(struct rng *r, size_t npos, size_t nneg, double d, int worst, double *s, int *p)
{
	for (size_t i = 0; i < npos + nneg; i++) {
		p[i] = i < npos;
		if (!worst)
			s[i] = rng_normal(r) + (p[i] ? d : 0);
		else if (!p[i])
			s[i] = rng_uniform(r);
		else
			s[i] = rng_uniform(r) + (rng_uniform(r) < d ? 2 : -1);
	}
}

struct coverage {
	size_t reps, sep;               /* samples, those with AUC_obs 1 */
	size_t sep_miss;                /* AUC 1 and the true AUC below the interval */
	size_t hit_new, hit_delong;     /* whole-procedure coverage: stats_auc_ci, DeLong alone */
};

static void
coverage(size_t reps, size_t npos, size_t nneg, double d, int worst, double theta,
         uint64_t seed, struct coverage *cv)
{
	double s[64], ci[2];
	int p[64];
	struct stats_auc a;
	struct rng r;

	memset(cv, 0, sizeof *cv);
	cv->reps = reps;
	rng_init(&r, seed, 0x63616c, npos);
	for (size_t i = 0; i < reps; i++) {
		simulate(&r, npos, nneg, d, worst, s, p);
		assert_int_equal(stats_auc(s, p, npos + nneg, &a), 0);
		int how = stats_auc_ci(&a, 0.05, ci);
		int in = ci[0] <= theta && theta <= ci[1];
		cv->hit_new += in;
		if (how == STATS_AUC_CI_SEPARATED && a.auc == 1) {
			cv->sep++;
			cv->sep_miss += !in;
		}
		/* DeLong alone collapses to [1, 1] or [0, 0]: a miss for 0 < theta < 1 */
		if (how != STATS_AUC_CI_SEPARATED)
			cv->hit_delong += in;
	}
}

/* Coverage (alpha 0.05).  (1) Binormal, true AUC 0.99 (d = sqrt(2)
 * z(0.99)), 10 + 10 cases: conditional on AUC_obs = 1 the interval holds
 * 0.99 every time (>= 0.95 asked), and the whole procedure covers more
 * often than DeLong alone.  (2) The worst case: 5 positives, 8 negatives,
 * bound (0.025)^(1/5) = 0.478; at theta = 0.47 just below it, P(AUC_obs = 1
 * and a miss) = 0.47^5 = 0.0229 <= alpha/2, and it is near alpha/2 (the
 * bound is sharp: no shorter distribution-free interval). */
static void
test_separated_coverage(void **state)
{
	struct coverage cv;
	double d = sqrt(2) * stats_norm_quantile(0.99), rate, sd;

	coverage(20000, 10, 10, d, 0, 0.99, 1, &cv);
	print_message("binormal AUC 0.99, 10+10, %zu samples: %zu with AUC 1, covered %zu; "
	    "procedure coverage %.5f (DeLong alone %.5f)\n", cv.reps, cv.sep,
	    cv.sep - cv.sep_miss, (double)cv.hit_new / cv.reps, (double)cv.hit_delong / cv.reps);
	assert_true(cv.sep > 1000);
	assert_true((double)(cv.sep - cv.sep_miss) / cv.sep >= 0.95);
	assert_true(cv.hit_new > cv.hit_delong);

	coverage(100000, 5, 8, 0.47, 1, 0.47, 2, &cv);
	rate = (double)cv.sep_miss / cv.reps;
	sd = sqrt(0.025 * 0.975 / cv.reps);
	print_message("worst case theta 0.47, 5+8, %zu samples: P(AUC 1 and missed) %.5f "
	    "(theory %.5f, alpha/2 0.025)\n", cv.reps, rate, pow(0.47, 5));
	assert_true(cv.sep_miss == cv.sep);     /* 0.47 < 0.478: every one misses */
	assert_true(rate <= 0.025 + 4 * sd);
	assert_true(fabs(rate - pow(0.47, 5)) <= 5 * sd);
	/* just above the bound, AUC 1 never misses */
	coverage(20000, 5, 8, 0.49, 1, 0.49, 3, &cv);
	assert_int_equal(cv.sep_miss, 0);
	assert_true(cv.sep > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_by_hand),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_separated_ci),
		cmocka_unit_test(test_separated_coverage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
