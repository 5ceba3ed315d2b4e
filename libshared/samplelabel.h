/* samplelabel.h — a sample's label (imgload --labels) or its multi-label
 * targets (--targets) looked up in a table by a key: the sample's id, its
 * file name or stem, or a DICOM UID (--label-key).  Ownership: a
 * labelling owns its tables; labelling_free releases them.  Functions
 * returning int return 0 (or 1, found) and -1 with a one-line reason. */
#ifndef RADPIPE_SAMPLELABEL_H
#define RADPIPE_SAMPLELABEL_H

#include <stddef.h>
#include "dataset.h"
#include "image.h"
#include "labels.h"
#include "targets.h"

/* What a table's KEY is: the names are labelling_keys[LK_*]. */
enum { LK_ID, LK_NAME, LK_STEM, LK_SOP, LK_SERIES, LK_STUDY, LK_PATIENT };
extern const char *const labelling_keys[];      /* "id", "name", ..., NULL */

struct labelling {
	struct labels tab;      /* the label table (targets 0) */
	int *cls;               /* per table class: the data set's class index */
	struct targets tg;      /* the target table (targets 1) */
	int targets;            /* 1: targets, 0: labels */
	const char *table;      /* the table's file, for messages */
	int key;                /* LK_* */
	int key_given;          /* 0 with targets: the id, then the file name */
	int skip;               /* a sample without a row is left out (else an error) */
};

/* Loads the label table path into lab (key, key_given and skip set by the
 * caller) and makes its classes ds's: the table's sorted, or when fixed
 * (--classes gave ds's), ds's, which must then name every class of it. */
int labelling_load_labels(struct labelling *lab, const char *path, struct dataset *ds, int fixed,
                          char *err, size_t errlen);
/* Loads the target table path, with the label map map_path (may be NULL). */
int labelling_load_targets(struct labelling *lab, const char *path, const char *map_path,
                           const struct targets_opts *o, char *err, size_t errlen);
/* Looks up sample s (id set; a frame of item it, described by ii): its
 * label into s->label, or its targets into *tvP.  Returns 1 when found, 0
 * when it is to be left out (lab->skip; the reason in note), -1 with err. */
int labelling_find(const struct labelling *lab, const struct ds_item *it, struct ds_item *s,
                   const struct image_info *ii, const signed char **tvP, char *note,
                   size_t notelen, char *err, size_t errlen);
/* Releases what lab holds. */
void labelling_free(struct labelling *lab);

#endif
