/* imagefile.c — opening an image file by its path (imagefile.h). */
#include "imagefile.h"
#include "fileio.h"
#include "sha256.h"

#include <stdint.h>
#include <stdlib.h>

int
image_open_path(const char *path, const struct image_opts *o, struct image_file **fP,
    struct image_info *info, char sha256hex[65], char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (file_read_regular(path, &buf, &len, err, errlen) < 0)
		return -1;
	rc = image_open(buf, len, o, fP, info, err, errlen);
	if (rc == 0 && sha256hex != NULL)
		sha256_hex(buf, len, sha256hex);
	free(buf);
	return rc;
}

int
image_read_path(const char *path, const struct image_opts *o, struct tensor *t,
    char *err, size_t errlen)
{
	struct image_file *f;
	struct image_info ii;
	int rc;

	if ((rc = image_open_path(path, o, &f, &ii, NULL, err, errlen)) != 0)
		return rc;
	rc = image_frame(f, 0, t, &ii, err, errlen);
	image_close(f);
	return rc;
}
