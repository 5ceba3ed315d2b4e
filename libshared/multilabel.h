/* multilabel.h — metrics(1) on a multi-label prediction stream
 * (radpipe-stream(5)): K sigmoid scores and K targets (1, 0, -1 unknown)
 * per image.  Each label is evaluated over the images whose target for it
 * is known (unknowns are masked out, never counted as negatives): AUC with
 * its DeLong interval, prevalence, sensitivity and specificity with Wilson
 * intervals at a per-label threshold; then the macro average (the mean of
 * the per-label AUCs) and the micro average (one AUC over every known
 * (image, label) pair pooled), both over the labels that were trained and
 * have both classes.  Labels never trained (trained false, NaN scores) and
 * labels with one class among their known targets are named, not averaged.
 *
 * Errors follow err.h: -1 with a one-line message in the caller's buffer.
 */
#ifndef RADPIPE_MULTILABEL_H
#define RADPIPE_MULTILABEL_H

#include <stddef.h>
#include "frame.h"
#include "idmap.h"
#include "stats.h"

#define ML_MAX_LABELS 4096

/* The multi-label predictions of one stream (or several, joined). */
struct ml_set {
	int k;                  /* labels; 0 until the first frame */
	char **names;           /* k target names, owned */
	int *trained;           /* k flags: 0 when the output was never trained */
	size_t n, cap;          /* images */
	char **ids;             /* n ids, owned */
	double *score;          /* n x k scores (NaN: not trained) */
	signed char *target;    /* n x k targets: 1, 0, or -1 unknown */
	struct idmap map;       /* id -> image */
	int allow_dup;          /* a repeated id replaces the earlier (else an error) */
};

/* 1 if f is a multi-label prediction frame (it has target_names and scores). */
int ml_is_multilabel(const struct frame *f);
/* Adds the multi-label prediction frame f to s; its target_names, trained
 * flags and NaN scores must agree with the frames before it.  Returns 0,
 * or -1 with err (a bad or inconsistent key, a NaN score on a trained
 * label, a repeated id without allow_dup); s is then unchanged. */
int ml_add(struct ml_set *s, const struct frame *f, char *err, size_t errlen);
/* Frees what s holds, leaving an empty set (allow_dup kept). */
void ml_free(struct ml_set *s);

/* How the per-label thresholds are chosen (metrics' option names). */
enum { ML_THR_FIXED, ML_THR_YOUDEN, ML_THR_FROM };
struct ml_eval {
	int method;             /* ML_THR_*; FIXED uses fixed for every label */
	double fixed;           /* the fixed threshold (0.5 by default) */
	const struct ml_set *from;      /* YOUDEN, FROM: the set thresholds are chosen on */
	const char *source;     /* FROM: its name, for the frames and messages */
	int roc;                /* also one roc frame per evaluated label */
};
/* Evaluates s as above and appends to out a multilabel_summary frame, one
 * label_metrics frame per label and, with e->roc, one roc frame per
 * evaluated label.  Youden thresholds (stats_youden, 0.5 preferred) come
 * from e->from, whose labels must be s's; a label without a Youden
 * threshold there (not trained, one class) keeps e->fixed, said in its
 * frame.  Returns 0, or -1 with err (no images, a set without targets,
 * other labels in e->from); nothing is appended then. */
int ml_evaluate(const struct ml_set *s, const struct ml_eval *e, struct fbytes *out,
                char *err, size_t errlen);

#endif
