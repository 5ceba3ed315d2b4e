/* montage.c — images on a grid; see montage.h. */
#include "montage.h"
#include "cam.h"
#include "err.h"

#include <limits.h>
#include <math.h>
#include <string.h>

void
montage_begin(struct montage *m, int n, int cols, int tw, int th, int pad, int caption_h)
{
	if (cols <= 0)
		cols = (int)ceil(sqrt((double)n));
	if (cols > n)
		cols = n > 0 ? n : 1;
	*m = (struct montage){ .n = n, .cols = cols, .rows = (n + cols - 1) / cols,
		.tile_w = tw, .tile_h = th, .pad = pad, .caption_h = caption_h };
	if (m->rows < 1)
		m->rows = 1;
	tensor_alloc_hwc(&m->canvas, DT_U8, (int64_t)m->rows * (th + 2 * pad + caption_h),
	    (int64_t)cols * (tw + 2 * pad), 3);
	memset(m->canvas.data, 255, m->canvas.nbytes);
}

void
montage_tile_xy(const struct montage *m, int i, int *xP, int *yP)
{
	*xP = (i % m->cols) * (m->tile_w + 2 * m->pad) + m->pad;
	*yP = (i / m->cols) * (m->tile_h + 2 * m->pad + m->caption_h) + m->pad;
}

/* Element j of t as a double. */
static double
get(const struct tensor *t, size_t j)
{
	switch (t->dtype) {
	case DT_U8: return ((const uint8_t *)t->data)[j];
	case DT_U16: { uint16_t v; memcpy(&v, (const uint8_t *)t->data + 2 * j, 2); return v; }
	default: { float v; memcpy(&v, (const uint8_t *)t->data + 4 * j, 4); return v; }
	}
}

/* Display range of t: [0, 255] for u8, its own min..max otherwise. */
static void
range(const struct tensor *t, double *loP, double *hiP)
{
	size_t n = tensor_count(t);

	*loP = 0, *hiP = 255;
	if (t->dtype == DT_U8)
		return;
	*loP = INFINITY, *hiP = -INFINITY;
	for (size_t j = 0; j < n; j++) {
		double v = get(t, j);
		if (isfinite(v))
			*loP = fmin(*loP, v), *hiP = fmax(*hiP, v);
	}
	if (!(*hiP > *loP))
		*hiP = *loP + 1;
}

int
montage_put(struct montage *m, int i, const struct tensor *t)
{
	int h, w, c, x0, y0, dh, dw;
	double lo, hi, s;
	uint8_t *out = m->canvas.data;
	int64_t W = m->canvas.shape[1];

	if (t->rank != 3 || (t->dtype != DT_U8 && t->dtype != DT_U16 && t->dtype != DT_F32) ||
	    t->shape[2] < 1 || t->shape[2] > 4 || t->shape[0] < 1 || t->shape[1] < 1 || i >= m->n)
		return -1;
	h = (int)t->shape[0], w = (int)t->shape[1], c = (int)t->shape[2];
	s = fmin((double)m->tile_w / w, (double)m->tile_h / h);
	dw = (int)fmax(1, floor(w * s + 0.5)), dh = (int)fmax(1, floor(h * s + 0.5));
	montage_tile_xy(m, i, &x0, &y0);
	x0 += (m->tile_w - dw) / 2, y0 += (m->tile_h - dh) / 2;
	range(t, &lo, &hi);
	for (int y = 0; y < dh; y++) {
		int sy0 = (int)((double)y * h / dh), sy1 = (int)fmax(sy0 + 1, (double)(y + 1) * h / dh);
		for (int x = 0; x < dw; x++) {
			int sx0 = (int)((double)x * w / dw), sx1 = (int)fmax(sx0 + 1, (double)(x + 1) * w / dw);
			double acc[3] = { 0, 0, 0 };
			for (int sy = sy0; sy < sy1 && sy < h; sy++)
				for (int sx = sx0; sx < sx1 && sx < w; sx++)
					for (int k = 0; k < 3; k++)
						acc[k] += get(t, ((size_t)sy * w + sx) * c + (c >= 3 ? k : 0));
			double cnt = (double)(sy1 - sy0) * (sx1 - sx0);
			uint8_t *px = out + ((size_t)(y0 + y) * W + (x0 + x)) * 3;
			for (int k = 0; k < 3; k++) {
				double v = (acc[k] / cnt - lo) / (hi - lo) * 255.0;
				px[k] = (uint8_t)fmin(255, fmax(0, floor(v + 0.5)));
			}
		}
	}
	return 0;
}

void
montage_jet(double v, unsigned char rgb[3])
{
	double x = 4 * fmin(1, fmax(0, v));

	/* MATLAB's jet: channel k = 1.5 - |4v - (3 - k)|, clamped to [0, 1] */
	for (int k = 0; k < 3; k++)
		rgb[k] = (unsigned char)floor(255 * fmin(1, fmax(0, 1.5 - fabs(x - (3 - k)))) + 0.5);
}

int
montage_put_heat(struct montage *m, int i, const struct tensor *t, const float *raw,
                 int rh, int rw, double alpha)
{
	struct tensor rgb, hm;
	const float *heat;
	int h, w, c, rc;
	double lo, hi;

	if (t->rank != 3 || (t->dtype != DT_U8 && t->dtype != DT_U16 && t->dtype != DT_F32) ||
	    t->shape[2] < 1 || t->shape[2] > 4 || t->shape[0] < 1 || t->shape[1] < 1 ||
	    t->shape[0] > INT_MAX / 4 || t->shape[1] > INT_MAX / 4)
		return -1;
	h = (int)t->shape[0], w = (int)t->shape[1], c = (int)t->shape[2];
	range(t, &lo, &hi);
	tensor_alloc_hwc(&hm, DT_F32, h, w, 1);
	cam_heatmap(raw, rh, rw, hm.data, h, w);
	heat = hm.data;
	tensor_alloc_hwc(&rgb, DT_U8, h, w, 3);
	for (size_t j = 0; j < (size_t)h * w; j++) {
		int nc = c >= 3 ? 3 : 1;
		double g = 0;
		unsigned char jet[3];
		uint8_t *px = (uint8_t *)rgb.data + 3 * j;
		for (int k = 0; k < nc; k++)
			g += get(t, j * c + k);
		g = fmin(255, fmax(0, (g / nc - lo) / (hi - lo) * 255.0));
		montage_jet(isfinite(heat[j]) ? heat[j] : 0, jet);
		for (int k = 0; k < 3; k++)
			px[k] = (uint8_t)floor((1 - alpha) * g + alpha * jet[k] + 0.5);
	}
	rc = montage_put(m, i, &rgb);
	tensor_free(&rgb);
	tensor_free(&hm);
	return rc;
}

void
montage_widen(struct montage *m, int w)
{
	struct tensor c;
	int64_t H = m->canvas.shape[0], W = m->canvas.shape[1];

	tensor_alloc_hwc(&c, DT_U8, H, W + w, 3);
	memset(c.data, 255, c.nbytes);
	for (int64_t y = 0; y < H; y++)
		memcpy((uint8_t *)c.data + (size_t)(y * (W + w) * 3),
		    (const uint8_t *)m->canvas.data + (size_t)(y * W * 3), (size_t)W * 3);
	tensor_free(&m->canvas);
	m->canvas = c;
}

void
montage_jet_bar(struct montage *m, int x, int y, int w, int h)
{
	int64_t W = m->canvas.shape[1], H = m->canvas.shape[0];

	for (int r = 0; r < h; r++)
		for (int k = 0; k < w; k++) {
			uint8_t *px = (uint8_t *)m->canvas.data + ((size_t)(y + r) * W + (x + k)) * 3;
			unsigned char jet[3];
			if (y + r < 0 || y + r >= H || x + k < 0 || x + k >= W)
				continue;
			montage_jet(h > 1 ? 1 - (double)r / (h - 1) : 1, jet);
			if (r == 0 || r == h - 1 || k == 0 || k == w - 1)
				jet[0] = jet[1] = jet[2] = 0;
			memcpy(px, jet, 3);
		}
}

void
montage_free(struct montage *m)
{
	tensor_free(&m->canvas);
}
