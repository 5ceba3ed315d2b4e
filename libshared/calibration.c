/* calibration.c — the calibration frame of metrics(1). */
#include "calibration.h"
#include "err.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns of the per-bin arrays, in the order of the frame's keys. */
enum { C_LO, C_HI, C_SCORE, C_FRAC, C_FRAC_LO, C_FRAC_HI, NCOL };
static const char *const col_keys[NCOL] = {
	"bin_lo", "bin_hi", "bin_score", "bin_frac", "bin_frac_lo", "bin_frac_hi"
};

/* The bins of r as arrays: counts, then the numeric columns. */
static void
fb_bins(struct fb *b, const struct stats_reliability *r)
{
	size_t nb = (size_t)r->nbins;
	double *v = XNEW(double, NCOL * nb + 1);
	int64_t *c = XNEW(int64_t, 2 * nb + 1);

	for (size_t i = 0; i < nb; i++) {
		const struct stats_bin *x = &r->bin[i];
		v[C_LO * nb + i] = x->lo, v[C_HI * nb + i] = x->hi;
		v[C_SCORE * nb + i] = x->score, v[C_FRAC * nb + i] = x->frac;
		v[C_FRAC_LO * nb + i] = x->frac_lo, v[C_FRAC_HI * nb + i] = x->frac_hi;
		c[i] = (int64_t)x->n, c[nb + i] = (int64_t)x->n_pos;
	}
	fb_nums(b, col_keys[C_LO], v + C_LO * nb, nb);
	fb_nums(b, col_keys[C_HI], v + C_HI * nb, nb);
	fb_ints(b, "bin_n", c, nb);
	fb_ints(b, "bin_n_pos", c + nb, nb);
	for (int k = C_SCORE; k < NCOL; k++)
		fb_nums(b, col_keys[k], v + (size_t)k * nb, nb);
	free(v), free(c);
}

int
calibration_frame(struct fbytes *out, const double *score, const int *pos, size_t n,
                  int nbins, int equal_mass, double alpha, const char *positive_class,
                  char *err, size_t errlen)
{
	struct stats_reliability r;
	struct fb *b;
	int rc;

	if (!(alpha > 0 && alpha < 1)) {
		snprintf(err, errlen, "calibration: alpha %g is not in (0, 1)", alpha);
		return -1;
	}
	rc = stats_reliability(score, pos, n, nbins, equal_mass,
	    stats_norm_quantile(1 - alpha / 2), &r);
	if (rc < 0) {
		snprintf(err, errlen, "calibration: %s", stats_reliability_error(rc));
		return -1;
	}
	b = fb_begin();
	fb_str(b, "kind", "calibration");
	fb_str(b, "binning", equal_mass ? "mass" : "width");
	fb_str(b, "positive_class", positive_class);
	fb_int(b, "n", (int64_t)r.n);
	fb_int(b, "n_pos", (int64_t)r.n_pos);
	fb_int(b, "bins", nbins);
	fb_int(b, "nbins", r.nbins);
	fb_num(b, "ece", r.ece);
	fb_num(b, "mce", r.mce);
	fb_num(b, "brier", r.brier);
	fb_num(b, "reliability", r.rel);
	fb_num(b, "resolution", r.res);
	fb_num(b, "uncertainty", r.unc);
	fb_num(b, "within_bin_variance", r.wbv);
	fb_num(b, "within_bin_covariance", r.wbc);
	fb_bins(b, &r);
	fb_num(b, "ci_level", 1 - alpha);
	fb_end(b, out);
	stats_reliability_free(&r);
	return 0;
}

/* The keys of struct calibration_bins' columns, in CAL_* order. */
static const char *const read_keys[7] = {
	"bin_lo", "bin_hi", "bin_n", "bin_score", "bin_frac", "bin_frac_lo", "bin_frac_hi"
};

int
calibration_read(const struct frame *f, struct calibration_bins *cP, char *err, size_t errlen)
{
	const struct fval *a[7];
	size_t n;

	memset(cP, 0, sizeof *cP);
	for (int k = 0; k < 7; k++)
		a[k] = frame_get(f, read_keys[k]);
	n = fv_len(a[0]);
	for (int k = 0; k < 7; k++)
		if (fv_type(a[k]) != FV_ARRAY || fv_len(a[k]) != n || n == 0) {
			snprintf(err, errlen, "calibration frame without equal-length bin arrays (%s)",
			    read_keys[k]);
			return -1;
		}
	frame_str(f, "binning", cP->binning, sizeof cP->binning);
	cP->ece = cP->mce = NAN;
	frame_num(f, "ece", &cP->ece);
	frame_num(f, "mce", &cP->mce);
	cP->n = n;
	for (int k = 0; k < 7; k++) {
		cP->col[k] = XNEW(double, n);
		for (size_t i = 0; i < n; i++)
			cP->col[k][i] = fv_number(fv_at(a[k], i));
	}
	return 0;
}

void
calibration_bins_free(struct calibration_bins *c)
{
	for (int k = 0; k < 7; k++)
		free(c->col[k]);
	memset(c, 0, sizeof *c);
}
