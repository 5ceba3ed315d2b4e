/* image.c — format dispatch (PNG, JPEG, DICOM) and colour conversions. */
#include "image.h"
#include "err.h"
#include "jpeg.h"
#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int
image_name_ok(const char *name)
{
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".dcm", ".dicom", NULL };
	size_t n = strlen(name);

	for (int i = 0; ext[i]; i++) {
		size_t e = strlen(ext[i]);
		if (n > e && strcasecmp(name + n - e, ext[i]) == 0)
			return 1;
	}
	return 0;
}

int
image_path_ok(const char *path)
{
	const char *slash = strrchr(path, '/');
	uint8_t head[132];
	struct stat st;
	ssize_t n = 0;
	int fd;

	if (image_name_ok(slash ? slash + 1 : path))
		return 1;
	/* only a regular file is sniffed: opening a FIFO or a terminal blocks */
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		n = read(fd, head, sizeof head);
	close(fd);
	return n > 0 && dicom_sniff(head, (size_t)n);
}

struct image_file {
	struct tensor t;                /* PNG, JPEG: the decoded image */
	struct image_info info;
	struct dicom_file *dcm;         /* DICOM: rendered per frame */
	struct dicom_meta meta;
	struct dicom_opts dopts;
};

static int
open_dicom(struct image_file *f, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	int rc = dicom_open(buf, len, &f->dopts, &f->dcm, &f->meta, err, errlen);

	if (rc != 0)
		return rc == DICOM_SKIP ? IMAGE_SKIP : -1;
	f->info.format = "dicom";
	f->info.width = f->meta.cols;
	f->info.height = f->meta.rows;
	f->info.bit_depth = f->meta.bits_stored;
	f->info.channels = f->meta.samples;
	f->info.frames = f->meta.frames;
	f->info.dicom = &f->meta;
	return 0;
}

/* PNG or JPEG: decoded whole, now. */
static int
open_single(struct image_file *f, const uint8_t *buf, size_t len, int keep16, uint64_t max_pixels,
    char *err, size_t errlen)
{
	struct image_info *ii = &f->info;

	ii->frames = 1;
	if (png_is_png(buf, len)) {
		struct png_info pi;
		if (png_decode_max(buf, len, keep16, max_pixels, &f->t, &pi, err, errlen) < 0)
			return -1;
		ii->format = "png";
		ii->width = pi.width;
		ii->height = pi.height;
		ii->bit_depth = pi.bit_depth;
		ii->channels = pi.channels;
		return 0;
	}
	struct jpeg_image_info ji;
	if (jpeg_decode_max(buf, len, max_pixels, &f->t, &ji, err, errlen) < 0)
		return -1;
	ii->format = "jpeg";
	ii->width = ji.width;
	ii->height = ji.height;
	ii->bit_depth = 8;
	ii->channels = ji.channels;
	ii->orientation = ji.orientation;
	return 0;
}

int
image_open(const uint8_t *buf, size_t len, const struct image_opts *o,
    struct image_file **fP, struct image_info *info, char *err, size_t errlen)
{
	struct image_file *f = xcalloc(1, sizeof *f);
	int rc;

	*fP = NULL;
	memset(info, 0, sizeof *info);
	if (o->dicom)
		f->dopts = *o->dicom;
	f->dopts.keep16 = o->keep16;
	f->dopts.max_pixels = o->max_pixels;
	if (len == 0) {
		snprintf(err, errlen, "empty file");
		rc = -1;
	} else if (png_is_png(buf, len) || jpeg_is_jpeg(buf, len)) {
		rc = open_single(f, buf, len, o->keep16, o->max_pixels, err, errlen);
	} else if (dicom_sniff(buf, len) || dicom_sniff_dataset(buf, len)) {
		rc = open_dicom(f, buf, len, err, errlen);
	} else {
		snprintf(err, errlen, "not an image radpipe can read (unknown format)");
		rc = -1;
	}
	if (rc != 0) {
		image_close(f);
		return rc;
	}
	*info = f->info;
	*fP = f;
	return 0;
}

int
image_frame(struct image_file *f, int k, struct tensor *t, struct image_info *info,
    char *err, size_t errlen)
{
	if (f->dcm == NULL) {
		if (k != 0 || f->t.data == NULL) {
			snprintf(err, errlen, "frame %d of a single image", k + 1);
			return -1;
		}
		*t = f->t;
		memset(&f->t, 0, sizeof f->t);
	} else if (dicom_frame(f->dcm, k, &f->dopts, t, &f->meta, err, errlen) < 0) {
		return -1;
	}
	*info = f->info;
	return 0;
}

void
image_close(struct image_file *f)
{
	if (f == NULL)
		return;
	tensor_free(&f->t);
	dicom_close(f->dcm);
	free(f);
}

int
image_decode(const uint8_t *buf, size_t len, int keep16, struct tensor *t,
    struct image_info *info, char *err, size_t errlen)
{
	struct image_opts o = { .keep16 = keep16 };
	struct image_file *f;
	int rc = image_open(buf, len, &o, &f, info, err, errlen);

	if (rc == 0)
		rc = image_frame(f, 0, t, info, err, errlen);
	image_close(f);
	info->dicom = NULL;
	return rc < 0 ? -1 : 0;
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

int
image_to_channels(struct tensor *t, int channels, int *gray_rgb)
{
	int c = (int)t->shape[2];
	size_t n = (size_t)t->shape[0] * (size_t)t->shape[1];
	int gray = c <= 2 || (c >= 3 && is_gray_rgb(t, c));
	struct tensor o;

	if (gray_rgb)
		*gray_rgb = c >= 3 && gray;
	if (c == channels)
		return 0;
	if (tensor_try_alloc_hwc(&o, t->dtype, t->shape[0], t->shape[1], channels) < 0)
		return -1;
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
	return 0;
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
