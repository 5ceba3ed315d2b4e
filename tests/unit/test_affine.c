/* test_affine.c — libshared/affine: Keras matrix composition, the one-pass
 * warp against closed-form expectations, fill modes, flips, the draw
 * distribution and determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "affine.h"
#include "rng.h"

#define N 15                    /* small images: N x N, centre o = N/2 + 0.5 = 8 */

static const double ident[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };

static struct affine_warp
warp_of(const double m[9], enum affine_interp interp, enum affine_fill fill, double cval)
{
	struct affine_warp wp = { .interp = interp, .fill = fill, .cval = cval };
	memcpy(wp.m, m, sizeof wp.m);
	return wp;
}

static void
fill_random(uint8_t *p, size_t n, uint64_t seed)
{
	struct rng r;

	rng_init(&r, seed, 0, 0);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng_u32(&r);
}

/* Number of nonzero pixels of a 1-channel N x N image. */
static int
count_lit(const uint8_t *p)
{
	int k = 0;
	for (int i = 0; i < N * N; i++)
		k += p[i] != 0;
	return k;
}

static void
test_identity_exact(void **state)
{
	enum { H = 37, W = 29, C = 3 };
	static uint8_t s8[H * W * C], d8[H * W * C];
	static uint16_t s16[H * W], d16[H * W];
	static float sf[H * W * C], df[H * W * C];

	fill_random(s8, sizeof s8, 1);
	for (int i = 0; i < H * W; i++)
		s16[i] = (uint16_t)(s8[i] * 257 + i);
	for (int i = 0; i < H * W * C; i++)
		sf[i] = (float)s8[i] / 7.0f;
	for (int interp = 0; interp < 2; interp++) {
		for (int fill = 0; fill < 4; fill++) {
			struct affine_warp wp = warp_of(ident, interp, fill, 9);
			affine_warp_u8(s8, d8, H, W, C, &wp);
			assert_memory_equal(s8, d8, sizeof s8);
			affine_warp_u16(s16, d16, H, W, 1, &wp);
			assert_memory_equal(s16, d16, sizeof s16);
			affine_warp_f32(sf, df, H, W, C, &wp);
			assert_memory_equal(sf, df, sizeof sf);
		}
	}
}

/* Warps a 1-channel N x N image with one lit pixel at (pr, pc) by the
 * centred matrix of p (nearest, constant 0) into out. */
static void
warp_point(const struct affine_params *p, int pr, int pc, uint8_t *out)
{
	uint8_t in[N * N] = { 0 };
	double m[9];
	struct affine_warp wp;

	in[pr * N + pc] = 200;
	affine_matrix(p, N, N, m);
	wp = warp_of(m, AFFINE_INTERP_NEAREST, AFFINE_FILL_CONSTANT, 0);
	affine_warp_u8(in, out, N, N, 1, &wp);
}

static void
test_rotate_point(void **state)
{
	struct affine_params p;
	uint8_t out[N * N];
	const double o = N / 2.0 + 0.5;

	affine_params_identity(&p);
	p.theta = M_PI / 2;     /* in = R(out - o) + o: in_r = 2o - out_c, in_c = out_r */
	warp_point(&p, 3, 5, out);
	assert_int_equal(count_lit(out), 1);
	assert_int_equal(out[5 * N + (int)(2 * o - 3)], 200);
}

static void
test_shift_point(void **state)
{
	struct affine_params p;
	uint8_t out[N * N];

	affine_params_identity(&p);
	p.tx = 2;               /* in = out + (tx, ty): the point moves by (-tx, -ty) */
	p.ty = -3;
	warp_point(&p, 6, 4, out);
	assert_int_equal(count_lit(out), 1);
	assert_int_equal(out[4 * N + 7], 200);
}

static void
test_zoom_point(void **state)
{
	struct affine_params p;
	uint8_t out[N * N];
	const double o = N / 2.0 + 0.5;
	const int pr = 6, pc = 9;

	affine_params_identity(&p);
	p.zx = 0.5;             /* zoom < 1 enlarges: the pixel becomes a 2x2 block */
	p.zy = 0.5;
	warp_point(&p, pr, pc, out);
	/* in = z(out - o) + o rounds to p for out in [2(p - 0.5 - o) + o, 2(p + 0.5 - o) + o) */
	int r0 = (int)ceil(2 * (pr - 0.5 - o) + o), c0 = (int)ceil(2 * (pc - 0.5 - o) + o);
	assert_int_equal(count_lit(out), 4);
	for (int r = r0; r < r0 + 2; r++)
		for (int c = c0; c < c0 + 2; c++)
			assert_int_equal(out[r * N + c], 200);
}

static void
test_shear_line(void **state)
{
	uint8_t in[N * N] = { 0 }, out[N * N];
	struct affine_params p;
	const double o = N / 2.0 + 0.5, s = 0.5;
	const int row = 5;
	double m[9];

	for (int c = 0; c < N; c++)
		in[row * N + c] = 100;
	affine_params_identity(&p);
	p.shear = s;
	affine_matrix(&p, N, N, m);
	struct affine_warp wp = warp_of(m, AFFINE_INTERP_NEAREST, AFFINE_FILL_CONSTANT, 0);
	affine_warp_u8(in, out, N, N, 1, &wp);
	/* in_r = out_r - sin(s)(c - o): column c is lit at exactly one row,
	 * r = ceil(row - 0.5 + sin(s)(c - o)), where the input column is inside */
	for (int c = 0; c < N; c++) {
		double in_c = cos(s) * (c - o) + o;
		int lit = 0, want = (int)ceil(row - 0.5 + sin(s) * (c - o));
		for (int r = 0; r < N; r++)
			lit += out[r * N + c] != 0;
		if (in_c < -0.5 || in_c >= N - 0.5) {
			assert_int_equal(lit, 0);
			continue;
		}
		assert_int_equal(lit, 1);
		assert_int_equal(out[want * N + c], 100);
	}
}

static void
test_flips_exact(void **state)
{
	enum { H = 11, W = 14, C = 3 };
	uint8_t src[H * W * C], dst[H * W * C];
	double m[9];

	fill_random(src, sizeof src, 2);
	for (int interp = 0; interp < 2; interp++) {
		for (int f = 1; f < 4; f++) {
			int hf = f & 1, vf = f >> 1;
			affine_flip(ident, hf, vf, H, W, m);
			struct affine_warp wp = warp_of(m, interp, AFFINE_FILL_CONSTANT, 0);
			affine_warp_u8(src, dst, H, W, C, &wp);
			for (int r = 0; r < H; r++)
				for (int c = 0; c < W; c++)
					for (int k = 0; k < C; k++) {
						int sr = vf ? H - 1 - r : r, sc = hf ? W - 1 - c : c;
						assert_int_equal(dst[(r * W + c) * C + k], src[(sr * W + sc) * C + k]);
					}
		}
	}
}

/* Rows 0..2 sample input rows -3..-1 (tx = -3) and rows N-3..N-1 sample
 * N..N+2 (tx = +3); row i of the input holds 10 (i + 1). */
static void
check_fill(enum affine_fill fill, enum affine_interp interp, const int want_top[3],
           const int want_bottom[3])
{
	uint8_t in[N * N], out[N * N];
	double m[9];

	for (int i = 0; i < N * N; i++)
		in[i] = (uint8_t)(10 * (i / N + 1));
	memcpy(m, ident, sizeof m);
	m[2] = -3;
	struct affine_warp wp = warp_of(m, interp, fill, 7);
	affine_warp_u8(in, out, N, N, 1, &wp);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < N; c++)
			assert_int_equal(out[r * N + c], want_top[r]);
	m[2] = 3;
	wp = warp_of(m, interp, fill, 7);
	affine_warp_u8(in, out, N, N, 1, &wp);
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < N; c++)
			assert_int_equal(out[(N - 3 + r) * N + c], want_bottom[r]);
}

static void
test_fill_modes(void **state)
{
	static const int kt[3] = { 7, 7, 7 }, kb[3] = { 7, 7, 7 };
	static const int nt[3] = { 10, 10, 10 }, nb[3] = { 10 * N, 10 * N, 10 * N };
	static const int rt[3] = { 30, 20, 10 }, rb[3] = { 10 * N, 10 * (N - 1), 10 * (N - 2) };
	static const int wt[3] = { 10 * (N - 2), 10 * (N - 1), 10 * N }, wb[3] = { 10, 20, 30 };

	for (int interp = 0; interp < 2; interp++) {
		check_fill(AFFINE_FILL_CONSTANT, interp, kt, kb);
		check_fill(AFFINE_FILL_NEAREST, interp, nt, nb);
		check_fill(AFFINE_FILL_REFLECT, interp, rt, rb);
		check_fill(AFFINE_FILL_WRAP, interp, wt, wb);
	}
}

/* Half-pixel shift with bilinear: each output is the mean of two rows,
 * rounded half away from zero. */
static void
test_bilinear_rounding(void **state)
{
	uint8_t in[4 * 2] = { 0, 0, 1, 1, 4, 4, 250, 250 }, out[4 * 2];
	double m[9];

	memcpy(m, ident, sizeof m);
	m[2] = 0.5;
	struct affine_warp wp = warp_of(m, AFFINE_INTERP_BILINEAR, AFFINE_FILL_NEAREST, 0);
	affine_warp_u8(in, out, 4, 2, 1, &wp);
	assert_int_equal(out[0], 1);    /* 0.5 -> 1 */
	assert_int_equal(out[2], 3);    /* 2.5 -> 3 */
	assert_int_equal(out[4], 127);  /* 127 */
	assert_int_equal(out[6], 250);  /* edge replicated */
}

/* Keras: M = R.T.Sh.Z written out by hand, then offset about h/2 + 0.5. */
static void
test_keras_composition(void **state)
{
	struct affine_params p = { .theta = 0.3, .tx = 12.5, .ty = -7.25, .shear = 0.2,
	                           .zx = 0.85, .zy = 1.1 };
	double m[9], ct = cos(p.theta), st = sin(p.theta), ss = sin(p.shear), cs = cos(p.shear);
	double want[6] = {
		ct * p.zx, (-ct * ss - st * cs) * p.zy, ct * p.tx - st * p.ty,
		st * p.zx, (-st * ss + ct * cs) * p.zy, st * p.tx + ct * p.ty,
	};
	const double ox = 299 / 2.0 + 0.5, oy = 200 / 2.0 + 0.5;

	affine_keras(&p, m);
	for (int i = 0; i < 6; i++)
		assert_true(fabs(m[i] - want[i]) < 1e-12);
	assert_true(m[6] == 0 && m[7] == 0 && m[8] == 1);
	affine_matrix(&p, 299, 200, m);
	assert_true(ox == 150.0);
	for (int i = 0; i < 2; i++) {
		const double *a = want + 3 * i, o = i ? oy : ox;
		assert_true(fabs(m[3 * i] - a[0]) < 1e-12 && fabs(m[3 * i + 1] - a[1]) < 1e-12);
		assert_true(fabs(m[3 * i + 2] - (a[2] + o - a[0] * ox - a[1] * oy)) < 1e-9);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov statistic of v[0..n) against U(lo, hi). */
static double
ks_uniform(double *v, int n, double lo, double hi)
{
	double d = 0;

	qsort(v, (size_t)n, sizeof *v, cmp_double);
	for (int i = 0; i < n; i++) {
		double f = (v[i] - lo) / (hi - lo);
		d = fmax(d, fmax(fabs(f - (double)i / n), fabs((double)(i + 1) / n - f)));
	}
	return d;
}

static void
test_draw_distribution(void **state)
{
	enum { DRAWS = 20000 };
	struct affine_ranges rg = { .rotate = 20, .hshift = 0.2, .wshift = 30, .wshift_px = 1,
	                            .shear = 0.2, .zoom_lo = 0.8, .zoom_hi = 1.2, .hflip = 1 };
	static double v[6][DRAWS];
	double lo[6] = { -20, -0.2 * 299, -30, -0.2, 0.8, 0.8 };
	double hi[6] = { 20, 0.2 * 299, 30, 0.2, 1.2, 1.2 };
	double bound = 1.95 / sqrt(DRAWS);  /* KS critical value, alpha = 0.001 */
	double sxy = 0;
	int flips = 0;

	for (int i = 0; i < DRAWS; i++) {
		struct affine_params p;
		struct rng r;
		rng_init(&r, 42, 3, rng_hash((const char *)&i, sizeof i));
		affine_draw(&rg, &r, 299, 240, &p);
		double x[6] = { p.theta * 180 / M_PI, p.tx, p.ty, p.shear, p.zx, p.zy };
		for (int k = 0; k < 6; k++) {
			assert_true(x[k] >= lo[k] && x[k] < hi[k]);
			v[k][i] = x[k];
		}
		sxy += (p.zx - 1) * (p.zy - 1);
		flips += p.hflip;
		assert_false(p.vflip);
	}
	/* zx and zy independent: correlation near 0 (sd of r is 1/sqrt(n)) */
	assert_true(fabs(sxy / DRAWS / (0.04 / 3)) < 4 / sqrt(DRAWS));
	assert_true(abs(flips - DRAWS / 2) < 4 * sqrt(DRAWS / 4.0));
	for (int k = 0; k < 6; k++)
		assert_true(ks_uniform(v[k], DRAWS, lo[k], hi[k]) < bound);
}

static void
test_determinism(void **state)
{
	struct affine_ranges rg = { .rotate = 20, .hshift = 0.2, .wshift = 0.2, .shear = 0.2,
	                            .zoom_lo = 0.8, .zoom_hi = 1.2, .hflip = 1, .vflip = 1 };
	struct affine_params a, b, c;
	struct rng r;

	rng_init(&r, 7, 1, rng_hash("a/1.png", 7));
	affine_draw(&rg, &r, 64, 64, &a);
	rng_init(&r, 7, 1, rng_hash("a/1.png", 7));
	affine_draw(&rg, &r, 64, 64, &b);
	assert_memory_equal(&a, &b, sizeof a);
	rng_init(&r, 7, 2, rng_hash("a/1.png", 7));
	affine_draw(&rg, &r, 64, 64, &c);
	assert_true(a.theta != c.theta);

	enum { H = 64, W = 48 };
	static uint8_t src[H * W * 3], d1[H * W * 3], d2[H * W * 3];
	double m[9];
	fill_random(src, sizeof src, 3);
	affine_matrix(&a, H, W, m);
	struct affine_warp wp = warp_of(m, AFFINE_INTERP_BILINEAR, AFFINE_FILL_REFLECT, 0);
	affine_warp_u8(src, d1, H, W, 3, &wp);
	affine_warp_u8(src, d2, H, W, 3, &wp);
	assert_memory_equal(d1, d2, sizeof d1);
}

/* The row split into border and interior never changes a result: compare
 * 3-channel u8 (specialised loop) with each channel warped alone (generic
 * loop), for random transforms that put much of the image outside. */
static void
test_interior_matches_border(void **state)
{
	enum { H = 41, W = 53 };
	static uint8_t src[H * W * 3], d3[H * W * 3], plane[H * W], d1[H * W];
	struct affine_ranges rg = { .rotate = 180, .hshift = 0.5, .wshift = 0.5, .shear = 0.5,
	                            .zoom_lo = 0.3, .zoom_hi = 3, .hflip = 1, .vflip = 1 };

	fill_random(src, sizeof src, 4);
	for (int t = 0; t < 40; t++) {
		struct affine_params p;
		struct rng r;
		double m[9], mf[9];
		rng_init(&r, 9, 0, (uint64_t)t);
		affine_draw(&rg, &r, H, W, &p);
		affine_matrix(&p, H, W, m);
		affine_flip(m, p.hflip, p.vflip, H, W, mf);
		struct affine_warp wp = warp_of(mf, t % 2, t / 2 % 4, 33);
		affine_warp_u8(src, d3, H, W, 3, &wp);
		for (int k = 0; k < 3; k++) {
			for (int i = 0; i < H * W; i++)
				plane[i] = src[3 * i + k];
			affine_warp_u8(plane, d1, H, W, 1, &wp);
			for (int i = 0; i < H * W; i++)
				assert_int_equal(d1[i], d3[3 * i + k]);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_exact),
		cmocka_unit_test(test_rotate_point),
		cmocka_unit_test(test_shift_point),
		cmocka_unit_test(test_zoom_point),
		cmocka_unit_test(test_shear_line),
		cmocka_unit_test(test_flips_exact),
		cmocka_unit_test(test_fill_modes),
		cmocka_unit_test(test_bilinear_rounding),
		cmocka_unit_test(test_keras_composition),
		cmocka_unit_test(test_draw_distribution),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_interior_matches_border),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
