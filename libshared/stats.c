/* stats.c — classifier statistics (see stats.h for the conventions). */
#include "stats.h"
#include "err.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double
stats_norm_quantile(double p)
{
	/* Acklam's rational approximation, then one Halley step on erfc. */
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
		2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
		2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
		2.445134137142996e+00, 3.754408661907416e+00 };
	double q, r, x, e, u;

	if (!(p > 0 && p < 1))
		return NAN;
	if (p < 0.02425 || p > 1 - 0.02425) {
		q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
		if (p > 0.5)
			x = -x;
	} else {
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	}
	e = 0.5 * erfc(-x / sqrt(2)) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

void
stats_wilson(double k, double n, double z, double *loP, double *hiP)
{
	double p, z2, mid, half;

	if (!(n > 0)) {
		*loP = *hiP = NAN;
		return;
	}
	p = k / n;
	z2 = z * z;
	mid = 2 * n * p + z2;
	half = z * sqrt(z2 + 4 * n * p * (1 - p));
	*loP = (mid - half) / (2 * (n + z2));
	*hiP = (mid + half) / (2 * (n + z2));
	if (k <= 0)
		*loP = 0;       /* exact at the bounds, not -1e-17 */
	if (k >= n)
		*hiP = 1;
}

void
stats_confusion(const double *score, const int *pos, size_t n, double threshold,
                struct stats_confusion *cP)
{
	memset(cP, 0, sizeof *cP);
	for (size_t i = 0; i < n; i++) {
		int yes = score[i] >= threshold;
		if (pos[i])
			yes ? cP->tp++ : cP->fn++;
		else
			yes ? cP->fp++ : cP->tn++;
	}
}

double
stats_f1(const struct stats_confusion *c)
{
	double den = 2.0 * c->tp + c->fp + c->fn;

	return den > 0 ? 2.0 * c->tp / den : NAN;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void
stats_sort(double *x, size_t n)
{
	qsort(x, n, sizeof *x, cmp_double);
}

struct ranked {
	double v;
	size_t i;
};

static int
cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v != y->v)
		return (x->v > y->v) - (x->v < y->v);
	return (x->i > y->i) - (x->i < y->i);
}

/* Midranks (1-based, ties share their mean rank) of v[0..n) into rank. */
static void
midranks(const double *v, size_t n, double *rank)
{
	struct ranked *s = XNEW(struct ranked, n);
	size_t i, j;

	for (i = 0; i < n; i++)
		s[i] = (struct ranked){ v[i], i };
	qsort(s, n, sizeof *s, cmp_ranked);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && s[j].v == s[i].v; j++)
			;
		for (size_t k = i; k < j; k++)
			rank[s[k].i] = (i + 1 + j) / 2.0;
	}
	free(s);
}

static double
sample_var(const double *x, size_t n, double mean)
{
	double s = 0;

	if (n < 2)
		return NAN;
	for (size_t i = 0; i < n; i++)
		s += (x[i] - mean) * (x[i] - mean);
	return s / (double)(n - 1);
}

int
stats_auc(const double *score, const int *pos, size_t n, struct stats_auc *aP)
{
	size_t m = 0, k = 0, i;
	double *z, *rz, *rx, *ry, *x, *y, sum = 0;

	for (i = 0; i < n; i++)
		m += pos[i] != 0;
	k = n - m;
	memset(aP, 0, sizeof *aP);
	aP->n_pos = m, aP->n_neg = k;
	if (m == 0 || k == 0)
		return -1;
	z = XNEW(double, 5 * n);
	rz = z + n, rx = rz + n, x = rx + n, y = x + m, ry = y + k;
	for (i = 0, m = k = 0; i < n; i++) {
		z[i] = score[i];
		if (pos[i])
			x[m++] = score[i];
		else
			y[k++] = score[i];
	}
	midranks(z, n, rz);
	midranks(x, m, rx);
	midranks(y, k, ry);
	/* V10 for positives into x, V01 for negatives into y (DeLong 1988). */
	for (i = 0, m = k = 0; i < n; i++) {
		if (pos[i]) {
			x[m] = (rz[i] - rx[m]) / (double)aP->n_neg;
			sum += x[m++];
		} else {
			y[k] = 1.0 - (rz[i] - ry[k]) / (double)aP->n_pos;
			k++;
		}
	}
	aP->auc = sum / (double)m;
	aP->se_delong = sqrt(sample_var(x, m, aP->auc) / (double)m +
	    sample_var(y, k, aP->auc) / (double)k);
	aP->se_hanley = stats_hanley_se(aP->auc, m, k);
	free(z);
	return 0;
}

double
stats_hanley_se(double auc, size_t n_pos, size_t n_neg)
{
	double a = auc, q1 = a / (2 - a), q2 = 2 * a * a / (1 + a);
	double na = (double)n_pos, nn = (double)n_neg;

	return sqrt((a * (1 - a) + (na - 1) * (q1 - a * a) + (nn - 1) * (q2 - a * a)) / (na * nn));
}

void
stats_roc(const double *score, const int *pos, size_t n, struct stats_roc *rP)
{
	struct ranked *s = XNEW(struct ranked, n);
	size_t i, j, np = 0, tp = 0, fp = 0, nn;

	for (i = 0; i < n; i++) {
		s[i] = (struct ranked){ -score[i], i };     /* descending score */
		np += pos[i] != 0;
	}
	nn = n - np;
	qsort(s, n, sizeof *s, cmp_ranked);
	rP->fpr = XNEW(double, n + 1);
	rP->tpr = XNEW(double, n + 1);
	rP->thr = XNEW(double, n + 1);
	rP->fpr[0] = rP->tpr[0] = 0, rP->thr[0] = INFINITY;
	rP->n = 1;
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && s[j].v == s[i].v; j++)
			pos[s[j].i] ? tp++ : fp++;
		rP->fpr[rP->n] = nn ? (double)fp / (double)nn : NAN;
		rP->tpr[rP->n] = np ? (double)tp / (double)np : NAN;
		rP->thr[rP->n] = -s[i].v;
		rP->n++;
	}
	free(s);
}

void
stats_roc_free(struct stats_roc *r)
{
	free(r->fpr);
	free(r->tpr);
	free(r->thr);
	memset(r, 0, sizeof *r);
}

const char *const stats_youden_rules[] = { "default", "logit-middle", "middle", "edge" };

/* A threshold strictly inside (lo, hi], hi finite: the middle on the logit
 * scale for probabilities, else the plain middle, else hi. */
static double
youden_middle(double lo, double hi, int *howP)
{
	if (lo > 0 && hi < 1) {
		double m = (log(lo / (1 - lo)) + log(hi / (1 - hi))) / 2;
		*howP = STATS_YOUDEN_LOGIT_MIDDLE;
		return 1 / (1 + exp(-m));
	}
	if (isfinite(lo)) {
		*howP = STATS_YOUDEN_MIDDLE;
		return lo + (hi - lo) / 2;
	}
	*howP = STATS_YOUDEN_EDGE;
	return hi;
}

int
stats_youden(const struct stats_roc *r, double dflt, struct stats_youden *yP)
{
	double best = -INFINITY;
	size_t i, k;
	int found = 0;

	*yP = (struct stats_youden){ NAN, NAN, NAN, NAN, STATS_YOUDEN_EDGE };
	for (i = 1; i < r->n; i++)
		if (isfinite(r->thr[i]) && r->tpr[i] - r->fpr[i] > best)
			best = r->tpr[i] - r->fpr[i];
	if (!isfinite(best))
		return -1;
	/* runs of tied points i..k: every t in (thr[k+1], thr[i]] gives J */
	for (i = 1; i < r->n; i = k) {
		double lo, hi;
		for (k = i; k < r->n && r->tpr[k] - r->fpr[k] >= best - 1e-12; k++)
			;
		if (k == i) {
			k++;
			continue;
		}
		/* points i..k-1 tie */
		hi = r->thr[i], lo = k < r->n ? r->thr[k] : -INFINITY;
		if (!found)
			yP->lo = lo, yP->hi = hi, found = 1;
		if (dflt > lo && dflt <= hi) {
			*yP = (struct stats_youden){ dflt, best, lo, hi, STATS_YOUDEN_DEFAULT };
			return 0;
		}
	}
	yP->j = best;
	yP->t = youden_middle(yP->lo, yP->hi, &yP->how);
	return 0;
}

double
stats_quantile_sorted(const double *sorted, size_t n, double p)
{
	double h, lo;
	size_t i;

	if (n == 0)
		return NAN;
	h = (double)(n - 1) * p;
	lo = floor(h);
	i = (size_t)lo;
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (h - lo) * (sorted[i + 1] - sorted[i]);
}

/* One stratified resample of the case indices into s/p, drawn from r. */
static void
resample(const double *score, const int *pos, const size_t *ip, size_t np,
         const size_t *in, size_t nn, struct rng *r, double *s, int *p)
{
	for (size_t i = 0; i < np; i++) {
		size_t k = ip[rng_below(r, np)];
		s[i] = score[k], p[i] = pos[k];
	}
	for (size_t i = 0; i < nn; i++) {
		size_t k = in[rng_below(r, nn)];
		s[np + i] = score[k], p[np + i] = pos[k];
	}
}

int
stats_bootstrap(const double *score, const int *pos, size_t n, double threshold,
                size_t B, uint64_t seed, double alpha, double auc_ci[2], double f1_ci[2])
{
	size_t *ip = XNEW(size_t, n), np = 0, nn = 0, nf = 0;
	size_t *in = XNEW(size_t, n);
	double *s = XNEW(double, n), *aucs = XNEW(double, B ? B : 1), *f1s = XNEW(double, B ? B : 1);
	int *p = XNEW(int, n), rc = -1;
	struct rng r;

	for (size_t i = 0; i < n; i++)
		pos[i] ? (ip[np++] = i) : (in[nn++] = i);
	if (np > 0 && nn > 0 && B > 0) {
		rng_init(&r, seed, 0x526f63, 0);
		for (size_t b = 0; b < B; b++) {
			struct stats_auc a;
			struct stats_confusion c;
			resample(score, pos, ip, np, in, nn, &r, s, p);
			stats_auc(s, p, n, &a);
			aucs[b] = a.auc;
			stats_confusion(s, p, n, threshold, &c);
			if (!isnan(stats_f1(&c)))
				f1s[nf++] = stats_f1(&c);
		}
		stats_sort(aucs, B);
		stats_sort(f1s, nf);
		auc_ci[0] = stats_quantile_sorted(aucs, B, alpha / 2);
		auc_ci[1] = stats_quantile_sorted(aucs, B, 1 - alpha / 2);
		f1_ci[0] = stats_quantile_sorted(f1s, nf, alpha / 2);
		f1_ci[1] = stats_quantile_sorted(f1s, nf, 1 - alpha / 2);
		rc = 0;
	}
	free(ip), free(in), free(s), free(aucs), free(f1s), free(p);
	return rc;
}

double
stats_brier(const double *score, const int *pos, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (score[i] - (pos[i] ? 1.0 : 0.0)) * (score[i] - (pos[i] ? 1.0 : 0.0));
	return n ? s / (double)n : NAN;
}

/* ---- reliability (calibration) bins and the Brier decomposition ---- */

/* The equal-width bin of s in [0, 1]: the b with b/M <= s < (b+1)/M using
 * the same doubles as the reported edges, M - 1 for s == 1. */
static int
width_bin(double s, int M)
{
	int b = (int)(s * M);

	if (b > M - 1)
		b = M - 1;
	while (b > 0 && s < (double)b / M)
		b--;
	while (b < M - 1 && s >= (double)(b + 1) / M)
		b++;
	return b;
}

/* Equal-mass bins: case indices sorted by (score, index) into s[]; the bin
 * of each case into bin[]; returns the number of non-empty bins. */
static int
mass_bins(const double *score, size_t n, int M, int *bin)
{
	struct ranked *s = XNEW(struct ranked, n);
	size_t q = n / (size_t)M, r = n % (size_t)M, prev = 0, i;
	int nb = 0;

	for (i = 0; i < n; i++)
		s[i] = (struct ranked){ score[i], i };
	qsort(s, n, sizeof *s, cmp_ranked);
	for (int b = 1; b <= M; b++) {
		/* floor(b n / M) without overflow; the last cut is n */
		size_t cut = (size_t)b * q + (size_t)b * r / (size_t)M;
		while (cut > 0 && cut < n && s[cut].v == s[cut - 1].v)
			cut++;
		if (cut <= prev)
			continue;
		for (i = prev; i < cut; i++)
			bin[s[i].i] = nb;
		nb++;
		prev = cut;
	}
	free(s);
	return nb;
}

/* Counts, means and edges of each bin; the bins' Wilson intervals at z. */
static void
bin_means(const double *score, const int *pos, size_t n, const int *bin,
          struct stats_reliability *r, double z)
{
	struct stats_bin *b;
	size_t i;

	for (i = 0; i < n; i++) {
		b = &r->bin[bin[i]];
		if (r->equal_mass) {
			b->lo = b->n ? fmin(b->lo, score[i]) : score[i];
			b->hi = b->n ? fmax(b->hi, score[i]) : score[i];
		}
		b->n++;
		b->n_pos += pos[i] != 0;
		b->score += score[i];
	}
	for (int k = 0; k < r->nbins; k++) {
		b = &r->bin[k];
		b->score = b->n ? b->score / (double)b->n : NAN;
		b->frac = b->n ? (double)b->n_pos / (double)b->n : NAN;
		stats_wilson((double)b->n_pos, (double)b->n, z, &b->frac_lo, &b->frac_hi);
	}
}

/* ECE, MCE and the terms of BS = REL - RES + UNC + WBV - WBC (stats.h). */
static void
bin_terms(const double *score, const int *pos, size_t n, const int *bin,
          struct stats_reliability *r)
{
	double nn = (double)n, o = (double)r->n_pos / nn, wbv = 0, wbc = 0;

	for (size_t i = 0; i < n; i++) {
		const struct stats_bin *b = &r->bin[bin[i]];
		double ds = score[i] - b->score, y = pos[i] ? 1.0 : 0.0;
		wbv += ds * ds;
		wbc += (y - b->frac) * ds;
	}
	r->wbv = wbv / nn;
	r->wbc = 2 * wbc / nn;
	r->unc = o * (1 - o);
	for (int k = 0; k < r->nbins; k++) {
		const struct stats_bin *b = &r->bin[k];
		double gap = fabs(b->frac - b->score), w = (double)b->n / nn;
		if (b->n == 0)
			continue;
		r->ece += w * gap;
		r->mce = fmax(r->mce, gap);
		r->rel += w * gap * gap;
		r->res += w * (b->frac - o) * (b->frac - o);
	}
	r->brier = stats_brier(score, pos, n);
}

int
stats_reliability(const double *score, const int *pos, size_t n, int nbins,
                  int equal_mass, double z, struct stats_reliability *rP)
{
	int *bin;
	size_t i;

	memset(rP, 0, sizeof *rP);
	if (n == 0)
		return STATS_REL_NOCASES;
	if (nbins < 1 || nbins > STATS_REL_MAXBINS)
		return STATS_REL_NBINS;
	for (i = 0; i < n; i++)
		if (!(score[i] >= 0 && score[i] <= 1))
			return STATS_REL_RANGE;
	bin = XNEW(int, n);
	rP->n = n;
	rP->equal_mass = equal_mass != 0;
	for (i = 0; i < n; i++) {
		rP->n_pos += pos[i] != 0;
		if (!equal_mass)
			bin[i] = width_bin(score[i], nbins);
	}
	rP->nbins = equal_mass ? mass_bins(score, n, nbins, bin) : nbins;
	rP->bin = XNEW(struct stats_bin, (size_t)rP->nbins);
	memset(rP->bin, 0, (size_t)rP->nbins * sizeof *rP->bin);
	for (int k = 0; k < rP->nbins && !equal_mass; k++) {
		rP->bin[k].lo = (double)k / nbins;
		rP->bin[k].hi = (double)(k + 1) / nbins;
	}
	bin_means(score, pos, n, bin, rP, z);
	bin_terms(score, pos, n, bin, rP);
	free(bin);
	return 0;
}

void
stats_reliability_free(struct stats_reliability *r)
{
	free(r->bin);
	memset(r, 0, sizeof *r);
}

const char *
stats_reliability_error(int rc)
{
	switch (rc) {
	case 0:
		return "no error";
	case STATS_REL_NOCASES:
		return "no cases to bin";
	case STATS_REL_NBINS:
		return "the number of bins must be from 1 to 1000000";
	case STATS_REL_RANGE:
		return "a score is not a probability in [0, 1]";
	}
	return "unknown error";
}

/* ---- AUC intervals that survive perfect separation ---- */

const char *const stats_auc_ci_methods[] = { "delong", "exact-pairs", "none" };

int
stats_auc_separated_ci(const struct stats_auc *a, double alpha, double ciP[2])
{
	size_t k = a->n_pos < a->n_neg ? a->n_pos : a->n_neg;
	double lo;

	ciP[0] = ciP[1] = NAN;
	if (!(alpha > 0 && alpha < 1) || k == 0 || (a->auc != 1 && a->auc != 0))
		return -1;
	lo = pow(alpha / 2, 1 / (double)k);
	ciP[0] = a->auc == 1 ? lo : 0;
	ciP[1] = a->auc == 1 ? 1 : 1 - lo;
	return 0;
}

int
stats_auc_ci(const struct stats_auc *a, double alpha, double ciP[2])
{
	double z;

	if (stats_auc_separated_ci(a, alpha, ciP) == 0)
		return STATS_AUC_CI_SEPARATED;
	if (!(alpha > 0 && alpha < 1) || !(a->se_delong > 0))
		return STATS_AUC_CI_NONE;
	z = stats_norm_quantile(1 - alpha / 2);
	ciP[0] = fmax(0, a->auc - z * a->se_delong);
	ciP[1] = fmin(1, a->auc + z * a->se_delong);
	return STATS_AUC_CI_DELONG;
}
