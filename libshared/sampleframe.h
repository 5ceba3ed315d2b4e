/* sampleframe.h — one image of a data set as a sample frame
 * (radpipe-stream(5): kind, id, label and class or targets, x, meta).
 * Ids and class names from the file system are written as valid UTF-8,
 * other bytes escaped \xHH.  Ownership: the caller frees the buffer
 * returned. */
#ifndef RADPIPE_SAMPLEFRAME_H
#define RADPIPE_SAMPLEFRAME_H

#include <stddef.h>
#include "dataset.h"
#include "image.h"
#include "tensor.h"

/* Encodes a sample frame for it with image x into a new malloc'd buffer
 * (caller frees); *lenP gets its size; NULL when memory ran out.  meta gets
 * ii's source fields and, when ii->dicom is set, meta.dicom (never names or
 * birth dates); meta.shard {rank, size} when ds->shard_size > 1. */
char *sample_frame_encode(const struct dataset *ds, const struct ds_item *it,
                          const struct tensor *x, const struct image_info *ii,
                          const char *sha256hex, int gray_rgb, size_t *lenP);

/* The multi-label targets of one sample (imgload --targets): k values 1,
 * 0 or -1 (unknown) and the k target names, the same for every sample. */
struct sample_targets {
	int k;
	char *const *names;
	const signed char *v;
};
/* sample_frame_encode with targets (NULL: the same): the frame gets
 * targets and target_names and no label/class (radpipe-stream(5)). */
char *sample_frame_encode_targets(const struct dataset *ds, const struct ds_item *it,
                                  const struct tensor *x, const struct image_info *ii,
                                  const char *sha256hex, int gray_rgb,
                                  const struct sample_targets *t, size_t *lenP);

#endif
