/* predset.h — prediction frames (and labels) read into a set keyed by id,
 * for evaluation (metrics): single-label records, or the multi-label
 * predictions of multilabel.h (a stream has one kind).  Labels come from
 * sample frames or a label table (labels.h) and are joined by id.
 * Ownership: a predset owns its records and class names; predset_free
 * releases them.  Functions returning int return 0 and -1 with a one-line
 * reason in err (naming the file, and the frame where there is one). */
#ifndef RADPIPE_PREDSET_H
#define RADPIPE_PREDSET_H

#include <stddef.h>
#include "history.h"
#include "idmap.h"
#include "multilabel.h"

#define PREDSET_MAX_CLASSES 4096

/* One prediction (or one label from --labels); -1 / NaN when unknown. */
struct pred_rec {
	char *id;
	int label, pred;
	double score;
};

/* Records keyed by id.  A zeroed struct (allow_dup set) is empty. */
struct predset {
	struct pred_rec *v;
	size_t n, cap;
	struct idmap map;
	char **names;           /* class names by index (NULL: unnamed) */
	int k;                  /* classes seen: 1 + the largest index */
	int kpred;              /* classes the predictions know (pred, scores) */
	int allow_dup;          /* a later record for an id replaces the earlier */
	struct ml_set ml;       /* multi-label predictions */
};

/* Makes idx (< PREDSET_MAX_CLASSES) a class of ps, named name unless it has a name. */
void predset_set_class(struct predset *ps, int idx, const char *name);
/* The name of class idx, or its number written into buf. */
const char *predset_class_name(const struct predset *ps, int idx, char *buf, size_t len);
/* The index of the record of id, or -1. */
long predset_find(const struct predset *ps, const char *id);
/* Reads path ("-": stdin): prediction frames into ps, metrics frames into
 * h (when not NULL); counts the other frames in *ignored. */
int predset_read(const char *path, struct predset *ps, struct hist *h, size_t *ignored,
                 char *err, size_t errlen);
/* Reads labels by id from path into lab: the label of each sample frame,
 * or a label table whose classes are indices or class names of ps. */
int predset_read_labels(const char *path, struct predset *lab, const struct predset *ps,
                        char *err, size_t errlen);
/* Fills the missing labels of ps from lab (may be NULL) and its class
 * names; a label that disagrees is an error (src names ps's source).
 * *missingP gets the number of records still without a label. */
int predset_join_labels(struct predset *ps, const struct predset *lab, const char *src,
                        size_t *missingP, char *err, size_t errlen);
/* Releases what ps holds. */
void predset_free(struct predset *ps);

#endif
