/* mlmath.c — the multi-label task's arithmetic (multilabel.h): the masked
 * loss's inputs, masked accuracy, mean per-target AUC.  No trainer state,
 * so that the unit tests link it alone. */
#include "nn/train/multilabel.h"
#include "err.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>

size_t
mlt_loss_inputs(const float *t, size_t nk, float *y, float *w)
{
	size_t known = 0;

	for (size_t i = 0; i < nk; i++)
		known += t[i] >= 0;
	for (size_t i = 0; i < nk; i++) {
		y[i] = t[i] > 0 ? 1.0f : 0.0f;
		w[i] = t[i] >= 0 ? (float)((double)nk / (double)known) : 0.0f;
	}
	return known;
}

double
mlt_accuracy(const float *p, const float *y, size_t nk)
{
	size_t known = 0, right = 0;

	for (size_t i = 0; i < nk; i++) {
		if (y[i] < 0)
			continue;
		known++;
		right += (p[i] > 0.5f) == (y[i] > 0);
	}
	return known ? (double)right / (double)known : NAN;
}

double
mlt_mean_auc(const float *p, const float *y, size_t n, int k, int *usedP)
{
	double *s = XNEW(double, n ? n : 1), sum = 0;
	int *pos = XNEW(int, n ? n : 1), used = 0;

	for (int j = 0; j < k; j++) {
		size_t m = 0, np = 0;
		struct stats_auc a;
		for (size_t i = 0; i < n; i++) {
			float v = y[i * (size_t)k + (size_t)j];
			if (v < 0)
				continue;
			s[m] = p[i * (size_t)k + (size_t)j];
			pos[m++] = v > 0;
			np += v > 0;
		}
		if (np == 0 || np == m || stats_auc(s, pos, m, &a) < 0)
			continue;
		sum += a.auc;
		used++;
	}
	free(s);
	free(pos);
	if (usedP)
		*usedP = used;
	return used ? sum / used : NAN;
}
