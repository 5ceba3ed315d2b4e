/* jpeg.c — libjpeg decoding into tensors; EXIF orientation. */
#include "jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#include "err.h"

/* Largest decoded image accepted (bytes). */
#define JPEG_MAX_BYTES ((size_t)1 << 30)

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
};

static void
on_error(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	(*c->err->format_message)(c, e->msg);
	longjmp(e->jump, 1);
}

/* Warnings (level -1) abort too, except extraneous bytes between markers. */
static void
on_message(j_common_ptr c, int level)
{
	if (level == -1 && c->err->msg_code != JWRN_EXTRANEOUS_DATA)
		on_error(c);
}

int
jpeg_is_jpeg(const uint8_t *buf, size_t len)
{
	return len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff;
}

static unsigned
rd16(const uint8_t *p, int le)
{
	return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | p[1];
}

static uint32_t
rd32(const uint8_t *p, int le)
{
	return le ? (uint32_t)rd16(p, 1) | (uint32_t)rd16(p + 2, 1) << 16 :
	    (uint32_t)rd16(p, 0) << 16 | rd16(p + 2, 0);
}

int
jpeg_exif_orientation(const uint8_t *app1, size_t len)
{
	const uint8_t *tiff = app1 + 6;
	size_t n, count;
	uint32_t ifd;
	int le;

	if (len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0)
		return 1;
	n = len - 6;
	if (memcmp(tiff, "II*\0", 4) == 0)
		le = 1;
	else if (memcmp(tiff, "MM\0*", 4) == 0)
		le = 0;
	else
		return 1;
	ifd = rd32(tiff + 4, le);
	if (ifd < 8 || ifd > n - 2)
		return 1;
	count = rd16(tiff + ifd, le);
	for (size_t i = 0; i < count; i++) {
		size_t at = ifd + 2 + 12 * i;
		if (at + 12 > n)
			return 1;
		if (rd16(tiff + at, le) == 0x0112) {
			unsigned type = rd16(tiff + at + 2, le), v = rd16(tiff + at + 8, le);
			if (type != 3 || rd32(tiff + at + 4, le) != 1 || v < 1 || v > 8)
				return 1;
			return (int)v;
		}
	}
	return 1;
}

void
jpeg_orient(struct tensor *t, int o)
{
	int64_t h = t->shape[0], w = t->shape[1], c = t->shape[2];
	int swap = o >= 5 && o <= 8;
	int64_t oh = swap ? w : h, ow = swap ? h : w;
	const uint8_t *in = t->data;
	struct tensor r;

	if (o < 2 || o > 8)
		return;
	tensor_alloc_hwc(&r, DT_U8, oh, ow, c);
	for (int64_t y = 0; y < oh; y++) {
		for (int64_t x = 0; x < ow; x++) {
			int64_t sy, sx;
			switch (o) {
			case 2: sy = y; sx = w - 1 - x; break;
			case 3: sy = h - 1 - y; sx = w - 1 - x; break;
			case 4: sy = h - 1 - y; sx = x; break;
			case 5: sy = x; sx = y; break;
			case 6: sy = h - 1 - x; sx = y; break;
			case 7: sy = h - 1 - x; sx = w - 1 - y; break;
			default: sy = x; sx = w - 1 - y; break;
			}
			memcpy((uint8_t *)r.data + (y * ow + x) * c, in + (sy * w + sx) * c, (size_t)c);
		}
	}
	tensor_free(t);
	*t = r;
}

/* The orientation from the saved APP1 markers. */
static int
orientation_of(struct jpeg_decompress_struct *d)
{
	for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1)
			return jpeg_exif_orientation(m->data, m->data_length);
	return 1;
}

/* Checks what libjpeg found in the header; picks the output colour space. */
static int
check_header(struct jpeg_decompress_struct *d, uint64_t max_pixels, char *err, size_t errlen)
{
	uint64_t npix = (uint64_t)d->image_width * d->image_height;

	if (max_pixels > 0 && npix > max_pixels) {
		snprintf(err, errlen, "%ux%u image: %llu pixels, more than the limit of %llu (--max-pixels)",
		    d->image_width, d->image_height, (unsigned long long)npix,
		    (unsigned long long)max_pixels);
		return -1;
	}
	if (d->data_precision != 8) {
		snprintf(err, errlen, "%d-bit JPEG is not supported (this libjpeg reads 8-bit samples only)",
		    d->data_precision);
		return -1;
	}
	switch (d->jpeg_color_space) {
	case JCS_GRAYSCALE: d->out_color_space = JCS_GRAYSCALE; break;
	case JCS_YCbCr: case JCS_RGB: d->out_color_space = JCS_RGB; break;
	case JCS_CMYK: snprintf(err, errlen, "CMYK JPEG is not supported"); return -1;
	case JCS_YCCK: snprintf(err, errlen, "YCCK JPEG is not supported"); return -1;
	default: snprintf(err, errlen, "JPEG colour space %d is not supported", (int)d->jpeg_color_space); return -1;
	}
	if ((size_t)d->image_width * d->image_height * (d->out_color_space == JCS_RGB ? 3 : 1) > JPEG_MAX_BYTES) {
		snprintf(err, errlen, "JPEG of %ux%u is too large", d->image_width, d->image_height);
		return -1;
	}
	return 0;
}

/* The libjpeg part; longjmp target set by the caller.  t is allocated here. */
static int
decode(struct jpeg_decompress_struct *d, const uint8_t *buf, size_t len, uint64_t max_pixels,
    struct tensor *t, struct jpeg_image_info *info, char *err, size_t errlen)
{
	jpeg_mem_src(d, buf, (unsigned long)len);
	jpeg_save_markers(d, JPEG_APP0 + 1, 0xffff);
	jpeg_read_header(d, TRUE);
	if (check_header(d, max_pixels, err, errlen) < 0)
		return -1;
	info->progressive = jpeg_has_multiple_scans(d);
	info->orientation = orientation_of(d);
	jpeg_start_decompress(d);
	if (tensor_try_alloc_hwc(t, DT_U8, d->output_height, d->output_width, d->output_components) < 0) {
		snprintf(err, errlen, "out of memory for a %ux%u image (%llu bytes)", d->output_width,
		    d->output_height, (unsigned long long)d->output_width * d->output_height *
		    (unsigned)d->output_components);
		return -1;
	}
	while (d->output_scanline < d->output_height) {
		JSAMPROW row = (uint8_t *)t->data + (size_t)d->output_scanline * d->output_width * d->output_components;
		jpeg_read_scanlines(d, &row, 1);
	}
	jpeg_finish_decompress(d);
	return 0;
}

int
jpeg_decode_image(const uint8_t *buf, size_t len, struct tensor *t,
    struct jpeg_image_info *info, char *err, size_t errlen)
{
	return jpeg_decode_max(buf, len, 0, t, info, err, errlen);
}

int
jpeg_decode_max(const uint8_t *buf, size_t len, uint64_t max_pixels, struct tensor *t,
    struct jpeg_image_info *info, char *err, size_t errlen)
{
	struct jpeg_decompress_struct d;
	struct jerr e;
	volatile int rc = -1;

	memset(info, 0, sizeof *info);
	memset(t, 0, sizeof *t);
	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = on_error;
	e.pub.emit_message = on_message;
	jpeg_create_decompress(&d);
	if (setjmp(e.jump)) {
		snprintf(err, errlen, "corrupt JPEG: %s", e.msg);
		tensor_free(t);
		jpeg_destroy_decompress(&d);
		return -1;
	}
	rc = decode(&d, buf, len, max_pixels, t, info, err, errlen);
	jpeg_destroy_decompress(&d);
	if (rc < 0)
		return -1;
	jpeg_orient(t, info->orientation);
	info->height = (int)t->shape[0];
	info->width = (int)t->shape[1];
	info->channels = (int)t->shape[2];
	return 0;
}
