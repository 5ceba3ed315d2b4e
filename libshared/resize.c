/* resize.c — nearest (exactly Pillow's), separable bilinear in the manner
 * of Pillow's ImagingResample (antialiased), and exact area averaging. */
#include "resize.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
interp_parse(const char *s)
{
	if (strcmp(s, "nearest") == 0)
		return INTERP_NEAREST;
	if (strcmp(s, "bilinear") == 0)
		return INTERP_BILINEAR;
	if (strcmp(s, "area") == 0)
		return INTERP_AREA;
	return -1;
}

/* Source index per output index, accumulated in double exactly as Pillow's
 * ImagingScaleAffine does (xo = scale/2; xo += scale), so that boundary
 * cases round the same way. */
static void
nearest_table(int in, int out, int *tab)
{
	double scale = (double)in / out;
	double xo = scale * 0.5;

	for (int x = 0; x < out; x++) {
		int xi = xo < 0.0 ? -1 : (int)xo;
		tab[x] = xi < 0 ? 0 : xi >= in ? in - 1 : xi;
		xo += scale;
	}
}

static void
resize_nearest(const struct tensor *src, struct tensor *dst)
{
	int ih = (int)src->shape[0], iw = (int)src->shape[1];
	int oh = (int)dst->shape[0], ow = (int)dst->shape[1];
	size_t px = (size_t)src->shape[2] * dtype_size(src->dtype);
	int *xt = XNEW(int, ow), *yt = XNEW(int, oh);
	const uint8_t *s = src->data;
	uint8_t *d = dst->data;

	nearest_table(iw, ow, xt);
	nearest_table(ih, oh, yt);
	for (int y = 0; y < oh; y++) {
		const uint8_t *row = s + (size_t)yt[y] * iw * px;
		uint8_t *o = d + (size_t)y * ow * px;
		if (px == 3) {
			for (int x = 0; x < ow; x++) {
				const uint8_t *p = row + (size_t)xt[x] * 3;
				o[3 * x] = p[0]; o[3 * x + 1] = p[1]; o[3 * x + 2] = p[2];
			}
		} else {
			for (int x = 0; x < ow; x++)
				memcpy(o + (size_t)x * px, row + (size_t)xt[x] * px, px);
		}
	}
	free(xt);
	free(yt);
}

struct taps {
	int *first, *count;
	float *w;               /* out * maxtaps weights */
	int maxtaps;
};

static double
triangle(double x)
{
	x = fabs(x);
	return x < 1.0 ? 1.0 - x : 0.0;
}

/* Area: output cell x covers [x*scale, (x+1)*scale) of the input; each
 * input cell weighs by the length of its overlap with that interval. */
static void
taps_area(struct taps *t, int in, int out)
{
	double scale = (double)in / out;

	for (int x = 0; x < out; x++) {
		double a = x * scale, b = (x + 1) * scale;
		int lo = (int)floor(a), hi = (int)ceil(b);
		float *w = t->w + (size_t)x * t->maxtaps;
		if (hi > in)
			hi = in;
		if (hi - lo > t->maxtaps)
			hi = lo + t->maxtaps;
		for (int i = lo; i < hi; i++)
			w[i - lo] = (float)((fmin(b, i + 1.0) - fmax(a, (double)i)) / scale);
		t->first[x] = lo;
		t->count[x] = hi - lo;
	}
}

/* Bilinear: Pillow's precompute_coeffs, support scaled when shrinking;
 * area: exact overlaps. */
static void
taps_make(struct taps *t, int in, int out, enum interp how)
{
	double scale = (double)in / out, fs = scale > 1.0 ? scale : 1.0;
	double support = fs;

	t->maxtaps = (int)ceil(support) * 2 + 1;
	t->first = XNEW(int, out);
	t->count = XNEW(int, out);
	t->w = xcalloc(xmul((size_t)out, (size_t)t->maxtaps, "resize"), sizeof(float));
	if (how == INTERP_AREA) {
		taps_area(t, in, out);
		return;
	}
	for (int x = 0; x < out; x++) {
		double c = (x + 0.5) * scale, sum = 0.0;
		int lo = (int)(c - support + 0.5), hi = (int)(c + support + 0.5);
		if (lo < 0)
			lo = 0;
		if (hi > in)
			hi = in;
		if (hi - lo > t->maxtaps)
			hi = lo + t->maxtaps;
		float *w = t->w + (size_t)x * t->maxtaps;
		for (int i = lo; i < hi; i++)
			sum += w[i - lo] = (float)triangle((i - c + 0.5) / fs);
		for (int i = lo; i < hi && sum > 0; i++)
			w[i - lo] = (float)(w[i - lo] / sum);
		t->first[x] = lo;
		t->count[x] = hi - lo;
	}
}

static void
taps_free(struct taps *t)
{
	free(t->first);
	free(t->count);
	free(t->w);
}

static float
load(const struct tensor *t, size_t i)
{
	switch (t->dtype) {
	case DT_U8: return ((const uint8_t *)t->data)[i];
	case DT_U16: return ((const uint16_t *)t->data)[i];
	default: return ((const float *)t->data)[i];
	}
}

static void
store(struct tensor *t, size_t i, float v)
{
	if (t->dtype == DT_F32) {
		((float *)t->data)[i] = v;
		return;
	}
	float hi = t->dtype == DT_U8 ? 255.0f : 65535.0f;
	v = v < 0 ? 0 : v > hi ? hi : v;
	if (t->dtype == DT_U8)
		((uint8_t *)t->data)[i] = (uint8_t)(v + 0.5f);
	else
		((uint16_t *)t->data)[i] = (uint16_t)(v + 0.5f);
}

/* Horizontal pass into a float buffer (ih x ow x c), then vertical. */
static void
resize_filter(const struct tensor *src, struct tensor *dst, enum interp how)
{
	int ih = (int)src->shape[0], iw = (int)src->shape[1], c = (int)src->shape[2];
	int oh = (int)dst->shape[0], ow = (int)dst->shape[1];
	struct taps tx, ty;
	float *tmp = XNEW(float, xmul(xmul((size_t)ih, (size_t)ow, "resize"), (size_t)c, "resize"));

	taps_make(&tx, iw, ow, how);
	taps_make(&ty, ih, oh, how);
	for (int y = 0; y < ih; y++)
		for (int x = 0; x < ow; x++)
			for (int k = 0; k < c; k++) {
				const float *w = tx.w + (size_t)x * tx.maxtaps;
				float s = 0;
				for (int i = 0; i < tx.count[x]; i++)
					s += w[i] * load(src, ((size_t)y * iw + tx.first[x] + i) * c + k);
				tmp[((size_t)y * ow + x) * c + k] = s;
			}
	for (int y = 0; y < oh; y++) {
		const float *w = ty.w + (size_t)y * ty.maxtaps;
		for (size_t j = 0; j < (size_t)ow * c; j++) {
			float s = 0;
			for (int i = 0; i < ty.count[y]; i++)
				s += w[i] * tmp[(size_t)(ty.first[y] + i) * ow * c + j];
			store(dst, (size_t)y * ow * c + j, s);
		}
	}
	taps_free(&tx);
	taps_free(&ty);
	free(tmp);
}

int
resize_image(const struct tensor *src, int h, int w, enum interp how, struct tensor *dst,
             char *err, size_t errlen)
{
	if (src->rank != 3 || h < 1 || w < 1) {
		snprintf(err, errlen, "resize: need an HWC image and a positive size");
		return -1;
	}
	tensor_alloc_hwc(dst, src->dtype, h, w, src->shape[2]);
	if (src->shape[0] == h && src->shape[1] == w) {
		memcpy(dst->data, src->data, src->nbytes);
		return 0;
	}
	if (how == INTERP_NEAREST)
		resize_nearest(src, dst);
	else
		resize_filter(src, dst, how);
	return 0;
}
