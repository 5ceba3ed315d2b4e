/* cam.c — Grad-CAM maps (cam.h). */
#include <math.h>
#include <stdlib.h>

#include "cam.h"
#include "err.h"

void
cam_map(const float *act, const float *grad, int h, int w, int c, float *raw)
{
	size_t px = (size_t)h * w;
	double *alpha = XNEW(double, c > 0 ? (size_t)c : 1);

	for (int k = 0; k < c; k++)
		alpha[k] = 0;
	for (size_t p = 0; p < px; p++)
		for (int k = 0; k < c; k++)
			alpha[k] += grad[p * c + k];
	for (int k = 0; k < c; k++)
		alpha[k] /= (double)px;
	for (size_t p = 0; p < px; p++) {
		double s = 0;
		for (int k = 0; k < c; k++)
			s += alpha[k] * act[p * c + k];
		raw[p] = s > 0 ? (float)s : 0.0f;
	}
	free(alpha);
}

/* Source index and weight of the next one along an axis of n cells for
 * destination cell d of m (half-pixel centres, clamped at the edges). */
static void
axis(int d, int n, int m, int *i0, int *i1, double *t)
{
	double s = ((double)d + 0.5) * n / m - 0.5;

	if (s < 0)
		s = 0;
	*i0 = (int)floor(s);
	if (*i0 > n - 1)
		*i0 = n - 1;
	*i1 = *i0 + 1 < n ? *i0 + 1 : n - 1;
	*t = s - *i0;
	if (*i1 == *i0)
		*t = 0;
}

void
cam_resize(const float *src, int h, int w, float *dst, int oh, int ow)
{
	for (int y = 0; y < oh; y++) {
		int y0, y1;
		double ty;
		axis(y, h, oh, &y0, &y1, &ty);
		for (int x = 0; x < ow; x++) {
			int x0, x1;
			double tx;
			axis(x, w, ow, &x0, &x1, &tx);
			double a = src[(size_t)y0 * w + x0] * (1 - tx) + src[(size_t)y0 * w + x1] * tx;
			double b = src[(size_t)y1 * w + x0] * (1 - tx) + src[(size_t)y1 * w + x1] * tx;
			dst[(size_t)y * ow + x] = (float)(a * (1 - ty) + b * ty);
		}
	}
}

void
cam_normalise(float *map, size_t n)
{
	float mx = 0;

	for (size_t i = 0; i < n; i++)
		if (map[i] > mx)
			mx = map[i];
	if (mx > 0)
		for (size_t i = 0; i < n; i++)
			map[i] /= mx;
}

void
cam_heatmap(const float *raw, int h, int w, float *heat, int oh, int ow)
{
	cam_resize(raw, h, w, heat, oh, ow);
	cam_normalise(heat, (size_t)oh * ow);
}
