/* dataset.h — finding images the way Keras' flow_from_directory does
 * (sampleframe.h encodes them as sample frames).
 *
 * Memory: a data set keeps its items (paths, ids, labels) in an unlinked
 * temporary file in $TMPDIR (spill.h), not in memory, and so does the walk
 * its table of the folders and files it has taken (fidmap.h) and the names
 * of a large folder while it sorts them (strsort.h): what stays in memory
 * does not grow with the number of images (imgload(1): MEMORY).  An item
 * is read back by its index with dataset_item.
 *
 * Ownership: a dataset owns its file, the class names and the buffer the
 * last item read lives in; dataset_free releases them.
 */
#ifndef RADPIPE_DATASET_H
#define RADPIPE_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "image.h"
#include "spill.h"
#include "tensor.h"

struct ds_item {
	char *path;             /* file to open */
	char *id;               /* path relative to the root given */
	int label;              /* class index, -1 when unknown */
};

struct dataset {
	size_t n;               /* items */
	char **classes;
	int nclasses;
	int shard_rank;         /* shard_size > 1: meta.shard of every sample */
	int shard_size;         /* (imgload --shard R/S); 0 or 1: none */
	struct spill items;     /* the items' records, in the order found */
	struct spill index;     /* n offsets (uint64_t) of the records */
	int *relabel;           /* label as found -> class index; NULL: the same */
	size_t *count;          /* items per class (as collected) */
	size_t unlabelled;      /* items without a class */
	char *rec;              /* the record last read (dataset_item) */
	size_t reccap;
};

/* Collects the images named by paths (class-folder roots, flat folders,
 * files, @LIST files).  classes: "A,B,..." fixing the class order, or NULL
 * for the sorted folder names.  Returns 0; -1 with a one-line message
 * naming the path in err on any problem (missing, unreadable, no images,
 * unknown class); -2 (bad usage) when classes names no class.  On failure
 * ds holds what was collected so far (dataset_free releases it). */
int dataset_collect(struct dataset *ds, char **paths, int npaths, const char *classes,
                    char *err, size_t errlen);
/* Like dataset_collect, but folders are not class folders: every image
 * under them, at any depth, is an unlabelled item (for labels from a table). */
int dataset_collect_unlabelled(struct dataset *ds, char **paths, int npaths, const char *classes,
                               char *err, size_t errlen);
/* Reads item i (< ds->n) into *it, whose strings live in ds until the
 * next call.  0; -1 with the reason in err (the temporary file). */
int dataset_item(struct dataset *ds, size_t i, struct ds_item *it, char *err, size_t errlen);
/* Fisher-Yates shuffle of order[0..n) from the stream (seed, epoch). */
void dataset_shuffle(size_t *order, size_t n, uint64_t seed, uint64_t epoch);
/* Releases everything ds owns. */
void dataset_free(struct dataset *ds);

#endif
