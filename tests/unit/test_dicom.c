/* test_dicom.c — libshared/dicom.cc + dicom_render.c on DICOM files
 * written here byte by byte (explicit VR little endian, Part 10 header),
 * so that every attribute, and every broken one, is under the test's
 * control.  Compressed syntaxes are covered by tests/cli/dicom.bats with
 * files DCMTK's own tools make.
 *
 * Expected values are computed here from the formulas of PS3.3 C.11 as
 * written in dicom_render.c's header (m = s*slope + intercept; LINEAR
 * window ((m - (c - 0.5)) / (w - 1) + 0.5) * ymax clamped; range
 * (m - lo) / (hi - lo) * ymax; MONOCHROME1 ymax - y; floor(y + 0.5)), and a
 * few are spelled out as numbers worked by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom.h"
#include "image.h"
#include "sha256.h"

struct buf {
	uint8_t *p;
	size_t n, cap;
};

static void
put(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 256;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void
put16(struct buf *b, unsigned v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	put(b, x, 2);
}

static void
put32(struct buf *b, uint32_t v)
{
	put16(b, v & 0xffff);
	put16(b, v >> 16);
}

/* One explicit VR little endian element; odd values padded. */
static void
el(struct buf *b, unsigned g, unsigned e, const char *vr, const void *v, size_t n)
{
	int longlen = strstr("OB OW SQ UN UT", vr) != NULL;
	size_t pad = n & 1;

	put16(b, g);
	put16(b, e);
	put(b, vr, 2);
	if (longlen) {
		put16(b, 0);
		put32(b, (uint32_t)(n + pad));
	} else {
		put16(b, (unsigned)(n + pad));
	}
	put(b, v, n);
	if (pad)
		put(b, strcmp(vr, "UI") == 0 || longlen ? "\0" : " ", 1);
}

static void
str(struct buf *b, unsigned g, unsigned e, const char *vr, const char *s)
{
	if (s)
		el(b, g, e, vr, s, strlen(s));
}

static void
us(struct buf *b, unsigned e, unsigned v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	el(b, 0x0028, e, "US", x, 2);
}

/* What the file holds. */
struct spec {
	const char *ts, *sop_class, *photometric;
	int rows, cols, samples, planar, bits, stored, high, sign;
	const char *frames, *slope, *intercept, *center, *width, *func;
	const char *patient_id, *patient_name;
	const void *pixels;
	size_t pixlen;
	int no_pixels;
	int encapsulated;       /* pixels as one fragment of a pixel sequence */
};

static struct spec
spec8(const char *pi, int rows, int cols, const void *px)
{
	return (struct spec){ .photometric = pi, .rows = rows, .cols = cols, .samples = 1, .bits = 8,
	    .stored = 8, .high = 7, .pixels = px, .pixlen = (size_t)rows * cols };
}

static void
meta_group(struct buf *b, const struct spec *s)
{
	struct buf m = { 0 };
	const char *sop = s->sop_class ? s->sop_class : "1.2.840.10008.5.1.4.1.1.7";

	el(&m, 0x0002, 0x0001, "OB", "\0\1", 2);
	str(&m, 0x0002, 0x0002, "UI", sop);
	str(&m, 0x0002, 0x0003, "UI", "1.2.3.4.5.6");
	str(&m, 0x0002, 0x0010, "UI", s->ts ? s->ts : "1.2.840.10008.1.2.1");
	put(b, (uint8_t[128]){ 0 }, 128);
	put(b, "DICM", 4);
	uint8_t len[4] = { (uint8_t)m.n, (uint8_t)(m.n >> 8), (uint8_t)(m.n >> 16), 0 };
	el(b, 0x0002, 0x0000, "UL", len, 4);
	put(b, m.p, m.n);
	free(m.p);
}

/* The whole file for s (caller frees b->p). */
static struct buf
mkdicom(const struct spec *s)
{
	struct buf b = { 0 };

	meta_group(&b, s);
	str(&b, 0x0008, 0x0016, "UI", s->sop_class ? s->sop_class : "1.2.840.10008.5.1.4.1.1.7");
	str(&b, 0x0008, 0x0018, "UI", "1.2.3.4.5.6");
	str(&b, 0x0008, 0x0060, "CS", "CT");
	str(&b, 0x0010, 0x0010, "PN", s->patient_name);
	str(&b, 0x0010, 0x0020, "LO", s->patient_id);
	str(&b, 0x0020, 0x000d, "UI", "1.2.3");
	str(&b, 0x0020, 0x000e, "UI", "1.2.3.4");
	us(&b, 0x0002, (unsigned)s->samples);
	str(&b, 0x0028, 0x0004, "CS", s->photometric);
	if (s->samples == 3)
		us(&b, 0x0006, (unsigned)s->planar);
	str(&b, 0x0028, 0x0008, "IS", s->frames);
	us(&b, 0x0010, (unsigned)s->rows);
	us(&b, 0x0011, (unsigned)s->cols);
	us(&b, 0x0100, (unsigned)s->bits);
	us(&b, 0x0101, (unsigned)s->stored);
	us(&b, 0x0102, (unsigned)s->high);
	us(&b, 0x0103, (unsigned)s->sign);
	str(&b, 0x0028, 0x1050, "DS", s->center);
	str(&b, 0x0028, 0x1051, "DS", s->width);
	str(&b, 0x0028, 0x1052, "DS", s->intercept);
	str(&b, 0x0028, 0x1053, "DS", s->slope);
	str(&b, 0x0028, 0x1056, "CS", s->func);
	if (s->encapsulated) {
		put16(&b, 0x7fe0); put16(&b, 0x0010); put(&b, "OB\0\0", 4); put32(&b, 0xffffffff);
		put16(&b, 0xfffe); put16(&b, 0xe000); put32(&b, 0);
		put16(&b, 0xfffe); put16(&b, 0xe000); put32(&b, (uint32_t)s->pixlen);
		put(&b, s->pixels, s->pixlen);
		put16(&b, 0xfffe); put16(&b, 0xe0dd); put32(&b, 0);
	} else if (!s->no_pixels) {
		el(&b, 0x7fe0, 0x0010, s->bits == 16 ? "OW" : "OB", s->pixels, s->pixlen);
	}
	return b;
}

/* What rendering one frame gives back. */
struct out {
	struct dicom_meta m;
	struct tensor t;
	char err[256];
};

/* Opens s's file and renders frame k with o into r; returns dicom_open's
 * or dicom_frame's result, the message in r->err. */
static int
render(const struct spec *s, const struct dicom_opts *o, int k, struct out *r)
{
	struct buf b = mkdicom(s);
	struct dicom_file *f;
	int rc;

	r->err[0] = '\0';
	rc = dicom_open(b.p, b.n, o, &f, &r->m, r->err, sizeof r->err);
	free(b.p);
	if (rc != 0)
		return rc;
	rc = dicom_frame(f, k, o, &r->t, &r->m, r->err, sizeof r->err);
	dicom_close(f);
	return rc;
}

/* render() that must succeed; the caller frees r->t. */
static void
render_ok(const struct spec *s, const struct dicom_opts *o, int k, struct out *r)
{
	int rc = render(s, o, k, r);

	if (rc != 0)
		fail_msg("render: rc %d (%s)", rc, r->err);
}

/* Sample i of a rendered U8 or U16 tensor. */
static int
sample(const struct tensor *t, int i)
{
	return t->dtype == DT_U16 ? ((const uint16_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

/* Output rounding: floor(y + 0.5). */
static int
round_half_up(double y)
{
	return (int)floor(y + 0.5);
}

/* Renders frame 0 of s with o, which must succeed with the n samples of
 * want and dtype dt; r keeps the metadata. */
static void
expect_samples(const struct spec *s, const struct dicom_opts *o, enum dtype dt,
    const int *want, int n, struct out *r)
{
	render_ok(s, o, 0, r);
	assert_int_equal(r->t.dtype, dt);
	for (int i = 0; i < n; i++)
		if (sample(&r->t, i) != want[i])
			fail_msg("sample %d is %d, want %d", i, sample(&r->t, i), want[i]);
	tensor_free(&r->t);
}

static void
pattern8(uint8_t *p, int n, int mul)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(i * mul);
}

static void
test_mono2_8bit_exact(void **state)
{
	uint8_t px[13 * 11];
	struct spec s = spec8("MONOCHROME2", 11, 13, px);
	struct dicom_opts o = { 0 };
	struct out r;

	pattern8(px, (int)sizeof px, 37);
	render_ok(&s, &o, 0, &r);
	assert_int_equal(r.t.dtype, DT_U8);
	assert_int_equal(r.t.shape[0], 11);
	assert_int_equal(r.t.shape[1], 13);
	assert_int_equal(r.t.shape[2], 1);
	assert_memory_equal(r.t.data, px, sizeof px);
	assert_string_equal(r.m.voi, "range 0..255");
	assert_string_equal(r.m.modality, "CT");
	assert_string_equal(r.m.sop_uid, "1.2.3.4.5.6");
	assert_int_equal(r.m.frames, 1);
	tensor_free(&r.t);
}

/* A MONOCHROME1 file holding 255 - p reads back as p. */
static void
test_monochrome1_inverted(void **state)
{
	uint8_t px[9 * 6], inv[9 * 6];
	struct spec s = spec8("MONOCHROME1", 6, 9, inv);
	struct dicom_opts o = { 0 };
	struct out r;
	int want[9 * 6];

	pattern8(px, (int)sizeof px, 29);
	for (size_t i = 0; i < sizeof px; i++)
		inv[i] = (uint8_t)(255 - px[i]);
	render_ok(&s, &o, 0, &r);
	assert_memory_equal(r.t.data, px, sizeof px);
	tensor_free(&r.t);
	/* with a window too: y = 255 - LINEAR(m) */
	s.center = "100";
	s.width = "51";
	for (size_t i = 0; i < sizeof px; i++) {
		double x = inv[i], y;
		y = x <= 99.5 - 25 ? 0 : x > 99.5 + 25 ? 255 : ((x - 99.5) / 50 + 0.5) * 255;
		want[i] = 255 - round_half_up(y);
	}
	expect_samples(&s, &o, DT_U8, want, (int)sizeof px, &r);
}

/* 12 bits stored in 16, slope 2, intercept -1024, window 40/400. */
static uint16_t ct[16 * 16];

static struct spec
ct_spec(void)
{
	for (int i = 0; i < 256; i++)
		ct[i] = (uint16_t)(i * 16 + (i & 15));         /* 0..4095 */
	ct[0] = 532;    /* m = 40: the centre */
	ct[1] = 312;    /* m = -400: below the window */
	ct[2] = 632;    /* m = 240: 200 above the centre */
	return (struct spec){ .photometric = "MONOCHROME2", .rows = 16, .cols = 16, .samples = 1,
	    .bits = 16, .stored = 12, .high = 11, .pixels = ct, .pixlen = sizeof ct,
	    .slope = "2", .intercept = "-1024", .center = "40", .width = "400" };
}

/* The modality value m = s*slope + intercept of ct[i]. */
static double
ct_value(int i)
{
	return ct[i] * 2.0 - 1024;
}

static double
linear(double x, double c, double w, double ymax)
{
	if (x <= c - 0.5 - (w - 1) / 2)
		return 0;
	if (x > c - 0.5 + (w - 1) / 2)
		return ymax;
	return ((x - (c - 0.5)) / (w - 1) + 0.5) * ymax;
}

static void
test_rescale_and_window(void **state)
{
	struct spec s = ct_spec();
	struct dicom_opts o = { 0 };
	struct out r;
	int want[256];

	for (int i = 0; i < 256; i++)
		want[i] = round_half_up(linear(ct_value(i), 40, 400, 255));
	/* by hand: m = 40 -> ((40 - 39.5) / 399 + 0.5) * 255 = 127.82 -> 128;
	 * m = -400 -> 0; m = 240 > 39.5 + 199.5 -> 255 */
	assert_int_equal(want[0], 128);
	assert_int_equal(want[1], 0);
	assert_int_equal(want[2], 255);
	expect_samples(&s, &o, DT_U8, want, 256, &r);
	assert_string_equal(r.m.voi, "window 40,400 LINEAR (file)");
	/* --window -600,1500 overrides the file's */
	o.voi = DICOM_VOI_WINDOW;
	o.center = -600;
	o.width = 1500;
	for (int i = 0; i < 256; i++)
		want[i] = round_half_up(linear(ct_value(i), -600, 1500, 255));
	expect_samples(&s, &o, DT_U8, want, 256, &r);
	/* range: m from -1024 (s = 0) to 7166 (s = 4095) */
	o.voi = DICOM_VOI_RANGE;
	for (int i = 0; i < 256; i++)
		want[i] = round_half_up((ct_value(i) + 1024) / 8190 * 255);
	expect_samples(&s, &o, DT_U8, want, 256, &r);
}

/* LINEAR_EXACT, SIGMOID, minmax, and 16-bit output of a window. */
static void
test_voi_functions(void **state)
{
	struct spec s = ct_spec();
	struct dicom_opts o = { 0 };
	struct out r;
	int want[256];
	double lo = 1e9, hi = -1e9;

	s.func = "LINEAR_EXACT";
	for (int i = 0; i < 256; i++) {
		double x = ct_value(i);
		want[i] = round_half_up(x <= 40 - 200 ? 0 : x > 40 + 200 ? 255 : ((x - 40) / 400 + 0.5) * 255);
	}
	expect_samples(&s, &o, DT_U8, want, 256, &r);
	s.func = "SIGMOID";
	o.keep16 = 1;
	for (int i = 0; i < 256; i++)
		want[i] = round_half_up(65535 / (1 + exp(-4 * (ct_value(i) - 40) / 400)));
	expect_samples(&s, &o, DT_U16, want, 256, &r);
	o.voi = DICOM_VOI_MINMAX;
	o.keep16 = 0;
	for (int i = 0; i < 256; i++) {
		lo = ct_value(i) < lo ? ct_value(i) : lo;
		hi = ct_value(i) > hi ? ct_value(i) : hi;
	}
	for (int i = 0; i < 256; i++)
		want[i] = round_half_up((ct_value(i) - lo) / (hi - lo) * 255);
	expect_samples(&s, &o, DT_U8, want, 256, &r);
}

/* Signed 16-bit values; --depth 16 keeps all 16 bits (range = identity
 * shifted by 32768); unsigned 16-bit data comes back unchanged. */
static void
test_16bit(void **state)
{
	uint16_t px[64];
	struct spec s = { .photometric = "MONOCHROME2", .rows = 8, .cols = 8, .samples = 1,
	    .bits = 16, .stored = 16, .high = 15, .pixels = px, .pixlen = sizeof px };
	struct dicom_opts o = { .keep16 = 1 };
	struct out r;
	int want[64];

	for (int i = 0; i < 64; i++)
		px[i] = (uint16_t)(i * 1031 + 7);
	for (int i = 0; i < 64; i++)
		want[i] = px[i];
	expect_samples(&s, &o, DT_U16, want, 64, &r);
	s.sign = 1;
	for (int i = 0; i < 64; i++)
		want[i] = (uint16_t)(px[i] ^ 0x8000);
	expect_samples(&s, &o, DT_U16, want, 64, &r);
	/* without --depth 16: round(v * 255 / 65535) */
	s.sign = 0;
	o.keep16 = 0;
	for (int i = 0; i < 64; i++)
		want[i] = round_half_up(px[i] * 255.0 / 65535);
	expect_samples(&s, &o, DT_U8, want, 64, &r);
}

static void
test_multiframe(void **state)
{
	uint8_t px[3 * 4 * 5];
	struct spec s = spec8("MONOCHROME2", 4, 5, px);
	struct dicom_opts o = { 0 };
	struct out r;

	pattern8(px, (int)sizeof px, 5);
	s.frames = "3";
	s.pixlen = sizeof px;
	for (int k = 0; k < 3; k++) {
		render_ok(&s, &o, k, &r);
		assert_int_equal(r.m.frames, 3);
		assert_memory_equal(r.t.data, px + 20 * k, 20);
		tensor_free(&r.t);
	}
	assert_int_equal(render(&s, &o, 3, &r), -1);
	assert_non_null(strstr(r.err, "out of"));
}

static void
test_rgb(void **state)
{
	uint8_t px[2 * 3 * 3], planar[2 * 3 * 3];
	struct spec s = spec8("RGB", 2, 3, px);
	struct dicom_opts o = { 0 };
	struct out r;

	pattern8(px, (int)sizeof px, 13);
	s.samples = 3;
	s.pixlen = sizeof px;
	render_ok(&s, &o, 0, &r);
	assert_int_equal(r.t.shape[2], 3);
	assert_memory_equal(r.t.data, px, sizeof px);
	tensor_free(&r.t);
	for (int i = 0; i < 6; i++)
		for (int k = 0; k < 3; k++)
			planar[k * 6 + i] = px[3 * i + k];
	s.planar = 1;
	s.pixels = planar;
	render_ok(&s, &o, 0, &r);
	assert_memory_equal(r.t.data, px, sizeof px);
	tensor_free(&r.t);
}

static void expect_fail(const struct spec *s, int want_rc, const char *what);

/* Native YBR_FULL_422 (Y1 Y2 Cb Cr for each two pixels, also across row
 * ends when the width is odd) gives what its expansion to YBR_FULL gives;
 * YBR_FULL is checked against values worked out by hand from PS3.3
 * C.7.6.3.1.2. */
static void
test_ybr(void **state)
{
	uint8_t sub[8 * 4], full[3 * 15];
	struct spec s = spec8("YBR_FULL_422", 3, 5, sub);       /* 15 pixels: 8 pairs */
	struct dicom_opts o = { 0 };
	struct out r422, r;

	pattern8(sub, (int)sizeof sub, 29);
	s.samples = 3;
	s.pixlen = sizeof sub;
	render_ok(&s, &o, 0, &r422);
	for (int i = 0; i < 15; i++) {
		full[3 * i] = sub[i / 2 * 4 + i % 2];
		full[3 * i + 1] = sub[i / 2 * 4 + 2];
		full[3 * i + 2] = sub[i / 2 * 4 + 3];
	}
	s.photometric = "YBR_FULL";
	s.pixels = full;
	s.pixlen = sizeof full;
	render_ok(&s, &o, 0, &r);
	assert_memory_equal(r422.t.data, r.t.data, 45);
	tensor_free(&r.t);
	tensor_free(&r422.t);
	/* R = 100 + 1.402(-38) = 46.7; G = 100 - 0.34414(22) - 0.71414(-38)
	 * = 119.56; B = 100 + 1.772(22) = 138.98 */
	static const uint8_t one[3] = { 100, 150, 90 };
	s = spec8("YBR_FULL", 1, 1, one);
	s.samples = 3;
	s.pixlen = 3;
	render_ok(&s, &o, 0, &r);
	const uint8_t want[3] = { 47, 120, 139 };
	assert_memory_equal(r.t.data, want, 3);
	tensor_free(&r.t);
	s = spec8("YBR_FULL_422", 1, 2, sub);
	s.samples = 3;
	s.pixlen = 2;           /* a pair needs 4 bytes */
	expect_fail(&s, -1, "PixelData holds");
}

/* RFC 4231 case 2, then the patient key and what is never copied. */
static void
test_patient_data(void **state)
{
	static const char want[] = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	uint8_t mac[32], px[4] = { 1, 2, 3, 4 };
	char hex[65];
	struct spec s = spec8("MONOCHROME2", 2, 2, px);
	struct dicom_opts o = { .key = (const uint8_t *)"secret", .keylen = 6 };
	struct out r;

	sha256_hmac("Jefe", 4, "what do ya want for nothing?", 28, mac);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	assert_string_equal(hex, want);
	s.patient_id = "PAT123";
	s.patient_name = "Doe^Jane";
	render_ok(&s, &o, 0, &r);
	tensor_free(&r.t);
	/* python3: hmac.new(b"secret", b"PAT123", hashlib.sha256).hexdigest() */
	assert_string_equal(r.m.patient_key, "a06c7004c04c0d30740c73826df163407bfde89b1ac9012b158966fa3427d7fd");
	assert_string_equal(r.m.patient_id, "");
	assert_null(memmem(&r.m, sizeof r.m, "Doe", 3));
	o.key = NULL;
	o.keep_patient_id = 1;
	render_ok(&s, &o, 0, &r);
	tensor_free(&r.t);
	assert_string_equal(r.m.patient_key, "");
	assert_string_equal(r.m.patient_id, "PAT123");
	assert_null(memmem(&r.m, sizeof r.m, "Doe", 3));
}

/* Must fail (or skip) with a message containing what. */
static void
expect_fail(const struct spec *s, int want_rc, const char *what)
{
	struct dicom_opts o = { 0 };
	struct out r;
	int rc = render(s, &o, 0, &r);

	if (rc != want_rc)
		fail_msg("rc %d, want %d (%s) [%s]", rc, want_rc, r.err, what);
	if (strstr(r.err, what) == NULL)
		fail_msg("message '%s' does not mention '%s'", r.err, what);
}

static void
test_hostile(void **state)
{
	uint8_t px[64] = { 0 };
	struct spec s = spec8("MONOCHROME2", 8, 8, px);
	struct spec h;

	h = s; h.rows = 65535; h.cols = 65535; h.frames = "100000";
	expect_fail(&h, -1, "limit");
	h = s; h.pixlen = 62;
	expect_fail(&h, -1, "PixelData holds");
	h = s; h.frames = "-3";
	expect_fail(&h, -1, "NumberOfFrames");
	h = s; h.frames = "2";
	expect_fail(&h, -1, "need 128");
	h = s; h.rows = 0;
	expect_fail(&h, -1, "size");
	h = s; h.stored = 12;
	expect_fail(&h, -1, "BitsStored");
	h = s; h.bits = 32; h.stored = 32; h.high = 31;
	expect_fail(&h, -1, "BitsAllocated 32");
	h = s; h.photometric = "PALETTE COLOR";
	expect_fail(&h, -1, "PALETTE COLOR");
	h = s; h.ts = "1.2.840.10008.1.2.4.90"; h.encapsulated = 1;    /* not J2K data */
	expect_fail(&h, -1, "frame 1: corrupt JPEG 2000 data");
	h = s; h.ts = "1.2.840.10008.1.2.4.100"; h.encapsulated = 1;
	expect_fail(&h, -1, "MPEG2");
	expect_fail(&h, -1, "(1.2.840.10008.1.2.4.100) is not supported");
	h = s; h.ts = "1.2.840.10008.1.2.4.50"; h.encapsulated = 1;   /* not JPEG data */
	expect_fail(&h, -1, "cannot decode JPEG Baseline");
	/* DCMTK 3.6.7 loops forever on a TEM marker before the SOF: refused */
	static const uint8_t tem[16] = { 0xff, 0xd8, 0xff, 0x01, 0xff, 0xd9 };
	h.pixels = tem; h.pixlen = sizeof tem;
	expect_fail(&h, -1, "TEM marker");
	/* ... and so it does when a fill byte (FF FF, one step) leads to it */
	static const uint8_t fill_tem[16] = { 0xff, 0xd8, 0xff, 0xff, 0x01, 0xff, 0xd9 };
	h.pixels = fill_tem; h.pixlen = sizeof fill_tem;
	expect_fail(&h, -1, "TEM marker");
	/* a TEM inside a segment is skipped by the walk: DCMTK decodes (and fails) */
	static const uint8_t in_app[16] = { 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0xff, 0x01, 0xff, 0xd9 };
	h.pixels = in_app; h.pixlen = sizeof in_app;
	expect_fail(&h, -1, "cannot decode JPEG Baseline");
	h = s; h.no_pixels = 1; h.sop_class = "1.2.840.10008.5.1.4.1.1.88.11";
	expect_fail(&h, DICOM_SKIP, "no pixel data");
	h = s; h.no_pixels = 1; h.sop_class = "1.2.840.10008.1.3.10";
	expect_fail(&h, DICOM_SKIP, "DICOMDIR");
}

/* Every truncation of a valid file fails cleanly (or, cut inside the
 * trailing pad only, succeeds); so do garbage bytes after "DICM". */
static void
test_truncated_and_garbage(void **state)
{
	uint8_t px[64];
	struct spec s = spec8("MONOCHROME2", 8, 8, px);
	struct buf b = mkdicom(&s);
	struct dicom_opts o = { 0 };
	struct dicom_meta m;
	struct dicom_file *f;
	char err[256];
	uint8_t junk[400];

	pattern8(px, 64, 3);
	for (size_t n = 0; n < b.n; n++) {
		err[0] = '\0';
		int rc = dicom_open(b.p, n, &o, &f, &m, err, sizeof err);
		if (rc == 0) {
			dicom_close(f);
			fail_msg("a file cut at %zu of %zu bytes was accepted", n, b.n);
		}
		assert_true(err[0] != '\0');
	}
	free(b.p);
	srand(7);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = (uint8_t)rand();
		memcpy(junk + 128, "DICM", 4);
		if (dicom_open(junk, sizeof junk, &o, &f, &m, err, sizeof err) == 0)
			dicom_close(f);
	}
}

/* image_open dispatches on content and reports the frames. */
static void
test_image_dispatch(void **state)
{
	uint8_t px[2 * 4 * 4];
	struct spec s = spec8("MONOCHROME2", 4, 4, px);
	struct buf b;
	struct image_opts io = { 0 };
	struct image_file *f;
	struct image_info ii;
	struct tensor t;
	char err[256];

	pattern8(px, 32, 9);
	s.frames = "2";
	s.pixlen = 32;
	b = mkdicom(&s);
	assert_int_equal(image_open(b.p, b.n, &io, &f, &ii, err, sizeof err), 0);
	assert_string_equal(ii.format, "dicom");
	assert_int_equal(ii.frames, 2);
	assert_int_equal(image_frame(f, 1, &t, &ii, err, sizeof err), 0);
	assert_memory_equal(t.data, px + 16, 16);
	assert_non_null(ii.dicom);
	tensor_free(&t);
	image_close(f);
	assert_int_equal(image_decode(b.p, b.n, 0, &t, &ii, err, sizeof err), 0);
	assert_memory_equal(t.data, px, 16);
	tensor_free(&t);
	/* the dataset alone (explicit VR LE, after preamble and meta group) */
	size_t at = 132 + 12 + (size_t)(b.p[140] | b.p[141] << 8);
	assert_int_equal(b.p[at], 0x08);
	assert_true(dicom_sniff_dataset(b.p + at, b.n - at));
	assert_false(dicom_sniff(b.p + at, b.n - at));
	assert_int_equal(image_decode(b.p + at, b.n - at, 0, &t, &ii, err, sizeof err), 0);
	assert_memory_equal(t.data, px, 16);
	tensor_free(&t);
	assert_false(dicom_sniff_dataset(b.p + at + 1, b.n - at - 1));  /* shifted: no encoding fits */
	assert_false(dicom_sniff_dataset(b.p, b.n));                    /* has a preamble */
	assert_false(dicom_sniff_dataset((const uint8_t *)"\x89PNG\r\n\x1a\n....", 12));
	free(b.p);
	assert_true(image_name_ok("x.DCM"));
	assert_true(image_name_ok("a/b.jpeg"));
	assert_false(image_name_ok("notes.txt"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mono2_8bit_exact),
		cmocka_unit_test(test_monochrome1_inverted),
		cmocka_unit_test(test_rescale_and_window),
		cmocka_unit_test(test_voi_functions),
		cmocka_unit_test(test_16bit),
		cmocka_unit_test(test_multiframe),
		cmocka_unit_test(test_rgb),
		cmocka_unit_test(test_ybr),
		cmocka_unit_test(test_patient_data),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_truncated_and_garbage),
		cmocka_unit_test(test_image_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
