/* multilabel.c — the trainer's multi-label task (multilabel.h). */
#include "nn/train/multilabel.h"
#include "nn/train/ranks.h"
#include "err.h"
#include "stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int __attribute__((format(printf, 2, 3)))
ml_fail(struct trainer *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
	return -1;
}

/* 1 if fb's target names are the model's. */
static int
same_names(const struct nn_ml_info *ml, const struct feed *fb)
{
	if (fb->k != ml->k)
		return 0;
	for (int j = 0; j < fb->k; j++)
		if (strcmp(fb->tnames[j], ml->names[j]) != 0)
			return 0;
	return 1;
}

/* "A, B, C" (truncated) into buf. */
static const char *
list(char *const *v, int k, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int j = 0; j < k && n + 1 < len; j++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", j ? "," : "", v[j]);
	return buf;
}

int
mlt_setup(struct trainer *t, const struct feed *fb, char *err, size_t errlen)
{
	const struct train_options *o = t->o;
	int ml = o->task == TASK_MULTILABEL || (o->task == TASK_AUTO && fb->k > 0);

	if (o->resume)
		return 0;       /* the checkpoint says (mlt_check_model) */
	if (ml && fb->k == 0) {
		snprintf(err, errlen, "--task multilabel: the stream has no targets (imgload --targets)");
		return -1;
	}
	if (!ml && fb->k > 0) {
		snprintf(err, errlen, "--task %s: the stream is multi-label (targets); use --task multilabel",
		    o->task == TASK_BINARY ? "binary" : "multiclass");
		return -1;
	}
	if (ml && (o->has_class_weight || o->classes || o->sync_bn || o->head.classes != 1)) {
		snprintf(err, errlen, "--task multilabel: %s does not apply (the outputs are the "
		    "stream's targets)", o->has_class_weight ? "--class-weight" : o->classes ?
		    "--classes" : o->sync_bn ? "--sync-bn" : "--num-classes");
		return -1;
	}
	if (ml)
		nn_ml_info_set(&t->info.ml, fb->tnames, fb->k);
	return 0;
}

int
mlt_check_model(struct trainer *t, const struct feed *fb, char *err, size_t errlen)
{
	char a[512], b[512];
	int task = t->o->task;

	if (task != TASK_AUTO && (task == TASK_MULTILABEL) != (t->info.ml.k > 0)) {
		snprintf(err, errlen, "--task %s: %s is a %s model", task == TASK_BINARY ? "binary" :
		    task == TASK_MULTICLASS ? "multiclass" : "multilabel", t->o->resume ? t->o->resume :
		    "the model", t->info.ml.k ? "multi-label" : "single-label");
		return -1;
	}
	if (t->info.ml.k == 0 && fb->k == 0)
		return 0;
	if (t->info.ml.k == 0 || fb->k == 0) {
		snprintf(err, errlen, "%s is a %s model but the stream is %s", t->o->resume ? t->o->resume :
		    "the model", t->info.ml.k ? "multi-label" : "single-label", fb->k ? "multi-label (targets)" :
		    "single-label (no targets)");
		return -1;
	}
	if (!same_names(&t->info.ml, fb)) {
		snprintf(err, errlen, "the stream's target_names (%s) are not the model's (%s)",
		    list(fb->tnames, fb->k, a, sizeof a), list(t->info.ml.names, t->info.ml.k, b, sizeof b));
		return -1;
	}
	/* the counts so far (a checkpoint's): mlt_fold_counts adds the ranks' new ones */
	t->mlbase = XNEW(long long, 2 * (size_t)fb->k);
	memcpy(t->mlbase, t->info.ml.pos, (size_t)fb->k * sizeof *t->mlbase);
	memcpy(t->mlbase + fb->k, t->info.ml.neg, (size_t)fb->k * sizeof *t->mlbase);
	return 0;
}

int
mlt_check_val(struct trainer *t, char *err, size_t errlen)
{
	for (int i = 0; i < t->val.n; i++)
		if (!same_names(&t->info.ml, &t->val.b[i])) {
			snprintf(err, errlen, "--val %s: %s: %s", t->o->val, t->val.b[i].ids[0],
			    t->val.b[i].k ? "its target_names are not the model's" :
			    "no targets (the model is multi-label: imgload --targets)");
			return -1;
		}
	return 0;
}

int
mlt_known(const struct feed *fb)
{
	int n = 0;

	for (size_t i = 0; i < (size_t)fb->n * (size_t)fb->k; i++)
		n += fb->t[i] >= 0;
	return n;
}

int
mlt_batch_inputs(struct trainer *t, const struct feed *fb, uint64_t index, float *y, float *w)
{
	struct nn_ml_info *ml = &t->info.ml;
	size_t nk = (size_t)fb->n * (size_t)fb->k;

	if (!same_names(ml, fb))
		return ml_fail(t, "stdin: frame %llu: %s", (unsigned long long)index, fb->k ?
		    "its target_names are not the model's" : "no targets (the model is multi-label)");
	mlt_loss_inputs(fb->t, nk, y, w);
	for (size_t i = 0; i < nk; i++) {
		int j = (int)(i % (size_t)fb->k);
		if (fb->t[i] > 0)
			ml->pos[j]++;
		else if (fb->t[i] == 0)
			ml->neg[j]++;
	}
	return 0;
}

void
mlt_fold_counts(struct trainer *t)
{
	struct nn_ml_info *ml = &t->info.ml;
	int k = ml->k;
	double *d;

	if (k == 0 || t->mlbase == NULL)
		return;
	d = XNEW(double, 2 * (size_t)k);
	for (int j = 0; j < k; j++) {
		d[j] = (double)(ml->pos[j] - t->mlbase[j]);
		d[k + j] = (double)(ml->neg[j] - t->mlbase[k + j]);
	}
	ranks_sum(t, d, 2 * k);
	for (int j = 0; j < k; j++) {
		ml->pos[j] = t->mlbase[j] += (long long)d[j];
		ml->neg[j] = t->mlbase[k + j] += (long long)d[k + j];
	}
	free(d);
}

int
mlt_evaluate(struct trainer *t, double *lossP, double *accP, double *aucP)
{
	int k = t->info.ml.k, used = 0;
	size_t n = (size_t)t->val.images, at = 0;
	float *p = XNEW(float, n * (size_t)k + 1), *y = XNEW(float, n * (size_t)k + 1);
	double s[5] = { 0 };

	for (int i = 0; i < t->val.n; i++) {
		const struct feed *b = &t->val.b[i];
		size_t bk = (size_t)b->n * (size_t)k;
		if (nn_infer(t->m, b->dt, b->x, b->n, p + at) < 0) {
			free(p);
			free(y);
			return ml_fail(t, "validation: %s", nn_error(t->m));
		}
		memcpy(y + at, b->t, bk * sizeof *y);
		at += bk;
	}
	for (size_t i = 0; i < at; i++) {
		double q = fmin(fmax(p[i], 1e-7), 1 - 1e-7);
		if (!isfinite(p[i])) {
			double bad = p[i];

			free(p);
			free(y);
			return ml_fail(t, "--val %s: the model's output is %g: training diverged (lower "
			    "--lr?); nothing saved", t->o->val, bad);
		}
		if (y[i] < 0)
			continue;
		s[0] -= y[i] > 0 ? log(q) : log(1 - q);
		s[1] += (p[i] > 0.5f) == (y[i] > 0);
		s[2]++;
	}
	s[3] = mlt_mean_auc(p, y, n, k, &used);
	s[3] = used ? s[3] : 0;
	s[4] = used > 0;
	free(p);
	free(y);
	ranks_sum(t, s, 5);
	if (s[2] == 0)
		return ml_fail(t, "--val %s: no known target in the validation set", t->o->val);
	*lossP = s[0] / s[2];
	*accP = s[1] / s[2];
	*aucP = s[4] > 0 ? s[3] / s[4] : NAN;
	return 0;
}
