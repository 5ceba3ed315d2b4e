/* splitsets — divide a labelled set into train/val(/test), stratified by class,
 * with every group (a patient) in one set only.
 *
 * The set is class folders (walked as imgload walks them) or a stream of
 * sample frames.  The group of an image is its DICOM patient key
 * (meta.dicom.patient_key, in imgload's frames), a column of a table keyed
 * by id, or the part of its id that a regular expression matches; without
 * one, every image is its own group.  The assignment (libshared/split.c)
 * depends on the seed and the data, not on the input's order.  Output: an
 * assignment frame per image and a split frame with the counts; with
 * --link, the folders TRAIN/VAL/TEST of symbolic links that imgload and
 * pipelines/hello-world read; with --train/--val/--test, the sample frames
 * of each set.
 */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "err.h"
#include "fileio.h"
#include "frame.h"
#include "idmap.h"
#include "labels.h"
#include "report.h"
#include "split.h"

#define put_cell(v, sep) report_cell(stdout, (v), strlen(v), (sep))

static const char synopsis[] =
"usage: splitsets [options] SOURCE...\n"
"  Divides a labelled set (class folders, or a file of sample frames, or -)\n"
"  into train, val and test sets, stratified by class, keeping each group\n"
"  (patient) in one set.\n";

static const char *const set_names[] = { "train", "val", "test" };
static const char *const dir_names[] = { "TRAIN", "VAL", "TEST" };

struct options {
	const char *fractions, *counts, *group, *groups_file, *link, *out[3];
	uint64_t seed;
	int format, nsets;
	struct split_spec spec;
	char **sources;
	int nsources;
};

struct item {
	char *id, *group, *path;        /* path: folders only */
	int label;
	long off;                       /* streams: the frame in the spool */
	size_t len;
};

struct set {
	struct item *v;
	size_t n, cap;
	char **classes;
	int nclasses;
	FILE *spool;                    /* streams: the sample frames as read */
	int from_stream, from_folder;
};

/* "a,b[,c]" into 2 or 3 numbers; returns how many. */
static int
parse_list(const char *s, const char *opt, double *v)
{
	char buf[256], *p, *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof buf)
		die_usage("%s: too long", opt);
	strcpy(buf, s);
	for (p = strtok_r(buf, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
		if (n == 3)
			die_usage("%s %s: give 2 or 3 values (train,val[,test])", opt, s);
		v[n++] = cli_double(p, opt, 0, 1e15);
	}
	if (n < 2)
		die_usage("%s %s: give 2 or 3 values (train,val[,test])", opt, s);
	return n;
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	const struct cli_opt opts[] = {
		CLI_OPERAND("SOURCE", "class folders, or a file of sample frames (- : stdin)"),
		CLI_STR("fractions", 0, "T,V[,S]", "fractions of train, val (and test) (0.7,0.15,0.15)",
		    &o->fractions),
		CLI_STR("counts", 0, "T,V[,S]", "images in train, val (and test), adding up to all",
		    &o->counts),
		CLI_STR("group", 'g', "G", "the group of an image: dicom (meta.dicom.patient_key),\n"
		    "table (--groups FILE), /REGEX/ (the part of the id it\n"
		    "matches, or its first parenthesised part) or none (default)", &o->group),
		CLI_STR("groups", 0, "FILE", "table of id,group lines after a header (as imgload's\n"
		    "label tables) for --group table", &o->groups_file),
		CLI_OPT_SEED("seed of the split (1)", &o->seed),
		CLI_STR("link", 0, "DIR", "make DIR/TRAIN, DIR/VAL, DIR/TEST/<class>/ of symbolic\n"
		    "links to the images (folders only)", &o->link),
		CLI_STR("train", 0, "FILE", "write the train set's sample frames to FILE (streams)", &o->out[0]),
		CLI_STR("val", 0, "FILE", "write the val set's sample frames to FILE", &o->out[1]),
		CLI_STR("test", 0, "FILE", "write the test set's sample frames to FILE", &o->out[2]),
		CLI_OPT_FORMAT("text, tsv, csv (an image a row), json or frames", &o->format),
		CLI_END
	};
	double v[3];
	int i;

	*o = (struct options){ .seed = 1, .format = -1 };
	i = cli_parse(argc, argv, synopsis, opts);
	if (i >= argc)
		die_usage("give the labelled set: class folders, or a file of sample frames");
	if (o->fractions && o->counts)
		die_usage("--fractions and --counts exclude each other");
	o->nsets = parse_list(o->counts ? o->counts : o->fractions ? o->fractions : "0.7,0.15,0.15",
	    o->counts ? "--counts" : "--fractions", v);
	o->spec = (struct split_spec){ .nsets = o->nsets, .seed = o->seed };
	for (int s = 0; s < o->nsets; s++) {
		if (o->counts && v[s] != (double)(size_t)v[s])
			die_usage("--counts %s: whole numbers of images", o->counts);
		if (o->counts)
			o->spec.count[s] = (size_t)v[s];
		else
			o->spec.frac[s] = v[s];
	}
	if (o->counts && o->spec.count[0] == 0)
		die_usage("--counts %s: the train set would be empty", o->counts);
	if (o->out[2] && o->nsets < 3)
		die_usage("--test: give three fractions or counts");
	if ((o->groups_file != NULL) != (o->group != NULL && strcmp(o->group, "table") == 0))
		die_usage("--groups FILE goes with --group table");
	o->format = cli_format_default(o->format);
	o->sources = argv + i;
	o->nsources = argc - i;
}

static struct item *
new_item(struct set *st)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 256;
		st->v = xreallocarray(st->v, st->cap, sizeof *st->v);
	}
	memset(&st->v[st->n], 0, sizeof st->v[0]);
	return &st->v[st->n++];
}

/* Names class label of st name; 0, or -1 when it has another name. */
static int
name_class(struct set *st, int label, const char *name)
{
	if (label >= st->nclasses) {
		st->classes = xreallocarray(st->classes, (size_t)label + 1, sizeof *st->classes);
		for (int c = st->nclasses; c <= label; c++)
			st->classes[c] = NULL;
		st->nclasses = label + 1;
	}
	if (st->classes[label] == NULL)
		st->classes[label] = xstrdup(name);
	return strcmp(st->classes[label], name) == 0 ? 0 : -1;
}

static void
read_folders(struct set *st, char **paths, int n)
{
	struct dataset ds = { 0 };
	char err[4608];
	int rc = dataset_collect(&ds, paths, n, NULL, err, sizeof err);

	if (rc == -2)
		die_usage("%s", err);
	if (rc < 0)
		die("%s", err);
	for (int c = 0; c < ds.nclasses; c++)
		name_class(st, c, ds.classes[c]);
	for (size_t i = 0; i < ds.n; i++) {
		struct item *it;
		struct ds_item d;
		if (dataset_item(&ds, i, &d, err, sizeof err) < 0)
			die("%s", err);
		if (d.label < 0)
			die("%s: no class: give class folders (CLASS/image files)", d.path);
		it = new_item(st);
		it->id = xstrdup(d.id);
		it->path = xstrdup(d.path);
		it->label = d.label;
	}
	st->from_folder = 1;
	dataset_free(&ds);
}

/* 1 if some value of the targets array v is 1. */
static int
any_target(const struct fval *v)
{
	int64_t x;

	for (size_t i = 0; i < fv_len(v); i++)
		if (fv_to_int(fv_at(v, i), &x) == 0 && x == 1)
			return 1;
	return 0;
}

/* One sample frame of a stream: its id, class and patient key; its bytes
 * to the spool. */
static void
read_sample(struct set *st, const struct frame_reader *r, const struct frame *f)
{
	struct item *it = new_item(st);
	const struct fval *key = fv_get(fv_get(frame_get(f, "meta"), "dicom"), "patient_key");
	char cls[256];
	int64_t label;
	const char *name = frame_reader_name(r);
	unsigned long long k = (unsigned long long)f->index;

	it->id = fv_strdup(frame_get(f, "id"));
	/* a multi-label sample (targets, no label) is stratified by whether
	 * any target is present: class "none" (ChestX-ray14's No Finding) or
	 * "some" */
	if (frame_get(f, "label") == NULL && frame_get(f, "targets") != NULL)
		label = any_target(frame_get(f, "targets")), snprintf(cls, sizeof cls, label ? "some" : "none");
	else if (frame_int(f, "label", &label) != 1 || label < 0 || label > INT_MAX)
		die("%s: frame %llu (%s): no label: splitsets needs labelled samples", name, k, it->id);
	if (label > 1000000)
		die("%s: frame %llu (%s): label %lld: more classes than splitsets takes", name, k, it->id,
		    (long long)label);
	if (frame_get(f, "targets") == NULL && frame_str(f, "class", cls, sizeof cls) != 1)
		snprintf(cls, sizeof cls, "%lld", (long long)label);
	it->label = (int)label;
	if (name_class(st, it->label, cls) < 0)
		die("%s: frame %llu (%s): label %lld is class %s here, %s in an earlier frame", name, k,
		    it->id, (long long)label, cls, st->classes[label]);
	if (fv_type(key) == FV_STR)     /* the patient key, for --group dicom */
		it->group = fv_strdup(key);
	it->off = ftell(st->spool);
	it->len = f->len;
	if (fwrite(f->raw, 1, f->len, st->spool) != f->len)
		die("spool: write error: %s", strerror(errno));
}

static void
read_stream(struct set *st, const char *path)
{
	struct frame_reader *r = frame_reader_open(path);
	struct frame f;

	if (r == NULL)
		die("%s: %s", path, strerror(errno));
	if (st->spool == NULL && (st->spool = tmpfile()) == NULL)
		die("a temporary file: %s", strerror(errno));
	while (frame_next(r, &f) > 0)
		if (frame_is(&f, "sample"))
			read_sample(st, r, &f);
	frame_reader_close(r);
	st->from_stream = 1;
}

static void
read_sources(const struct options *o, struct set *st)
{
	int nfolders = 0;

	for (int i = 0; i < o->nsources; i++) {
		struct stat sb;
		int dir = strcmp(o->sources[i], "-") != 0 && stat(o->sources[i], &sb) == 0 && S_ISDIR(sb.st_mode);
		if (dir)
			o->sources[nfolders++] = o->sources[i];
		else
			read_stream(st, o->sources[i]);
	}
	if (nfolders > 0)
		read_folders(st, o->sources, nfolders);
	if (st->from_folder && st->from_stream)
		die_usage("give class folders or streams of samples, not both");
}

/* The part of id that re matches (its first parenthesised part if any). */
static char *
regex_group(const regex_t *re, const char *id)
{
	regmatch_t m[2];
	int k;

	if (regexec(re, id, 2, m, 0) != 0)
		return NULL;
	k = re->re_nsub > 0 && m[1].rm_so >= 0 ? 1 : 0;
	size_t n = (size_t)(m[k].rm_eo - m[k].rm_so);
	char *g = xmalloc(n + 1);
	memcpy(g, id + m[k].rm_so, n);
	g[n] = '\0';
	return g;
}

/* Each item's group, as --group says; dies naming an item without one. */
static void
assign_groups(const struct options *o, struct set *st)
{
	const char *g = o->group ? o->group : "none";
	size_t len = strlen(g);
	struct labels tab = { 0 };
	regex_t re;
	char err[600];

	if (strcmp(g, "none") == 0) {
		for (size_t i = 0; i < st->n; i++)
			free(st->v[i].group), st->v[i].group = NULL;
	} else if (strcmp(g, "dicom") == 0) {
		if (!st->from_stream)
			die_usage("--group dicom reads meta.dicom.patient_key of imgload's frames: "
			    "give a stream (imgload --patient-key-file K ... | splitsets --group dicom -)");
		for (size_t i = 0; i < st->n; i++)
			if (st->v[i].group == NULL || st->v[i].group[0] == '\0')
				die("%s: no meta.dicom.patient_key (imgload writes it for DICOM files "
				    "when given --patient-key-file or RADPIPE_PATIENT_KEY)", st->v[i].id);
	} else if (strcmp(g, "table") == 0) {
		if (labels_load(&tab, o->groups_file, err, sizeof err) < 0)
			die("%s", err);
		for (size_t i = 0; i < st->n; i++) {
			const char *id = st->v[i].id, *base = strrchr(id, '/');
			int c = labels_find(&tab, id);
			if (c < 0 && base != NULL)
				c = labels_find(&tab, base + 1);
			if (c < 0)
				die("%s: %s has no group in the table", o->groups_file, id);
			free(st->v[i].group);
			st->v[i].group = xstrdup(tab.classes[c]);
		}
		labels_free(&tab);
	} else if (len >= 2 && g[0] == '/' && g[len - 1] == '/') {
		char *pat = xstrdup(g + 1);
		int rc;
		pat[len - 2] = '\0';
		rc = regcomp(&re, pat, REG_EXTENDED);
		free(pat);
		if (rc != 0) {
			regerror(rc, &re, err, sizeof err);
			die_usage("--group %s: %s", g, err);
		}
		for (size_t i = 0; i < st->n; i++) {
			free(st->v[i].group);
			if ((st->v[i].group = regex_group(&re, st->v[i].id)) == NULL)
				die("--group %s does not match %s", g, st->v[i].id);
			if (st->v[i].group[0] == '\0')
				die("--group %s matches an empty part of %s", g, st->v[i].id);
		}
		regfree(&re);
	} else {
		die_usage("--group %s: give dicom, table, /REGEX/ or none", g);
	}
}

/* Splits st: the set of each item in set_of; dies on what cannot be split. */
static int *
assign_sets(const struct options *o, const struct set *st)
{
	int *label = XNEW(int, st->n ? st->n : 1), *set_of = XNEW(int, st->n ? st->n : 1);
	const char **group = XNEW(const char *, st->n ? st->n : 1);
	struct idmap seen = { 0 };
	char err[600];

	for (size_t i = 0; i < st->n; i++) {
		if (!idmap_put(&seen, st->v[i].id, i))
			die("%s: the id comes twice (a stream of several epochs? give one)", st->v[i].id);
		label[i] = st->v[i].label;
		group[i] = st->v[i].group;
	}
	idmap_free(&seen);
	if (split_assign(st->n, label, st->nclasses, group, &o->spec, set_of, err, sizeof err) < 0)
		die("%s", err);
	free(label);
	free(group);
	return set_of;
}

/* Images per set and class (count[s * nclasses + c]) and groups per set. */
static void
tally(const struct set *st, const int *set_of, int64_t *count, int64_t *groups)
{
	struct idmap seen = { 0 };

	for (size_t i = 0; i < st->n; i++) {
		count[set_of[i] * st->nclasses + st->v[i].label]++;
		if (st->v[i].group == NULL)
			groups[set_of[i]]++;
		else if (idmap_put(&seen, st->v[i].group, 1))
			groups[set_of[i]]++;
	}
	idmap_free(&seen);
}

static void
build_frames(const struct options *o, const struct set *st, const int *set_of, struct fbytes *out)
{
	int k = st->nclasses;
	int64_t *count = xcalloc((size_t)(o->nsets * k), sizeof *count), groups[3] = { 0 };
	struct fb *b;

	for (size_t i = 0; i < st->n; i++) {
		b = fb_begin();
		fb_str(b, "kind", "assignment");
		fb_str(b, "id", st->v[i].id);
		fb_str(b, "set", set_names[set_of[i]]);
		fb_int(b, "label", st->v[i].label);
		fb_str(b, "class", st->classes[st->v[i].label]);
		if (st->v[i].group != NULL)
			fb_str(b, "group", st->v[i].group);
		fb_end(b, out);
	}
	tally(st, set_of, count, groups);
	b = fb_begin();
	fb_str(b, "kind", "split");
	fb_strs(b, "sets", (char *const *)set_names, (size_t)o->nsets);
	fb_strs(b, "classes", st->classes, (size_t)k);
	fb_array(b, "counts");                  /* [set][class] */
	for (int s = 0; s < o->nsets; s++)
		fb_ints(b, NULL, count + s * k, (size_t)k);
	fb_close(b);
	fb_ints(b, "groups", groups, (size_t)o->nsets);
	fb_str(b, "group_by", o->group ? o->group : "none");
	fb_uint(b, "seed", o->seed);
	fb_end(b, out);
	free(count);
}

static void
print_text(const struct options *o, const struct set *st, const int *set_of)
{
	int k = st->nclasses;
	int64_t *count = xcalloc((size_t)(o->nsets * k), sizeof *count), groups[3] = { 0 };
	int64_t total[64] = { 0 };

	tally(st, set_of, count, groups);
	for (int s = 0; s < o->nsets; s++)
		for (int c = 0; c < k && c < 64; c++)
			total[c] += count[s * k + c];
	printf("%zu images, %d classes, grouped by %s, seed %llu\n\n", st->n, k,
	    o->group ? o->group : "none (each image its own group)", (unsigned long long)o->seed);
	printf("%-6s %8s %8s", "set", "images", "groups");
	for (int c = 0; c < k; c++)
		printf("  %s", st->classes[c]);
	printf("\n");
	for (int s = 0; s < o->nsets; s++) {
		int64_t n = 0;
		for (int c = 0; c < k; c++)
			n += count[s * k + c];
		printf("%-6s %8lld %8lld", set_names[s], (long long)n, (long long)groups[s]);
		for (int c = 0; c < k; c++)
			printf("  %lld (%.1f%%)", (long long)count[s * k + c],
			    n ? 100.0 * (double)count[s * k + c] / (double)n : 0.0);
		printf("\n");
	}
	free(count);
}

static void
print_table(const struct set *st, const int *set_of, char sep)
{
	printf("id%cclass%cgroup%cset\n", sep, sep, sep);
	for (size_t i = 0; i < st->n; i++) {
		put_cell(st->v[i].id, sep);
		putchar(sep);
		put_cell(st->classes[st->v[i].label], sep);
		putchar(sep);
		put_cell(st->v[i].group ? st->v[i].group : "", sep);
		printf("%c%s\n", sep, set_names[set_of[i]]);
	}
}

/* --link DIR: DIR/TRAIN/<class>/<file> -> the image, for each item. */
static void
make_links(const struct options *o, const struct set *st, const int *set_of)
{
	char err[4608], path[PATH_MAX];
	struct stat sb;

	if (!st->from_folder)
		die_usage("--link makes folders of links to image files: give class folders");
	for (int s = 0; s < o->nsets; s++) {
		snprintf(path, sizeof path, "%s/%s", o->link, dir_names[s]);
		if (lstat(path, &sb) == 0)
			die("%s exists: --link makes a new folder (remove it, or give another)", path);
	}
	for (size_t i = 0; i < st->n; i++) {
		const char *base = strrchr(st->v[i].path, '/');
		char *target = realpath(st->v[i].path, NULL);
		base = base ? base + 1 : st->v[i].path;
		if (target == NULL)
			die("%s: %s", st->v[i].path, strerror(errno));
		if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", o->link, dir_names[set_of[i]],
		    st->classes[st->v[i].label]) >= sizeof path)
			die("%s: path too long", o->link);
		if (file_mkdirs(path, err, sizeof err) < 0)
			die("%s", err);
		if ((size_t)snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", base) >=
		    sizeof path - strlen(path))
			die("%s: path too long", o->link);
		if (symlink(target, path) != 0)
			die("%s: %s%s", path, strerror(errno),
			    errno == EEXIST ? " (two images of one class have this file name)" : "");
		free(target);
	}
}

/* --train/--val/--test FILE: each set's sample frames, as read. */
static void
write_sets(const struct options *o, const struct set *st, const int *set_of)
{
	char err[600], *buf = NULL;
	size_t cap = 0;

	if (!st->from_stream)
		die_usage("--train, --val and --test write sample frames: give a stream of them");
	for (int s = 0; s < o->nsets; s++) {
		struct frame_writer *w;
		if (o->out[s] == NULL)
			continue;
		if ((w = frame_writer_open(o->out[s])) == NULL)
			die("%s: %s", o->out[s], strerror(errno));
		for (size_t i = 0; i < st->n; i++) {
			if (set_of[i] != s)
				continue;
			if (st->v[i].len > cap)
				buf = xreallocarray(buf, cap = st->v[i].len, 1);
			if (fseek(st->spool, st->v[i].off, SEEK_SET) != 0 ||
			    fread(buf, 1, st->v[i].len, st->spool) != st->v[i].len)
				die("spool: read error: %s", strerror(errno));
			frame_write_bytes(w, buf, st->v[i].len);
		}
		if (frame_writer_commit(w, err, sizeof err) < 0)
			die("%s", err);
	}
	free(buf);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct set st = { 0 };
	struct fbytes out = { 0 };
	int *set_of;

	parse_command_line(argc, argv, &o);
	read_sources(&o, &st);
	if (st.n == 0)
		die("no images in the input");
	for (int c = 0; c < st.nclasses; c++)
		if (st.classes[c] == NULL) {
			char num[24];
			snprintf(num, sizeof num, "%d", c);
			st.classes[c] = xstrdup(num);
		}
	assign_groups(&o, &st);
	set_of = assign_sets(&o, &st);
	if (o.link)
		make_links(&o, &st, set_of);
	if (o.out[0] || o.out[1] || o.out[2])
		write_sets(&o, &st, set_of);
	switch (o.format) {
	case CLI_FMT_TEXT: print_text(&o, &st, set_of); break;
	case CLI_FMT_TSV: print_table(&st, set_of, '\t'); break;
	case CLI_FMT_CSV: print_table(&st, set_of, ','); break;
	default:
		build_frames(&o, &st, set_of, &out);
		if (o.format == CLI_FMT_FRAMES)
			fwrite(out.data, 1, out.len, stdout);
		else
			report_json(stdout, (const char *)out.data, out.len);
	}
	stdout_finish();
	for (size_t i = 0; i < st.n; i++) {
		free(st.v[i].id);
		free(st.v[i].group);
		free(st.v[i].path);
	}
	for (int c = 0; c < st.nclasses; c++)
		free(st.classes[c]);
	free(st.classes);
	free(st.v);
	free(set_of);
	free(out.data);
	if (st.spool)
		fclose(st.spool);
	return 0;
}
