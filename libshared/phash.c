/* phash.c — pixel digests and DCT hashes of images (see phash.h). */
#include "phash.h"
#include "err.h"
#include "sha256.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
pixel_digest(const struct tensor *t, uint8_t out[32])
{
	struct sha256 s;
	const char *dt = dtype_name(t->dtype);
	uint8_t le[8];

	sha256_init(&s);
	sha256_update(&s, dt, strlen(dt) + 1);
	for (int i = 0; i < t->rank; i++) {
		uint64_t v = (uint64_t)t->shape[i];
		for (int b = 0; b < 8; b++)
			le[b] = (uint8_t)(v >> (8 * b));
		sha256_update(&s, le, sizeof le);
	}
	sha256_update(&s, t->data, t->nbytes);
	sha256_final(&s, out);
}

/* The gray value of pixel i of an image with c channels (mean of the
 * colour channels: 1, or the first 3 when there are 3 or 4). */
static double
gray_at(const struct tensor *t, size_t i, int c)
{
	int nc = c >= 3 ? 3 : 1;
	double sum = 0;

	for (int k = 0; k < nc; k++) {
		size_t j = i * (size_t)c + (size_t)k;
		switch (t->dtype) {
		case DT_U8:  sum += ((const uint8_t *)t->data)[j]; break;
		case DT_U16: sum += ((const uint16_t *)t->data)[j]; break;
		default:     sum += ((const float *)t->data)[j]; break;
		}
	}
	return sum / nc;
}

/* Box-filter weights of n source cells onto PHASH_SIDE output cells: w[o*n+s]
 * is the overlap of source cell s with output cell o, in source cells,
 * divided by the output cell's width. */
static double *
box_weights(int64_t n)
{
	double *w = xcalloc((size_t)n * PHASH_SIDE, sizeof *w);
	double step = (double)n / PHASH_SIDE;

	for (int o = 0; o < PHASH_SIDE; o++) {
		double lo = o * step, hi = (o + 1) * step;
		for (int64_t s = (int64_t)floor(lo); s < n && s < hi; s++) {
			double a = s > lo ? s : lo, b = s + 1 < hi ? s + 1 : hi;
			if (b > a)
				w[(size_t)o * (size_t)n + (size_t)s] = (b - a) / step;
		}
	}
	return w;
}

/* Reduces t to PHASH_SIDE x PHASH_SIDE gray values in g (rows first). */
static void
reduce(const struct tensor *t, double g[PHASH_SIDE][PHASH_SIDE])
{
	int64_t h = t->shape[0], w = t->shape[1];
	int c = t->rank == 3 ? (int)t->shape[2] : 1;
	double *wy = box_weights(h), *wx = box_weights(w);
	double *rows = xcalloc((size_t)h * PHASH_SIDE, sizeof *rows);

	for (int64_t y = 0; y < h; y++)         /* each row to 32 columns */
		for (int64_t x = 0; x < w; x++) {
			double v = gray_at(t, (size_t)(y * w + x), c);
			for (int o = 0; o < PHASH_SIDE; o++)
				rows[y * PHASH_SIDE + o] += wx[(size_t)o * (size_t)w + (size_t)x] * v;
		}
	for (int o = 0; o < PHASH_SIDE; o++)    /* then 32 rows */
		for (int q = 0; q < PHASH_SIDE; q++) {
			double s = 0;
			for (int64_t y = 0; y < h; y++)
				s += wy[(size_t)o * (size_t)h + (size_t)y] * rows[y * PHASH_SIDE + q];
			g[o][q] = s;
		}
	free(rows);
	free(wx);
	free(wy);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
phash64(const struct tensor *t, uint64_t *out)
{
	double g[PHASH_SIDE][PHASH_SIDE], cs[PHASH_LOW][PHASH_SIDE];
	double tmp[PHASH_LOW][PHASH_SIDE], d[PHASH_LOW * PHASH_LOW], sorted[PHASH_LOW * PHASH_LOW - 1];
	int c = t->rank == 3 ? (int)t->shape[2] : 1;

	if ((t->rank != 2 && t->rank != 3) || t->shape[0] < 1 || t->shape[1] < 1 || c < 1 || c > 4 ||
	    (t->dtype != DT_U8 && t->dtype != DT_U16 && t->dtype != DT_F32))
		return -1;
	reduce(t, g);
	for (int u = 0; u < PHASH_LOW; u++)
		for (int n = 0; n < PHASH_SIDE; n++)
			cs[u][n] = cos(M_PI * (2 * n + 1) * u / (2.0 * PHASH_SIDE));
	for (int u = 0; u < PHASH_LOW; u++)     /* DCT down the columns */
		for (int q = 0; q < PHASH_SIDE; q++) {
			double s = 0;
			for (int n = 0; n < PHASH_SIDE; n++)
				s += cs[u][n] * g[n][q];
			tmp[u][q] = s;
		}
	for (int u = 0; u < PHASH_LOW; u++)     /* then along the rows */
		for (int v = 0; v < PHASH_LOW; v++) {
			double s = 0;
			for (int q = 0; q < PHASH_SIDE; q++)
				s += cs[v][q] * tmp[u][q];
			d[u * PHASH_LOW + v] = s;
		}
	memcpy(sorted, d + 1, sizeof sorted);
	qsort(sorted, PHASH_LOW * PHASH_LOW - 1, sizeof *sorted, cmp_double);
	double median = sorted[(PHASH_LOW * PHASH_LOW - 1) / 2];
	uint64_t h = 0;
	for (int i = 1; i < PHASH_LOW * PHASH_LOW; i++)
		if (d[i] > median)
			h |= (uint64_t)1 << i;
	*out = h;
	return 0;
}

int
phash_distance(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}
