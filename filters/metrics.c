/* metrics.c — evaluate predictions (accuracy, confusion matrix, sensitivity,
 * specificity, PPV, NPV, F1, ROC, AUC with confidence intervals, Brier
 * score, calibration) and summarise training histories.  A sink: it reads
 * `prediction` and `metrics` frames, ignores every other kind, and writes
 * `evaluation`, `roc`, `calibration`, `score_summary` and
 * `training_summary` frames (or text, TSV, CSV, JSON lines).  See metrics(1).
 */
#include "calibration.h"
#include "cli.h"
#include "err.h"
#include "frame.h"
#include "history.h"
#include "multilabel.h"
#include "predset.h"
#include "report.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char synopsis[] =
"usage: metrics [options] [FILE...]\n"
"  Evaluates prediction frames (FILEs or stdin); summarises metrics frames.\n";

enum { THR_FIXED = ML_THR_FIXED, THR_YOUDEN = ML_THR_YOUDEN, THR_FROM = ML_THR_FROM };
static const char *const thr_names[] = { "fixed", "youden", "threshold-from" };

struct options {
	char **files;
	int nfiles;
	const char *labels, *thr_from, *by;
	double threshold;
	int thr_mode, nthr, scores_only, allow_dup, roc, format;
	int bootstrap, bins;
	uint64_t seed;
};

/* Everything written, in order, as complete frames. */
static struct fbytes outbuf;

static void
set_threshold(void *p, const char *s)
{
	struct options *o = p;

	o->threshold = cli_double(s, "--threshold", 0, 1);
	o->thr_mode = THR_FIXED, o->nthr++;
}

static void
set_youden(void *p, const char *s)
{
	struct options *o = p;

	o->thr_mode = THR_YOUDEN, o->nthr++;
}

static void
set_threshold_from(void *p, const char *s)
{
	struct options *o = p;

	o->thr_from = s, o->thr_mode = THR_FROM, o->nthr++;
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	const struct cli_opt opts[] = {
		CLI_STR("labels", 'l', "FILE", "labels by id: sample frames, or a label table\n"
		    "(KEY,CLASS lines after a header, as imgload --labels)", &o->labels),
		CLI_CALL("threshold", 't', "T", "predict the positive class when score >= T, in [0, 1] (0.5)",
		    set_threshold, o),
		CLI_CALL("youden", 0, NULL, "choose the threshold maximising Youden's J here", set_youden, o),
		CLI_CALL("threshold-from", 0, "F", "choose the Youden threshold on predictions in F",
		    set_threshold_from, o),
		CLI_FLAG("roc", 0, "also write the ROC curve (a roc frame)", &o->roc),
		CLI_INT("bootstrap", 'B', "N", "percentile AUC interval from N stratified resamples",
		    &o->bootstrap, 0, 10000000),
		CLI_OPT_SEED("bootstrap seed (1)", &o->seed),
		CLI_INT("bins", 0, "M", "calibration: M equal-width and M equal-mass bins (10)",
		    &o->bins, 1, STATS_REL_MAXBINS),
		CLI_FLAG("scores-only", 0, "no labels needed: summarise the scores", &o->scores_only),
		CLI_FLAG("allow-duplicates", 0, "a later prediction for an id replaces the earlier", &o->allow_dup),
		CLI_STR("by", 0, "KEY", "training summary: best epoch by KEY (val_acc)", &o->by),
		CLI_OPT_FORMAT("text, tsv, csv, json or frames", &o->format),
		CLI_END
	};
	int i;

	*o = (struct options){ .threshold = 0.5, .seed = 1, .format = -1, .bins = 10 };
	i = cli_parse(argc, argv, synopsis, opts);
	if (o->nthr > 1)
		die_usage("--threshold, --youden and --threshold-from exclude each other");
	o->format = cli_format_default(o->format);
	o->files = argv + i;
	o->nfiles = argc - i;
}

/* ---- reading (predset.h), dying on what it says ---- */

static void
read_stream(const char *path, struct predset *ps, struct hist *h, size_t *ignored)
{
	char err[1024];

	if (predset_read(path, ps, h, ignored, err, sizeof err) < 0)
		die("%s", err);
}

static void
read_labels(const char *path, struct predset *lab, const struct predset *ps)
{
	char err[1024];

	if (predset_read_labels(path, lab, ps, err, sizeof err) < 0)
		die("%s", err);
}

/* Fills missing labels of ps from lab; returns the number of predictions
 * still without a label. */
static size_t
join_labels(struct predset *ps, const struct predset *lab, const char *src)
{
	char err[1024];
	size_t missing;

	if (predset_join_labels(ps, lab, src, &missing, err, sizeof err) < 0)
		die("%s", err);
	return missing;
}

/* ---- building frames ---- */

static void
fb_classes(struct fb *b, const struct predset *ps, int k)
{
	char buf[16];

	fb_array(b, "classes");
	for (int i = 0; i < k; i++)
		fb_str(b, NULL, predset_class_name(ps, i, buf, sizeof buf));
	fb_close(b);
}


static void
fb_int_array(struct fb *b, const char *k, const size_t *v, size_t n)
{
	fb_array(b, k);
	for (size_t i = 0; i < n; i++)
		fb_uint(b, NULL, v[i]);
	fb_close(b);
}

/* ---- evaluation ---- */

/* Scores and positive flags (label == 1) of ps; every record needs a score. */
static void
binary_arrays(const struct predset *ps, double **sP, int **pP)
{
	*sP = XNEW(double, ps->n);
	*pP = XNEW(int, ps->n);
	for (size_t i = 0; i < ps->n; i++) {
		if (isnan(ps->v[i].score))
			die("prediction '%s' has no score (binary evaluation needs one)", ps->v[i].id);
		(*sP)[i] = ps->v[i].score;
		(*pP)[i] = ps->v[i].label == 1;
	}
}

/* Youden threshold of a labelled binary set (0.5 when it lies among the
 * tied best thresholds) into *yP; dies if the set has no ROC. */
static double
youden_of(struct predset *ps, const char *src, struct stats_youden *yP)
{
	struct stats_roc r;
	double *s;
	int *p;

	if (ps->k > 2)
		die("%s: Youden's threshold needs a binary task, not %d classes", src, ps->k);
	binary_arrays(ps, &s, &p);
	stats_roc(s, p, ps->n, &r);
	if (stats_youden(&r, 0.5, yP) < 0 || isnan(yP->j))
		die("%s: Youden's threshold needs both classes among the labels", src);
	stats_roc_free(&r);
	free(s), free(p);
	return yP->t;
}

static double
choose_threshold(const struct options *o, struct predset *ps, struct predset *lab,
                 struct stats_youden *yP)
{
	struct predset ref = { .allow_dup = o->allow_dup };
	size_t ignored = 0, missing;
	double thr;

	if (o->thr_mode == THR_FIXED)
		return o->threshold;
	if (o->thr_mode == THR_YOUDEN)
		return youden_of(ps, "input", yP);
	read_stream(o->thr_from, &ref, NULL, &ignored);
	if (ref.ml.n)
		die("%s: multi-label predictions; the input is single-label", o->thr_from);
	if (ref.n == 0)
		die("%s: no prediction frames", o->thr_from);
	if ((missing = join_labels(&ref, lab, o->thr_from)) > 0)
		die("%s: %zu of %zu predictions have no label", o->thr_from, missing, ref.n);
	predset_set_class(&ref, 1, NULL);
	thr = youden_of(&ref, o->thr_from, yP);
	predset_free(&ref);
	return thr;
}

static void
roc_frame(const struct predset *ps, const double *s, const int *p, double thr,
          const struct stats_auc *a, const double ci[2], int how)
{
	struct stats_roc r;
	struct stats_confusion c;
	struct fb *b;
	char buf[16];

	stats_roc(s, p, ps->n, &r);
	stats_confusion(s, p, ps->n, thr, &c);
	b = fb_begin();
	fb_str(b, "kind", "roc");
	fb_str(b, "positive_class", predset_class_name(ps, 1, buf, sizeof buf));
	fb_int(b, "n_pos", (int64_t)a->n_pos);
	fb_int(b, "n_neg", (int64_t)a->n_neg);
	fb_num(b, "auc", a->auc);
	fb_nums(b, "auc_ci", ci, 2);
	fb_str(b, "auc_ci_method", stats_auc_ci_methods[how]);
	fb_num(b, "threshold", thr);
	fb_nums(b, "operating_point", (double[]){ (double)c.fp / (double)a->n_neg,
	    (double)c.tp / (double)a->n_pos }, 2);
	fb_nums(b, "thresholds", r.thr, r.n);
	fb_nums(b, "fpr", r.fpr, r.n);
	fb_nums(b, "tpr", r.tpr, r.n);
	fb_end(b, &outbuf);
	stats_roc_free(&r);
}

/* AUC and its interval (stats_auc_ci: DeLong's, or the exact one on
 * disjoint pairs when the classes are separated, NaN when neither exists),
 * the bootstrap one; returns how the interval was found (STATS_AUC_CI_*). */
static int
fb_auc(struct fb *b, const struct options *o, const struct stats_auc *a, const double boot[2],
       double ci[2])
{
	int how = stats_auc_ci(a, 0.05, ci);

	report_fb_est(b, "auc", a->auc, ci[0], ci[1]);
	fb_num(b, "auc_se", a->se_delong);
	fb_str(b, "auc_ci_method", stats_auc_ci_methods[how]);
	fb_num(b, "auc_se_hanley", a->se_hanley);
	if (o->bootstrap)
		fb_nums(b, "auc_ci_bootstrap", boot, 2);
	return how;
}

/* The calibration frames, equal width then equal mass; a warning and
 * none when the scores are not probabilities. */
static void
calibration(const struct options *o, const struct predset *ps, const double *s, const int *p)
{
	char err[256], buf[16];

	for (int mass = 0; mass < 2; mass++)
		if (calibration_frame(&outbuf, s, p, ps->n, o->bins, mass, 0.05,
		    predset_class_name(ps, 1, buf, sizeof buf), err, sizeof err) < 0) {
			warnx("%s: no calibration frames", err);
			return;
		}
}

static void
eval_binary(const struct options *o, struct predset *ps, double thr,
            const struct stats_youden *ty)
{
	struct stats_confusion c;
	struct stats_auc a;
	struct stats_roc r;
	struct fb *b;
	struct stats_youden y;
	double *s, boot[2] = { NAN, NAN }, f1ci[2] = { NAN, NAN }, ci[2];
	size_t B = o->bootstrap ? o->bootstrap : 2000, n = ps->n;
	int *p, how;
	char buf[16];

	binary_arrays(ps, &s, &p);
	stats_confusion(s, p, n, thr, &c);
	if (stats_auc(s, p, n, &a) < 0)
		warnx("only one class among the labels: no AUC, sensitivity or specificity interval");
	a.auc = a.n_pos && a.n_neg ? a.auc : NAN;
	stats_bootstrap(s, p, n, thr, B, o->seed, 0.05, boot, f1ci);
	stats_roc(s, p, n, &r);
	stats_youden(&r, 0.5, &y);
	stats_roc_free(&r);
	b = fb_begin();
	fb_str(b, "kind", "evaluation");
	fb_str(b, "task", "binary");
	fb_int(b, "n", (int64_t)n);
	fb_classes(b, ps, 2);
	fb_int_array(b, "n_per_class", (size_t[]){ c.tn + c.fp, c.tp + c.fn }, 2);
	fb_str(b, "positive_class", predset_class_name(ps, 1, buf, sizeof buf));
	fb_num(b, "threshold", thr);
	fb_str(b, "threshold_method", thr_names[o->thr_mode]);
	if (ty)
		report_fb_youden(b, "threshold", ty);
	fb_array(b, "confusion");
	fb_int_array(b, NULL, (size_t[]){ c.tn, c.fp }, 2);
	fb_int_array(b, NULL, (size_t[]){ c.fn, c.tp }, 2);
	fb_close(b);
	fb_int(b, "tp", (int64_t)c.tp), fb_int(b, "fp", (int64_t)c.fp);
	fb_int(b, "tn", (int64_t)c.tn), fb_int(b, "fn", (int64_t)c.fn);
	report_fb_prop(b, "accuracy", c.tp + c.tn, n);
	report_fb_prop(b, "sensitivity", c.tp, c.tp + c.fn);
	report_fb_prop(b, "specificity", c.tn, c.tn + c.fp);
	report_fb_prop(b, "ppv", c.tp, c.tp + c.fp);
	report_fb_prop(b, "npv", c.tn, c.tn + c.fn);
	report_fb_est(b, "f1", stats_f1(&c), f1ci[0], f1ci[1]);
	fb_str(b, "f1_ci_method", "bootstrap");
	how = fb_auc(b, o, &a, boot, ci);
	fb_int(b, "bootstrap", (int64_t)B);
	fb_int(b, "seed", (int64_t)o->seed);
	fb_num(b, "brier", stats_brier(s, p, n));
	fb_num(b, "youden_threshold", y.t);
	fb_num(b, "youden_j", y.j);
	report_fb_youden(b, "youden", &y);
	fb_num(b, "ci_level", 0.95);
	fb_end(b, &outbuf);
	if (o->roc && a.n_pos && a.n_neg)
		roc_frame(ps, s, p, thr, &a, ci, how);
	else if (o->roc)
		warnx("--roc: no ROC curve without both classes");
	calibration(o, ps, s, p);
	free(s), free(p);
}

static void
eval_multiclass(const struct options *o, struct predset *ps)
{
	size_t k = (size_t)ps->k, *conf = xcalloc(k * k, sizeof *conf), *npc = xcalloc(k, sizeof *npc);
	size_t right = 0;
	double *recall = XNEW(double, 2 * k), *precision = recall + k;
	struct fb *b;

	for (size_t i = 0; i < ps->n; i++) {
		if (ps->v[i].pred < 0)
			die("prediction '%s' has neither pred nor scores", ps->v[i].id);
		conf[(size_t)ps->v[i].label * k + (size_t)ps->v[i].pred]++;
	}
	for (size_t i = 0; i < k; i++) {
		size_t col = 0;
		for (size_t j = 0; j < k; j++)
			npc[i] += conf[i * k + j], col += conf[j * k + i];
		right += conf[i * k + i];
		recall[i] = npc[i] ? (double)conf[i * k + i] / (double)npc[i] : NAN;
		precision[i] = col ? (double)conf[i * k + i] / (double)col : NAN;
	}
	b = fb_begin();
	fb_str(b, "kind", "evaluation");
	fb_str(b, "task", "multiclass");
	fb_int(b, "n", (int64_t)ps->n);
	fb_classes(b, ps, ps->k);
	fb_int_array(b, "n_per_class", npc, k);
	fb_array(b, "confusion");
	for (size_t i = 0; i < k; i++)
		fb_int_array(b, NULL, conf + i * k, k);
	fb_close(b);
	report_fb_prop(b, "accuracy", right, ps->n);
	fb_nums(b, "recall", recall, k);
	fb_nums(b, "precision", precision, k);
	fb_num(b, "ci_level", 0.95);
	fb_end(b, &outbuf);
	free(conf), free(npc), free(recall);
}

static void
eval_scores(const struct options *o, struct predset *ps, double thr, const struct stats_youden *ty)
{
	double *s = XNEW(double, ps->n), sum = 0, ss = 0;
	size_t n = 0, above = 0, labelled = 0;
	struct fb *b;

	for (size_t i = 0; i < ps->n; i++) {
		labelled += ps->v[i].label >= 0;
		if (!isnan(ps->v[i].score))
			s[n++] = ps->v[i].score, sum += ps->v[i].score;
	}
	if (n == 0)
		die("--scores-only: no prediction has a score");
	stats_sort(s, n);
	for (size_t i = 0; i < n; i++)
		ss += (s[i] - sum / (double)n) * (s[i] - sum / (double)n), above += s[i] >= thr;
	b = fb_begin();
	fb_str(b, "kind", "score_summary");
	fb_int(b, "n", (int64_t)n);
	fb_int(b, "n_labelled", (int64_t)labelled);
	fb_num(b, "mean", sum / (double)n);
	fb_num(b, "sd", n > 1 ? sqrt(ss / (double)(n - 1)) : NAN);
	fb_num(b, "min", s[0]);
	fb_num(b, "q1", stats_quantile_sorted(s, n, 0.25));
	fb_num(b, "median", stats_quantile_sorted(s, n, 0.5));
	fb_num(b, "q3", stats_quantile_sorted(s, n, 0.75));
	fb_num(b, "max", s[n - 1]);
	fb_num(b, "threshold", thr);
	fb_str(b, "threshold_method", thr_names[o->thr_mode]);
	if (ty)
		report_fb_youden(b, "threshold", ty);
	fb_int(b, "n_at_or_above", (int64_t)above);
	fb_end(b, &outbuf);
	free(s);
}

static void
evaluate(const struct options *o, struct predset *ps, struct predset *lab)
{
	size_t missing = join_labels(ps, lab, "input");
	struct stats_youden y;
	double thr;

	if (o->scores_only) {
		if (o->thr_mode == THR_YOUDEN)
			die_usage("--scores-only: --youden needs labels (--threshold-from F chooses on F)");
		thr = choose_threshold(o, ps, lab, &y);
		eval_scores(o, ps, thr, o->thr_mode == THR_FIXED ? NULL : &y);
		return;
	}
	if (missing > 0)
		die("%zu of %zu predictions have no label: give --labels FILE, or --scores-only",
		    missing, ps->n);
	predset_set_class(ps, 1, NULL);
	if (ps->k > 2) {
		if (ps->kpred <= 2)
			warnx("a label %d among predictions of 2 classes: evaluating %d classes, "
			    "not a binary task (check the labels)", ps->k - 1, ps->k);
		else
			info("%d classes: a multi-class evaluation", ps->k);
		if (o->thr_mode != THR_FIXED || o->roc)
			die("%d classes: thresholds and --roc apply to binary tasks only", ps->k);
		eval_multiclass(o, ps);
		return;
	}
	thr = choose_threshold(o, ps, lab, &y);
	eval_binary(o, ps, thr, o->thr_mode == THR_FIXED ? NULL : &y);
}

/* Multi-label predictions: per-label metrics, macro and micro averages. */
static void
evaluate_multilabel(const struct options *o, struct predset *ps)
{
	struct predset ref = { .allow_dup = o->allow_dup, .ml.allow_dup = o->allow_dup };
	struct ml_eval e = { o->thr_mode, o->threshold, &ps->ml, NULL, o->roc };
	size_t ignored = 0;
	char err[512];

	if (o->labels || o->scores_only || o->bootstrap)
		die_usage("--labels, --scores-only and --bootstrap apply to single-label predictions");
	if (o->thr_mode == THR_FROM) {
		read_stream(o->thr_from, &ref, NULL, &ignored);
		if (ref.n)
			die("%s: single-label predictions; the input is multi-label", o->thr_from);
		e.from = &ref.ml, e.source = o->thr_from;
	}
	if (ml_evaluate(&ps->ml, &e, &outbuf, err, sizeof err) < 0)
		die("%s", err);
	predset_free(&ref);
}

static void
write_output(const struct options *o)
{
	static const char *const roc_cols[] = { "thresholds", "fpr", "tpr", NULL };

	switch (o->format) {
	case CLI_FMT_FRAMES: fwrite(outbuf.data, 1, outbuf.len, stdout); break;
	case CLI_FMT_JSON: report_json(stdout, (const char *)outbuf.data, outbuf.len); break;
	case CLI_FMT_TSV: report_table(stdout, (const char *)outbuf.data, outbuf.len, '\t', roc_cols); break;
	case CLI_FMT_CSV: report_table(stdout, (const char *)outbuf.data, outbuf.len, ',', roc_cols); break;
	default: report_text(stdout, (const char *)outbuf.data, outbuf.len); break;
	}
	stdout_finish();
}

int
main(int argc, char **argv)
{
	struct options o;
	struct predset ps = { 0 }, lab = { 0 };
	struct hist h = { 0 };
	size_t ignored = 0;
	char err[256];

	parse_command_line(argc, argv, &o);
	ps.allow_dup = ps.ml.allow_dup = o.allow_dup;
	for (int i = 0; i < (o.nfiles ? o.nfiles : 1); i++)
		read_stream(o.nfiles ? o.files[i] : "-", &ps, &h, &ignored);
	if (o.labels && ps.ml.n == 0)
		read_labels(o.labels, &lab, &ps);
	if (ignored)
		info("ignored %zu frames that are neither prediction nor metrics", ignored);
	if (ps.n == 0 && ps.ml.n == 0 && h.nrows == 0)
		die("no prediction or metrics frames in the input");
	if (ps.ml.n)
		evaluate_multilabel(&o, &ps);
	else if (ps.n)
		evaluate(&o, &ps, o.labels ? &lab : NULL);
	if (h.nrows)
		if (hist_summarise(&h, o.by, &outbuf, err, sizeof err) < 0)
			die("%s", err);
	if (h.dropped)
		warnx("metrics frames have more than %d numeric keys; the rest are ignored", HIST_MAXKEYS);
	write_output(&o);
	predset_free(&ps);
	predset_free(&lab);
	for (size_t j = 0; j < h.nkeys; j++)
		free(h.keys[j]);
	free(h.val);
	return 0;
}
