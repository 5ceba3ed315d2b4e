/* png.h — PNG decoding and encoding with libpng.
 *
 * Decoding handles every PNG: bit depths 1/2/4/8/16, gray, gray+alpha,
 * RGB, RGBA, palette (expanded), tRNS, interlaced.  The result is an owned
 * HWC tensor of u8, or u16 when the file is 16-bit and keep16 is set.
 */
#ifndef RADPIPE_PNG_H
#define RADPIPE_PNG_H

#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

struct png_info {
	int width, height;
	int bit_depth;          /* as stored: 1, 2, 4, 8, 16 */
	int channels;           /* after expansion: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
	int color_type;         /* libpng PNG_COLOR_TYPE_* as stored */
	int interlaced;
};

/* 1 if buf starts with the PNG signature. */
int png_is_png(const uint8_t *buf, size_t len);
/* Decodes a PNG held in memory into t (owned).  Palette and sub-8-bit gray
 * are expanded to 8 bits; 16-bit samples are kept as u16 if keep16, else
 * scaled to u8 (rounded v*255/65535).  Returns 0, or -1 with
 * a one-line reason in err (corrupt data, bad CRC, truncated). */
int png_decode(const uint8_t *buf, size_t len, int keep16, struct tensor *t,
               struct png_info *info, char *err, size_t errlen);
/* Like png_decode, but an image of more than max_pixels pixels (0: no
 * limit) is refused from its header, before any allocation; running out
 * of memory for the image is an error (-1 and a message), not an exit. */
int png_decode_max(const uint8_t *buf, size_t len, int keep16, uint64_t max_pixels,
                   struct tensor *t, struct png_info *info, char *err, size_t errlen);
/* Encodes a u8 or u16 HWC tensor with 1-4 channels as PNG into a new
 * malloc'd buffer (*out, *outlen; caller frees).  Returns 0 or -1. */
int png_encode(const struct tensor *t, uint8_t **out, size_t *outlen, char *err, size_t errlen);
/* Encodes t and writes it atomically to path.  Returns 0, or -1 with a
 * one-line reason in err (naming path). */
int png_write_file(const char *path, const struct tensor *t, char *err, size_t errlen);

#endif
