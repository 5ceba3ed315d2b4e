/* multilabel.c — per-label, macro and micro evaluation of multi-label
 * predictions for metrics(1); see multilabel.h and radpipe-stream(5). */
#include "multilabel.h"
#include "err.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ml_is_multilabel(const struct frame *f)
{
	return frame_is(f, "prediction") && frame_get(f, "target_names") != NULL &&
	    frame_get(f, "scores") != NULL;
}

/* ---- reading ---- */

/* One frame's values before they join the set. */
struct ml_row {
	double *score;
	signed char *target;
	int *trained;
};

/* Checks target_names of f against s (or, for the first frame, their
 * form); *kP: their count. */
static int
read_names(const struct ml_set *s, const struct fval *a, size_t *kP, char *err, size_t errlen)
{
	size_t k = fv_len(a), len;

	if (fv_type(a) != FV_ARRAY || k < 1 || k > ML_MAX_LABELS)
		return err_set(err, errlen, "target_names is not an array of 1..%d strings", ML_MAX_LABELS);
	if (s->k && (int)k != s->k)
		return err_set(err, errlen, "%zu target_names, the frames before had %d", k, s->k);
	for (size_t j = 0; j < k; j++) {
		const char *p = fv_strp(fv_at(a, j), &len);
		if (p == NULL)
			return err_set(err, errlen, "target_names[%zu] is not a string", j);
		if (s->k && (strlen(s->names[j]) != len || memcmp(p, s->names[j], len) != 0))
			return err_set(err, errlen, "target_names[%zu] is '%.*s', the frames before had '%s'",
			    j, (int)len, p, s->names[j]);
	}
	*kP = k;
	return 0;
}

/* Reads scores, targets and trained (K each) into r. */
static int
read_values(const struct frame *f, size_t k, struct ml_row *r, char *err, size_t errlen)
{
	const struct fval *sc = frame_get(f, "scores"), *tg = frame_get(f, "targets");
	const struct fval *tr = frame_get(f, "trained");

	if (fv_type(sc) != FV_ARRAY || fv_len(sc) != k)
		return err_set(err, errlen, "scores is not an array of %zu numbers (one per target name)", k);
	if (tg == NULL)
		return err_set(err, errlen, "no targets (evaluation needs each image's 1/0/-1 targets)");
	if (fv_type(tg) != FV_ARRAY || fv_len(tg) != k)
		return err_set(err, errlen, "targets is not an array of %zu values (one per target name)", k);
	if (tr && (fv_type(tr) != FV_ARRAY || fv_len(tr) != k))
		return err_set(err, errlen, "trained is not an array of %zu booleans", k);
	for (size_t j = 0; j < k; j++) {
		double t;
		r->score[j] = NAN;
		if (fv_type(fv_at(sc, j)) != FV_NIL && fv_to_num(fv_at(sc, j), &r->score[j]) < 0)
			return err_set(err, errlen, "scores[%zu] is not a number", j);
		if (isinf(r->score[j]))
			return err_set(err, errlen, "scores[%zu] is infinite", j);
		if (fv_to_num(fv_at(tg, j), &t) < 0 || !(t == 1 || t == 0 || t == -1))
			return err_set(err, errlen, "targets[%zu] is not 1, 0 or -1", j);
		r->target[j] = (signed char)t;
		r->trained[j] = !isnan(r->score[j]);
		if (tr && fv_to_bool(fv_at(tr, j), &r->trained[j]) < 0)
			return err_set(err, errlen, "trained[%zu] is not a boolean", j);
	}
	return 0;
}

/* The trained flags and NaN scores of r against the frames before. */
static int
check_trained(const struct ml_set *s, const char *const *names, struct ml_row *r, size_t k,
              char *err, size_t errlen)
{
	for (size_t j = 0; j < k; j++) {
		if (s->k && r->trained[j] != s->trained[j])
			return err_set(err, errlen, "label '%s' is %s here, %s in the frames before",
			    names[j], r->trained[j] ? "trained" : "not trained",
			    s->trained[j] ? "trained" : "not trained");
		if (r->trained[j] && isnan(r->score[j]))
			return err_set(err, errlen, "label '%s': NaN score on a trained label", names[j]);
		if (!r->trained[j])
			r->score[j] = NAN;
	}
	return 0;
}

/* Makes room for one more image in s. */
static void
grow(struct ml_set *s)
{
	if (s->n < s->cap)
		return;
	s->cap = s->cap ? 2 * s->cap : 256;
	s->ids = xreallocarray(s->ids, s->cap, sizeof *s->ids);
	s->score = xreallocarray(s->score, s->cap, xmul((size_t)s->k, sizeof *s->score, "scores"));
	s->target = xreallocarray(s->target, s->cap, (size_t)s->k);
}

/* Adds (or, with allow_dup, replaces) image id with the values of r. */
static int
put_row(struct ml_set *s, const char *id, const struct ml_row *r, char *err, size_t errlen)
{
	long i = idmap_get(&s->map, id);
	size_t k = (size_t)s->k;

	if (i >= 0 && !s->allow_dup)
		return err_set(err, errlen, "id '%s' occurs twice (give --allow-duplicates to keep the last)", id);
	if (i < 0) {
		grow(s);
		i = (long)s->n++;
		s->ids[i] = xstrdup(id);
		idmap_put(&s->map, id, (size_t)i);
	}
	memcpy(s->score + (size_t)i * k, r->score, k * sizeof *r->score);
	memcpy(s->target + (size_t)i * k, r->target, k);
	return 0;
}

int
ml_add(struct ml_set *s, const struct frame *f, char *err, size_t errlen)
{
	const struct fval *id = frame_get(f, "id"), *tn = frame_get(f, "target_names");
	struct ml_row r;
	char **names, *ids;
	size_t k = 0;
	int rc = -1;

	if (fv_type(id) != FV_STR)
		return err_set(err, errlen, "no string id");
	if (read_names(s, tn, &k, err, errlen) < 0)
		return -1;
	r.score = XNEW(double, k);
	r.target = XNEW(signed char, k);
	r.trained = XNEW(int, k);
	names = XNEW(char *, k);
	for (size_t j = 0; j < k; j++)
		names[j] = fv_strdup(fv_at(tn, j));
	ids = fv_strdup(id);
	if (read_values(f, k, &r, err, errlen) == 0 &&
	    check_trained(s, (const char *const *)names, &r, k, err, errlen) == 0) {
		if (s->k == 0) {
			s->k = (int)k, s->names = names, names = NULL;
			s->trained = r.trained, r.trained = NULL;
		}
		rc = put_row(s, ids, &r, err, errlen);
	}
	for (size_t j = 0; names && j < k; j++)
		free(names[j]);
	free(names), free(ids), free(r.score), free(r.target), free(r.trained);
	return rc;
}

void
ml_free(struct ml_set *s)
{
	int dup = s->allow_dup;

	for (int j = 0; j < s->k; j++)
		free(s->names[j]);
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i]);
	free(s->names), free(s->trained), free(s->ids), free(s->score), free(s->target);
	idmap_free(&s->map);
	*s = (struct ml_set){ .allow_dup = dup };
}

/* ---- evaluation ---- */

enum { ST_EVALUATED, ST_NOT_TRAINED, ST_ONE_CLASS, ST_NO_KNOWN };
static const char *const status_names[] = { "evaluated", "not-trained", "one-class", "no-known-targets" };
static const char *const method_names[] = { "fixed", "youden", "threshold-from" };

/* One label's results. */
struct ml_label {
	int status;
	size_t n_known, n_pos, n_neg;
	struct stats_auc a;
	double ci[2];
	int ci_how;
	double thr;
	int youden;             /* thr is y's */
	struct stats_youden y;
	const char *fallback;   /* why a Youden threshold was not found, or NULL */
	struct stats_confusion c;
};

/* Label j's known cases of s into sc, pos (n each); returns their count. */
static size_t
column(const struct ml_set *s, int j, double *sc, int *pos)
{
	size_t m = 0, k = (size_t)s->k;

	for (size_t i = 0; i < s->n; i++) {
		int t = s->target[i * k + (size_t)j];
		if (t < 0)
			continue;
		sc[m] = s->score[i * k + (size_t)j];
		pos[m++] = t == 1;
	}
	return m;
}

/* Youden threshold of label j on set from into L; a fallback reason if none. */
static void
youden_threshold(const struct ml_set *from, int j, double *sc, int *pos, struct ml_label *L)
{
	struct stats_roc r;
	size_t m, np = 0;

	if (!from->trained[j]) {
		L->fallback = "not trained";
		return;
	}
	m = column(from, j, sc, pos);
	for (size_t i = 0; i < m; i++)
		np += (size_t)pos[i];
	if (np == 0 || np == m) {
		L->fallback = "one class among the known targets";
		return;
	}
	stats_roc(sc, pos, m, &r);
	if (stats_youden(&r, 0.5, &L->y) == 0 && !isnan(L->y.j))
		L->thr = L->y.t, L->youden = 1;
	else
		L->fallback = "no Youden threshold";
	stats_roc_free(&r);
}

/* Evaluates label j of s (scratch arrays sc, pos of s->n) into L. */
static void
eval_label(const struct ml_set *s, const struct ml_eval *e, int j, double *sc, int *pos,
           struct ml_label *L)
{
	size_t m;

	memset(L, 0, sizeof *L);
	L->a.auc = L->a.se_delong = L->a.se_hanley = NAN;
	L->ci[0] = L->ci[1] = NAN;
	L->ci_how = STATS_AUC_CI_NONE;
	L->thr = e->fixed;
	if (e->method != ML_THR_FIXED)
		youden_threshold(e->from, j, sc, pos, L);
	m = column(s, j, sc, pos);
	L->n_known = m;
	for (size_t i = 0; i < m; i++)
		L->n_pos += (size_t)pos[i];
	L->n_neg = m - L->n_pos;
	if (!s->trained[j]) {
		L->status = ST_NOT_TRAINED;
		return;
	}
	L->status = m == 0 ? ST_NO_KNOWN : L->n_pos == 0 || L->n_neg == 0 ? ST_ONE_CLASS : ST_EVALUATED;
	stats_confusion(sc, pos, m, L->thr, &L->c);
	if (L->status != ST_EVALUATED)
		return;
	stats_auc(sc, pos, m, &L->a);
	L->ci_how = stats_auc_ci(&L->a, 0.05, L->ci);
}

static void
fb_names_if(struct fb *b, const char *k, const struct ml_set *s, const struct ml_label *L,
            int status1, int status2)
{
	fb_array(b, k);
	for (int j = 0; j < s->k; j++)
		if (L[j].status == status1 || L[j].status == status2)
			fb_str(b, NULL, s->names[j]);
	fb_close(b);
}

/* The micro average: one AUC over the known pairs of the evaluated labels. */
static void
micro_auc(const struct ml_set *s, const struct ml_label *L, struct stats_auc *aP, double ci[2],
          int *howP)
{
	size_t m = 0, k = (size_t)s->k;
	double *sc = XNEW(double, s->n * k + 1);
	int *pos = XNEW(int, s->n * k + 1);

	for (size_t j = 0; j < k; j++)
		if (L[j].status == ST_EVALUATED)
			m += column(s, (int)j, sc + m, pos + m);
	*aP = (struct stats_auc){ NAN, NAN, NAN, 0, 0 };
	ci[0] = ci[1] = NAN;
	*howP = STATS_AUC_CI_NONE;
	if (m && stats_auc(sc, pos, m, aP) == 0)
		*howP = stats_auc_ci(aP, 0.05, ci);
	free(sc), free(pos);
}

static void
summary_frame(const struct ml_set *s, const struct ml_eval *e, const struct ml_label *L,
              struct fbytes *out)
{
	struct stats_auc mi;
	double mci[2], sum[3] = { 0, 0, 0 }, *thr = XNEW(double, (size_t)s->k);
	size_t nmac = 0, nsens = 0, nspec = 0;
	int how;
	struct fb *b = fb_begin();

	for (int j = 0; j < s->k; j++) {
		thr[j] = L[j].status == ST_NOT_TRAINED ? NAN : L[j].thr;
		if (L[j].status != ST_EVALUATED)
			continue;
		sum[0] += L[j].a.auc, nmac++;
		sum[1] += (double)L[j].c.tp / (double)L[j].n_pos, nsens++;
		sum[2] += (double)L[j].c.tn / (double)L[j].n_neg, nspec++;
	}
	micro_auc(s, L, &mi, mci, &how);
	fb_str(b, "kind", "multilabel_summary");
	fb_str(b, "task", "multilabel");
	fb_int(b, "n", (int64_t)s->n);
	fb_int(b, "k", s->k);
	fb_strs(b, "target_names", s->names, (size_t)s->k);
	fb_int(b, "n_evaluated", (int64_t)nmac);
	fb_names_if(b, "evaluated", s, L, ST_EVALUATED, ST_EVALUATED);
	fb_names_if(b, "not_trained", s, L, ST_NOT_TRAINED, ST_NOT_TRAINED);
	fb_names_if(b, "one_class", s, L, ST_ONE_CLASS, ST_NO_KNOWN);
	fb_num(b, "macro_auc", nmac ? sum[0] / (double)nmac : NAN);
	fb_num(b, "macro_sensitivity", nsens ? sum[1] / (double)nsens : NAN);
	fb_num(b, "macro_specificity", nspec ? sum[2] / (double)nspec : NAN);
	report_fb_est(b, "micro_auc", mi.auc, mci[0], mci[1]);
	fb_str(b, "micro_auc_ci_method", stats_auc_ci_methods[how]);
	fb_int(b, "micro_n_pos", (int64_t)mi.n_pos);
	fb_int(b, "micro_n_neg", (int64_t)mi.n_neg);
	fb_str(b, "threshold_method", method_names[e->method]);
	if (e->method == ML_THR_FROM)
		fb_str(b, "threshold_source", e->source);
	fb_nums(b, "thresholds", thr, (size_t)s->k);
	fb_num(b, "fixed_threshold", e->fixed);
	fb_num(b, "ci_level", 0.95);
	fb_end(b, out);
	free(thr);
}

static void
label_frame(const struct ml_set *s, const struct ml_eval *e, int j, const struct ml_label *L,
            struct fbytes *out)
{
	const struct stats_confusion *c = &L->c;
	struct fb *b = fb_begin();

	fb_str(b, "kind", "label_metrics");
	fb_str(b, "label", s->names[j]);
	fb_int(b, "index", j);
	fb_str(b, "status", status_names[L->status]);
	fb_bool(b, "trained", s->trained[j]);
	fb_int(b, "n_known", (int64_t)L->n_known);
	fb_int(b, "n_unknown", (int64_t)(s->n - L->n_known));
	fb_int(b, "n_pos", (int64_t)L->n_pos);
	fb_int(b, "n_neg", (int64_t)L->n_neg);
	fb_num(b, "prevalence", L->n_known ? (double)L->n_pos / (double)L->n_known : NAN);
	report_fb_est(b, "auc", L->a.auc, L->ci[0], L->ci[1]);
	fb_num(b, "auc_se", L->a.se_delong);
	fb_str(b, "auc_ci_method", stats_auc_ci_methods[L->ci_how]);
	if (L->status != ST_NOT_TRAINED) {
		fb_num(b, "threshold", L->thr);
		fb_str(b, "threshold_method", L->youden ? method_names[e->method] : "fixed");
		if (L->youden)
			report_fb_youden(b, "threshold", &L->y);
		if (L->fallback)
			fb_str(b, "threshold_fallback", L->fallback);
		fb_int(b, "tp", (int64_t)c->tp), fb_int(b, "fp", (int64_t)c->fp);
		fb_int(b, "tn", (int64_t)c->tn), fb_int(b, "fn", (int64_t)c->fn);
	}
	report_fb_prop(b, "sensitivity", c->tp, c->tp + c->fn);
	report_fb_prop(b, "specificity", c->tn, c->tn + c->fp);
	report_fb_prop(b, "ppv", c->tp, c->tp + c->fp);
	report_fb_prop(b, "npv", c->tn, c->tn + c->fn);
	fb_num(b, "ci_level", 0.95);
	fb_end(b, out);
}

/* A roc frame of label j (evaluated), as metrics --roc writes for one label. */
static void
roc_frame(const struct ml_set *s, int j, const struct ml_label *L, double *sc, int *pos,
          struct fbytes *out)
{
	struct stats_roc r;
	size_t m = column(s, j, sc, pos);
	struct fb *b = fb_begin();

	stats_roc(sc, pos, m, &r);
	fb_str(b, "kind", "roc");
	fb_str(b, "label", s->names[j]);
	fb_int(b, "index", j);
	fb_str(b, "positive_class", s->names[j]);
	fb_int(b, "n_pos", (int64_t)L->n_pos);
	fb_int(b, "n_neg", (int64_t)L->n_neg);
	fb_num(b, "auc", L->a.auc);
	fb_nums(b, "auc_ci", L->ci, 2);
	fb_str(b, "auc_ci_method", stats_auc_ci_methods[L->ci_how]);
	fb_num(b, "threshold", L->thr);
	fb_nums(b, "operating_point", (double[]){ (double)L->c.fp / (double)L->n_neg,
	    (double)L->c.tp / (double)L->n_pos }, 2);
	fb_nums(b, "thresholds", r.thr, r.n);
	fb_nums(b, "fpr", r.fpr, r.n);
	fb_nums(b, "tpr", r.tpr, r.n);
	fb_end(b, out);
	stats_roc_free(&r);
}

/* e->from's labels against s's. */
static int
check_from(const struct ml_set *s, const struct ml_eval *e, char *err, size_t errlen)
{
	const struct ml_set *f = e->from;
	const char *src = e->source ? e->source : "the threshold set";

	if (e->method == ML_THR_FIXED)
		return 0;
	if (f == NULL || f->n == 0)
		return err_set(err, errlen, "%s: no multi-label predictions to choose thresholds on", src);
	if (f->k != s->k)
		return err_set(err, errlen, "%s: %d labels, the predictions have %d", src, f->k, s->k);
	for (int j = 0; j < s->k; j++)
		if (strcmp(f->names[j], s->names[j]) != 0)
			return err_set(err, errlen, "%s: label %d is '%s', the predictions' is '%s'", src,
			    j, f->names[j], s->names[j]);
	return 0;
}

int
ml_evaluate(const struct ml_set *s, const struct ml_eval *e, struct fbytes *out,
            char *err, size_t errlen)
{
	struct ml_label *L;
	size_t cap;
	double *sc;
	int *pos;

	if (s->n == 0 || s->k == 0)
		return err_set(err, errlen, "no multi-label predictions");
	if (check_from(s, e, err, errlen) < 0)
		return -1;
	cap = s->n > (e->from ? e->from->n : 0) ? s->n : e->from->n;
	sc = XNEW(double, cap);
	pos = XNEW(int, cap);
	L = XNEW(struct ml_label, (size_t)s->k);
	for (int j = 0; j < s->k; j++)
		eval_label(s, e, j, sc, pos, &L[j]);
	summary_frame(s, e, L, out);
	for (int j = 0; j < s->k; j++)
		label_frame(s, e, j, &L[j], out);
	for (int j = 0; e->roc && j < s->k; j++)
		if (L[j].status == ST_EVALUATED)
			roc_frame(s, j, &L[j], sc, pos, out);
	free(sc), free(pos), free(L);
	return 0;
}
