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

#endif
