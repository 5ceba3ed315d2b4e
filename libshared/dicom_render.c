/* dicom_render.c — the DICOM pixel pipeline (PS3.3 C.11), in plain C.
 *
 * For a gray frame, with s the stored value (BitsStored bits taken below
 * HighBit, sign-extended when PixelRepresentation is 1):
 *   m = s * slope + intercept            (or m = LUT[clamp(s - first)])
 *   y = VOI(m) in [0, ymax]              ymax = 255, or 65535 for 16 bits
 *   y = ymax - y                         for MONOCHROME1
 * and the result is floor(y + 0.5).  The file's window is used only when
 * valid (w >= 1 for LINEAR, w > 0 otherwise).  VOI is one of (c center, w width):
 *   LINEAR:       x <= c - 0.5 - (w-1)/2 -> 0;  x > c - 0.5 + (w-1)/2 -> ymax;
 *                 else ((x - (c - 0.5)) / (w - 1) + 0.5) * ymax
 *   LINEAR_EXACT: x <= c - w/2 -> 0;  x > c + w/2 -> ymax;
 *                 else ((x - c) / w + 0.5) * ymax
 *   SIGMOID:      ymax / (1 + exp(-4 (x - c) / w))
 *   VOI LUT:      LUT[clamp(floor(x + 0.5) - first)] * ymax / (2^bits - 1)
 *   range:        (x - lo) / (hi - lo) * ymax, lo and hi the smallest and
 *                 largest modality values of any storable value
 *   minmax:       the same with lo, hi the frame's smallest and largest
 *                 modality values (0 everywhere when they are equal)
 * Colour frames (RGB, YBR_FULL converted to RGB) skip modality and VOI:
 * y = v * ymax / (2^BitsStored - 1), rounded.
 */
#include "dicom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int
dicom_pixels_check(const struct dicom_pixels *px, char *err, size_t errlen)
{
	if (px->rows < 1 || px->cols < 1 || px->rows > 65535 || px->cols > 65535) {
		snprintf(err, errlen, "bad image size %dx%d", px->cols, px->rows);
		return -1;
	}
	if (px->bits_allocated != 8 && px->bits_allocated != 16) {
		snprintf(err, errlen, "BitsAllocated %d is not supported (8 or 16)", px->bits_allocated);
		return -1;
	}
	if (px->bits_stored < 1 || px->bits_stored > px->bits_allocated ||
	    px->high_bit < px->bits_stored - 1 || px->high_bit >= px->bits_allocated) {
		snprintf(err, errlen, "inconsistent BitsStored %d, HighBit %d for BitsAllocated %d",
		    px->bits_stored, px->high_bit, px->bits_allocated);
		return -1;
	}
	if (px->samples != 1 && px->samples != 3) {
		snprintf(err, errlen, "SamplesPerPixel %d is not supported (1 or 3)", px->samples);
		return -1;
	}
	if (px->ybr_full && px->bits_allocated != 8) {
		snprintf(err, errlen, "YBR_FULL with %d bits is not supported", px->bits_allocated);
		return -1;
	}
	if (px->ybr422 && (px->samples != 3 || px->planar)) {
		snprintf(err, errlen, "YBR_FULL_422 must be pixel-interleaved with 3 samples");
		return -1;
	}
	return 0;
}

size_t
dicom_frame_bytes(const struct dicom_pixels *px)
{
	size_t n = (size_t)px->rows * (size_t)px->cols;

	if (px->ybr422)
		return (n + 1) / 2 * 4;
	return n * (size_t)px->samples * (size_t)(px->bits_allocated / 8);
}

/* Stored value of sample index i (sign-extended when signed). */
static inline int32_t
stored(const struct dicom_pixels *px, const uint8_t *p, size_t i)
{
	uint32_t v = px->bits_allocated == 8 ? p[i] : (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
	uint32_t mask = px->bits_stored >= 32 ? 0xffffffffu : (1u << px->bits_stored) - 1;

	v = (v >> (px->high_bit + 1 - px->bits_stored)) & mask;
	if (px->pixel_rep && (v >> (px->bits_stored - 1)) & 1)
		return (int32_t)v - (int32_t)(1u << px->bits_stored);
	return (int32_t)v;
}

static double
lut_get(const struct dicom_lut *l, double x)
{
	double k = floor(x + 0.5) - l->first;

	if (k < 0)
		k = 0;
	if (k > l->n - 1)
		k = l->n - 1;
	return l->data[(int)k];
}

static double
modality(const struct dicom_pixels *px, int32_t s)
{
	if (px->modality_lut.n > 0)
		return lut_get(&px->modality_lut, s);
	return s * px->slope + px->intercept;
}

/* The VOI function, given ymax; returns an unrounded y. */
struct voi {
	int kind;               /* 0 window, 1 LUT, 2 linear lo..hi */
	enum dicom_voi_func func;
	double c, w, lo, hi;
	const struct dicom_lut *lut;
};

static double
voi_apply(const struct voi *v, double x, double ymax)
{
	if (v->kind == 1)
		return lut_get(v->lut, x) * ymax / (double)((1u << v->lut->bits) - 1);
	if (v->kind == 2)
		return v->hi > v->lo ? (x - v->lo) / (v->hi - v->lo) * ymax : 0;
	if (v->func == DICOM_FUNC_SIGMOID)
		return ymax / (1 + exp(-4 * (x - v->c) / v->w));
	if (v->func == DICOM_FUNC_LINEAR_EXACT) {
		if (x <= v->c - v->w / 2)
			return 0;
		if (x > v->c + v->w / 2)
			return ymax;
		return ((x - v->c) / v->w + 0.5) * ymax;
	}
	if (x <= v->c - 0.5 - (v->w - 1) / 2)
		return 0;
	if (x > v->c - 0.5 + (v->w - 1) / 2)
		return ymax;
	return ((x - (v->c - 0.5)) / (v->w - 1) + 0.5) * ymax;
}

static const char *const func_name[] = { "LINEAR", "LINEAR_EXACT", "SIGMOID" };

/* Chooses the VOI for a frame whose modality values per stored value are
 * mtab (indexed s - smin) and whose samples are p[0..n). */
static void
voi_choose(const struct dicom_pixels *px, const struct dicom_opts *o, const double *mtab,
    int32_t smin, int32_t smax, const uint8_t *p, size_t n, struct voi *v, char *desc, size_t dlen)
{
	int mode = o->voi;

	memset(v, 0, sizeof *v);
	if (mode == DICOM_VOI_FILE && px->has_window &&
	    (px->func == DICOM_FUNC_LINEAR ? px->width >= 1 : px->width > 0)) {
		v->c = px->center; v->w = px->width; v->func = px->func;
		snprintf(desc, dlen, "window %g,%g %s (file)", v->c, v->w, func_name[v->func]);
		return;
	}
	if (mode == DICOM_VOI_FILE && px->voi_lut.n > 0) {
		v->kind = 1; v->lut = &px->voi_lut;
		snprintf(desc, dlen, "VOI LUT (file)");
		return;
	}
	if (mode == DICOM_VOI_WINDOW) {
		v->c = o->center; v->w = o->width; v->func = DICOM_FUNC_LINEAR;
		snprintf(desc, dlen, "window %g,%g LINEAR", v->c, v->w);
		return;
	}
	v->kind = 2;
	v->lo = INFINITY; v->hi = -INFINITY;
	if (mode == DICOM_VOI_MINMAX) {
		for (size_t i = 0; i < n; i++) {
			double m = mtab[stored(px, p, i) - smin];
			v->lo = m < v->lo ? m : v->lo;
			v->hi = m > v->hi ? m : v->hi;
		}
	} else {
		for (int32_t s = smin; s <= smax; s++) {
			double m = mtab[s - smin];
			v->lo = m < v->lo ? m : v->lo;
			v->hi = m > v->hi ? m : v->hi;
		}
	}
	snprintf(desc, dlen, "%s %g..%g", mode == DICOM_VOI_MINMAX ? "minmax" : "range", v->lo, v->hi);
}

static int
render_gray(const struct dicom_pixels *px, const uint8_t *p, const struct dicom_opts *o,
    struct tensor *t, char *desc, size_t dlen)
{
	int32_t smin = px->pixel_rep ? -(1 << (px->bits_stored - 1)) : 0;
	int32_t smax = px->pixel_rep ? (1 << (px->bits_stored - 1)) - 1 : (1 << px->bits_stored) - 1;
	size_t nv = (size_t)(smax - smin) + 1, n = (size_t)px->rows * (size_t)px->cols;
	int wide = o->keep16 && px->bits_stored > 8;
	double ymax = wide ? 65535 : 255;
	double *mtab = XNEW(double, nv);
	uint16_t *ytab = XNEW(uint16_t, nv);
	struct voi v;

	for (int32_t s = smin; s <= smax; s++)
		mtab[s - smin] = modality(px, s);
	voi_choose(px, o, mtab, smin, smax, p, n, &v, desc, dlen);
	for (size_t k = 0; k < nv; k++) {
		double y = floor(voi_apply(&v, mtab[k], ymax) + 0.5);
		y = y < 0 || y != y ? 0 : y > ymax ? ymax : y;
		ytab[k] = (uint16_t)(px->monochrome1 ? ymax - y : y);
	}
	tensor_alloc_hwc(t, wide ? DT_U16 : DT_U8, px->rows, px->cols, 1);
	for (size_t i = 0; i < n; i++) {
		uint16_t y = ytab[stored(px, p, i) - smin];
		if (wide)
			((uint16_t *)t->data)[i] = y;
		else
			((uint8_t *)t->data)[i] = (uint8_t)y;
	}
	free(mtab);
	free(ytab);
	return 0;
}

static double
clamp255(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

static void
render_color(const struct dicom_pixels *px, const uint8_t *p, const struct dicom_opts *o,
    struct tensor *t, char *desc, size_t dlen)
{
	size_t n = (size_t)px->rows * (size_t)px->cols;
	int wide = o->keep16 && px->bits_stored > 8;
	double ymax = wide ? 65535 : 255, vmax = (double)((1u << px->bits_stored) - 1);

	tensor_alloc_hwc(t, wide ? DT_U16 : DT_U8, px->rows, px->cols, 3);
	for (size_t i = 0; i < n; i++) {
		double c[3];
		if (px->ybr422) {       /* Y1 Y2 Cb Cr: two pixels share Cb, Cr */
			c[0] = p[i / 2 * 4 + i % 2];
			c[1] = p[i / 2 * 4 + 2];
			c[2] = p[i / 2 * 4 + 3];
		} else {
			for (int k = 0; k < 3; k++)
				c[k] = stored(px, p, px->planar ? k * n + i : 3 * i + k);
		}
		if (px->ybr_full) {     /* PS3.3 C.7.6.3.1.2, 8 bits */
			double y = c[0], cb = c[1] - 128, cr = c[2] - 128;
			c[0] = clamp255(y + 1.402 * cr);
			c[1] = clamp255(y - 0.114 * 1.772 / 0.587 * cb - 0.299 * 1.402 / 0.587 * cr);
			c[2] = clamp255(y + 1.772 * cb);
		}
		for (int k = 0; k < 3; k++) {
			double y = floor(c[k] * ymax / vmax + 0.5);
			if (wide)
				((uint16_t *)t->data)[3 * i + k] = (uint16_t)y;
			else
				((uint8_t *)t->data)[3 * i + k] = (uint8_t)y;
		}
	}
	snprintf(desc, dlen, "none (colour)");
}

int
dicom_render(const struct dicom_pixels *px, const uint8_t *frame, size_t len,
    const struct dicom_opts *o, struct tensor *t, char *voi, size_t voilen,
    char *err, size_t errlen)
{
	size_t need;

	if (dicom_pixels_check(px, err, errlen) < 0)
		return -1;
	need = dicom_frame_bytes(px);
	if (len < need) {
		snprintf(err, errlen, "frame holds %zu bytes, %zu needed", len, need);
		return -1;
	}
	if (px->samples == 3) {
		render_color(px, frame, o, t, voi, voilen);
		return 0;
	}
	if (px->modality_lut.n > 0 && (px->modality_lut.bits < 1 || px->modality_lut.bits > 16)) {
		snprintf(err, errlen, "Modality LUT with %d bits per entry", px->modality_lut.bits);
		return -1;
	}
	if (px->voi_lut.n > 0 && (px->voi_lut.bits < 1 || px->voi_lut.bits > 16)) {
		snprintf(err, errlen, "VOI LUT with %d bits per entry", px->voi_lut.bits);
		return -1;
	}
	return render_gray(px, frame, o, t, voi, voilen);
}
