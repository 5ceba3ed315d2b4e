/* test_resize.c — libshared/resize.c against Pillow.
 *
 * The expected values below were produced with Pillow 13.0's
 * Image.resize (NEAREST on mode "I" images holding 0..in-1, BILINEAR and
 * BOX on mode "L"), and the small ones are also worked out by hand in the
 * comments.  Pillow's NEAREST picks src = floor((x + 0.5) * in / out) with
 * the position accumulated in double (xo = scale/2; xo += scale), which is
 * not the exact rational value at ties: 2 -> 7 gives 0 at x = 3, where
 * (3.5 * 2 / 7) is exactly 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resize.h"

/* Pillow's rule, accumulated as Pillow does (the specification). */
static int
pillow_nearest(int in, int out, int x)
{
	double scale = (double)in / out, xo = scale * 0.5;

	for (int i = 0; i < x; i++)
		xo += scale;
	return (int)xo < in ? (int)xo : in - 1;
}

/* A u16 image whose pixel (y, x) is (x, y): resizing it shows which source
 * row and column each output pixel came from. */
static void
coord_image(struct tensor *t, int h, int w)
{
	tensor_alloc_hwc(t, DT_U16, h, w, 2);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			((uint16_t *)t->data)[(y * w + x) * 2] = (uint16_t)x;
			((uint16_t *)t->data)[(y * w + x) * 2 + 1] = (uint16_t)y;
		}
}

/* Source columns of one resize (the first row of out). */
static void
columns(const struct tensor *o, int *cols)
{
	for (int x = 0; x < o->shape[1]; x++)
		cols[x] = ((uint16_t *)o->data)[2 * x];
}

/* Full index tables from Pillow, including the tie cases 2->7 and 6->15. */
static void
test_nearest_pillow_tables(void **state)
{
	static const struct { int in, out; int tab[16]; } cases[] = {
		{ 7, 3, { 1, 3, 5 } },
		{ 3, 7, { 0, 0, 1, 1, 1, 2, 2 } },
		{ 13, 5, { 1, 3, 6, 9, 11 } },
		{ 5, 13, { 0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4 } },
		{ 10, 4, { 1, 3, 6, 8 } },
		{ 9, 6, { 0, 2, 3, 5, 6, 8 } },
		{ 2, 7, { 0, 0, 0, 0, 1, 1, 1 } },
		{ 6, 15, { 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 5 } },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct tensor s, o;
		int cols[16];
		/* columns: in x 3 -> out x 3; rows: the transposed case */
		coord_image(&s, 3, cases[k].in);
		assert_int_equal(resize_image(&s, 3, cases[k].out, INTERP_NEAREST, &o, NULL, 0), 0);
		columns(&o, cols);
		for (int x = 0; x < cases[k].out; x++)
			if (cols[x] != cases[k].tab[x])
				fail_msg("%d->%d: column %d from %d, Pillow %d", cases[k].in, cases[k].out,
				    x, cols[x], cases[k].tab[x]);
		tensor_free(&s);
		tensor_free(&o);
		coord_image(&s, cases[k].in, 2);
		assert_int_equal(resize_image(&s, cases[k].out, 2, INTERP_NEAREST, &o, NULL, 0), 0);
		for (int y = 0; y < cases[k].out; y++)
			assert_int_equal(((uint16_t *)o.data)[y * 4 + 1], cases[k].tab[y]);
		tensor_free(&s);
		tensor_free(&o);
	}
}

/* The sizes of the real data set to 299: checksums of Pillow's tables
 * (sum of t[x] and of (x+1)*t[x]). */
static void
test_nearest_pillow_sums(void **state)
{
	static const struct { int in, out; long sum, wsum; } cases[] = {
		{ 503, 299, 75049, 15004850 }, { 370, 299, 55165, 11031297 },
		{ 1024, 299, 152938, 30569577 }, { 299, 503, 74947, 25190744 },
		{ 339, 299, 50531, 10105420 }, { 189, 299, 28106, 5623900 },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct tensor s, o;
		int *cols = malloc(sizeof(int) * (size_t)cases[k].out);
		long sum = 0, wsum = 0;

		coord_image(&s, 1, cases[k].in);
		assert_int_equal(resize_image(&s, 1, cases[k].out, INTERP_NEAREST, &o, NULL, 0), 0);
		columns(&o, cols);
		for (int x = 0; x < cases[k].out; x++) {
			sum += cols[x];
			wsum += (long)(x + 1) * cols[x];
			assert_int_equal(cols[x], pillow_nearest(cases[k].in, cases[k].out, x));
		}
		assert_int_equal(sum, cases[k].sum);
		assert_int_equal(wsum, cases[k].wsum);
		free(cols);
		tensor_free(&s);
		tensor_free(&o);
	}
}

/* Every pair of sizes 1..40 in both axes, u8 with 3 channels (the fast
 * path) and u8 with 1 channel, follows Pillow's rule. */
static void
test_nearest_all_small(void **state)
{
	for (int ih = 1; ih <= 40; ih += 3)
		for (int iw = 1; iw <= 40; iw++)
			for (int ow = 1; ow <= 40; ow += (iw % 3) + 1) {
				int oh = (ow * 7 + ih) % 40 + 1;
				for (int c = 1; c <= 3; c += 2) {
					struct tensor s, o;
					tensor_alloc_hwc(&s, DT_U8, ih, iw, c);
					for (int y = 0; y < ih; y++)
						for (int x = 0; x < iw; x++)
							for (int k = 0; k < c; k++)
								((uint8_t *)s.data)[(y * iw + x) * c + k] =
								    (uint8_t)(k == 0 ? x : k == 1 ? y : x + y);
					assert_int_equal(resize_image(&s, oh, ow, INTERP_NEAREST, &o, NULL, 0), 0);
					for (int y = 0; y < oh; y++)
						for (int x = 0; x < ow; x++) {
							int sy = pillow_nearest(ih, oh, y), sx = pillow_nearest(iw, ow, x);
							const uint8_t *p = (uint8_t *)o.data + (y * ow + x) * c;
							if (p[0] != sx || (c == 3 && (p[1] != sy || p[2] != sx + sy)))
								fail_msg("%dx%d -> %dx%d c%d at (%d,%d)", ih, iw, oh, ow, c, y, x);
						}
					tensor_free(&s);
					tensor_free(&o);
				}
			}
}

/* The same size is an exact copy (new memory) for every method and dtype. */
static void
test_identity_copy(void **state)
{
	static const enum dtype dts[3] = { DT_U8, DT_U16, DT_F32 };

	for (int d = 0; d < 3; d++)
		for (int how = INTERP_NEAREST; how <= INTERP_AREA; how++) {
			struct tensor s, o;
			tensor_alloc_hwc(&s, dts[d], 5, 7, 3);
			for (size_t i = 0; i < s.nbytes; i++)
				((uint8_t *)s.data)[i] = (uint8_t)(i * 37 + 11);
			assert_int_equal(resize_image(&s, 5, 7, how, &o, NULL, 0), 0);
			assert_int_equal(o.dtype, dts[d]);
			assert_int_equal(o.nbytes, s.nbytes);
			assert_ptr_not_equal(o.data, s.data);
			assert_memory_equal(o.data, s.data, s.nbytes);
			tensor_free(&s);
			tensor_free(&o);
		}
}

/* Resizes an ih x iw x c image of dt (u8, u16 or f32) with every sample v
 * to oh x ow with how: every output sample must be v (f32: within 1e-6). */
static void
expect_constant(enum dtype dt, int c, double v, const int size[4], int how)
{
	struct tensor s, o;

	tensor_alloc_hwc(&s, dt, size[0], size[1], c);
	for (size_t i = 0; i < tensor_count(&s); i++)
		if (dt == DT_U8)
			((uint8_t *)s.data)[i] = (uint8_t)v;
		else if (dt == DT_U16)
			((uint16_t *)s.data)[i] = (uint16_t)v;
		else
			((float *)s.data)[i] = (float)v;
	assert_int_equal(resize_image(&s, size[2], size[3], how, &o, NULL, 0), 0);
	for (size_t i = 0; i < tensor_count(&o); i++)
		if (dt == DT_U8)
			assert_int_equal(((uint8_t *)o.data)[i], v);
		else if (dt == DT_U16)
			assert_int_equal(((uint16_t *)o.data)[i], v);
		else
			assert_true(fabsf(((float *)o.data)[i] - (float)v) < 1e-6f);
	tensor_free(&s);
	tensor_free(&o);
}

/* A constant image stays constant, up and down, odd sizes, every dtype. */
static void
test_constant_stays_constant(void **state)
{
	static const int sizes[][4] = { { 7, 5, 3, 11 }, { 9, 13, 4, 2 }, { 3, 3, 17, 29 }, { 299, 1, 5, 5 } };

	for (int how = INTERP_BILINEAR; how <= INTERP_AREA; how++)
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			expect_constant(DT_U8, 3, 137, sizes[k], how);
			expect_constant(DT_U16, 1, 40000, sizes[k], how);
			expect_constant(DT_F32, 2, 0.3, sizes[k], how);
		}
}

/* Halving img[y][x] = a[x] + b[y], a = 0 70 140 210, b = 0 10 20 30.
 * area: the mean of each 2x2 block: a -> 35 175, b -> 5 25.
 * bilinear (Pillow's triangle, support 2 when shrinking by 2): output 0
 * takes sources 0,1,2 with weights 3/4,3/4,1/4 (sum 7/4), output 1 takes
 * 1,2,3 with 1/4,3/4,3/4: a -> 50 160, b -> 12.5/1.75 = 7.14, 40/1.75 =
 * 22.86; the filters are separable and normalised, so the sums round to
 * 57 167 / 73 183.  Pillow gives the same numbers. */
static void
test_halve_known_pattern(void **state)
{
	static const int a[4] = { 0, 70, 140, 210 }, b[4] = { 0, 10, 20, 30 };
	static const uint8_t want_area[4] = { 40, 180, 60, 200 };
	static const uint8_t want_bil[4] = { 57, 167, 73, 183 };
	struct tensor s, o;

	tensor_alloc_hwc(&s, DT_U8, 4, 4, 1);
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 4; x++)
			((uint8_t *)s.data)[y * 4 + x] = (uint8_t)(a[x] + b[y]);
	assert_int_equal(resize_image(&s, 2, 2, INTERP_AREA, &o, NULL, 0), 0);
	assert_memory_equal(o.data, want_area, 4);
	tensor_free(&o);
	assert_int_equal(resize_image(&s, 2, 2, INTERP_BILINEAR, &o, NULL, 0), 0);
	assert_memory_equal(o.data, want_bil, 4);
	tensor_free(&o);
	tensor_free(&s);
}

/* 3 -> 2 and upscaling of [0 30 90] / [0 100 200]: Pillow's values for
 * bilinear; for area, the overlap-weighted means computed by hand (output 0
 * of 3 -> 2 covers [0, 1.5): (0 + 0.5*30) / 1.5 = 10; output 2 of 3 -> 7
 * covers [6/7, 9/7): (0*1/7 + 100*2/7) / (3/7) = 66.7 -> 67). */
static void
test_odd_ratios(void **state)
{
	static const struct { int how, in, out; uint8_t src[3], want[7]; } cases[] = {
		{ INTERP_AREA, 3, 2, { 0, 30, 90 }, { 10, 70 } },
		{ INTERP_BILINEAR, 3, 2, { 0, 30, 90 }, { 11, 68 } },
		{ INTERP_BILINEAR, 3, 5, { 0, 100, 200 }, { 0, 40, 100, 160, 200 } },
		{ INTERP_AREA, 3, 7, { 0, 100, 200 }, { 0, 0, 67, 100, 133, 200, 200 } },
	};

	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct tensor s, o;
		tensor_alloc_hwc(&s, DT_U8, 1, cases[k].in, 1);
		memcpy(s.data, cases[k].src, (size_t)cases[k].in);
		assert_int_equal(resize_image(&s, 1, cases[k].out, cases[k].how, &o, NULL, 0), 0);
		assert_memory_equal(o.data, cases[k].want, (size_t)cases[k].out);
		tensor_free(&s);
		tensor_free(&o);
	}
}

/* u8 results are clamped and rounded, never wrapped: a 0/255 step. */
static void
test_no_wraparound(void **state)
{
	struct tensor s, o;

	tensor_alloc_hwc(&s, DT_U8, 1, 8, 1);
	for (int x = 0; x < 8; x++)
		((uint8_t *)s.data)[x] = x < 4 ? 0 : 255;
	for (int how = INTERP_BILINEAR; how <= INTERP_AREA; how++) {
		assert_int_equal(resize_image(&s, 1, 13, how, &o, NULL, 0), 0);
		for (int x = 1; x < 13; x++)
			assert_true(((uint8_t *)o.data)[x] >= ((uint8_t *)o.data)[x - 1]);
		assert_int_equal(((uint8_t *)o.data)[0], 0);
		assert_int_equal(((uint8_t *)o.data)[12], 255);
		tensor_free(&o);
	}
	tensor_free(&s);
}

/* interp_parse knows the three names. */
static void
test_interp_parse(void **state)
{
	assert_int_equal(interp_parse("nearest"), INTERP_NEAREST);
	assert_int_equal(interp_parse("bilinear"), INTERP_BILINEAR);
	assert_int_equal(interp_parse("area"), INTERP_AREA);
	assert_int_equal(interp_parse("bicubic"), -1);
	assert_int_equal(interp_parse(""), -1);
}

/* A rank-2 source or a size below 1 is an error returned to the caller
 * (library code does not exit; err.h), with the message it used to die with. */
static void
test_bad_request_returns(void **state)
{
	struct tensor s, o;
	char err[128] = "";

	(void)state;
	tensor_alloc_hwc(&s, DT_U8, 2, 2, 1);
	s.rank = 2;
	assert_int_equal(resize_image(&s, 3, 3, INTERP_NEAREST, &o, err, sizeof err), -1);
	assert_string_equal(err, "resize: need an HWC image and a positive size");
	s.rank = 3;
	err[0] = '\0';
	assert_int_equal(resize_image(&s, 0, 3, INTERP_BILINEAR, &o, err, sizeof err), -1);
	assert_string_equal(err, "resize: need an HWC image and a positive size");
	tensor_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nearest_pillow_tables),
		cmocka_unit_test(test_nearest_pillow_sums),
		cmocka_unit_test(test_nearest_all_small),
		cmocka_unit_test(test_identity_copy),
		cmocka_unit_test(test_constant_stays_constant),
		cmocka_unit_test(test_halve_known_pattern),
		cmocka_unit_test(test_odd_ratios),
		cmocka_unit_test(test_no_wraparound),
		cmocka_unit_test(test_interp_parse),
		cmocka_unit_test(test_bad_request_returns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
