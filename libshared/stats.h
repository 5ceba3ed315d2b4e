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

#endif
