/* image.h — decoding image files of any supported format into tensors.
 *
 * The format is recognised by content (PNG signature, ...), not by name.
 * Colour handling that every loader shares lives here too: converting to
 * 1 or 3 channels and reducing 16-bit samples to 8 bits.
 */
#ifndef RADPIPE_IMAGE_H
#define RADPIPE_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

struct image_info {
	const char *format;     /* "png", ... (static string) */
	int width, height;
	int bit_depth;          /* as stored in the file */
	int channels;           /* as decoded, before conversion */
	int gray_rgb;           /* 1: an RGB image whose three channels are equal */
};

/* 1 if name has an extension of a format radpipe reads (.png, ...). */
int image_name_ok(const char *name);
/* Decodes an image file held in memory into t (owned HWC u8, or u16 when
 * the file has more than 8 bits and keep16 is set).  Returns 0, or -1 with
 * a one-line reason in err. */
int image_decode(const uint8_t *buf, size_t len, int keep16, struct tensor *t,
                 struct image_info *info, char *err, size_t errlen);
/* Converts t in place to `channels` (1 or 3): gray is replicated to RGB,
 * alpha dropped, RGB turned to luma (ITU-R 601, as PIL's convert('L'))
 * unless its channels are equal, in which case one is kept exactly.
 * Sets *gray_rgb when an RGB image was found to be gray. */
void image_to_channels(struct tensor *t, int channels, int *gray_rgb);
/* Converts a u16 tensor in place to u8 (rounded v*255/65535). */
void image_to_u8(struct tensor *t);

#endif
