/* calibration.h — metrics(1)'s calibration frame: the reliability of
 * binary scores read as probabilities (stats_reliability), with its bins,
 * ECE, MCE and the Brier score's decomposition.  See radpipe-stream(5).
 */
#ifndef RADPIPE_CALIBRATION_H
#define RADPIPE_CALIBRATION_H

#include <stddef.h>
#include "frame.h"

/* Appends to out a calibration frame of the n scores (in [0, 1]) and 0/1
 * truths pos in nbins equal-width (equal_mass 0, binning "width") or
 * equal-mass (1, "mass") bins, each with a Wilson interval at level
 * 1 - alpha, naming positive_class.  Returns 0, or -1 with a message in
 * err (a score outside [0, 1], no cases, a bad nbins) and nothing appended. */
int calibration_frame(struct fbytes *out, const double *score, const int *pos, size_t n,
                      int nbins, int equal_mass, double alpha, const char *positive_class,
                      char *err, size_t errlen);

/* A calibration frame read back: its binning, ECE, MCE and bins. */
struct calibration_bins {
	char binning[16];       /* "width" or "mass" ("" if absent) */
	double ece, mce;        /* NaN if absent */
	size_t n;               /* bins */
	double *col[7];         /* n values each, owned; CAL_* below; NaN: not a number */
};
enum { CAL_LO, CAL_HI, CAL_N, CAL_SCORE, CAL_FRAC, CAL_FRAC_LO, CAL_FRAC_HI };
/* Reads the calibration frame f into *cP (owned; free with calibration_bins_free):
 * 0, or -1 with a message in err when a bin array is missing, empty or of
 * another length than bin_lo (nothing to free). */
int calibration_read(const struct frame *f, struct calibration_bins *cP, char *err, size_t errlen);
/* Frees the arrays of c. */
void calibration_bins_free(struct calibration_bins *c);

#endif
