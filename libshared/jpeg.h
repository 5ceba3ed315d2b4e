/* jpeg.h — JPEG decoding with libjpeg(-turbo), EXIF orientation applied.
 *
 * 8-bit gray and colour (YCbCr/RGB) JPEGs, baseline or progressive, become
 * an owned HWC u8 tensor of 1 or 3 channels.  12-bit, CMYK and YCCK files
 * are refused with a message.  The Orientation tag (0x0112) of IFD0 in an
 * APP1 "Exif" segment is applied, so rows run top to bottom as the camera
 * meant them to be shown (as PIL's ImageOps.exif_transpose does).
 */
#ifndef RADPIPE_JPEG_H
#define RADPIPE_JPEG_H

#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

struct jpeg_image_info {
	int width, height;      /* after the orientation is applied */
	int channels;           /* 1 or 3 */
	int progressive;
	int orientation;        /* EXIF 1..8 (1 when absent or malformed) */
};

/* 1 if buf starts with a JPEG SOI marker followed by a marker. */
int jpeg_is_jpeg(const uint8_t *buf, size_t len);
/* Decodes a JPEG held in memory into t (owned u8 HWC).  Any libjpeg
 * warning other than extraneous bytes (e.g. a truncated file) is an error.
 * Returns 0, or -1 with a one-line reason in err. */
int jpeg_decode_image(const uint8_t *buf, size_t len, struct tensor *t,
                      struct jpeg_image_info *info, char *err, size_t errlen);
/* Like jpeg_decode_image, but an image of more than max_pixels pixels (0:
 * no limit) is refused from its header, before any allocation; running
 * out of memory for the image is an error (-1 and a message), not an exit. */
int jpeg_decode_max(const uint8_t *buf, size_t len, uint64_t max_pixels, struct tensor *t,
                    struct jpeg_image_info *info, char *err, size_t errlen);
/* The EXIF Orientation (1..8) in an APP1 payload of len bytes (starting
 * "Exif\0\0"), or 1 when there is none or the payload is malformed; every
 * offset is bounds-checked. */
int jpeg_exif_orientation(const uint8_t *app1, size_t len);
/* Replaces the HWC u8 tensor t by its EXIF orientation transform (1..8). */
void jpeg_orient(struct tensor *t, int orientation);

#endif
