/* predset.c — prediction frames and labels read into sets (predset.h). */
#include "predset.h"
#include "err.h"
#include "frame.h"
#include "labels.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "FILE: frame N (KIND): what" into err; returns -1. */
static int
bad(char *err, size_t errlen, const struct frame_reader *r, const struct frame *f,
    const char *what)
{
	snprintf(err, errlen, "%s: frame %llu (%.*s): %s", frame_reader_name(r),
	    (unsigned long long)f->index, (int)f->kind_len, f->kind, what);
	return -1;
}

void
predset_set_class(struct predset *ps, int idx, const char *name)
{
	if (idx >= ps->k) {
		ps->names = xreallocarray(ps->names, (size_t)idx + 1, sizeof *ps->names);
		for (int i = ps->k; i <= idx; i++)
			ps->names[i] = NULL;
		ps->k = idx + 1;
	}
	if (name && ps->names[idx] == NULL)
		ps->names[idx] = xstrdup(name);
}

const char *
predset_class_name(const struct predset *ps, int idx, char *buf, size_t len)
{
	if (idx >= 0 && idx < ps->k && ps->names[idx])
		return ps->names[idx];
	snprintf(buf, len, "%d", idx);
	return buf;
}

void
predset_free(struct predset *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->v[i].id);
	for (int i = 0; i < ps->k; i++)
		free(ps->names[i]);
	free(ps->v);
	free(ps->names);
	idmap_free(&ps->map);
	ml_free(&ps->ml);
}

long
predset_find(const struct predset *ps, const char *id)
{
	return idmap_get(&ps->map, id);
}

/* Adds x (taking its id; freed on failure); a repeated id is an error
 * unless allow_dup. */
static int
put_rec(struct predset *ps, struct pred_rec *x, const char *src, char *err, size_t errlen)
{
	long i = idmap_get(&ps->map, x->id);

	if (i >= 0) {
		if (!ps->allow_dup) {
			err_set(err, errlen, "%s: id '%s' occurs twice (give --allow-duplicates to keep "
			    "the last)", src, x->id);
			free(x->id);
			return -1;
		}
		free(ps->v[i].id);
		ps->v[i] = *x;
		return 0;
	}
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 256;
		ps->v = xreallocarray(ps->v, ps->cap, sizeof *ps->v);
	}
	idmap_put(&ps->map, x->id, ps->n);
	ps->v[ps->n++] = *x;
	return 0;
}

/* The class index at key (its name at namekey) into *cP, -1 when absent. */
static int
get_class(const struct frame_reader *r, const struct frame *f, const char *key,
    const char *namekey, struct predset *ps, int *cP, char *err, size_t errlen)
{
	int64_t v;
	char name[256];

	*cP = -1;
	switch (frame_int(f, key, &v)) {
	case 0: return 0;
	case -1: return bad(err, errlen, r, f, key[0] == 'l' ? "label is not an integer" :
		    "pred is not an integer");
	}
	if (v < 0 || v >= PREDSET_MAX_CLASSES)
		return bad(err, errlen, r, f, "class index out of range [0, 4095]");
	predset_set_class(ps, (int)v, frame_str(f, namekey, name, sizeof name) == 1 ? name : NULL);
	*cP = (int)v;
	return 0;
}

/* scores: [p0, p1, ...]: sets the class count, pred (argmax) and, for two
 * classes, score = p1 when the frame has no score. */
static int
read_scores(const struct frame_reader *r, const struct frame *f, struct predset *ps,
    struct pred_rec *x, char *err, size_t errlen)
{
	const struct fval *a = frame_get(f, "scores");
	size_t k, best = 0;

	if (a == NULL)
		return 0;
	if (fv_type(a) != FV_ARRAY || (k = fv_len(a)) < 1 || k > PREDSET_MAX_CLASSES)
		return bad(err, errlen, r, f, "scores is not an array of 1..4096 numbers");
	for (size_t i = 0; i < k; i++) {
		if (fv_type(fv_at(a, i)) != FV_FLOAT)
			return bad(err, errlen, r, f, "scores holds a non-float");
		if (fv_number(fv_at(a, i)) > fv_number(fv_at(a, best)))
			best = i;
	}
	predset_set_class(ps, (int)k - 1, NULL);
	if ((int)k > ps->kpred)
		ps->kpred = (int)k;
	if (x->pred < 0)
		x->pred = (int)best;
	if (k == 2 && isnan(x->score))
		x->score = fv_number(fv_at(a, 1));
	return 0;
}

static int
add_prediction(struct predset *ps, const struct frame_reader *r, const struct frame *f,
    char *err, size_t errlen)
{
	const struct fval *id = frame_get(f, "id");
	struct pred_rec x = { NULL, -1, -1, NAN };

	if (fv_type(id) != FV_STR)
		return bad(err, errlen, r, f, "no string id");
	if (get_class(r, f, "label", "class", ps, &x.label, err, errlen) < 0 ||
	    get_class(r, f, "pred", "pred_class", ps, &x.pred, err, errlen) < 0)
		return -1;
	if (frame_num(f, "score", &x.score) < 0)
		return bad(err, errlen, r, f, "score is not a number");
	if (read_scores(r, f, ps, &x, err, errlen) < 0)
		return -1;
	if (x.pred >= ps->kpred)
		ps->kpred = x.pred + 1;
	if (isinf(x.score))
		return bad(err, errlen, r, f, "score is infinite");
	x.id = fv_strdup(id);
	return put_rec(ps, &x, frame_reader_name(r), err, errlen);
}

/* A prediction frame of either kind; a stream may not mix them. */
static int
add_any(struct predset *ps, const struct frame_reader *r, const struct frame *f, char *err,
    size_t errlen)
{
	char why[512];

	if (!ml_is_multilabel(f)) {
		if (ps->ml.n)
			return bad(err, errlen, r, f, "a single-label prediction among multi-label ones");
		return add_prediction(ps, r, f, err, errlen);
	}
	if (ps->n)
		return bad(err, errlen, r, f, "a multi-label prediction (target_names) among "
		    "single-label ones");
	if (ml_add(&ps->ml, f, why, sizeof why) < 0)
		return bad(err, errlen, r, f, why);
	return 0;
}

/* Opens path for reading frames; NULL with err. */
static struct frame_reader *
open_frames(const char *path, char *err, size_t errlen)
{
	struct frame_reader *r = frame_reader_open(path);

	if (r == NULL)
		err_set(err, errlen, "%s: %s", path, strerror(errno));
	return r;
}

/* The next frame of r: 1, 0 at the end, -1 with err (as frame_next says it). */
static int
next_frame(struct frame_reader *r, struct frame *f, uint64_t *countP, char *err, size_t errlen)
{
	int rc = frame_read(r, f);

	if (rc < 0)
		return err_set(err, errlen, "%s: frame %llu: %s", frame_reader_name(r),
		    (unsigned long long)*countP, frame_reader_error(r));
	*countP += rc > 0;
	return rc;
}

int
predset_read(const char *path, struct predset *ps, struct hist *h, size_t *ignored,
    char *err, size_t errlen)
{
	struct frame_reader *r = open_frames(path, err, errlen);
	struct frame f;
	uint64_t count = 0;
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = next_frame(r, &f, &count, err, errlen)) > 0) {
		if (frame_is(&f, "prediction")) {
			if ((rc = add_any(ps, r, &f, err, errlen)) < 0)
				break;
		} else if (h && frame_is(&f, "metrics")) {
			hist_add(h, &f);
		} else {
			(*ignored)++;
		}
	}
	frame_reader_close(r);
	return rc < 0 ? -1 : 0;
}

/* The class index a label table's CLASS stands for: a number is the index
 * itself; a name is looked up among the class names of the predictions. */
static int
table_class(const char *path, const char *name, const struct predset *ps, int *cP, char *err,
    size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(name, &end, 10);
	if (end != name && *end == '\0' && errno == 0) {
		if (v < 0 || v >= PREDSET_MAX_CLASSES)
			return err_set(err, errlen, "%s: class %s: an index must be in [0, %d]", path, name,
			    PREDSET_MAX_CLASSES - 1);
		*cP = (int)v;
		return 0;
	}
	for (int i = 0; i < ps->k; i++)
		if (ps->names[i] && strcmp(ps->names[i], name) == 0) {
			*cP = i;
			return 0;
		}
	return err_set(err, errlen, "%s: class '%s' is none of the predictions' classes: give its "
	    "index (0, 1, ...)", path, name);
}

/* A label table (labels.h, the format of imgload --labels): KEY is the
 * prediction's id, CLASS a class index or a class name of ps. */
static int
read_labels_table(const char *path, struct predset *lab, const struct predset *ps, char *err,
    size_t errlen)
{
	struct labels tab;
	int *idx, rc = 0;

	if (labels_load(&tab, path, err, errlen) < 0)
		return -1;
	idx = XNEW(int, (size_t)tab.nclasses);
	for (int c = 0; c < tab.nclasses && rc == 0; c++)
		if ((rc = table_class(path, tab.classes[c], ps, &idx[c], err, errlen)) == 0)
			predset_set_class(lab, idx[c], NULL);
	for (size_t i = 0; i < tab.map.cap && rc == 0; i++) {
		const struct idmap_entry *e = &tab.map.e[i];
		if (e->key != NULL)
			rc = put_rec(lab, &(struct pred_rec){ xstrdup(e->key), idx[e->val], -1, NAN },
			    path, err, errlen);
	}
	free(idx);
	labels_free(&tab);
	return rc;
}

/* The labels of the sample frames in path. */
static int
read_labels_frames(const char *path, struct predset *lab, char *err, size_t errlen)
{
	struct frame_reader *r = open_frames(path, err, errlen);
	struct frame f;
	uint64_t count = 0;
	int rc, label;

	if (r == NULL)
		return -1;
	while ((rc = next_frame(r, &f, &count, err, errlen)) > 0) {
		const struct fval *id = frame_get(&f, "id");
		if (!frame_is(&f, "sample") || fv_type(id) != FV_STR)
			continue;
		if ((rc = get_class(r, &f, "label", "class", lab, &label, err, errlen)) < 0)
			break;
		if (label >= 0 && (rc = put_rec(lab, &(struct pred_rec){ fv_strdup(id), label, -1, NAN },
		    path, err, errlen)) < 0)
			break;
	}
	frame_reader_close(r);
	return rc < 0 ? -1 : 0;
}

int
predset_read_labels(const char *path, struct predset *lab, const struct predset *ps,
    char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	int c;

	if (fp == NULL)
		return err_set(err, errlen, "%s: %s", path, strerror(errno));
	c = getc(fp);
	fclose(fp);
	if (c != EOF && ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf))
		return read_labels_frames(path, lab, err, errlen);
	return read_labels_table(path, lab, ps, err, errlen);
}

int
predset_join_labels(struct predset *ps, const struct predset *lab, const char *src,
    size_t *missingP, char *err, size_t errlen)
{
	char b1[16], b2[16];

	*missingP = 0;
	for (int i = 0; lab && i < lab->k; i++)
		predset_set_class(ps, i, lab->names[i]);
	for (size_t i = 0; i < ps->n; i++) {
		struct pred_rec *x = &ps->v[i];
		long j = lab ? predset_find(lab, x->id) : -1;
		if (j >= 0 && x->label >= 0 && x->label != lab->v[j].label)
			return err_set(err, errlen, "%s: id '%s': label %s in the predictions, %s in --labels",
			    src, x->id, predset_class_name(ps, x->label, b1, sizeof b1),
			    predset_class_name(ps, lab->v[j].label, b2, sizeof b2));
		if (j >= 0)
			x->label = lab->v[j].label;
		*missingP += x->label < 0;
	}
	return 0;
}
