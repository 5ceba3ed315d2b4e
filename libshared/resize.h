/* resize.h — image resampling (HWC, u8/u16/f32, any channel count). */
#ifndef RADPIPE_RESIZE_H
#define RADPIPE_RESIZE_H

#include <stddef.h>

#include "tensor.h"

enum interp {
	INTERP_NEAREST,         /* PIL NEAREST (Keras' default): src = floor((dst+0.5)*in/out) */
	INTERP_BILINEAR,        /* PIL BILINEAR (triangle filter, antialiased when shrinking) */
	INTERP_AREA             /* box filter: mean of covered source cells, weighted by overlap */
};

/* Parses "nearest" | "bilinear" | "area"; -1 if unknown. */
int interp_parse(const char *s);
/* Resizes src (HWC) to h x w into dst (owned, same dtype and channels).
 * Returns 0, or -1 with a one-line reason in err when src is not HWC or
 * h or w is not positive. */
int resize_image(const struct tensor *src, int h, int w, enum interp how, struct tensor *dst,
                 char *err, size_t errlen);

#endif
