/* affine.c — Keras-style affine matrices and a one-pass image warp.
 *
 * The warp walks the output row by row.  Input coordinates are affine in the
 * column, so each row is split into a border part (taps may fall outside the
 * image: fill modes apply) and an interior part, found once per row, where
 * every tap is inside and the inner loop has no bounds checks.  Both parts
 * evaluate the coordinate exactly as scipy.ndimage does,
 * (r*m0 + c*m1) + m2, and interpolate in double precision, so the choice of
 * path never changes a result.
 */
#include "affine.h"

#include <stdatomic.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define COORD_LIMIT 1e9         /* keeps floor() results inside int64 */

enum elem { EL_U8, EL_U16, EL_F32 };

/* An image being warped, its element type known at run time. */
struct img {
	const void *src;
	void *dst;
	int64_t h, w, c;
	enum elem el;
	double cval;            /* already rounded and clamped to the type */
};

void
affine_params_identity(struct affine_params *p)
{
	memset(p, 0, sizeof *p);
	p->zx = p->zy = 1.0;
}

void
affine_draw(const struct affine_ranges *rg, struct rng *r, int64_t h, int64_t w,
            struct affine_params *p)
{
	affine_params_identity(p);
	if (rg->rotate != 0)
		p->theta = M_PI / 180 * rng_range(r, -rg->rotate, rg->rotate);
	if (rg->hshift != 0)
		p->tx = rng_range(r, -rg->hshift, rg->hshift) * (rg->hshift_px ? 1.0 : (double)h);
	if (rg->wshift != 0)
		p->ty = rng_range(r, -rg->wshift, rg->wshift) * (rg->wshift_px ? 1.0 : (double)w);
	if (rg->shear != 0)
		p->shear = rng_range(r, -rg->shear, rg->shear);
	if (rg->zoom_lo != 1 || rg->zoom_hi != 1) {
		p->zx = rng_range(r, rg->zoom_lo, rg->zoom_hi);
		p->zy = rng_range(r, rg->zoom_lo, rg->zoom_hi);
	}
	if (rg->hflip)
		p->hflip = rng_uniform(r) < 0.5;
	if (rg->vflip)
		p->vflip = rng_uniform(r) < 0.5;
}

void
affine_mul(const double a[9], const double b[9], double c[9])
{
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			c[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}

void
affine_keras(const struct affine_params *p, double m[9])
{
	double ct = cos(p->theta), st = sin(p->theta);
	double rot[9] = { ct, -st, 0, st, ct, 0, 0, 0, 1 };
	double shift[9] = { 1, 0, p->tx, 0, 1, p->ty, 0, 0, 1 };
	double shear[9] = { 1, -sin(p->shear), 0, 0, cos(p->shear), 0, 0, 0, 1 };
	double zoom[9] = { p->zx, 0, 0, 0, p->zy, 0, 0, 0, 1 };
	double a[9], b[9];

	affine_mul(rot, shift, a);
	affine_mul(a, shear, b);
	affine_mul(b, zoom, m);
}

void
affine_center(const double m[9], int64_t h, int64_t w, double out[9])
{
	double ox = (double)h / 2 + 0.5, oy = (double)w / 2 + 0.5;
	double offset[9] = { 1, 0, ox, 0, 1, oy, 0, 0, 1 };
	double reset[9] = { 1, 0, -ox, 0, 1, -oy, 0, 0, 1 };
	double a[9];

	affine_mul(offset, m, a);
	affine_mul(a, reset, out);
}

void
affine_matrix(const struct affine_params *p, int64_t h, int64_t w, double out[9])
{
	double m[9];

	affine_keras(p, m);
	affine_center(m, h, w, out);
}

void
affine_flip(const double m[9], int hflip, int vflip, int64_t h, int64_t w, double out[9])
{
	double f[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };

	if (vflip) {
		f[0] = -1;
		f[2] = (double)(h - 1);
	}
	if (hflip) {
		f[4] = -1;
		f[5] = (double)(w - 1);
	}
	affine_mul(m, f, out);
}

int
affine_is_identity(const double m[9])
{
	static const double id[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };

	for (int i = 0; i < 9; i++)
		if (m[i] != id[i])
			return 0;
	return 1;
}

const char *
affine_fill_name(enum affine_fill f)
{
	static const char *const names[] = { "constant", "nearest", "reflect", "wrap" };
	return (unsigned)f < 4 ? names[f] : "?";
}

const char *
affine_interp_name(enum affine_interp i)
{
	return i == AFFINE_INTERP_NEAREST ? "nearest" : "bilinear";
}

/* ---- element access for the border path ---- */

static inline double
load(const struct img *im, size_t i, enum elem el)
{
	switch (el) {
	case EL_U8: return ((const uint8_t *)im->src)[i];
	case EL_U16: return ((const uint16_t *)im->src)[i];
	default: return ((const float *)im->src)[i];
	}
}

/* Stores v (already inside the type's range for integers), rounding half
 * away from zero: v >= 0 there, so floor(v + 0.5) by truncation. */
static inline void
store(const struct img *im, size_t i, double v, enum elem el)
{
	switch (el) {
	case EL_U8: ((uint8_t *)im->dst)[i] = (uint8_t)(v + 0.5); break;
	case EL_U16: ((uint16_t *)im->dst)[i] = (uint16_t)(v + 0.5); break;
	default: ((float *)im->dst)[i] = (float)v; break;
	}
}

/* Index i of a line of n pixels mapped inside per fill mode; -1 = cval. */
static inline int64_t
map_index(int64_t i, int64_t n, enum affine_fill f)
{
	if (i >= 0 && i < n)
		return i;
	switch (f) {
	case AFFINE_FILL_NEAREST:
		return i < 0 ? 0 : n - 1;
	case AFFINE_FILL_REFLECT:
		i %= 2 * n;
		if (i < 0)
			i += 2 * n;
		return i < n ? i : 2 * n - 1 - i;
	case AFFINE_FILL_WRAP:
		i %= n;
		return i < 0 ? i + n : i;
	default:
		return -1;
	}
}

static inline double
clamp_coord(double v)
{
	return v < -COORD_LIMIT ? -COORD_LIMIT : v > COORD_LIMIT ? COORD_LIMIT : v;
}

/* floor(v) as an integer, |v| <= COORD_LIMIT (inline: no libm call). */
static inline int64_t
ifloor(double v)
{
	int64_t i = (int64_t)v;
	return i - ((double)i > v);
}

/* Output pixel at dst index o sampling input point (y, x), any position;
 * el is a constant where it is inlined, so the type switches fold away. */
static inline __attribute__((always_inline)) void
border_pixel(const struct img *im, const struct affine_warp *wp, size_t o, double y, double x,
             enum elem el)
{
	int64_t c = im->c;

	y = clamp_coord(y);
	x = clamp_coord(x);
	if (wp->interp == AFFINE_INTERP_NEAREST) {
		int64_t iy = map_index(ifloor(y + 0.5), im->h, wp->fill);
		int64_t ix = map_index(ifloor(x + 0.5), im->w, wp->fill);
		for (int64_t k = 0; k < c; k++)
			store(im, o + k, iy < 0 || ix < 0 ? im->cval :
			      load(im, (size_t)((iy * im->w + ix) * c + k), el), el);
		return;
	}
	int64_t iy = ifloor(y), ix = ifloor(x);
	double fy = y - (double)iy, fx = x - (double)ix;
	int64_t y0 = map_index(iy, im->h, wp->fill), y1 = map_index(iy + 1, im->h, wp->fill);
	int64_t x0 = map_index(ix, im->w, wp->fill), x1 = map_index(ix + 1, im->w, wp->fill);
	int64_t t[4] = {        /* element offsets of the taps, -1: cval */
		y0 < 0 || x0 < 0 ? -1 : (y0 * im->w + x0) * c,
		y0 < 0 || x1 < 0 ? -1 : (y0 * im->w + x1) * c,
		y1 < 0 || x0 < 0 ? -1 : (y1 * im->w + x0) * c,
		y1 < 0 || x1 < 0 ? -1 : (y1 * im->w + x1) * c,
	};
	for (int64_t k = 0; k < c; k++) {
		double a = t[0] < 0 ? im->cval : load(im, (size_t)(t[0] + k), el);
		double b = t[1] < 0 ? im->cval : load(im, (size_t)(t[1] + k), el);
		double d = t[2] < 0 ? im->cval : load(im, (size_t)(t[2] + k), el);
		double e = t[3] < 0 ? im->cval : load(im, (size_t)(t[3] + k), el);
		double top = a + fx * (b - a), bot = d + fx * (e - d);
		store(im, o + k, top + fy * (bot - top), el);
	}
}

/* Output columns [c0, c1) of row r (row offsets ry, rx) through the border
 * path, specialised per element type. */
static void
border_run(const struct img *im, const struct affine_warp *wp, int64_t r, double ry, double rx,
           int64_t c0, int64_t c1)
{
	const double *m = wp->m;
	size_t orow = (size_t)(r * im->w * im->c);

#define BORDER_LOOP(EL) \
	for (int64_t c = c0; c < c1; c++) \
		border_pixel(im, wp, orow + (size_t)(c * im->c), (ry + (double)c * m[1]) + m[2], \
		             (rx + (double)c * m[4]) + m[5], EL)
	switch (im->el) {
	case EL_U8: BORDER_LOOP(EL_U8); break;
	case EL_U16: BORDER_LOOP(EL_U16); break;
	default: BORDER_LOOP(EL_F32); break;
	}
#undef BORDER_LOOP
}

/* 1 if coordinate v of a line of n pixels needs no fill: every tap inside. */
static inline int
inside(double v, int64_t n, enum affine_interp interp)
{
	if (interp == AFFINE_INTERP_NEAREST)
		return v >= -0.5 && v < (double)n - 0.5;
	return v >= 0 && v < (double)(n - 1);
}

/* Narrows [*a, *b) to the columns whose coordinate (r0 + c*d) + off is
 * inside a line of n pixels: estimated by solving the inequality, then
 * checked at both ends with the exact expression (it is monotone in c). */
static void
span(double r0, double d, double off, int64_t n, enum affine_interp interp, int64_t *a, int64_t *b)
{
	double lo = interp == AFFINE_INTERP_NEAREST ? -0.5 : 0.0;
	double hi = interp == AFFINE_INTERP_NEAREST ? (double)n - 0.5 : (double)(n - 1);

	if (d == 0) {
		if (!inside(r0 + off, n, interp))
			*b = *a;
		return;
	}
	{
		double t1 = (lo - (r0 + off)) / d, t2 = (hi - (r0 + off)) / d;
		double l = fmin(t1, t2), u = fmax(t1, t2);
		if (l > (double)*a)
			*a = l >= (double)*b ? *b : (int64_t)ceil(l);
		if (u < (double)*b)
			*b = u <= (double)*a ? *a : (int64_t)ceil(u);
	}
	while (*a < *b && !inside((r0 + (double)*a * d) + off, n, interp))
		(*a)++;
	while (*b > *a && !inside((r0 + (double)(*b - 1) * d) + off, n, interp))
		(*b)--;
}

/* Interior of one row, u8 with 3 channels (the common RGB case).  All taps
 * are loaded before anything is stored, and the matrix lives in locals, so
 * the compiler need not assume the u8 stores alias them. */
static void
row_u8c3(const uint8_t *restrict src, size_t stride, const double *m, double ry, double rx,
         uint8_t *restrict out, int64_t c0, int64_t c1, enum affine_interp interp)
{
	const double m1 = m[1], m2 = m[2], m4 = m[4], m5 = m[5];

	if (interp == AFFINE_INTERP_NEAREST) {
		for (int64_t c = c0; c < c1; c++) {
			int64_t iy = (int64_t)(((ry + (double)c * m1) + m2) + 0.5);
			int64_t ix = (int64_t)(((rx + (double)c * m4) + m5) + 0.5);
			const uint8_t *p = src + (size_t)iy * stride + (size_t)ix * 3;
			uint8_t a = p[0], b = p[1], d = p[2];
			out[3 * c] = a;
			out[3 * c + 1] = b;
			out[3 * c + 2] = d;
		}
		return;
	}
	for (int64_t c = c0; c < c1; c++) {
		double y = (ry + (double)c * m1) + m2;
		double x = (rx + (double)c * m4) + m5;
		int64_t iy = (int64_t)y, ix = (int64_t)x;     /* y, x >= 0: floor */
		double fy = y - (double)iy, fx = x - (double)ix;
		const uint8_t *p = src + (size_t)iy * stride + (size_t)ix * 3, *q = p + stride;
		double v[3];
		for (int k = 0; k < 3; k++) {
			double a = p[k], b = p[k + 3], d = q[k], e = q[k + 3];
			double top = a + fx * (b - a), bot = d + fx * (e - d);
			v[k] = top + fy * (bot - top) + 0.5;
		}
		out[3 * c] = (uint8_t)v[0];
		out[3 * c + 1] = (uint8_t)v[1];
		out[3 * c + 2] = (uint8_t)v[2];
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_ROW 1

/* 4 bytes at p as a 32-bit integer (unaligned). */
static inline int
load4(const uint8_t *p)
{
	int v;
	memcpy(&v, p, 4);
	return v;
}

/* The bilinear interior of a u8 3-channel row, the three channels (and one
 * unused lane) in one AVX vector of doubles: the same IEEE operations in
 * the same order as the scalar loop, so the same bits.  Every load stays
 * inside the image: the right-hand taps are read from one byte earlier and
 * shifted. */
__attribute__((target("avx2"))) static void
row_u8c3_bilinear_avx2(const uint8_t *restrict src, size_t stride, const double *m, double ry,
                       double rx, uint8_t *restrict out, int64_t c0, int64_t c1)
{
	const double m1 = m[1], m2 = m[2], m4 = m[4], m5 = m[5];
	const __m256d half = _mm256_set1_pd(0.5);

	for (int64_t c = c0; c < c1; c++) {
		double y = (ry + (double)c * m1) + m2;
		double x = (rx + (double)c * m4) + m5;
		int64_t iy = (int64_t)y, ix = (int64_t)x;
		__m256d fy = _mm256_set1_pd(y - (double)iy), fx = _mm256_set1_pd(x - (double)ix);
		const uint8_t *p = src + (size_t)iy * stride + (size_t)ix * 3, *q = p + stride;
		__m256d a = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(load4(p))));
		__m256d b = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(
			_mm_cvtsi32_si128((int)((unsigned)load4(p + 2) >> 8))));
		__m256d d = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(load4(q))));
		__m256d e = _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(
			_mm_cvtsi32_si128((int)((unsigned)load4(q + 2) >> 8))));
		__m256d top = _mm256_add_pd(a, _mm256_mul_pd(fx, _mm256_sub_pd(b, a)));
		__m256d bot = _mm256_add_pd(d, _mm256_mul_pd(fx, _mm256_sub_pd(e, d)));
		__m256d v = _mm256_add_pd(_mm256_add_pd(top, _mm256_mul_pd(fy, _mm256_sub_pd(bot, top))), half);
		__m128i i32 = _mm256_cvttpd_epi32(v);
		int px = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packus_epi32(i32, i32), i32));
		out[3 * c] = (uint8_t)px;
		out[3 * c + 1] = (uint8_t)(px >> 8);
		out[3 * c + 2] = (uint8_t)(px >> 16);
	}
}

#endif

/* Interior of one row, any element type and channel count. */
static void
row_any(const struct img *im, const double *m, double ry, double rx, size_t orow,
        int64_t c0, int64_t c1, enum affine_interp interp)
{
	int64_t nc = im->c;
	size_t stride = (size_t)(im->w * nc);

	for (int64_t c = c0; c < c1; c++) {
		double y = (ry + (double)c * m[1]) + m[2];
		double x = (rx + (double)c * m[4]) + m[5];
		size_t o = orow + (size_t)(c * nc);
		if (interp == AFFINE_INTERP_NEAREST) {
			size_t p = (size_t)(int64_t)(y + 0.5) * stride + (size_t)(int64_t)(x + 0.5) * (size_t)nc;
			for (int64_t k = 0; k < nc; k++)
				store(im, o + (size_t)k, load(im, p + (size_t)k, im->el), im->el);
			continue;
		}
		int64_t iy = (int64_t)y, ix = (int64_t)x;
		double fy = y - (double)iy, fx = x - (double)ix;
		size_t p = (size_t)iy * stride + (size_t)ix * (size_t)nc, q = p + stride;
		for (int64_t k = 0; k < nc; k++) {
			double a = load(im, p + k, im->el), b = load(im, p + nc + k, im->el);
			double d = load(im, q + k, im->el), e = load(im, q + nc + k, im->el);
			double top = a + fx * (b - a), bot = d + fx * (e - d);
			store(im, o + (size_t)k, top + fy * (bot - top), im->el);
		}
	}
}

/* 1 if the AVX2 row can run here (checked once; atomic, as augment
 * --jobs warps on several threads). */
static int
have_avx2(void)
{
#ifdef HAVE_AVX2_ROW
	static atomic_int have = -1;
	int h = atomic_load_explicit(&have, memory_order_relaxed);
	if (h < 0) {
		h = getenv("RADPIPE_NO_AVX2") == NULL && __builtin_cpu_supports("avx2");
		atomic_store_explicit(&have, h, memory_order_relaxed);
	}
	return h;
#else
	return 0;
#endif
}

#ifndef HAVE_AVX2_ROW
#define row_u8c3_bilinear_avx2(...) ((void)0)
#endif

static void
warp(const struct img *im, const struct affine_warp *wp)
{
	const double *m = wp->m;
	int64_t w = im->w, nc = im->c;

	for (int64_t r = 0; r < im->h; r++) {
		double ry = (double)r * m[0], rx = (double)r * m[3];
		size_t orow = (size_t)(r * w * nc);
		int64_t a = 0, b = w;
		span(ry, m[1], m[2], im->h, wp->interp, &a, &b);
		span(rx, m[4], m[5], im->w, wp->interp, &a, &b);
		if (a >= b)
			a = b = w;
		border_run(im, wp, r, ry, rx, 0, a);
		if (im->el == EL_U8 && nc == 3 && wp->interp == AFFINE_INTERP_BILINEAR && have_avx2())
			row_u8c3_bilinear_avx2(im->src, (size_t)(w * 3), m, ry, rx,
			                       (uint8_t *)im->dst + orow, a, b);
		else if (im->el == EL_U8 && nc == 3)
			row_u8c3(im->src, (size_t)(w * 3), m, ry, rx, (uint8_t *)im->dst + orow, a, b,
			         wp->interp);
		else
			row_any(im, m, ry, rx, orow, a, b, wp->interp);
		border_run(im, wp, r, ry, rx, b, w);
	}
}

/* cval rounded half away from zero and clamped to [0, max]. */
static double
int_cval(double v, double max)
{
	v = v < 0 ? 0 : v > max ? max : v;
	return floor(v + 0.5);
}

void
affine_warp_u8(const uint8_t *src, uint8_t *dst, int64_t h, int64_t w, int64_t c,
               const struct affine_warp *wp)
{
	struct img im = { src, dst, h, w, c, EL_U8, int_cval(wp->cval, 255) };
	warp(&im, wp);
}

void
affine_warp_u16(const uint16_t *src, uint16_t *dst, int64_t h, int64_t w, int64_t c,
                const struct affine_warp *wp)
{
	struct img im = { src, dst, h, w, c, EL_U16, int_cval(wp->cval, 65535) };
	warp(&im, wp);
}

void
affine_warp_f32(const float *src, float *dst, int64_t h, int64_t w, int64_t c,
                const struct affine_warp *wp)
{
	struct img im = { src, dst, h, w, c, EL_F32, wp->cval };
	warp(&im, wp);
}
