/* test_png.c — libshared/png.c on a matrix of PNGs written here with
 * libpng: every colour type and bit depth, tRNS, Adam7 interlacing; the
 * decoded samples are checked exactly against what was written.  Then
 * png_encode round trips, and broken files (bad CRC, every truncation
 * point, empty, not a PNG, too large) give -1 and a message.
 *
 * Expected values: gray of 1/2/4 bits is scaled to 8 bits by bit
 * replication (v * 255 / (2^d - 1): 1 -> x255, 2 -> x85, 4 -> x17);
 * palettes expand to RGB, or RGBA when there is a tRNS chunk; tRNS on gray
 * or RGB adds an alpha channel that is 0 where the pixel equals the tRNS
 * colour and full (255, or 65535 for u16) elsewhere; 16-bit samples are
 * kept as u16 with keep16, else scaled to u8 as round(v * 255 / 65535),
 * i.e. (v * 255 + 32767) / 65535 in integers — checked on all 65536
 * values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpng16/png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png.h"   /* libshared/png.h: radpipe's */

#define W 13
#define H 11

struct out {
	uint8_t *p;
	size_t len, cap;
};

static void
out_write(png_structp png, png_bytep src, png_size_t n)
{
	struct out *o = png_get_io_ptr(png);

	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = realloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, src, n);
	o->len += n;
}

static void
out_flush(png_structp png)
{
	(void)png;
}

/* The case being written: colour type, depth, interlace, tRNS. */
struct pcase {
	int ctype, depth, interlace, trns;
};

static int
file_channels(int ctype)
{
	switch (ctype) {
	case PNG_COLOR_TYPE_GRAY: return 1;
	case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
	case PNG_COLOR_TYPE_RGB: return 3;
	case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
	default: return 1;              /* palette index */
	}
}

/* Sample k of pixel (y, x) as stored in the file (an index for palettes). */
static unsigned
sample(const struct pcase *c, int y, int x, int k)
{
	unsigned max = (1u << c->depth) - 1;
	uint32_t h = (uint32_t)(y * W + x) * 2654435761u + (uint32_t)k * 40503u;

	if (c->ctype == PNG_COLOR_TYPE_PALETTE)
		return (unsigned)(y * W + x) % (max + 1 < 20 ? max + 1 : 20);
	if (c->depth < 8)
		return (unsigned)(y + x + k) % (max + 1);
	return (h >> 11) & max;
}

static png_color palette[256];
static png_byte palette_alpha[256];

/* The tRNS colour: the value of pixel (1, 2), so it occurs. */
static png_color_16
trns_color(const struct pcase *c)
{
	png_color_16 t = { 0 };

	t.gray = (png_uint_16)sample(c, 1, 2, 0);
	t.red = (png_uint_16)sample(c, 1, 2, 0);
	t.green = (png_uint_16)sample(c, 1, 2, 1);
	t.blue = (png_uint_16)sample(c, 1, 2, 2);
	return t;
}

/* Writes the case as a PNG with libpng; returns the malloc'd file. */
static uint8_t *
write_case(const struct pcase *c, size_t *lenP)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop pi = png_create_info_struct(png);
	struct out o = { 0 };
	int fc = file_channels(c->ctype);
	size_t rowbytes = ((size_t)W * fc * c->depth + 7) / 8;
	png_bytep *rows = calloc(H, sizeof *rows);

	assert_non_null(pi);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng writer failed");
	png_set_write_fn(png, &o, out_write, out_flush);
	png_set_IHDR(png, pi, W, H, c->depth, c->ctype,
	    c->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (c->ctype == PNG_COLOR_TYPE_PALETTE) {
		int n = 1 << c->depth < 20 ? 1 << c->depth : 20;
		for (int i = 0; i < 256; i++) {
			palette[i] = (png_color){ (png_byte)(i * 7), (png_byte)(255 - i * 3), (png_byte)(i * 11 + 5) };
			palette_alpha[i] = (png_byte)(i * 40 + 3);
		}
		png_set_PLTE(png, pi, palette, n);
		if (c->trns)
			png_set_tRNS(png, pi, palette_alpha, n > 3 ? 3 : n, NULL);
	} else if (c->trns) {
		png_color_16 t = trns_color(c);
		png_set_tRNS(png, pi, NULL, 0, &t);
	}
	png_write_info(png, pi);
	for (int y = 0; y < H; y++) {
		rows[y] = calloc(1, rowbytes);
		for (int x = 0; x < W; x++)
			for (int k = 0; k < fc; k++) {
				unsigned v = sample(c, y, x, k);
				size_t bit = ((size_t)x * fc + k) * c->depth;
				if (c->depth == 16) {
					rows[y][bit / 8] = (png_byte)(v >> 8);
					rows[y][bit / 8 + 1] = (png_byte)v;
				} else {
					rows[y][bit / 8] |= (png_byte)(v << (8 - c->depth - bit % 8));
				}
			}
	}
	png_write_image(png, rows);        /* does the Adam7 passes itself */
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &pi);
	for (int y = 0; y < H; y++)
		free(rows[y]);
	free(rows);
	*lenP = o.len;
	return o.p;
}

/* What png_decode must give for channel k of pixel (y, x). */
static unsigned
expected(const struct pcase *c, int keep16, int y, int x, int k, int *channelsP)
{
	int fc = file_channels(c->ctype);
	int alpha_added = c->trns && (c->ctype == PNG_COLOR_TYPE_GRAY || c->ctype == PNG_COLOR_TYPE_RGB ||
	    c->ctype == PNG_COLOR_TYPE_PALETTE);
	int wide = c->depth == 16 && keep16;
	unsigned full = wide ? 65535 : 255;
	unsigned v;

	if (c->ctype == PNG_COLOR_TYPE_PALETTE) {
		unsigned i = sample(c, y, x, 0);
		int na = 1 << c->depth < 20 ? 1 << c->depth : 20;
		*channelsP = c->trns ? 4 : 3;
		(void)na;
		if (k == 3)
			return i < 3 && (int)i < na ? palette_alpha[i] : 255;
		return k == 0 ? palette[i].red : k == 1 ? palette[i].green : palette[i].blue;
	}
	*channelsP = fc + alpha_added;
	if (k == fc) {          /* the alpha channel tRNS added */
		png_color_16 t = trns_color(c);
		int eq = c->ctype == PNG_COLOR_TYPE_GRAY ? sample(c, y, x, 0) == t.gray :
		    sample(c, y, x, 0) == t.red && sample(c, y, x, 1) == t.green && sample(c, y, x, 2) == t.blue;
		return eq ? 0 : full;
	}
	v = sample(c, y, x, k);
	if (c->depth < 8)
		return v * 255 / ((1u << c->depth) - 1);
	if (c->depth == 16 && !keep16)
		return (v * 255 + 32767) / 65535;
	return v;
}

static void
check_case(const struct pcase *c, int keep16)
{
	size_t len;
	uint8_t *file = write_case(c, &len);
	struct tensor t;
	struct png_info info;
	char err[256] = "";
	int channels = 0;

	if (png_decode(file, len, keep16, &t, &info, err, sizeof err) < 0)
		fail_msg("type %d depth %d interlace %d trns %d: %s", c->ctype, c->depth,
		    c->interlace, c->trns, err);
	expected(c, keep16, 0, 0, 0, &channels);
	assert_int_equal(info.width, W);
	assert_int_equal(info.height, H);
	assert_int_equal(info.bit_depth, c->depth);
	assert_int_equal(info.color_type, c->ctype);
	assert_int_equal(info.interlaced, c->interlace);
	assert_int_equal(info.channels, channels);
	assert_int_equal(t.rank, 3);
	assert_int_equal(t.shape[0], H);
	assert_int_equal(t.shape[1], W);
	assert_int_equal(t.shape[2], channels);
	assert_int_equal(t.dtype, c->depth == 16 && keep16 ? DT_U16 : DT_U8);
	assert_non_null(t.owned);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++)
			for (int k = 0; k < channels; k++) {
				size_t i = ((size_t)y * W + x) * channels + k;
				unsigned got = t.dtype == DT_U16 ? ((uint16_t *)t.data)[i] : ((uint8_t *)t.data)[i];
				unsigned want = expected(c, keep16, y, x, k, &channels);
				if (got != want)
					fail_msg("type %d depth %d interlace %d trns %d keep16 %d: (%d,%d,%d) = %u, want %u",
					    c->ctype, c->depth, c->interlace, c->trns, keep16, y, x, k, got, want);
			}
	tensor_free(&t);
	free(file);
}

/* Every legal (colour type, bit depth), with and without tRNS where the
 * type allows it, plain and Adam7, decoded with and without keep16. */
static void
test_matrix(void **state)
{
	static const struct { int ctype, depths[5], trns_ok; } types[] = {
		{ PNG_COLOR_TYPE_GRAY, { 1, 2, 4, 8, 16 }, 1 },
		{ PNG_COLOR_TYPE_GRAY_ALPHA, { 8, 16 }, 0 },
		{ PNG_COLOR_TYPE_RGB, { 8, 16 }, 1 },
		{ PNG_COLOR_TYPE_RGB_ALPHA, { 8, 16 }, 0 },
		{ PNG_COLOR_TYPE_PALETTE, { 1, 2, 4, 8 }, 1 },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		for (int d = 0; d < 5 && types[i].depths[d]; d++)
			for (int il = 0; il < 2; il++)
				for (int tr = 0; tr <= types[i].trns_ok; tr++)
					for (int keep16 = 0; keep16 < 2; keep16++) {
						struct pcase c = { types[i].ctype, types[i].depths[d], il, tr };
						check_case(&c, keep16);
						n++;
					}
	assert_int_equal(n, 104);
}

/* 16 -> 8 bits on every one of the 65536 values is round(v * 255 / 65535). */
static void
test_scale16_all_values(void **state)
{
	struct tensor t, u;
	uint8_t *png;
	size_t len;
	char err[256];

	tensor_alloc_hwc(&t, DT_U16, 256, 256, 1);
	for (unsigned v = 0; v < 65536; v++)
		((uint16_t *)t.data)[v] = (uint16_t)v;
	assert_int_equal(png_encode(&t, &png, &len, err, sizeof err), 0);
	assert_int_equal(png_decode(png, len, 0, &u, NULL, err, sizeof err), 0);
	assert_int_equal(u.dtype, DT_U8);
	for (unsigned v = 0; v < 65536; v++) {
		unsigned want = (v * 255 + 32767) / 65535;
		if (((uint8_t *)u.data)[v] != want)
			fail_msg("16-bit %u -> %u, want %u", v, ((uint8_t *)u.data)[v], want);
	}
	tensor_free(&u);
	assert_int_equal(png_decode(png, len, 1, &u, NULL, err, sizeof err), 0);
	assert_int_equal(u.dtype, DT_U16);
	assert_memory_equal(u.data, t.data, t.nbytes);
	tensor_free(&u);
	tensor_free(&t);
	free(png);
}

/* png_encode of u8 and u16 with 1-4 channels decodes to the same tensor. */
static void
test_encode_round_trip(void **state)
{
	for (int dt = DT_U8; dt <= DT_U16; dt++)
		for (int c = 1; c <= 4; c++) {
			struct tensor t, u;
			struct png_info info;
			uint8_t *png;
			size_t len;
			char err[256];

			tensor_alloc_hwc(&t, dt, 7, 9, c);
			for (size_t i = 0; i < t.nbytes; i++)
				((uint8_t *)t.data)[i] = (uint8_t)(i * 151 + 7);
			assert_int_equal(png_encode(&t, &png, &len, err, sizeof err), 0);
			assert_true(png_is_png(png, len));
			assert_int_equal(png_decode(png, len, 1, &u, &info, err, sizeof err), 0);
			assert_int_equal(info.bit_depth, dt == DT_U16 ? 16 : 8);
			assert_int_equal(info.channels, c);
			assert_int_equal(u.dtype, dt);
			assert_int_equal(u.nbytes, t.nbytes);
			assert_memory_equal(u.data, t.data, t.nbytes);
			tensor_free(&t);
			tensor_free(&u);
			free(png);
		}
}

/* png_encode refuses what PNG cannot hold. */
static void
test_encode_rejects(void **state)
{
	int64_t s5[3] = { 2, 2, 5 }, s2[2] = { 2, 2 }, s0[3] = { 0, 2, 1 };
	struct tensor t;
	uint8_t *png = NULL;
	size_t len;
	char err[256];

	tensor_alloc(&t, DT_U8, 3, s5);
	assert_int_equal(png_encode(&t, &png, &len, err, sizeof err), -1);
	tensor_free(&t);
	tensor_alloc(&t, DT_U8, 2, s2);
	assert_int_equal(png_encode(&t, &png, &len, err, sizeof err), -1);
	tensor_free(&t);
	tensor_alloc(&t, DT_F32, 3, (int64_t[3]){ 2, 2, 1 });
	assert_int_equal(png_encode(&t, &png, &len, err, sizeof err), -1);
	tensor_free(&t);
	tensor_alloc(&t, DT_U8, 3, s0);
	assert_int_equal(png_encode(&t, &png, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "1-4 channels"));
	tensor_free(&t);
}

/* Position of chunk type name in a PNG file, or 0. */
static size_t
chunk_at(const uint8_t *p, size_t len, const char *name)
{
	size_t off = 8;

	while (off + 8 <= len) {
		uint32_t n = (uint32_t)p[off] << 24 | p[off + 1] << 16 | p[off + 2] << 8 | p[off + 3];
		if (memcmp(p + off + 4, name, 4) == 0)
			return off;
		off += 12 + n;
	}
	return 0;
}

static void
must_fail(const uint8_t *p, size_t len, const char *want, const char *what)
{
	struct tensor t;
	char err[256] = "";

	if (png_decode(p, len, 0, &t, NULL, err, sizeof err) != -1)
		fail_msg("%s: decoded", what);
	assert_null(t.data);
	assert_null(t.owned);
	if (err[0] == '\0' || (want && strstr(err, want) == NULL))
		fail_msg("%s: message '%s' (want '%s')", what, err, want ? want : "any");
}

/* Bad CRCs in IHDR and IDAT, every truncation point, no bytes, another
 * format, dimensions over the limit: -1 with a message, nothing leaked. */
static void
test_broken_files(void **state)
{
	struct pcase c = { PNG_COLOR_TYPE_RGB, 8, 0, 0 };
	size_t len, at;
	uint8_t *file = write_case(&c, &len), *bad = malloc(len);
	char what[64];

	memcpy(bad, file, len);
	at = chunk_at(bad, len, "IDAT");
	assert_true(at > 0);
	bad[at + 8 + 3] ^= 0x40;        /* a data byte: zlib or the CRC check fails */
	must_fail(bad, len, "corrupt PNG", "IDAT data");
	memcpy(bad, file, len);
	bad[at + 8 + ((uint32_t)bad[at + 2] << 8 | bad[at + 3])] ^= 1;   /* the CRC itself */
	must_fail(bad, len, "CRC", "IDAT crc");
	memcpy(bad, file, len);
	at = chunk_at(bad, len, "IHDR");
	bad[at + 8] ^= 0x01;                            /* width, CRC now wrong */
	must_fail(bad, len, "CRC", "IHDR");
	for (size_t cut = 0; cut < len; cut++) {
		snprintf(what, sizeof what, "cut at %zu of %zu", cut, len);
		must_fail(file, cut, NULL, what);
	}
	must_fail(file, 0, "not a PNG", "empty");
	must_fail((const uint8_t *)"GIF89a\x01\x00\x01\x00\x00\x00\x00", 13, "not a PNG", "GIF");
	free(file);
	free(bad);
	/* 70000 x 1: over the 65536 limit (IHDR with a correct CRC) */
	{
		png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
		png_infop pi = png_create_info_struct(png);
		struct out o = { 0 };
		png_byte row[70000] = { 0 };
		if (setjmp(png_jmpbuf(png)))
			fail_msg("libpng writer failed");
		png_set_write_fn(png, &o, out_write, out_flush);
		png_set_IHDR(png, pi, 70000, 1, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
		    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
		png_write_info(png, pi);
		png_write_row(png, row);
		png_write_end(png, NULL);
		png_destroy_write_struct(&png, &pi);
		must_fail(o.p, o.len, NULL, "70000 wide");
		free(o.p);
	}
}

/* png_decode_max: W x H (143 pixels) passes a limit of 143 and is refused
 * at 142 with a message giving the size and the limit, nothing allocated;
 * 0 is no limit. */
static void
test_max_pixels(void **state)
{
	struct pcase c = { PNG_COLOR_TYPE_RGB, 8, 0, 0 };
	size_t len;
	uint8_t *file = write_case(&c, &len);
	struct tensor t;
	char err[256] = "";

	assert_int_equal(png_decode_max(file, len, 0, (uint64_t)W * H, &t, NULL, err, sizeof err), 0);
	assert_int_equal(t.shape[0], H);
	tensor_free(&t);
	assert_int_equal(png_decode_max(file, len, 0, 0, &t, NULL, err, sizeof err), 0);
	tensor_free(&t);
	assert_int_equal(png_decode_max(file, len, 0, (uint64_t)W * H - 1, &t, NULL, err, sizeof err), -1);
	assert_null(t.owned);
	assert_string_equal(err, "13x11 image: 143 pixels, more than the limit of 142 (--max-pixels)");
	free(file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_scale16_all_values),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_encode_rejects),
		cmocka_unit_test(test_broken_files),
		cmocka_unit_test(test_max_pixels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
