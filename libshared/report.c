/* report.c — result frames rendered as JSON lines, TSV, CSV and text. */
#include "report.h"
#include "frame.h"
#include "frame_mp.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- building result frames ---- */

void
report_fb_est(struct fb *b, const char *k, double v, double lo, double hi)
{
	char ci[64];

	fb_num(b, k, v);
	snprintf(ci, sizeof ci, "%s_ci", k);
	fb_nums(b, ci, (double[]){ lo, hi }, 2);
}

void
report_fb_prop(struct fb *b, const char *k, size_t succ, size_t n)
{
	double lo, hi;

	stats_wilson((double)succ, (double)n, stats_norm_quantile(0.975), &lo, &hi);
	report_fb_est(b, k, n ? (double)succ / (double)n : NAN, lo, hi);
}

void
report_fb_youden(struct fb *b, const char *k, const struct stats_youden *y)
{
	char key[64];

	snprintf(key, sizeof key, "%s_rule", k);
	fb_str(b, key, stats_youden_rules[y->how]);
	snprintf(key, sizeof key, "%s_interval", k);
	fb_nums(b, key, (double[]){ y->lo, y->hi }, 2);
}

/* ---- JSON ---- */

static void
json_str(FILE *fp, const char *s, size_t n)
{
	putc('"', fp);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			putc(c, fp);
	}
	putc('"', fp);
}

char *
report_shortest(char *buf, size_t len, double v)
{
	static const int prec[] = { 15, 16, 17 };

	for (int i = 0; i < 3; i++) {
		snprintf(buf, len, "%.*g", prec[i], v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static void
json_num(FILE *fp, double v)
{
	char b[32];

	if (isfinite(v))
		fputs(report_shortest(b, sizeof b, v), fp);
	else
		fputs("null", fp);
}

static void
json_value(FILE *fp, const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", fp); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(fp, "%llu", (unsigned long long)o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(fp, "%lld", (long long)o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: json_num(fp, o->via.f64); break;
	case MSGPACK_OBJECT_STR: json_str(fp, o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_ARRAY:
		putc('[', fp);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putc(',', fp);
			json_value(fp, &o->via.array.ptr[i]);
		}
		putc(']', fp);
		break;
	case MSGPACK_OBJECT_MAP:
		putc('{', fp);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i)
				putc(',', fp);
			json_value(fp, &o->via.map.ptr[i].key);
			putc(':', fp);
			json_value(fp, &o->via.map.ptr[i].val);
		}
		putc('}', fp);
		break;
	default: fputs("null", fp); break;
	}
}

/* Calls fn on each frame of buf. */
static void
each_frame(FILE *fp, const char *buf, size_t len, char sep,
           void (*fn)(FILE *, const msgpack_object *, char, int))
{
	msgpack_unpacked u;
	size_t off = 0;
	int i = 0;

	msgpack_unpacked_init(&u);
	while (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS)
		fn(fp, &u.data, sep, i++);
	msgpack_unpacked_destroy(&u);
}

static void
json_line(FILE *fp, const msgpack_object *o, char sep, int i)
{
	json_value(fp, o);
	putc('\n', fp);
}

void
report_json(FILE *fp, const char *buf, size_t len)
{
	each_frame(fp, buf, len, 0, json_line);
}

/* ---- TSV / CSV ---- */

void
report_cell(FILE *fp, const char *s, size_t n, char sep)
{
	int quote = sep == ',' && memchr(s, ',', n) != NULL;

	for (size_t i = 0; sep == ',' && i < n; i++)
		quote |= s[i] == '"' || s[i] == '\n';
	if (!quote) {
		for (size_t i = 0; i < n; i++)
			putc(s[i] == '\t' || s[i] == '\n' ? ' ' : s[i], fp);
		return;
	}
	putc('"', fp);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			putc('"', fp);
		putc(s[i], fp);
	}
	putc('"', fp);
}

static void
scalar_cell(FILE *fp, const msgpack_object *o, char sep)
{
	char b[32];

	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			fputs(report_shortest(b, sizeof b, o->via.f64), fp);
		break;
	case MSGPACK_OBJECT_STR: report_cell(fp, o->via.str.ptr, o->via.str.size, sep); break;
	case MSGPACK_OBJECT_NIL: break;
	default: json_value(fp, o); break;
	}
}

static void
flatten(FILE *fp, const char *kind, const char *name, const msgpack_object *map,
        const msgpack_object *v, char sep)
{
	char sub[512], ci[520];
	const msgpack_object *c;

	if (v->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < v->via.array.size; i++) {
			snprintf(sub, sizeof sub, "%s[%u]", name, i);
			flatten(fp, kind, sub, NULL, &v->via.array.ptr[i], sep);
		}
		return;
	}
	if (v->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < v->via.map.size; i++) {
			const msgpack_object *k = &v->via.map.ptr[i].key;
			snprintf(sub, sizeof sub, "%s.%.*s", name, (int)k->via.str.size, k->via.str.ptr);
			flatten(fp, kind, sub, v, &v->via.map.ptr[i].val, sep);
		}
		return;
	}
	fprintf(fp, "%s%c", kind, sep);
	report_cell(fp, name, strlen(name), sep);
	putc(sep, fp);
	scalar_cell(fp, v, sep);
	snprintf(ci, sizeof ci, "%s_ci", name);
	c = map ? mp_get(map, ci) : NULL;
	if (c && c->type == MSGPACK_OBJECT_ARRAY && c->via.array.size == 2) {
		putc(sep, fp);
		scalar_cell(fp, &c->via.array.ptr[0], sep);
		putc(sep, fp);
		scalar_cell(fp, &c->via.array.ptr[1], sep);
	} else {
		fprintf(fp, "%c%c", sep, sep);
	}
	putc('\n', fp);
}

/* The columns cols (equal-length arrays of o) as a wide table; 0 if o
 * lacks one of them. */
static const char *const *wide_cols;

static int
wide_table(FILE *fp, const msgpack_object *o, char sep)
{
	const msgpack_object *col[16];
	uint32_t nc, rows = 0;

	for (nc = 0; wide_cols && wide_cols[nc] && nc < 16; nc++) {
		col[nc] = mp_get(o, wide_cols[nc]);
		if (col[nc] == NULL || col[nc]->type != MSGPACK_OBJECT_ARRAY)
			return 0;
		if (nc == 0 || col[nc]->via.array.size < rows)
			rows = col[nc]->via.array.size;
	}
	if (nc == 0)
		return 0;
	for (uint32_t j = 0; j < nc; j++)
		fprintf(fp, "%s%s", j ? (sep == ',' ? "," : "\t") : "", wide_cols[j]);
	putc('\n', fp);
	for (uint32_t i = 0; i < rows; i++) {
		for (uint32_t j = 0; j < nc; j++) {
			if (j)
				putc(sep, fp);
			scalar_cell(fp, &col[j]->via.array.ptr[i], sep);
		}
		putc('\n', fp);
	}
	return 1;
}

static void
table_frame(FILE *fp, const msgpack_object *o, char sep, int index)
{
	char kind[64] = "";

	mp_str(o, "kind", kind, sizeof kind);
	if (index > 0)
		putc('\n', fp);
	if (wide_table(fp, o, sep))
		return;
	fprintf(fp, "kind%ckey%cvalue%cci_low%cci_high\n", sep, sep, sep, sep);
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];
		char name[256];
		size_t n = kv->key.via.str.size;
		if (kv->key.type != MSGPACK_OBJECT_STR || mp_str_eq(&kv->key, "kind") ||
		    (n > 3 && memcmp(kv->key.via.str.ptr + n - 3, "_ci", 3) == 0))
			continue;
		snprintf(name, sizeof name, "%.*s", (int)n, kv->key.via.str.ptr);
		flatten(fp, kind, name, o, &kv->val, sep);
	}
}

void
report_table(FILE *fp, const char *buf, size_t len, char sep, const char *const *wide)
{
	wide_cols = wide;
	each_frame(fp, buf, len, sep, table_frame);
}

/* ---- text for people: the kinds metrics(1) writes ---- */

static double
num(const msgpack_object *o, const char *k)
{
	double v = NAN;

	mp_num(o, k, &v);
	return v;
}

/* Element i of array key k of o (a number, or NaN). */
static double
elem(const msgpack_object *o, const char *k, uint32_t i)
{
	const msgpack_object *a = mp_get(o, k);
	double v = NAN;

	if (a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size) {
		const msgpack_object *e = &a->via.array.ptr[i];
		if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			v = (double)e->via.u64;
		else if (e->type == MSGPACK_OBJECT_FLOAT64 || e->type == MSGPACK_OBJECT_FLOAT32)
			v = e->via.f64;
	}
	return v;
}

static const char *
str_elem(const msgpack_object *o, const char *k, uint32_t i, char *buf, size_t len)
{
	const msgpack_object *a = mp_get(o, k);

	snprintf(buf, len, "%u", i);
	if (a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size &&
	    a->via.array.ptr[i].type == MSGPACK_OBJECT_STR)
		snprintf(buf, len, "%.*s", (int)a->via.array.ptr[i].via.str.size,
		    a->via.array.ptr[i].via.str.ptr);
	return buf;
}

static void
text_stat(FILE *fp, const msgpack_object *o, const char *label, const char *k,
          const char *note)
{
	char ci[64];

	snprintf(ci, sizeof ci, "%s_ci", k);
	if (mp_get(o, ci) && isnan(elem(o, ci, 0)) && !isnan(num(o, k)))
		fprintf(fp, "  %-13s %7.4f   %-18s%s\n", label, num(o, k), "not estimable", note);
	else if (mp_get(o, ci))
		fprintf(fp, "  %-13s %7.4f   [%.4f, %.4f]  %s\n", label, num(o, k),
		    elem(o, ci, 0), elem(o, ci, 1), note);
	else
		fprintf(fp, "  %-13s %7.4f   %-18s%s\n", label, num(o, k), "", note);
}

/* How a Youden threshold k was chosen (k_rule, k_interval), in words. */
static const char *
youden_words(const msgpack_object *o, const char *k, char *buf, size_t len)
{
	char key[64], rule[32] = "";

	snprintf(key, sizeof key, "%s_rule", k);
	if (mp_str(o, key, rule, sizeof rule) != 1)
		return "";
	snprintf(key, sizeof key, "%s_interval", k);
	snprintf(buf, len, "%s of the tied best thresholds (%.4g, %.4g]",
	    strcmp(rule, "default") == 0 ? "the default 0.5 is one" :
	    strcmp(rule, "logit-middle") == 0 ? "the middle (logit scale)" :
	    strcmp(rule, "middle") == 0 ? "the middle" : "the upper end",
	    elem(o, key, 0), elem(o, key, 1));
	return buf;
}

static void
text_confusion(FILE *fp, const msgpack_object *o, uint32_t k)
{
	char name[64], lab[80];

	fprintf(fp, "\n  %-20s", "true \\ predicted");
	for (uint32_t j = 0; j < k; j++)
		fprintf(fp, " %12s", str_elem(o, "classes", j, name, sizeof name));
	fprintf(fp, " %8s\n", "n");
	for (uint32_t i = 0; i < k; i++) {
		const msgpack_object *row = &mp_get(o, "confusion")->via.array.ptr[i];
		snprintf(lab, sizeof lab, "%s", str_elem(o, "classes", i, name, sizeof name));
		fprintf(fp, "  %-20s", lab);
		for (uint32_t j = 0; j < k; j++)
			fprintf(fp, " %12llu", (unsigned long long)row->via.array.ptr[j].via.u64);
		fprintf(fp, " %8.0f\n", elem(o, "n_per_class", i));
	}
	fputc('\n', fp);
}

/* The AUC line: DeLong's interval, or when it collapsed (AUC 1 or 0) the
 * exact one on disjoint pairs (auc_ci_method, stats_auc_ci), said so. */
static void
text_auc(FILE *fp, const msgpack_object *o)
{
	char meth[32] = "", note[128];
	double auc = num(o, "auc"), k = fmin(elem(o, "n_per_class", 0), elem(o, "n_per_class", 1));

	mp_str(o, "auc_ci_method", meth, sizeof meth);
	if (strcmp(meth, "exact-pairs") == 0)
		snprintf(note, sizeof note, "exact on %.0f disjoint pairs; DeLong's interval "
		    "collapses at AUC %.0f", k, auc);
	else
		snprintf(note, sizeof note, "DeLong, SE %.4f", num(o, "auc_se"));
	text_stat(fp, o, "AUC", "auc", note);
}

static void
text_evaluation(FILE *fp, const msgpack_object *o)
{
	const msgpack_object *conf = mp_get(o, "confusion");
	double tp = num(o, "tp"), fp_ = num(o, "fp"), tn = num(o, "tn"), fn = num(o, "fn");
	char note[6][64], pos[64] = "", meth[32] = "", how[128];

	fprintf(fp, "evaluation of %.0f predictions", num(o, "n"));
	if (mp_str(o, "positive_class", pos, sizeof pos) == 1) {
		mp_str(o, "threshold_method", meth, sizeof meth);
		fprintf(fp, "; positive class %s; threshold %.4g (%s", pos, num(o, "threshold"), meth);
		if (*youden_words(o, "threshold", how, sizeof how))
			fprintf(fp, ": %s", how);
		fputc(')', fp);
	}
	fputc('\n', fp);
	text_confusion(fp, o, conf->via.array.size);
	fprintf(fp, "  %-13s %7s   %-18s%s\n", "statistic", "value", "95% CI", "method");
	if (!*pos) {
		text_stat(fp, o, "accuracy", "accuracy", "Wilson");
		return;
	}
	snprintf(note[0], 64, "Wilson, %.0f/%.0f", tp + tn, tp + tn + fp_ + fn);
	snprintf(note[1], 64, "Wilson, %.0f/%.0f", tp, tp + fn);
	snprintf(note[2], 64, "Wilson, %.0f/%.0f", tn, tn + fp_);
	snprintf(note[3], 64, "Wilson, %.0f/%.0f", tp, tp + fp_);
	snprintf(note[4], 64, "Wilson, %.0f/%.0f", tn, tn + fn);
	snprintf(note[5], 64, "bootstrap, %.0f resamples", num(o, "bootstrap"));
	text_stat(fp, o, "accuracy", "accuracy", note[0]);
	text_stat(fp, o, "sensitivity", "sensitivity", note[1]);
	text_stat(fp, o, "specificity", "specificity", note[2]);
	text_stat(fp, o, "PPV", "ppv", note[3]);
	text_stat(fp, o, "NPV", "npv", note[4]);
	text_stat(fp, o, "F1", "f1", note[5]);
	text_auc(fp, o);
	if (mp_get(o, "auc_ci_bootstrap"))
		fprintf(fp, "  %-13s %7s   [%.4f, %.4f]  %s\n", "AUC", "", elem(o, "auc_ci_bootstrap", 0),
		    elem(o, "auc_ci_bootstrap", 1), "bootstrap percentile");
	text_stat(fp, o, "Brier score", "brier", "");
	fprintf(fp, "  %-13s %7.4f   %-18s%s\n", "Youden J", num(o, "youden_j"), "",
	    "at the threshold below, on this set");
	fprintf(fp, "  %-13s %7.4g   %s\n", "  threshold", num(o, "youden_threshold"),
	    youden_words(o, "youden", how, sizeof how));
}

/* One bin of a calibration frame as a table row (non-empty bins only). */
static void
text_bin(FILE *fp, const msgpack_object *o, uint32_t i, int closed)
{
	char range[64];

	snprintf(range, sizeof range, "[%.5g, %.5g%c", elem(o, "bin_lo", i), elem(o, "bin_hi", i),
	    closed || elem(o, "bin_hi", i) >= 1 ? ']' : ')');
	fprintf(fp, "  %4u  %-18s %7.0f %6.0f  %10.4g  %8.4f  [%.4f, %.4f]\n", i + 1, range,
	    elem(o, "bin_n", i), elem(o, "bin_n_pos", i), elem(o, "bin_score", i),
	    elem(o, "bin_frac", i), elem(o, "bin_frac_lo", i), elem(o, "bin_frac_hi", i));
}

static void
text_calibration(FILE *fp, const msgpack_object *o)
{
	char binning[16] = "";
	const msgpack_object *n = mp_get(o, "bin_n");
	uint32_t nb = n && n->type == MSGPACK_OBJECT_ARRAY ? n->via.array.size : 0, empty = 0;
	int mass;

	mp_str(o, "binning", binning, sizeof binning);
	mass = strcmp(binning, "mass") == 0;
	fprintf(fp, "\ncalibration, %s bins (%.0f asked, %u used): ECE %.4f, MCE %.4f\n",
	    mass ? "equal-mass" : "equal-width", num(o, "bins"), nb, num(o, "ece"), num(o, "mce"));
	fprintf(fp, "  Brier %.4f = reliability %.4f - resolution %.4f + uncertainty %.4f\n"
	    "                 + within-bin variance %.4f - within-bin covariance %.4f\n",
	    num(o, "brier"), num(o, "reliability"), num(o, "resolution"), num(o, "uncertainty"),
	    num(o, "within_bin_variance"), num(o, "within_bin_covariance"));
	fprintf(fp, "  %4s  %-18s %7s %6s  %10s  %8s  %s\n", "bin", "scores", "n", "pos",
	    "mean score", "frac pos", "95% CI (Wilson)");
	for (uint32_t i = 0; i < nb; i++) {
		if (elem(o, "bin_n", i) > 0)
			text_bin(fp, o, i, mass);
		else
			empty++;
	}
	if (empty)
		fprintf(fp, "  (%u empty bins not shown)\n", empty);
}

/* The names in array k of o, comma-separated, after "  what: ". */
static void
text_names(FILE *fp, const msgpack_object *o, const char *k, const char *what)
{
	const msgpack_object *a = mp_get(o, k);
	char name[128];

	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size == 0)
		return;
	fprintf(fp, "  %s: ", what);
	for (uint32_t i = 0; i < a->via.array.size; i++)
		fprintf(fp, "%s%s", i ? ", " : "", str_elem(o, k, i, name, sizeof name));
	fputc('\n', fp);
}

static void
text_multilabel(FILE *fp, const msgpack_object *o)
{
	char meth[32] = "", src[256] = "", how[64] = "";

	mp_str(o, "threshold_method", meth, sizeof meth);
	mp_str(o, "threshold_source", src, sizeof src);
	mp_str(o, "micro_auc_ci_method", how, sizeof how);
	fprintf(fp, "multi-label evaluation of %.0f images, %.0f labels (unknown targets masked out)\n",
	    num(o, "n"), num(o, "k"));
	if (strcmp(meth, "fixed") == 0)
		fprintf(fp, "  thresholds: %.4g for every label (fixed%s)\n", elem(o, "thresholds", 0),
		    elem(o, "thresholds", 0) == 0.5 ? ": no --threshold-from" : "");
	else
		fprintf(fp, "  thresholds: Youden's J per label on %s (*: none there, not trained or "
		    "one class: %.4g)\n", *src ? src : "this set", num(o, "fixed_threshold"));
	fprintf(fp, "  macro AUC %.4f (mean of %.0f labels' AUCs); micro AUC %.4f [%.4f, %.4f] "
	    "(%s, %.0f+ %.0f- pooled pairs)\n", num(o, "macro_auc"), num(o, "n_evaluated"),
	    num(o, "micro_auc"), elem(o, "micro_auc_ci", 0), elem(o, "micro_auc_ci", 1), how,
	    num(o, "micro_n_pos"), num(o, "micro_n_neg"));
	fprintf(fp, "  macro sensitivity %.4f, macro specificity %.4f\n",
	    num(o, "macro_sensitivity"), num(o, "macro_specificity"));
	text_names(fp, o, "not_trained", "not trained (excluded)");
	text_names(fp, o, "one_class", "one class among known targets, no AUC (excluded)");
	fprintf(fp, "\n  %-20s %6s %6s %6s  %-24s %8s  %-22s %-22s\n", "label", "known", "pos",
	    "prev", "AUC [95% CI, DeLong]", "thresh", "sensitivity [Wilson]", "specificity [Wilson]");
}

/* One row of the per-label table under text_multilabel's header. */
static void
text_label(FILE *fp, const msgpack_object *o)
{
	char name[64] = "", st[32] = "", auc[40], se[40], sp[40];

	mp_str(o, "label", name, sizeof name);
	mp_str(o, "status", st, sizeof st);
	if (strcmp(st, "not-trained") == 0) {
		fprintf(fp, "  %-20s %6.0f %6.0f %6.3f  not trained\n", name, num(o, "n_known"),
		    num(o, "n_pos"), num(o, "prevalence"));
		return;
	}
	if (isnan(num(o, "auc")))
		snprintf(auc, sizeof auc, "%s", st);
	else
		snprintf(auc, sizeof auc, "%.4f [%.4f, %.4f]", num(o, "auc"), elem(o, "auc_ci", 0),
		    elem(o, "auc_ci", 1));
	snprintf(se, sizeof se, "%.4f [%.4f, %.4f]", num(o, "sensitivity"),
	    elem(o, "sensitivity_ci", 0), elem(o, "sensitivity_ci", 1));
	snprintf(sp, sizeof sp, "%.4f [%.4f, %.4f]", num(o, "specificity"),
	    elem(o, "specificity_ci", 0), elem(o, "specificity_ci", 1));
	fprintf(fp, "  %-20s %6.0f %6.0f %6.3f  %-24s %8.4g%s %-22s %-22s\n", name, num(o, "n_known"),
	    num(o, "n_pos"), num(o, "prevalence"), auc, num(o, "threshold"),
	    mp_get(o, "threshold_fallback") ? "*" : " ", se, sp);
}

static void
text_frame(FILE *fp, const msgpack_object *o, char sep, int index)
{
	char kind[32] = "", by[64] = "";

	mp_str(o, "kind", kind, sizeof kind);
	if (strcmp(kind, "evaluation") == 0) {
		text_evaluation(fp, o);
	} else if (strcmp(kind, "calibration") == 0) {
		text_calibration(fp, o);
	} else if (strcmp(kind, "multilabel_summary") == 0) {
		text_multilabel(fp, o);
	} else if (strcmp(kind, "label_metrics") == 0) {
		text_label(fp, o);
	} else if (strcmp(kind, "roc") == 0) {
		char lab[64] = "";
		mp_str(o, "label", lab, sizeof lab);
		fprintf(fp, "\nROC curve%s%s (%u points)\n  %12s %8s %8s\n", *lab ? " of " : "", lab,
		    mp_get(o, "fpr")->via.array.size, "threshold", "FPR", "TPR");
		for (uint32_t i = 0; i < mp_get(o, "fpr")->via.array.size; i++)
			fprintf(fp, "  %12.6g %8.4f %8.4f\n", elem(o, "thresholds", i),
			    elem(o, "fpr", i), elem(o, "tpr", i));
	} else if (strcmp(kind, "training_summary") == 0) {
		const msgpack_object *b = mp_get(o, "best"), *f = mp_get(o, "final");
		mp_str(o, "by", by, sizeof by);
		fprintf(fp, "training history: %.0f epochs; best epoch %.0f by %s\n\n  %-16s %14s %14s\n",
		    num(o, "epochs"), num(o, "best_epoch"), by, "metric", "best epoch", "final epoch");
		for (uint32_t i = 0; i < f->via.map.size; i++) {
			char k[64];
			const msgpack_object *key = &f->via.map.ptr[i].key;
			snprintf(k, sizeof k, "%.*s", (int)key->via.str.size, key->via.str.ptr);
			fprintf(fp, "  %-16s %14.6g %14.6g\n", k, num(b, k), num(f, k));
		}
	} else if (strcmp(kind, "score_summary") == 0) {
		static const char *const keys[] = { "n", "n_labelled", "mean", "sd", "min", "q1",
			"median", "q3", "max", "threshold", "n_at_or_above", NULL };
		fprintf(fp, "score summary (no labels used)\n");
		for (int i = 0; keys[i]; i++)
			fprintf(fp, "  %-14s %10.6g\n", keys[i], num(o, keys[i]));
	} else {
		table_frame(fp, o, '\t', index);
	}
}

void
report_text(FILE *fp, const char *buf, size_t len)
{
	each_frame(fp, buf, len, 0, text_frame);
}
