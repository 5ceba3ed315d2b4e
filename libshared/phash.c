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

static int
byte_of(uint64_t h, int k)
{
	return (int)(h >> (8 * k)) & 0xff;
}

/* The 8 x 256 buckets of the hashes h by byte: the indices with byte k
 * equal to v are idx[start[k*256+v] .. start[k*256+v+1]), ascending. */
static void
buckets(const uint64_t *h, size_t n, size_t **startP, size_t **idxP)
{
	size_t *start = xcalloc(8 * 256 + 1, sizeof *start), *fill;
	size_t *idx = xcalloc(8 * n + 1, sizeof *idx);

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 8; k++)
			start[k * 256 + byte_of(h[i], k) + 1]++;
	for (int b = 0; b < 8 * 256; b++)
		start[b + 1] += start[b];
	fill = xcalloc(8 * 256, sizeof *fill);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 8; k++) {
			int b = k * 256 + byte_of(h[i], k);
			idx[start[b] + fill[b]++] = i;
		}
	free(fill);
	*startP = start;
	*idxP = idx;
}

/* The partners j > i of h[i] among the bucketed hashes that share byte k
 * with q (h[i] itself, or its complement) and no byte before k: each pair
 * is seen at its first shared byte only. */
static void
bucket_pairs(const uint64_t *h, size_t i, uint64_t q, int near, int inv, const size_t *start,
             const size_t *idx, size_t **outP, size_t *nout, size_t *cap)
{
	for (int k = 0; k < 8; k++) {
		int b = k * 256 + byte_of(q, k);
		for (size_t t = start[b]; t < start[b + 1]; t++) {
			size_t j = idx[t];
			int k2 = 0, d;
			if (j <= i)
				continue;
			while (k2 < k && byte_of(q, k2) != byte_of(h[j], k2))
				k2++;
			if (k2 < k)
				continue;
			d = phash_distance(h[i], h[j]);
			if (inv ? d < 63 - near : d > near)
				continue;
			if (*nout == *cap)
				*outP = xreallocarray(*outP, *cap = *cap ? 2 * *cap : 64, sizeof **outP);
			(*outP)[(*nout)++] = j;
		}
	}
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

void
phash_pairs(const uint64_t *h, size_t n, int near, int inverted, int exhaustive,
            phash_pair_fn *fn, void *ctx)
{
	size_t *start, *idx, *js = NULL, nj, cap = 0;

	if (exhaustive || near > 7) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				int d = phash_distance(h[i], h[j]);
				if (d <= near || (inverted && d >= 63 - near))
					fn(i, j, d, ctx);
			}
		return;
	}
	buckets(h, n, &start, &idx);
	for (size_t i = 0; i < n; i++) {
		nj = 0;
		bucket_pairs(h, i, h[i], near, 0, start, idx, &js, &nj, &cap);
		if (inverted)   /* h[j] near ~h[i] (bit 0 stays clear) */
			bucket_pairs(h, i, ~h[i] & ~(uint64_t)1, near, 1, start, idx, &js, &nj, &cap);
		if (nj > 1)
			qsort(js, nj, sizeof *js, cmp_size);
		for (size_t t = 0; t < nj; t++)
			if (t == 0 || js[t] != js[t - 1])
				fn(i, js[t], phash_distance(h[i], h[js[t]]), ctx);
	}
	free(js);
	free(start);
	free(idx);
}
