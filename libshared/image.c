/* image.c — format dispatch and colour conversions. */
#include "image.h"
#include "err.h"
#include "png.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
image_name_ok(const char *name)
{
	static const char *const ext[] = { ".png", NULL };
	size_t n = strlen(name);

	for (int i = 0; ext[i]; i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcasecmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

int
image_decode(const uint8_t *buf, size_t len, int keep16, struct tensor *t,
    struct image_info *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof *info);
	if (len == 0) {
		snprintf(err, errlen, "empty file");
		return -1;
	}
	if (png_is_png(buf, len)) {
		struct png_info pi;
		if (png_decode(buf, len, keep16, t, &pi, err, errlen) < 0)
			return -1;
		info->format = "png";
		info->width = pi.width;
		info->height = pi.height;
		info->bit_depth = pi.bit_depth;
		info->channels = pi.channels;
		return 0;
	}
	snprintf(err, errlen, "not an image radpipe can read (unknown format)");
	return -1;
}

/* 1 if every pixel of an image with c >= 3 channels has R == G == B. */
static int
is_gray_rgb(const struct tensor *t, int c)
{
	size_t n = tensor_count(t) / (size_t)c;

	if (t->dtype == DT_U8) {
		const uint8_t *p = t->data;
		for (size_t i = 0; i < n; i++, p += c)
			if (p[0] != p[1] || p[0] != p[2])
				return 0;
	} else {
		const uint16_t *p = t->data;
		for (size_t i = 0; i < n; i++, p += c)
			if (p[0] != p[1] || p[0] != p[2])
				return 0;
	}
	return 1;
}

static uint32_t
get(const struct tensor *t, size_t i)
{
	return t->dtype == DT_U8 ? ((const uint8_t *)t->data)[i] : ((const uint16_t *)t->data)[i];
}

static void
put(struct tensor *t, size_t i, uint32_t v)
{
	if (t->dtype == DT_U8)
		((uint8_t *)t->data)[i] = (uint8_t)v;
	else
		((uint16_t *)t->data)[i] = (uint16_t)v;
}

void
image_to_channels(struct tensor *t, int channels, int *gray_rgb)
{
	int c = (int)t->shape[2];
	size_t n = (size_t)t->shape[0] * (size_t)t->shape[1];
	int gray = c <= 2 || (c >= 3 && is_gray_rgb(t, c));
	struct tensor o;

	if (gray_rgb)
		*gray_rgb = c >= 3 && gray;
	if (c == channels)
		return;
	tensor_alloc_hwc(&o, t->dtype, t->shape[0], t->shape[1], channels);
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		if (gray) {
			v = get(t, i * c);
		} else {
			uint64_t r = get(t, i * c), g = get(t, i * c + 1), b = get(t, i * c + 2);
			v = (uint32_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
		}
		if (channels == 1) {
			put(&o, i, v);
		} else if (gray) {
			put(&o, 3 * i, v); put(&o, 3 * i + 1, v); put(&o, 3 * i + 2, v);
		} else {
			for (int k = 0; k < 3; k++)
				put(&o, 3 * i + k, get(t, i * c + k));
		}
	}
	tensor_free(t);
	*t = o;
}

void
image_to_u8(struct tensor *t)
{
	struct tensor o;
	size_t n;

	if (t->dtype != DT_U16)
		return;
	tensor_alloc(&o, DT_U8, t->rank, t->shape);
	n = tensor_count(t);
	for (size_t i = 0; i < n; i++)
		((uint8_t *)o.data)[i] = (uint8_t)((((const uint16_t *)t->data)[i] * 255u + 32767u) / 65535u);
	tensor_free(t);
	*t = o;
}
