/* image.h — decoding image files of any supported format into tensors.
 *
 * The format is recognised by content (PNG and JPEG signatures, DICOM's
 * "DICM"), not by name.  A file holds one image, or several frames (a
 * multi-frame DICOM): image_open parses it, image_frame renders frame k,
 * image_close releases it; image_decode does the three for frame 0.
 * Colour handling that every loader shares lives here too: converting to
 * 1 or 3 channels and reducing 16-bit samples to 8 bits.
 */
#ifndef RADPIPE_IMAGE_H
#define RADPIPE_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "dicom.h"
#include "tensor.h"

struct image_info {
	const char *format;     /* "png", ... (static string) */
	int width, height;
	int bit_depth;          /* as stored in the file */
	int channels;           /* as decoded, before conversion */
	int gray_rgb;           /* 1: an RGB image whose three channels are equal */
	int frames;             /* frames in the file (1 but for multi-frame DICOM) */
	int orientation;        /* JPEG: EXIF orientation applied (1..8); else 0 */
	const struct dicom_meta *dicom; /* DICOM attributes (owned by the image_file), or NULL */
};

/* image_open's result for files that hold no image (DICOMDIR, DICOM
 * reports): the caller notes the reason and goes on. */
#define IMAGE_SKIP (-2)

struct image_opts {
	int keep16;                     /* keep more than 8 bits as u16 */
	const struct dicom_opts *dicom; /* DICOM rendering; NULL: the defaults */
	uint64_t max_pixels;            /* larger images (width x height, per
	                                 * frame) are refused before decoding; 0: none */
};

struct image_file;

/* 1 if name has an extension of a format radpipe reads (.png, .jpg,
 * .jpeg, .dcm, .dicom; any case). */
int image_name_ok(const char *name);
/* 1 if the file at path has such a name, or is a regular file that
 * starts like a DICOM file (which needs no extension); reads at most 132
 * bytes, and never opens a FIFO or a device. */
int image_path_ok(const char *path);
/* Parses an image file held in memory (buf is not needed afterwards) and
 * fills info (frames, and for frame 0 the format fields).  Returns 0 with
 * *fP owned by the caller (image_close), IMAGE_SKIP with a note in err
 * when the file holds no image, or -1 with a one-line reason. */
int image_open(const uint8_t *buf, size_t len, const struct image_opts *o,
               struct image_file **fP, struct image_info *info, char *err, size_t errlen);
/* Decodes frame k (0-based) of f into t (owned HWC u8/u16), updating info.
 * Returns 0, or -1 with a one-line reason. */
int image_frame(struct image_file *f, int k, struct tensor *t, struct image_info *info,
                char *err, size_t errlen);
/* Releases f and what info->dicom points to (NULL is fine). */
void image_close(struct image_file *f);
/* Decodes an image file held in memory into t (owned HWC u8, or u16 when
 * the file has more than 8 bits and keep16 is set); the first frame of a
 * multi-frame file, DICOM with the default rendering; info->dicom is NULL.
 * Returns 0, or -1 with a one-line reason in err. */
int image_decode(const uint8_t *buf, size_t len, int keep16, struct tensor *t,
                 struct image_info *info, char *err, size_t errlen);
/* Converts t in place to `channels` (1 or 3): gray is replicated to RGB,
 * alpha dropped, RGB turned to luma (ITU-R 601, as PIL's convert('L'))
 * unless its channels are equal, in which case one is kept exactly.
 * Sets *gray_rgb when an RGB image was found to be gray.  Returns 0, or
 * -1 (t unchanged) when there is no memory for the result. */
int image_to_channels(struct tensor *t, int channels, int *gray_rgb);
/* Converts a u16 tensor in place to u8 (rounded v*255/65535). */
void image_to_u8(struct tensor *t);

#endif
