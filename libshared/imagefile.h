/* imagefile.h — opening an image file by its path: the one way imgload
 * and leakcheck read a file (a regular file only, read whole, then
 * image_open; image.h says what a file may hold). */
#ifndef RADPIPE_IMAGEFILE_H
#define RADPIPE_IMAGEFILE_H

#include <stddef.h>
#include "image.h"

/* Reads the regular file at path and opens it (image_open with o);
 * sha256hex (may be NULL) gets the SHA-256 of the file's bytes, in hex.
 * Returns 0 with *fP the caller's (image_close), IMAGE_SKIP with a note
 * in err when the file holds no image, or -1 with a one-line reason. */
int image_open_path(const char *path, const struct image_opts *o, struct image_file **fP,
                    struct image_info *info, char sha256hex[65], char *err, size_t errlen);
/* Decodes frame 0 of the image file at path into t (owned; image_frame).
 * Returns 0, IMAGE_SKIP or -1 with err, as image_open_path. */
int image_read_path(const char *path, const struct image_opts *o, struct tensor *t,
                    char *err, size_t errlen);

#endif
