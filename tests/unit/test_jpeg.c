/* test_jpeg.c — libshared/jpeg.c on JPEGs written here with libjpeg:
 * gray and RGB (decoded within a small error of the pixels written, since
 * JPEG is lossy at quality 100 too), progressive (decodes to exactly the
 * baseline file's pixels: the same coefficients), every EXIF orientation
 * in both byte orders (the decoded image equals the plain decode moved as
 * EXIF says: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
 * clockwise, 7 transverse, 8 rotate 90 counter-clockwise), hostile EXIF
 * blocks, CMYK refused, corrupt and truncated files failing with a
 * message.  (12-bit files cannot be written by an 8-bit libjpeg; the
 * refusal is in jpeg.c's check_header.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#include "jpeg.h"

#define W 21
#define H 13

/* A JPEG of W x H with c components (1 gray, 3 RGB, 4 CMYK); exif: an APP1
 * payload to write (or NULL).  Caller frees *outP. */
static void
mkjpeg(int c, int progressive, const uint8_t *exif, size_t exiflen, uint8_t **outP,
    unsigned long *lenP, uint8_t *pixels)
{
	struct jpeg_compress_struct j;
	struct jpeg_error_mgr e;

	for (int i = 0; i < W * H * c; i++)
		pixels[i] = (uint8_t)(((i / c) % W) * 5 + ((i / c) / W) * 6 + (i % c) * 30);
	j.err = jpeg_std_error(&e);
	jpeg_create_compress(&j);
	*outP = NULL;
	*lenP = 0;
	jpeg_mem_dest(&j, outP, lenP);
	j.image_width = W;
	j.image_height = H;
	j.input_components = c;
	j.in_color_space = c == 1 ? JCS_GRAYSCALE : c == 3 ? JCS_RGB : JCS_CMYK;
	jpeg_set_defaults(&j);
	jpeg_set_quality(&j, 100, TRUE);
	j.comp_info[0].h_samp_factor = j.comp_info[0].v_samp_factor = 1;     /* no chroma subsampling */
	if (progressive)
		jpeg_simple_progression(&j);
	jpeg_start_compress(&j, TRUE);
	if (exif)
		jpeg_write_marker(&j, JPEG_APP0 + 1, exif, (unsigned)exiflen);
	while (j.next_scanline < H) {
		JSAMPROW row = pixels + (size_t)j.next_scanline * W * c;
		jpeg_write_scanlines(&j, &row, 1);
	}
	jpeg_finish_compress(&j);
	jpeg_destroy_compress(&j);
}

static void
decode_ok(const uint8_t *buf, size_t len, struct tensor *t, struct jpeg_image_info *ji)
{
	char err[256];

	if (jpeg_decode_image(buf, len, t, ji, err, sizeof err) < 0)
		fail_msg("decode: %s", err);
}

static void
test_gray_rgb(void **state)
{
	for (int c = 1; c <= 3; c += 2) {
		uint8_t px[W * H * 3], *j;
		unsigned long n;
		struct tensor t;
		struct jpeg_image_info ji;
		int maxd = 0;

		mkjpeg(c, 0, NULL, 0, &j, &n, px);
		assert_true(jpeg_is_jpeg(j, n));
		decode_ok(j, n, &t, &ji);
		assert_int_equal(t.shape[0], H);
		assert_int_equal(t.shape[1], W);
		assert_int_equal(t.shape[2], c);
		assert_int_equal(ji.channels, c);
		assert_int_equal(ji.progressive, 0);
		assert_int_equal(ji.orientation, 1);
		for (int i = 0; i < W * H * c; i++) {
			int d = abs(((uint8_t *)t.data)[i] - px[i]);
			maxd = d > maxd ? d : maxd;
		}
		assert_true(maxd <= 4);
		tensor_free(&t);
		free(j);
	}
}

static void
test_progressive(void **state)
{
	uint8_t px[W * H * 3], *a, *b;
	unsigned long na, nb;
	struct tensor ta, tb;
	struct jpeg_image_info ja, jb;

	mkjpeg(3, 0, NULL, 0, &a, &na, px);
	mkjpeg(3, 1, NULL, 0, &b, &nb, px);
	decode_ok(a, na, &ta, &ja);
	decode_ok(b, nb, &tb, &jb);
	assert_int_equal(jb.progressive, 1);
	assert_memory_equal(ta.data, tb.data, ta.nbytes);
	tensor_free(&ta);
	tensor_free(&tb);
	free(a);
	free(b);
}

/* An APP1 payload: "Exif\0\0", TIFF header, IFD0 with one entry
 * (Orientation, SHORT, 1, v) after a dummy entry. */
static size_t
exif_block(uint8_t *p, int le, unsigned v)
{
	static const uint8_t ii[] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,
	    0x0f, 0x01, 2, 0, 4, 0, 0, 0, 'A', 'B', 'C', 0,
	    0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t mm[] = { 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 2,
	    0x01, 0x0f, 0, 2, 0, 0, 0, 4, 'A', 'B', 'C', 0,
	    0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0 };

	memcpy(p, "Exif\0\0", 6);
	memcpy(p + 6, le ? ii : mm, sizeof ii);
	if (le)
		p[6 + 30] = (uint8_t)v;
	else
		p[6 + 31] = (uint8_t)v;
	return 6 + sizeof ii;
}

/* Where pixel (r, c) of the stored image lands for orientation o. */
static void
dest(int o, int r, int c, int *rP, int *cP)
{
	switch (o) {
	case 1: *rP = r; *cP = c; break;
	case 2: *rP = r; *cP = W - 1 - c; break;
	case 3: *rP = H - 1 - r; *cP = W - 1 - c; break;
	case 4: *rP = H - 1 - r; *cP = c; break;
	case 5: *rP = c; *cP = r; break;
	case 6: *rP = c; *cP = H - 1 - r; break;
	case 7: *rP = W - 1 - c; *cP = H - 1 - r; break;
	default: *rP = W - 1 - c; *cP = r; break;
	}
}

static void
test_exif_orientations(void **state)
{
	uint8_t px[W * H * 3], *plain, *j, exif[64];
	unsigned long np, n;
	struct tensor t0, t;
	struct jpeg_image_info ji;

	mkjpeg(3, 0, NULL, 0, &plain, &np, px);
	decode_ok(plain, np, &t0, &ji);
	for (int le = 0; le <= 1; le++) {
		for (int o = 1; o <= 8; o++) {
			size_t el = exif_block(exif, le, (unsigned)o);
			assert_int_equal(jpeg_exif_orientation(exif, el), o);
			mkjpeg(3, 0, exif, el, &j, &n, px);
			decode_ok(j, n, &t, &ji);
			assert_int_equal(ji.orientation, o);
			assert_int_equal(t.shape[0], o >= 5 ? W : H);
			assert_int_equal(t.shape[1], o >= 5 ? H : W);
			for (int r = 0; r < H; r++)
				for (int c = 0; c < W; c++) {
					int dr, dc;
					dest(o, r, c, &dr, &dc);
					assert_memory_equal((uint8_t *)t.data + (dr * t.shape[1] + dc) * 3,
					    (uint8_t *)t0.data + (r * W + c) * 3, 3);
				}
			tensor_free(&t);
			free(j);
		}
	}
	tensor_free(&t0);
	free(plain);
}

/* Hostile EXIF: every truncation, bad offsets, bad type/count/value. */
static void
test_exif_hostile(void **state)
{
	uint8_t e[64], x[64];
	size_t n = exif_block(e, 1, 6);

	for (size_t k = 0; k < n; k++)
		assert_int_equal(jpeg_exif_orientation(e, k), k >= 6 + 22 + 12 ? 6 : 1);
	memcpy(x, e, n); x[6 + 4] = 0xf0;                      /* IFD offset out of range */
	assert_int_equal(jpeg_exif_orientation(x, n), 1);
	memcpy(x, e, n); x[6 + 4] = 0xff; x[6 + 7] = 0xff;    /* huge offset */
	assert_int_equal(jpeg_exif_orientation(x, n), 1);
	memcpy(x, e, n); x[6 + 8] = 0xff; x[6 + 9] = 0xff;    /* 65535 entries, */
	x[6 + 22] = 0x13;                                      /* none of them 0x0112 */
	assert_int_equal(jpeg_exif_orientation(x, n), 1);
	memcpy(x, e, n); x[6 + 24] = 4;                        /* LONG, not SHORT */
	assert_int_equal(jpeg_exif_orientation(x, n), 1);
	memcpy(x, e, n); x[6 + 30] = 9;                        /* no such orientation */
	assert_int_equal(jpeg_exif_orientation(x, n), 1);
	memcpy(x, e, n); x[6] = 'X';                           /* not a TIFF header */
	assert_int_equal(jpeg_exif_orientation(x, n), 1);
}

static void
expect_fail(const uint8_t *buf, size_t len, const char *what)
{
	struct tensor t;
	struct jpeg_image_info ji;
	char err[256] = "";

	if (jpeg_decode_image(buf, len, &t, &ji, err, sizeof err) == 0) {
		tensor_free(&t);
		fail_msg("a broken JPEG (%zu bytes) was accepted", len);
	}
	if (strstr(err, what) == NULL)
		fail_msg("message '%s' does not mention '%s'", err, what);
}

static void
test_corrupt_and_unsupported(void **state)
{
	uint8_t px[W * H * 4], *j;
	unsigned long n;

	mkjpeg(4, 0, NULL, 0, &j, &n, px);
	expect_fail(j, n, "CMYK");
	free(j);
	mkjpeg(3, 1, NULL, 0, &j, &n, px);
	for (unsigned long k = 0; k + 2 < n; k += 7)            /* no EOI: truncated */
		expect_fail(j, k, "JPEG");
	memset(j + n / 2, 0xff, 16);                           /* markers in the data */
	expect_fail(j, n, "corrupt JPEG");
	free(j);
	expect_fail((const uint8_t *)"\xff\xd8\xff", 3, "corrupt JPEG");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gray_rgb),
		cmocka_unit_test(test_progressive),
		cmocka_unit_test(test_exif_orientations),
		cmocka_unit_test(test_exif_hostile),
		cmocka_unit_test(test_corrupt_and_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
