/* metrics.c — evaluate predictions (accuracy, confusion matrix, sensitivity,
 * specificity, PPV, NPV, F1, ROC, AUC with confidence intervals, Brier
 * score) and summarise training histories.  A sink: it reads `prediction`
 * and `metrics` frames, ignores every other kind, and writes `evaluation`,
 * `roc`, `score_summary` and `training_summary` frames (or text, TSV, CSV,
 * JSON lines).  See metrics(1).
 */
#include "cli.h"
#include "err.h"
#include "frame.h"
#include "report.h"
#include "rng.h"
#include "stats.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CLASSES 4096
#define HIST_MAXKEYS 128

static const char usage[] =
"usage: metrics [options] [FILE...]\n"
"  Evaluates prediction frames (FILEs or stdin); summarises metrics frames.\n"
"  -l, --labels FILE        labels by id: sample frames or CSV lines id,label\n"
"  -t, --threshold T        predict the positive class when score >= T (0.5)\n"
"      --youden             choose the threshold maximising Youden's J here\n"
"      --threshold-from F   choose the Youden threshold on predictions in F\n"
"      --roc                also write the ROC curve (a roc frame)\n"
"  -B, --bootstrap N        percentile AUC interval from N stratified resamples\n"
"      --seed S             bootstrap seed (1)\n"
"      --scores-only        no labels needed: summarise the scores\n"
"      --allow-duplicates   a later prediction for an id replaces the earlier\n"
"      --by KEY             training summary: best epoch by KEY (val_acc)\n"
"  -f, --format FMT         text, tsv, csv, json or frames\n"
"                           (default: text on a terminal, frames otherwise)\n"
"  -q, --quiet, -h, --help, --version\n";

enum { FMT_TEXT, FMT_TSV, FMT_CSV, FMT_JSON, FMT_FRAMES };
static const char *const format_names[] = { "text", "tsv", "csv", "json", "frames", NULL };
enum { THR_FIXED, THR_YOUDEN, THR_FROM };
static const char *const thr_names[] = { "fixed", "youden", "threshold-from" };

struct options {
	char **files;
	int nfiles;
	const char *labels, *thr_from, *by;
	double threshold;
	int thr_mode, scores_only, allow_dup, roc, format;
	size_t bootstrap;
	uint64_t seed;
};

/* One prediction (or one label from --labels); -1 / NaN when unknown. */
struct rec {
	char *id;
	int label, pred;
	double score;
};

/* Records keyed by id (open addressing on rng_hash; slot = index + 1). */
struct predset {
	struct rec *v;
	size_t n, cap;
	size_t *slot, nslot;
	char **names;           /* class names by index (NULL: unnamed) */
	int k;                  /* classes seen: 1 + the largest index */
	int allow_dup;
};

/* Training history: one row of values per metrics frame. */
struct hist {
	char *keys[HIST_MAXKEYS];
	size_t nkeys, nrows, cap;
	double *val;            /* nrows x HIST_MAXKEYS, NaN when absent */
	int dropped;
};

/* A frame under construction: entries packed into body, counted in n. */
struct fb {
	msgpack_sbuffer body;
	msgpack_packer pk;
	size_t n;
};

/* Everything written, in order, as complete frames. */
static msgpack_sbuffer outbuf;

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "labels", required_argument, NULL, 'l' },
		{ "threshold", required_argument, NULL, 't' },
		{ "youden", no_argument, NULL, 'Y' },
		{ "threshold-from", required_argument, NULL, 'T' },
		{ "roc", no_argument, NULL, 'R' },
		{ "bootstrap", required_argument, NULL, 'B' },
		{ "seed", required_argument, NULL, 'S' },
		{ "scores-only", no_argument, NULL, 'O' },
		{ "allow-duplicates", no_argument, NULL, 'D' },
		{ "by", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int c, nthr = 0;

	*o = (struct options){ .threshold = 0.5, .seed = 1, .format = -1 };
	while ((c = getopt_long(argc, argv, "l:t:B:f:", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o->labels = optarg; break;
		case 't': o->threshold = cli_double(optarg, "--threshold", -HUGE_VAL, HUGE_VAL);
			o->thr_mode = THR_FIXED, nthr++; break;
		case 'Y': o->thr_mode = THR_YOUDEN, nthr++; break;
		case 'T': o->thr_from = optarg, o->thr_mode = THR_FROM, nthr++; break;
		case 'R': o->roc = 1; break;
		case 'B': o->bootstrap = (size_t)cli_int(optarg, "--bootstrap", 0, 10000000); break;
		case 'S': o->seed = cli_u64(optarg, "--seed"); break;
		case 'O': o->scores_only = 1; break;
		case 'D': o->allow_dup = 1; break;
		case 'b': o->by = optarg; break;
		case 'f': o->format = cli_choice(optarg, "--format", format_names); break;
		default: die_usage("unknown option (see --help)");
		}
	}
	if (nthr > 1)
		die_usage("--threshold, --youden and --threshold-from exclude each other");
	if (o->format < 0)
		o->format = isatty(1) ? FMT_TEXT : FMT_FRAMES;
	o->files = argv + optind;
	o->nfiles = argc - optind;
}

/* ---- reading ---- */

static noreturn void
bad(const struct frame_reader *r, const struct frame *f, const char *what)
{
	die("%s: frame %llu (%.*s): %s", frame_reader_name(r), (unsigned long long)f->index,
	    (int)f->kind_len, f->kind, what);
}

static void
set_class(struct predset *ps, int idx, const char *name)
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

static const char *
class_name(const struct predset *ps, int idx, char *buf, size_t len)
{
	if (idx >= 0 && idx < ps->k && ps->names[idx])
		return ps->names[idx];
	snprintf(buf, len, "%d", idx);
	return buf;
}

static size_t *
find_slot(struct predset *ps, const char *id)
{
	size_t h = (size_t)rng_hash(id, strlen(id));

	for (size_t i = 0;; i++) {
		size_t *s = &ps->slot[(h + i) & (ps->nslot - 1)];
		if (*s == 0 || strcmp(ps->v[*s - 1].id, id) == 0)
			return s;
	}
}

/* Index of id in ps, or -1. */
static long
lookup(struct predset *ps, const char *id)
{
	size_t *s;

	if (ps->nslot == 0)
		return -1;
	s = find_slot(ps, id);
	return *s ? (long)*s - 1 : -1;
}

static void
grow_map(struct predset *ps)
{
	size_t old = ps->nslot;
	size_t *slots = ps->slot;

	ps->nslot = old ? old * 2 : 1024;
	ps->slot = xcalloc(ps->nslot, sizeof *ps->slot);
	for (size_t i = 0; i < old; i++)
		if (slots[i])
			*find_slot(ps, ps->v[slots[i] - 1].id) = slots[i];
	free(slots);
}

/* Adds x (taking its id); a repeated id is an error unless allow_dup. */
static void
put_rec(struct predset *ps, struct rec *x, const char *src)
{
	size_t *s;

	if (2 * (ps->n + 1) > ps->nslot)
		grow_map(ps);
	s = find_slot(ps, x->id);
	if (*s) {
		if (!ps->allow_dup)
			die("%s: id '%s' occurs twice (give --allow-duplicates to keep the last)",
			    src, x->id);
		free(ps->v[*s - 1].id);
		ps->v[*s - 1] = *x;
		return;
	}
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? 2 * ps->cap : 256;
		ps->v = xreallocarray(ps->v, ps->cap, sizeof *ps->v);
	}
	ps->v[ps->n++] = *x;
	*s = ps->n;
}

static int
get_class(const struct frame_reader *r, const struct frame *f, const char *key,
          const char *namekey, struct predset *ps)
{
	int64_t v;
	char name[256];

	switch (mp_int(&f->root, key, &v)) {
	case 0: return -1;
	case -1: bad(r, f, key[0] == 'l' ? "label is not an integer" : "pred is not an integer");
	}
	if (v < 0 || v >= MAX_CLASSES)
		bad(r, f, "class index out of range [0, 4095]");
	set_class(ps, (int)v, mp_str(&f->root, namekey, name, sizeof name) == 1 ? name : NULL);
	return (int)v;
}

/* scores: [p0, p1, ...]: sets the class count, pred (argmax) and, for two
 * classes, score = p1 when the frame has no score. */
static void
read_scores(const struct frame_reader *r, const struct frame *f, struct predset *ps,
            struct rec *x)
{
	const msgpack_object *a = frame_get(f, "scores");
	uint32_t k, best = 0;

	if (a == NULL)
		return;
	if (a->type != MSGPACK_OBJECT_ARRAY || (k = a->via.array.size) < 1 || k > MAX_CLASSES)
		bad(r, f, "scores is not an array of 1..4096 numbers");
	for (uint32_t i = 0; i < k; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_FLOAT64 && e->type != MSGPACK_OBJECT_FLOAT32)
			bad(r, f, "scores holds a non-float");
		if (e->via.f64 > a->via.array.ptr[best].via.f64)
			best = i;
	}
	set_class(ps, (int)k - 1, NULL);
	if (x->pred < 0)
		x->pred = (int)best;
	if (k == 2 && isnan(x->score))
		x->score = a->via.array.ptr[1].via.f64;
}

static void
add_prediction(struct predset *ps, const struct frame_reader *r, const struct frame *f)
{
	const msgpack_object *id = frame_get(f, "id");
	struct rec x = { NULL, -1, -1, NAN };

	if (id == NULL || id->type != MSGPACK_OBJECT_STR)
		bad(r, f, "no string id");
	x.label = get_class(r, f, "label", "class", ps);
	x.pred = get_class(r, f, "pred", "pred_class", ps);
	if (mp_num(&f->root, "score", &x.score) < 0)
		bad(r, f, "score is not a number");
	read_scores(r, f, ps, &x);
	if (isinf(x.score))
		bad(r, f, "score is infinite");
	x.id = mp_strdup(id);
	put_rec(ps, &x, frame_reader_name(r));
}

static void
add_history(struct hist *h, const struct frame *f)
{
	const msgpack_object *m = &f->root;
	double *row;

	if (h->nrows == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->val = xreallocarray(h->val, h->cap * HIST_MAXKEYS, sizeof *h->val);
	}
	row = h->val + h->nrows++ * HIST_MAXKEYS;
	for (size_t j = 0; j < HIST_MAXKEYS; j++)
		row[j] = NAN;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		double v;
		size_t j;
		char *name;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		name = mp_strdup(k);
		if (mp_num(m, name, &v) != 1 || strcmp(name, "epochs") == 0) {
			free(name);
			continue;
		}
		for (j = 0; j < h->nkeys && strcmp(h->keys[j], name) != 0; j++)
			;
		if (j == h->nkeys && h->nkeys < HIST_MAXKEYS)
			h->keys[h->nkeys++] = xstrdup(name);
		else if (j == h->nkeys)
			h->dropped = 1;
		if (j < HIST_MAXKEYS)
			row[j] = v;
		free(name);
	}
}

/* Reads path ("-": stdin): predictions into ps, metrics frames into h (if
 * not NULL); counts other frames in *ignored. */
static void
read_stream(const char *path, struct predset *ps, struct hist *h, size_t *ignored)
{
	struct frame_reader *r = frame_reader_open(path);
	struct frame f;

	if (r == NULL)
		die("%s: %s", path, strerror(errno));
	while (frame_next(r, &f) > 0) {
		if (frame_is(&f, "prediction"))
			add_prediction(ps, r, &f);
		else if (h && frame_is(&f, "metrics"))
			add_history(h, &f);
		else
			(*ignored)++;
	}
	frame_reader_close(r);
}

/* ---- labels from --labels FILE ---- */

static void
read_labels_csv(FILE *fp, const char *path, struct predset *lab)
{
	char *line = NULL, *id, *lb, *cls, *end;
	size_t cap = 0, lineno = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, fp)) > 0) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		id = line;
		if ((lb = strchr(line, ',')) == NULL)
			die("%s:%zu: expected id,label", path, lineno);
		*lb++ = '\0';
		if ((cls = strchr(lb, ',')) != NULL)
			*cls++ = '\0';
		errno = 0;
		long v = strtol(lb, &end, 10);
		if (end == lb || *end != '\0' || errno || v < 0 || v >= MAX_CLASSES) {
			if (lineno == 1)
				continue;       /* a header line */
			die("%s:%zu: label '%s' is not an integer in [0, 4095]", path, lineno, lb);
		}
		set_class(lab, (int)v, cls && *cls ? cls : NULL);
		put_rec(lab, &(struct rec){ xstrdup(id), (int)v, -1, NAN }, path);
	}
	if (ferror(fp))
		die("%s: %s", path, strerror(errno));
	free(line);
}

static void
read_labels(const char *path, struct predset *lab)
{
	FILE *fp = fopen(path, "r");
	int c;

	if (fp == NULL)
		die("%s: %s", path, strerror(errno));
	c = getc(fp);
	if (c != EOF && ((c & 0xf0) == 0x80 || c == 0xde || c == 0xdf)) {
		struct frame_reader *r;
		struct frame f;
		fclose(fp);
		if ((r = frame_reader_open(path)) == NULL)
			die("%s: %s", path, strerror(errno));
		while (frame_next(r, &f) > 0) {
			const msgpack_object *id = frame_get(&f, "id");
			int label;
			if (!frame_is(&f, "sample") || id == NULL || id->type != MSGPACK_OBJECT_STR)
				continue;
			if ((label = get_class(r, &f, "label", "class", lab)) >= 0)
				put_rec(lab, &(struct rec){ mp_strdup(id), label, -1, NAN }, path);
		}
		frame_reader_close(r);
		return;
	}
	ungetc(c, fp);
	read_labels_csv(fp, path, lab);
	fclose(fp);
}

/* Fills missing labels of ps from lab; a disagreement is an error.
 * Returns the number of predictions still without a label. */
static size_t
join_labels(struct predset *ps, struct predset *lab, const char *src)
{
	size_t missing = 0;
	char b1[16], b2[16];

	for (int i = 0; lab && i < lab->k; i++)
		set_class(ps, i, lab->names[i]);
	for (size_t i = 0; i < ps->n; i++) {
		struct rec *x = &ps->v[i];
		long j = lab ? lookup(lab, x->id) : -1;
		if (j >= 0 && x->label >= 0 && x->label != lab->v[j].label)
			die("%s: id '%s': label %s in the predictions, %s in --labels", src, x->id,
			    class_name(ps, x->label, b1, sizeof b1),
			    class_name(ps, lab->v[j].label, b2, sizeof b2));
		if (j >= 0)
			x->label = lab->v[j].label;
		missing += x->label < 0;
	}
	return missing;
}

/* ---- building frames ---- */

static void
fb_begin(struct fb *b)
{
	msgpack_sbuffer_init(&b->body);
	msgpack_packer_init(&b->pk, &b->body, msgpack_sbuffer_write);
	b->n = 0;
}

static void
fb_key(struct fb *b, const char *k)
{
	msgpack_pack_str_with_body(&b->pk, k, strlen(k));
	b->n++;
}

static void
fb_str(struct fb *b, const char *k, const char *v)
{
	fb_key(b, k);
	msgpack_pack_str_with_body(&b->pk, v, strlen(v));
}

static void fb_int(struct fb *b, const char *k, int64_t v) { fb_key(b, k); msgpack_pack_int64(&b->pk, v); }
static void fb_num(struct fb *b, const char *k, double v) { fb_key(b, k); msgpack_pack_double(&b->pk, v); }

static void
fb_nums(struct fb *b, const char *k, const double *v, size_t n)
{
	fb_key(b, k);
	msgpack_pack_array(&b->pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_double(&b->pk, v[i]);
}

/* k: estimate, k_ci: [lo, hi]. */
static void
fb_est(struct fb *b, const char *k, double v, double lo, double hi)
{
	char ci[64];

	fb_num(b, k, v);
	snprintf(ci, sizeof ci, "%s_ci", k);
	fb_nums(b, ci, (double[]){ lo, hi }, 2);
}

/* k: successes/n with its Wilson interval. */
static void
fb_prop(struct fb *b, const char *k, size_t succ, size_t n)
{
	double lo, hi;

	stats_wilson((double)succ, (double)n, stats_norm_quantile(0.975), &lo, &hi);
	fb_est(b, k, n ? (double)succ / (double)n : NAN, lo, hi);
}

static void
fb_classes(struct fb *b, const struct predset *ps, int k)
{
	char buf[16];

	fb_key(b, "classes");
	msgpack_pack_array(&b->pk, (size_t)k);
	for (int i = 0; i < k; i++) {
		const char *s = class_name(ps, i, buf, sizeof buf);
		msgpack_pack_str_with_body(&b->pk, s, strlen(s));
	}
}

/* Appends the finished frame to outbuf. */
static void
fb_end(struct fb *b)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, &outbuf, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, b->n);
	msgpack_sbuffer_write(&outbuf, b->body.data, b->body.size);
	msgpack_sbuffer_destroy(&b->body);
}

