/* affine.h — Keras-style random affine transforms and a one-pass warp.
 *
 * Coordinates are (row, col) array indices, as in Keras' ImageDataGenerator
 * and scipy.ndimage.  A transform is a 3x3 row-major matrix M that maps an
 * OUTPUT pixel (r, c, 1) to the INPUT point it samples:
 *     in_row = (r*M[0] + c*M[1]) + M[2],  in_col = (r*M[3] + c*M[4]) + M[5]
 * (scipy.ndimage.affine_transform's convention and evaluation order), so a
 * zoom factor below 1 enlarges the content.  Keras composes
 * M = R(theta) . T(tx, ty) . Sh(shear) . Z(zx, zy) and centres it about
 * o = (h/2 + 0.5, w/2 + 0.5); flips come after the warp and are folded into
 * the same matrix, so an image is resampled once.
 *
 * Pixels are HWC, any channel count, u8, u16 or f32.  Integer results are
 * rounded half away from zero and clamped to the type's range.
 */
#ifndef RADPIPE_AFFINE_H
#define RADPIPE_AFFINE_H

#include <stdint.h>
#include "rng.h"

enum affine_fill {
	AFFINE_FILL_CONSTANT,   /* kkkk|abcd|kkkk  (k = cval) */
	AFFINE_FILL_NEAREST,    /* aaaa|abcd|dddd */
	AFFINE_FILL_REFLECT,    /* dcba|abcd|dcba */
	AFFINE_FILL_WRAP        /* abcd|abcd|abcd */
};
enum affine_interp { AFFINE_INTERP_NEAREST, AFFINE_INTERP_BILINEAR };

/* One drawn transform, Keras' names and units. */
struct affine_params {
	double theta;           /* rotation, radians */
	double tx, ty;          /* shift in pixels: tx along rows, ty along columns */
	double shear;           /* radians */
	double zx, zy;          /* zoom along rows, columns */
	int hflip, vflip;       /* applied after the warp */
};

/* What to draw from; a zero range draws nothing (as in Keras). */
struct affine_ranges {
	double rotate;          /* degrees: theta ~ U(-rotate, rotate) */
	double hshift, wshift;  /* fraction of h (w), or pixels when *_px */
	int hshift_px, wshift_px;
	double shear;           /* radians: shear ~ U(-shear, shear) */
	double zoom_lo, zoom_hi;/* zx, zy ~ U(lo, hi) independently; 1,1 = off */
	int hflip, vflip;       /* each with probability 1/2 */
};

/* The resampling of one image. */
struct affine_warp {
	double m[9];            /* output (r, c, 1) -> input (row, col, 1) */
	enum affine_fill fill;
	enum affine_interp interp;
	double cval;            /* the constant of AFFINE_FILL_CONSTANT */
};

/* Identity parameters (zoom 1, no flips). */
void affine_params_identity(struct affine_params *p);
/* Draws p from rg with r in Keras order (theta, tx, ty, shear, zx, zy,
 * hflip, vflip), for an h x w image; ranges that are zero draw nothing. */
void affine_draw(const struct affine_ranges *rg, struct rng *r, int64_t h, int64_t w,
                 struct affine_params *p);
/* c = a . b for 3x3 row-major matrices (c may not alias a or b). */
void affine_mul(const double a[9], const double b[9], double c[9]);
/* m = R . T . Sh . Z of p (flips not included), not yet centred. */
void affine_keras(const struct affine_params *p, double m[9]);
/* out = T(o) . m . T(-o), o = (h/2 + 0.5, w/2 + 0.5) (Keras'
 * transform_matrix_offset_center). */
void affine_center(const double m[9], int64_t h, int64_t w, double out[9]);
/* The centred Keras matrix of p (without flips): what scipy would apply. */
void affine_matrix(const struct affine_params *p, int64_t h, int64_t w, double out[9]);
/* out = m . F, F the output flips (c -> w-1-c, r -> h-1-r), so that one
 * warp with out equals the warp with m followed by the flips. */
void affine_flip(const double m[9], int hflip, int vflip, int64_t h, int64_t w, double out[9]);
/* 1 if m is exactly the identity. */
int affine_is_identity(const double m[9]);

/* Warps src into dst (both h x w x c, distinct buffers) with wp. */
void affine_warp_u8(const uint8_t *src, uint8_t *dst, int64_t h, int64_t w, int64_t c,
                    const struct affine_warp *wp);
void affine_warp_u16(const uint16_t *src, uint16_t *dst, int64_t h, int64_t w, int64_t c,
                     const struct affine_warp *wp);
void affine_warp_f32(const float *src, float *dst, int64_t h, int64_t w, int64_t c,
                     const struct affine_warp *wp);

/* Name of a fill mode / interpolation ("constant", "bilinear", ...). */
const char *affine_fill_name(enum affine_fill f);
const char *affine_interp_name(enum affine_interp i);

#endif
