/* png.c — PNG decode/encode through libpng, from and to memory. */
#include "png.h"
#include "err.h"
#include "fileio.h"

#include <libpng16/png.h>   /* libpng (libshared/png.h is ours) */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct membuf {
	const uint8_t *p;
	size_t len, off;
	uint8_t *out;           /* encoder output */
	size_t outlen, outcap;
};

struct pngerr {
	char msg[200];
	int plain;              /* 1: msg is not about corrupt data */
};

static void
on_error(png_structp png, png_const_charp msg)
{
	struct pngerr *e = png_get_error_ptr(png);

	snprintf(e->msg, sizeof e->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void
on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
read_mem(png_structp png, png_bytep dst, png_size_t n)
{
	struct membuf *m = png_get_io_ptr(png);

	if (n > m->len - m->off)
		png_error(png, "truncated PNG data");
	memcpy(dst, m->p + m->off, n);
	m->off += n;
}

int
png_is_png(const uint8_t *buf, size_t len)
{
	return len >= 8 && png_sig_cmp(buf, 0, 8) == 0;
}

/* Sets the read transformations; returns the output bytes per sample. */
static int
set_transforms(png_structp png, png_infop pi, int keep16, struct png_info *info)
{
	png_uint_32 w, h;
	int depth, ctype, ilace;

	png_get_IHDR(png, pi, &w, &h, &depth, &ctype, &ilace, NULL, NULL);
	info->width = (int)w;
	info->height = (int)h;
	info->bit_depth = depth;
	info->color_type = ctype;
	info->interlaced = ilace != PNG_INTERLACE_NONE;
	png_set_expand(png);                    /* palette, gray < 8 bits, tRNS */
	if (depth == 16 && !keep16)
		png_set_scale_16(png);
	else if (depth == 16)
		png_set_swap(png);              /* big-endian file -> host order */
	png_set_interlace_handling(png);
	png_read_update_info(png, pi);
	info->channels = png_get_channels(png, pi);
	return png_get_bit_depth(png, pi) == 16 ? 2 : 1;
}

/* Stops decoding with a message that is not prefixed "corrupt PNG". */
static void
fail_plain(png_structp png, const char *msg)
{
	struct pngerr *e = png_get_error_ptr(png);

	e->plain = 1;
	snprintf(e->msg, sizeof e->msg, "%s", msg);
	png_longjmp(png, 1);
}

static int
decode(png_structp png, png_infop pi, int keep16, uint64_t max_pixels, struct tensor *t,
    struct png_info *info, png_bytep **rowsP)
{
	int bps = set_transforms(png, pi, keep16, info);
	size_t rowbytes = png_get_rowbytes(png, pi);
	uint64_t npix = (uint64_t)info->width * (uint64_t)info->height;
	char msg[200];

	if (info->width <= 0 || info->height <= 0 || info->width > 65536 || info->height > 65536)
		png_error(png, "image dimensions out of range");
	if (max_pixels > 0 && npix > max_pixels) {
		snprintf(msg, sizeof msg, "%dx%d image: %llu pixels, more than the limit of %llu (--max-pixels)",
		    info->width, info->height, (unsigned long long)npix, (unsigned long long)max_pixels);
		fail_plain(png, msg);
	}
	if (tensor_try_alloc_hwc(t, bps == 2 ? DT_U16 : DT_U8, info->height, info->width,
	    info->channels) < 0) {
		snprintf(msg, sizeof msg, "out of memory for a %dx%d image (%llu bytes)", info->width,
		    info->height, (unsigned long long)npix * (uint64_t)info->channels * (uint64_t)bps);
		fail_plain(png, msg);
	}
	if (rowbytes != (size_t)info->width * (size_t)info->channels * (size_t)bps)
		png_error(png, "unexpected row size");
	*rowsP = xmallocarray((size_t)info->height, sizeof **rowsP);
	for (int y = 0; y < info->height; y++)
		(*rowsP)[y] = (png_bytep)t->data + (size_t)y * rowbytes;
	png_read_image(png, *rowsP);
	png_read_end(png, NULL);
	return 0;
}

int
png_decode(const uint8_t *buf, size_t len, int keep16, struct tensor *t,
    struct png_info *info, char *err, size_t errlen)
{
	return png_decode_max(buf, len, keep16, 0, t, info, err, errlen);
}

int
png_decode_max(const uint8_t *buf, size_t len, int keep16, uint64_t max_pixels,
    struct tensor *t, struct png_info *info, char *err, size_t errlen)
{
	struct membuf m = { .p = buf, .len = len };
	struct pngerr e = { "", 0 };
	struct png_info dummy;
	struct png_info *volatile inf = info ? info : &dummy;
	png_structp png;
	png_infop pi;
	png_bytep *volatile rows = NULL;
	volatile int rc = 0;

	memset(t, 0, sizeof *t);
	if (!png_is_png(buf, len)) {
		snprintf(err, errlen, "not a PNG file (bad signature)");
		return -1;
	}
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, on_error, on_warning);
	pi = png ? png_create_info_struct(png) : NULL;
	if (pi == NULL) {
		png_destroy_read_struct(&png, NULL, NULL);
		snprintf(err, errlen, "out of memory (libpng)");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		snprintf(err, errlen, "%s%s", e.plain ? "" : "corrupt PNG: ", e.msg);
		tensor_free(t);
		rc = -1;
	} else {
		png_set_read_fn(png, &m, read_mem);
		png_set_user_limits(png, 65536, 65536);
		png_read_info(png, pi);
		decode(png, pi, keep16, max_pixels, t, inf, (png_bytep **)&rows);
	}
	free(rows);
	png_destroy_read_struct(&png, &pi, NULL);
	return rc;
}

static void
write_mem(png_structp png, png_bytep src, png_size_t n)
{
	struct membuf *m = png_get_io_ptr(png);

	if (m->outlen + n > m->outcap) {
		size_t cap = m->outcap ? m->outcap : 65536;
		while (cap < m->outlen + n)
			cap *= 2;
		m->out = xreallocarray(m->out, 1, cap);
		m->outcap = cap;
	}
	memcpy(m->out + m->outlen, src, n);
	m->outlen += n;
}

static void
flush_mem(png_structp png)
{
	(void)png;
}

static void
encode(png_structp png, png_infop pi, const struct tensor *t, struct membuf *m)
{
	static const int ctypes[5] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
	                               PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA };
	int h = (int)t->shape[0], w = (int)t->shape[1], c = (int)t->shape[2];
	size_t rowbytes = (size_t)w * (size_t)c * dtype_size(t->dtype);

	png_set_write_fn(png, m, write_mem, flush_mem);
	png_set_compression_level(png, 3);
	png_set_IHDR(png, pi, (png_uint_32)w, (png_uint_32)h, t->dtype == DT_U16 ? 16 : 8,
	    ctypes[c], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, pi);
	if (t->dtype == DT_U16)
		png_set_swap(png);
	for (int y = 0; y < h; y++)
		png_write_row(png, (png_const_bytep)t->data + (size_t)y * rowbytes);
	png_write_end(png, NULL);
}

int
png_encode(const struct tensor *t, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct membuf m = { 0 };
	struct pngerr e = { "", 0 };
	png_structp png;
	png_infop pi;
	volatile int rc = 0;

	if (t->rank != 3 || t->shape[2] < 1 || t->shape[2] > 4 ||
	    (t->dtype != DT_U8 && t->dtype != DT_U16) || t->shape[0] < 1 || t->shape[1] < 1) {
		snprintf(err, errlen, "PNG needs a u8/u16 HWC image with 1-4 channels");
		return -1;
	}
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e, on_error, on_warning);
	pi = png ? png_create_info_struct(png) : NULL;
	if (pi == NULL) {
		png_destroy_write_struct(&png, NULL);
		snprintf(err, errlen, "out of memory (libpng)");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		snprintf(err, errlen, "PNG encoding failed: %s", e.msg);
		free(m.out);
		m.out = NULL;
		rc = -1;
	} else {
		encode(png, pi, t, &m);
	}
	png_destroy_write_struct(&png, &pi);
	*out = m.out;
	*outlen = m.outlen;
	return rc;
}

int
png_write_file(const char *path, const struct tensor *t, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	char why[256];
	int rc;

	if (png_encode(t, &buf, &len, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	rc = file_write_atomic(path, buf, len, err, errlen);
	free(buf);
	return rc;
}
