/* loss_math.h — the per-sample math of the losses of backend.h, written
 * once for the ref backend (ref_ops.h, over its `real` type) and the CUDA
 * backend's kernels (libshared/nn/cuda/loss.cu): terms in double, as the
 * specification computes them.  Host C and nvcc device code (RP_HD). */
#ifndef RADPIPE_NN_LOSS_MATH_H
#define RADPIPE_NN_LOSS_MATH_H

#include <math.h>

#include "hostdev.h"

/* Sigmoid cross-entropy of logit z with target t (unweighted), stable form
 * l = max(z,0) - z*t + log(1 + exp(-|z|)); *probP = sigmoid(z), *gradP =
 * dl/dz.  clip > 0 (Keras): where sigmoid(z) falls outside [clip, 1-clip]
 * the loss uses the logit of the clipped probability and the gradient is 0. */
RP_HD static inline double
rp_bce_term(double z, double t, float clip, double *probP, double *gradP)
{
	double p = 1 / (1 + exp(-z));
	double g = p - t;

	if (clip > 0 && (p < clip || p > 1 - (double)clip)) {
		double pc = p < clip ? clip : 1 - (double)clip;
		z = log(pc / (1 - pc));
		g = 0;
	}
	*probP = p;
	*gradP = g;
	return (z > 0 ? z : 0) - z * t + log1p(exp(-fabs(z)));
}

/* Defines NAME, softmax + cross-entropy of one row of k logits zr of element
 * type T with class c (a label outside [0, k) contributes log-sum-exp only):
 * writes prob[j] and dz[j] = wi*(p_j - [j == c])/n, returns the weighted
 * loss term wi*l.  A macro because ref_ops.h instantiates it for its `real`
 * (float or double) and loss.cu for float. */
#define RP_DEFINE_SOFTMAX_ROW(NAME, T) \
RP_HD static inline double \
NAME(int k, const T *zr, int c, double wi, int n, T *prob, T *dz) \
{ \
	double mx = zr[0], se = 0; \
	for (int j = 1; j < k; j++) \
		mx = zr[j] > mx ? zr[j] : mx; \
	for (int j = 0; j < k; j++) \
		se += exp(zr[j] - mx); \
	for (int j = 0; j < k; j++) { \
		double pj = exp(zr[j] - mx) / se; \
		prob[j] = (T)pj; \
		dz[j] = (T)(wi * (pj - (j == c)) / n); \
	} \
	return wi * (log(se) + mx - (c >= 0 && c < k ? zr[c] : mx)); \
}

#endif
