/* samplelabel.c — labels and targets of samples from tables (samplelabel.h). */
#include "samplelabel.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const labelling_keys[] = { "id", "name", "stem", "sop", "series", "study", "patient", NULL };

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Makes the sorted classes of table t ds's classes. */
static void
take_classes(struct dataset *ds, const struct labels *t)
{
	char **sorted = XNEW(char *, (size_t)t->nclasses);

	memcpy(sorted, t->classes, (size_t)t->nclasses * sizeof *sorted);
	qsort(sorted, (size_t)t->nclasses, sizeof *sorted, cmp_str);
	for (int i = 0; i < ds->nclasses; i++)
		free(ds->classes[i]);
	free(ds->classes);
	ds->classes = XNEW(char *, (size_t)t->nclasses);
	ds->nclasses = t->nclasses;
	for (int i = 0; i < t->nclasses; i++)
		ds->classes[i] = xstrdup(sorted[i]);
	free(sorted);
}

int
labelling_load_labels(struct labelling *lab, const char *path, struct dataset *ds, int fixed,
    char *err, size_t errlen)
{
	struct labels *t = &lab->tab;

	lab->targets = 0;
	lab->table = path;
	if (labels_load(t, path, err, errlen) < 0)
		return -1;
	lab->cls = XNEW(int, (size_t)t->nclasses);
	if (!fixed)
		take_classes(ds, t);
	for (int i = 0; i < t->nclasses; i++) {
		lab->cls[i] = -1;
		for (int j = 0; j < ds->nclasses; j++)
			if (strcmp(ds->classes[j], t->classes[i]) == 0)
				lab->cls[i] = j;
		if (lab->cls[i] < 0) {
			snprintf(err, errlen, "%s: class '%s' is not one of --classes", path, t->classes[i]);
			return -1;
		}
	}
	return 0;
}

int
labelling_load_targets(struct labelling *lab, const char *path, const char *map_path,
    const struct targets_opts *o, char *err, size_t errlen)
{
	lab->targets = 1;
	lab->table = path;
	return targets_load(&lab->tg, path, map_path, o, err, errlen);
}

/* The key a label is looked up by, for frame ii of item it; NULL: none. */
static const char *
label_key(const struct labelling *lab, const struct ds_item *it, const struct image_info *ii,
    char *buf, size_t cap)
{
	const char *base = strrchr(it->id, '/'), *dot;

	base = base ? base + 1 : it->id;
	switch (lab->key) {
	case LK_ID: return it->id;
	case LK_NAME: return base;
	case LK_STEM:
		dot = strrchr(base, '.');
		snprintf(buf, cap, "%.*s", dot && dot != base ? (int)(dot - base) : (int)strlen(base), base);
		return buf;
	}
	if (ii->dicom == NULL)
		return NULL;
	switch (lab->key) {
	case LK_SOP: return ii->dicom->sop_uid;
	case LK_SERIES: return ii->dicom->series_uid;
	case LK_STUDY: return ii->dicom->study_uid;
	default: return ii->dicom->patient_id_raw;
	}
}

/* Looks key up in the table (labels: s->label; targets: *tvP); 1 if found. */
static int
lookup(const struct labelling *lab, const char *key, struct ds_item *s, const signed char **tvP)
{
	int c;

	if (lab->targets)
		return (*tvP = targets_find(&lab->tg, key)) != NULL;
	if ((c = labels_find(&lab->tab, key)) < 0)
		return 0;
	s->label = lab->cls[c];
	return 1;
}

/* A frame k of a multi-frame file is first looked up as "KEY#k" (id and
 * name keys); targets without a key given try the id, then the file name. */
int
labelling_find(const struct labelling *lab, const struct ds_item *it, struct ds_item *s,
    const struct image_info *ii, const signed char **tvP, char *note, size_t notelen,
    char *err, size_t errlen)
{
	char buf[1024];
	const char *key = label_key(lab, it, ii, buf, sizeof buf), *base;
	const char *what = lab->targets ? "row" : "label";
	int found = 0;

	if (key && *key && ii->frames > 1 && lab->key <= LK_NAME) {
		char fk[1100];
		snprintf(fk, sizeof fk, "%s%s", key, strchr(s->id, '#'));
		found = lookup(lab, fk, s, tvP);
	}
	if (!found && key && *key)
		found = lookup(lab, key, s, tvP);
	if (!found && lab->targets && !lab->key_given) {
		base = strrchr(it->id, '/');
		found = lookup(lab, base ? base + 1 : it->id, s, tvP);
	}
	if (found)
		return 1;
	if (lab->skip) {
		snprintf(note, notelen, "%.500s: no %s for '%.500s' (skipped)", s->id, what, key ? key : "");
		return 0;
	}
	snprintf(err, errlen, "no %s for %s '%.200s' in %.200s (--unlabeled skip to leave it out)",
	    what, labelling_keys[lab->key], key ? key : "", lab->table);
	return -1;
}

void
labelling_free(struct labelling *lab)
{
	free(lab->cls);
	if (!lab->targets && lab->table)
		labels_free(&lab->tab);
	targets_free(&lab->tg);
	memset(lab, 0, sizeof *lab);
}
