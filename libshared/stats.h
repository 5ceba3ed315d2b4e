/* stats.h — classifier statistics for metrics(1): binomial intervals, ROC
 * curves, the AUC with its DeLong and Hanley-McNeil standard errors, and
 * stratified bootstrap intervals.
 *
 * Conventions: a case is "positive" when its label is the positive class;
 * a case is predicted positive when score >= threshold.  Proportions with
 * a zero denominator are NaN.  Arrays returned in structs are owned by the
 * struct and released by its *_free function.
 */
#ifndef RADPIPE_STATS_H
#define RADPIPE_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Quantile of the standard normal distribution: z with P(Z <= z) = p, 0<p<1. */
double stats_norm_quantile(double p);

/* Wilson score interval for k successes in n trials (Newcombe 1998, method
 * 3, no continuity correction) with normal quantile z; n == 0 gives NaNs. */
void stats_wilson(double k, double n, double z, double *loP, double *hiP);

/* Counts at a threshold: tp, fn (positives), fp, tn (negatives). */
struct stats_confusion {
	size_t tp, fn, fp, tn;
};
/* Confusion counts of scores against 0/1 labels at threshold (score >= t is positive). */
void stats_confusion(const double *score, const int *pos, size_t n, double threshold,
                     struct stats_confusion *cP);
/* F1 = 2TP / (2TP + FP + FN); NaN when the denominator is 0. */
double stats_f1(const struct stats_confusion *c);

/* The empirical AUC and its standard errors. */
struct stats_auc {
	double auc;             /* Mann-Whitney estimate, ties count 1/2 */
	double se_delong;       /* DeLong, DeLong & Clarke-Pearson 1988 */
	double se_hanley;       /* Hanley & McNeil 1982, exponential approximation */
	size_t n_pos, n_neg;
};
/* AUC of scores for 0/1 labels with DeLong's variance in O(n log n) (midranks);
 * returns 0, or -1 when there are no positives or no negatives. */
int stats_auc(const double *score, const int *pos, size_t n, struct stats_auc *aP);
/* Hanley-McNeil standard error of auc for n_pos positives and n_neg negatives. */
double stats_hanley_se(double auc, size_t n_pos, size_t n_neg);

/* The empirical ROC curve: one point per distinct score, from (0,0) at
 * threshold +inf down to (1,1) at the lowest score. */
struct stats_roc {
	size_t n;               /* number of points */
	double *fpr, *tpr, *thr;
};
/* Builds the ROC curve of scores for 0/1 labels into *rP (owned; free with stats_roc_free). */
void stats_roc(const double *score, const int *pos, size_t n, struct stats_roc *rP);
/* Frees the arrays of r. */
void stats_roc_free(struct stats_roc *r);
/* The threshold maximising Youden's J = tpr - fpr.  J is the same for every
 * threshold t in (lo, hi]: between an ROC point's score and the next lower
 * one (or several such gaps when consecutive points tie).  The choice: dflt
 * if it lies in a tied interval (STATS_YOUDEN_DEFAULT), else the middle of
 * the highest tied interval on the logit scale when both ends are in
 * (0, 1) (LOGIT_MIDDLE), the plain middle otherwise (MIDDLE), or hi when
 * lo is -inf (EDGE: the best is to call every case positive). */
struct stats_youden {
	double t, j;            /* the threshold chosen and its J */
	double lo, hi;          /* the tied interval (lo, hi] */
	int how;                /* STATS_YOUDEN_* */
};
enum { STATS_YOUDEN_DEFAULT, STATS_YOUDEN_LOGIT_MIDDLE, STATS_YOUDEN_MIDDLE, STATS_YOUDEN_EDGE };
extern const char *const stats_youden_rules[];  /* names of STATS_YOUDEN_* */
/* Fills *yP as above; returns 0, or -1 (NaNs) if r has no finite point. */
int stats_youden(const struct stats_roc *r, double dflt, struct stats_youden *yP);

/* Stratified percentile bootstrap of the AUC and of F1 at threshold: B
 * resamples (positives and negatives resampled separately, so each keeps
 * its size) drawn from rng stream (seed, 0x526f63, 0); the interval is the
 * (alpha/2, 1-alpha/2) quantiles (linear interpolation, R type 7).
 * Returns 0, or -1 when a class is empty. */
int stats_bootstrap(const double *score, const int *pos, size_t n, double threshold,
                    size_t B, uint64_t seed, double alpha, double auc_ci[2], double f1_ci[2]);

/* Mean squared difference of scores and 0/1 labels (the Brier score). */
double stats_brier(const double *score, const int *pos, size_t n);
/* Quantile p of sorted[0..n) with linear interpolation (R type 7); NaN if n == 0. */
double stats_quantile_sorted(const double *sorted, size_t n, double p);
/* Sorts x[0..n) ascending in place. */
void stats_sort(double *x, size_t n);

/* Reliability (calibration) of predicted probabilities: score[i] in [0, 1]
 * is the predicted probability that case i is positive, pos[i] its 0/1
 * truth.  The cases are grouped into bins:
 *
 *   equal width (equal_mass 0): bin b of M holds lo <= score < hi with
 *     lo = b/M, hi = (b+1)/M (computed as (double)b / M), the last bin also
 *     holds score == 1.  All M bins are reported, empty ones included.
 *   equal mass (equal_mass 1): the scores sorted ascending; bin b nominally
 *     holds sorted positions [floor(b n / M), floor((b+1) n / M)), so counts
 *     differ by at most one.  Ties are never split: a cut that falls inside
 *     a run of equal scores moves up to the end of the run (the whole run
 *     joins the lower bin), and a cut never moves below the previous one.
 *     Bins left empty are dropped, so there may be fewer than M (always
 *     when n < M or there are fewer distinct scores); lo and hi are the
 *     smallest and largest score in the bin (closed, disjoint).
 *
 * With n_b cases in bin b, mean score f_b, fraction positive o_b, the
 * overall fraction positive o, and sums over the non-empty bins:
 *
 *   ECE = sum_b n_b/n |o_b - f_b|           MCE = max_b |o_b - f_b|
 *
 * and the Brier score BS = 1/n sum_i (score_i - pos_i)^2 splits exactly
 * (Murphy 1973, with the within-bin terms of Stephenson, Coelho & Jolliffe
 * 2008, Weather and Forecasting 23:752-757) as
 *
 *   BS = REL - RES + UNC + WBV - WBC
 *   REL = 1/n sum_b n_b (f_b - o_b)^2                   reliability
 *   RES = 1/n sum_b n_b (o_b - o)^2                     resolution
 *   UNC = o (1 - o)                                     uncertainty
 *   WBV = 1/n sum_b sum_{i in b} (score_i - f_b)^2      within-bin variance
 *   WBC = 2/n sum_b sum_{i in b} (pos_i - o_b)(score_i - f_b)
 *                                                       within-bin covariance
 *
 * (an algebraic identity for any binning; REL - RES + UNC alone is Murphy's
 * decomposition, exact only when every bin holds a single score value). */
struct stats_bin {
	size_t n, n_pos;        /* cases in the bin, positives among them */
	double lo, hi;          /* edges, as above */
	double score;           /* mean score f_b; NaN when empty */
	double frac;            /* fraction positive o_b; NaN when empty */
	double frac_lo, frac_hi;        /* Wilson interval of frac; NaN when empty */
};
struct stats_reliability {
	size_t n, n_pos;        /* cases, positives */
	int equal_mass;         /* the binning asked for */
	int nbins;              /* bins in bin[] (equal mass: may be < asked) */
	struct stats_bin *bin;  /* nbins bins, ascending; owned */
	double ece, mce;
	double brier, rel, res, unc, wbv, wbc;
};
/* Errors of stats_reliability (negative); stats_reliability_error names them. */
enum {
	STATS_REL_NOCASES = -1,         /* n == 0 */
	STATS_REL_NBINS = -2,           /* nbins < 1 or > STATS_REL_MAXBINS */
	STATS_REL_RANGE = -3,           /* a score is NaN or outside [0, 1] */
};
#define STATS_REL_MAXBINS 1000000
/* Bins the n cases into nbins equal-width or equal-mass bins as above, each
 * with a Wilson interval at normal quantile z, and fills *rP (owned; free
 * with stats_reliability_free); returns 0, or a STATS_REL_* error with *rP
 * zeroed (nothing to free). */
int stats_reliability(const double *score, const int *pos, size_t n, int nbins,
                      int equal_mass, double z, struct stats_reliability *rP);
/* Frees the bins of r. */
void stats_reliability_free(struct stats_reliability *r);
/* A one-line description of a STATS_REL_* error code (static string). */
const char *stats_reliability_error(int rc);

/* An interval for the AUC that does not collapse under perfect separation.
 * When every positive scores above every negative (auc 1), DeLong's
 * variance is 0 and its interval is [1, 1].  Any k = min(n_pos, n_neg)
 * disjoint positive-negative pairs are then all concordant; for independent
 * cases each pair is concordant with probability AUC, independently, so the
 * exact (Clopper-Pearson) interval for k successes in k trials is
 *
 *   [ (alpha/2)^(1/k), 1 ]      and, for auc 0, [ 0, 1 - (alpha/2)^(1/k) ].
 *
 * (the two-sided interval at level 1 - alpha; its far end is 1, or 0).
 * It holds for any score distributions: whatever the true AUC below the
 * bound, P(observed auc 1) <= P(k pairs concordant) = AUC^k < alpha/2.
 * Equality is reached for some distributions (a positive either above
 * every negative or below, with probability AUC), so no shorter interval
 * holds without assumptions on the scores; for smooth ones such as the
 * binormal it is conservative.  Ties between a positive and a negative
 * (counted 1/2) only lower the chance of an observed auc of 1.  Fills ciP
 * and returns 0 when a->auc is exactly 1 or 0, else returns -1 with NaNs;
 * NaNs and -1 too when alpha is not in (0, 1) or a class is empty. */
int stats_auc_separated_ci(const struct stats_auc *a, double alpha, double ciP[2]);
/* How stats_auc_ci got its interval; stats_auc_ci_methods[] names them. */
enum { STATS_AUC_CI_DELONG, STATS_AUC_CI_SEPARATED, STATS_AUC_CI_NONE };
extern const char *const stats_auc_ci_methods[];       /* "delong", "exact-pairs", "none" */
/* The (1 - alpha) interval of a->auc: the separated interval above when auc
 * is 1 or 0, else DeLong's auc -+ z(1 - alpha/2) se_delong clipped to
 * [0, 1], or NaNs (NONE) when se_delong is 0 or NaN (all scores tied, a
 * class of one case) or alpha is not in (0, 1); returns STATS_AUC_CI_*. */
int stats_auc_ci(const struct stats_auc *a, double alpha, double ciP[2]);

#endif
