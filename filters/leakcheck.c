/* leakcheck — find the same image twice, within a set or across sets.
 *
 * Every image gets two fingerprints (phash.h): a digest of its decoded
 * pixels (exact duplicates, whatever the file format) and a 64-bit DCT
 * hash (near duplicates: resized, re-encoded, brightened copies; and
 * inverted ones).  Sets are folders of images, walked as imgload walks
 * them, or streams of sample (or batch) frames.  Pairs are written as
 * leak frames, then one leakcheck frame with the counts (radpipe-stream(5)),
 * or as text, TSV, CSV or JSON.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "err.h"
#include "frame.h"
#include "idmap.h"
#include "image.h"
#include "imagefile.h"
#include "phash.h"
#include "report.h"
#include "sha256.h"

#define put_cell(v, sep) report_cell(stdout, (v), strlen(v), (sep))

static const char synopsis[] =
"usage: leakcheck [options] [NAME=]SOURCE...\n"
"  Finds images that occur twice, within a set or across sets.  A SOURCE is\n"
"  a folder of images (class folders or flat), a file of sample frames, or\n"
"  - (stdin); NAME names the set (default: the SOURCE's last component).\n";


#define LEAK_MAX_PIXELS 100000000ull    /* as imgload's --max-pixels */

struct options {
	int near, across_only, strict, skip_bad, format, list, exhaustive;
	char **sources;
	int nsources;
};

struct img {
	int set;
	char *id;
	uint8_t digest[32];
	uint64_t hash;
};

struct run {
	struct img *v;
	size_t n, cap;
	char **names;           /* per set */
	size_t *count;          /* images per set */
	int nsets;
	size_t skipped;
};

/* Counts of pairs: [exact, near, inverted][within, across]. */
enum { M_EXACT, M_NEAR, M_INVERTED, M_COUNT };
static const char *const match_names[M_COUNT] = { "exact", "near", "inverted" };

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	const struct cli_opt opts[] = {
		CLI_OPERAND("[NAME=]SOURCE", "a set: a folder, a file of frames, or -"),
		CLI_INT("near", 'd', "D", "near duplicates: DCT hashes at most D bits apart\n"
		    "(of 64; default 6; 0: identical hashes only)", &o->near, 0, 31),
		CLI_FLAG("exhaustive", 0, "compare every pair of hashes (slower; the default compares\n"
		    "only hashes that share a byte, which finds the same pairs)", &o->exhaustive),
		CLI_FLAG("across-only", 0, "report only pairs in two different sets", &o->across_only),
		CLI_FLAG("strict", 0, "exit 1 when a pair across sets is found", &o->strict),
		CLI_FLAG("fingerprints", 0, "write each image's fingerprints instead of the pairs", &o->list),
		CLI_FLAG("skip-bad", 0, "skip files that are not images (say so) instead of failing",
		    &o->skip_bad),
		CLI_OPT_FORMAT("text, tsv, csv (a pair a row), json or frames", &o->format),
		CLI_END
	};
	int i;

	*o = (struct options){ .near = PHASH_NEAR_DEFAULT, .format = -1 };
	i = cli_parse(argc, argv, synopsis, opts);
	if (i >= argc)
		die_usage("give at least one set (a folder, a file of frames, or -)");
	o->format = cli_format_default(o->format);
	o->sources = argv + i;
	o->nsources = argc - i;
}

/* Adds image t (id) of the current set; 0, or -1 when t is not an image. */
static int
add_image(struct run *r, const char *id, const struct tensor *t)
{
	struct img *m;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 256;
		r->v = xreallocarray(r->v, r->cap, sizeof *r->v);
	}
	m = &r->v[r->n];
	if (phash64(t, &m->hash) < 0)
		return -1;
	pixel_digest(t, m->digest);
	m->set = r->nsets - 1;
	m->id = xstrdup(id);
	r->n++;
	r->count[r->nsets - 1]++;
	return 0;
}

static void
read_folder(const struct options *o, struct run *r, char *path)
{
	struct image_opts io = { .keep16 = 1, .max_pixels = LEAK_MAX_PIXELS };
	struct dataset ds = { 0 };
	char err[512];

	if (dataset_collect(&ds, &path, 1, NULL, err, sizeof err) < 0)
		die("%s", err);
	for (size_t i = 0; i < ds.n; i++) {
		struct tensor t = { 0 };
		struct ds_item it;
		int rc;
		if (dataset_item(&ds, i, &it, err, sizeof err) < 0)
			die("%s", err);
		rc = image_read_path(it.path, &io, &t, err, sizeof err);
		if (rc == 0 && add_image(r, it.id, &t) < 0)
			rc = -1, snprintf(err, sizeof err, "not an image of 1 to 4 channels");
		tensor_free(&t);
		if (rc == 0)
			continue;
		if (rc != IMAGE_SKIP && !o->skip_bad)
			die("%s: %s", it.path, err);
		warnx("%s: skipped: %s", it.path, err);
		r->skipped++;
	}
	dataset_free(&ds);
}

/* Adds the images of a sample or batch frame (ids seen before in this set,
 * as in a stream of several epochs, are not added again). */
static void
add_frame(struct run *r, struct idmap *seen, const struct frame_reader *fr, const struct frame *f)
{
	struct tensor x, item;
	char id[1024];
	const struct fval *ids = frame_get(f, "ids");
	int batch = frame_is(f, "batch");
	size_t n = batch ? fv_len(ids) : 1;

	if (frame_tensor(fr, f, "x", &x) < 0)
		die("%s: frame %llu: no x", frame_reader_name(fr), (unsigned long long)f->index);
	if (batch && (x.rank != 4 || (size_t)x.shape[0] != n))
		die("%s: frame %llu: %zu ids for a batch of shape %s", frame_reader_name(fr),
		    (unsigned long long)f->index, n, tensor_describe(&x, id, sizeof id));
	for (size_t i = 0; i < n; i++) {
		const struct fval *v = batch ? fv_at(ids, i) : frame_get(f, "id");
		size_t len;
		const char *s = fv_strp(v, &len);
		if (s == NULL || len >= sizeof id)
			die("%s: frame %llu: no string id", frame_reader_name(fr), (unsigned long long)f->index);
		memcpy(id, s, len);
		id[len] = '\0';
		if (idmap_get(seen, id) >= 0)
			continue;
		idmap_put(seen, id, 1);
		item = x;
		if (batch) {
			item.rank = 3;
			memmove(item.shape, x.shape + 1, 3 * sizeof *x.shape);
			item.nbytes = x.nbytes / n;
			item.data = (char *)x.data + i * item.nbytes;
		}
		if (add_image(r, id, &item) < 0)
			die("%s: frame %llu: %s is not an image of 1 to 4 channels", frame_reader_name(fr),
			    (unsigned long long)f->index, id);
	}
}

static void
read_stream(struct run *r, const char *path)
{
	struct frame_reader *fr = frame_reader_open(path);
	struct idmap seen = { 0 };
	struct frame f;

	if (fr == NULL)
		die("%s: %s", path, strerror(errno));
	while (frame_next(fr, &f) > 0)
		if (frame_is(&f, "sample") || frame_is(&f, "batch"))
			add_frame(r, &seen, fr, &f);
	frame_reader_close(fr);
	idmap_free(&seen);
}

/* Reads set "[NAME=]SOURCE". */
static void
read_set(const struct options *o, struct run *r, char *arg)
{
	char *eq = strchr(arg, '='), *src = arg, *name;
	struct stat st;

	if (eq != NULL && eq > arg && access(arg, F_OK) != 0) {
		*eq = '\0';
		name = arg, src = eq + 1;
	} else {
		size_t len = strlen(src);
		const char *b;
		while (len > 1 && src[len - 1] == '/')
			src[--len] = '\0';
		b = strrchr(src, '/');
		name = strcmp(src, "-") == 0 ? "stdin" : b != NULL && b[1] ? (char *)b + 1 : src;
	}
	r->names = xreallocarray(r->names, (size_t)r->nsets + 1, sizeof *r->names);
	r->count = xreallocarray(r->count, (size_t)r->nsets + 1, sizeof *r->count);
	r->names[r->nsets] = xstrdup(name);
	r->count[r->nsets++] = 0;
	if (strcmp(src, "-") != 0 && stat(src, &st) == 0 && S_ISDIR(st.st_mode))
		read_folder(o, r, src);
	else
		read_stream(r, src);
	info("%s: %zu images", name, r->count[r->nsets - 1]);
}

struct pair {
	size_t a, b;            /* a < b, indices into run.v */
	int match, distance;
};

struct pairs {
	struct pair *v;
	size_t n, cap;
	size_t count[M_COUNT][2];       /* [match][across] */
};

static void
add_pair(const struct options *o, const struct run *r, struct pairs *p, size_t a, size_t b,
         int match, int d)
{
	int across = r->v[a].set != r->v[b].set;

	if (o->across_only && !across)
		return;
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->v = xreallocarray(p->v, p->cap, sizeof *p->v);
	}
	p->v[p->n++] = (struct pair){ a < b ? a : b, a < b ? b : a, match, d };
	p->count[match][across]++;
}

static const struct run *sort_run;

static int
digest_cmp(const void *x, const void *y)
{
	const struct img *a = &sort_run->v[*(const size_t *)x], *b = &sort_run->v[*(const size_t *)y];
	int c = memcmp(a->digest, b->digest, sizeof a->digest);

	if (c != 0)
		return c;
	return (*(const size_t *)x > *(const size_t *)y) - (*(const size_t *)x < *(const size_t *)y);
}

static int
pair_cmp(const void *x, const void *y)
{
	const struct pair *a = x, *b = y;

	if (a->a != b->a)
		return (a->a > b->a) - (a->a < b->a);
	return (a->b > b->b) - (a->b < b->b);
}

struct near_ctx {
	const struct options *o;
	const struct run *r;
	struct pairs *p;
};

/* A pair of hashes near each other (or inverted): a near or inverted pair
 * unless the images are exact duplicates (already paired). */
static void
near_pair(size_t i, size_t j, int d, void *ctx)
{
	struct near_ctx *c = ctx;
	const struct run *r = c->r;

	if (memcmp(r->v[i].digest, r->v[j].digest, 32) != 0)
		add_pair(c->o, r, c->p, i, j, d <= c->o->near ? M_NEAR : M_INVERTED, d);
}

/* Every pair of equal digests, then every other pair whose hashes are at
 * most near bits apart (near) or at least 63 - near (inverted: an image's
 * negative flips every bit but bit 0 and the median's): phash_pairs. */
static void
find_pairs(const struct options *o, const struct run *r, struct pairs *p)
{
	size_t *ord = xcalloc(r->n ? r->n : 1, sizeof *ord);
	uint64_t *h = xcalloc(r->n ? r->n : 1, sizeof *h);
	struct near_ctx c = { o, r, p };

	for (size_t i = 0; i < r->n; i++)
		ord[i] = i;
	sort_run = r;
	qsort(ord, r->n, sizeof *ord, digest_cmp);
	for (size_t i = 0; i < r->n; i++)
		for (size_t j = i + 1; j < r->n && !memcmp(r->v[ord[i]].digest, r->v[ord[j]].digest, 32); j++)
			add_pair(o, r, p, ord[i], ord[j], M_EXACT, phash_distance(r->v[ord[i]].hash, r->v[ord[j]].hash));
	free(ord);
	for (size_t i = 0; i < r->n; i++)
		h[i] = r->v[i].hash;
	phash_pairs(h, r->n, o->near, 1, o->exhaustive, near_pair, &c);
	free(h);
	if (p->n > 1)
		qsort(p->v, p->n, sizeof *p->v, pair_cmp);
}

static void
build_frames(const struct options *o, const struct run *r, const struct pairs *p, struct fbytes *out)
{
	struct fb *b;
	int64_t *counts = xcalloc((size_t)r->nsets, sizeof *counts);

	for (size_t i = 0; i < p->n; i++) {
		const struct img *a = &r->v[p->v[i].a], *c = &r->v[p->v[i].b];
		b = fb_begin();
		fb_str(b, "kind", "leak");
		fb_str(b, "match", match_names[p->v[i].match]);
		fb_int(b, "distance", p->v[i].distance);
		fb_bool(b, "across", a->set != c->set);
		fb_str(b, "set_a", r->names[a->set]);
		fb_str(b, "id_a", a->id);
		fb_str(b, "set_b", r->names[c->set]);
		fb_str(b, "id_b", c->id);
		fb_end(b, out);
	}
	for (int s = 0; s < r->nsets; s++)
		counts[s] = (int64_t)r->count[s];
	b = fb_begin();
	fb_str(b, "kind", "leakcheck");
	fb_strs(b, "sets", r->names, (size_t)r->nsets);
	fb_ints(b, "images", counts, (size_t)r->nsets);
	fb_int(b, "near", o->near);
	fb_bool(b, "across_only", o->across_only);
	for (int m = 0; m < M_COUNT; m++) {
		char k[32];
		snprintf(k, sizeof k, "%s_within", match_names[m]);
		fb_int(b, k, (int64_t)p->count[m][0]);
		snprintf(k, sizeof k, "%s_across", match_names[m]);
		fb_int(b, k, (int64_t)p->count[m][1]);
	}
	fb_int(b, "skipped", (int64_t)r->skipped);
	fb_end(b, out);
	free(counts);
}

static void
print_text(const struct options *o, const struct run *r, const struct pairs *p)
{
	static const char *const what[M_COUNT] = {
		"exact duplicates (the same decoded pixels)",
		"near duplicates (DCT hashes at most %d bits apart)",
		"inverted near duplicates (hashes at least %d bits apart)",
	};
	size_t total = 0;

	printf("sets:");
	for (int s = 0; s < r->nsets; s++)
		printf("%s %s %zu", s ? "," : "", r->names[s], r->count[s]), total += r->count[s];
	printf(" (%zu images%s)\n", total, r->skipped ? ", some skipped" : "");
	for (int m = 0; m < M_COUNT; m++) {
		size_t within = p->count[m][0], across = p->count[m][1];
		printf("\n");
		printf(what[m], m == M_NEAR ? o->near : 63 - o->near);
		printf(": %zu across sets", across);
		if (!o->across_only)
			printf(", %zu within a set", within);
		printf("\n");
		for (size_t i = 0; i < p->n; i++) {
			const struct pair *q = &p->v[i];
			if (q->match != m)
				continue;
			printf("  %s/%s  %s/%s", r->names[r->v[q->a].set], r->v[q->a].id,
			    r->names[r->v[q->b].set], r->v[q->b].id);
			if (m != M_EXACT)
				printf("  (distance %d)", q->distance);
			printf("\n");
		}
	}
}

static void
hex64(char out[17], uint64_t h)
{
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* --fingerprints: a fingerprint frame per image, in the order read. */
static void
build_fingerprints(const struct run *r, struct fbytes *out)
{
	char h[17], d[65];

	for (size_t i = 0; i < r->n; i++) {
		struct fb *b = fb_begin();
		hex64(h, r->v[i].hash);
		sha256_tohex(r->v[i].digest, d);
		fb_str(b, "kind", "fingerprint");
		fb_str(b, "set", r->names[r->v[i].set]);
		fb_str(b, "id", r->v[i].id);
		fb_str(b, "pixels_sha256", d);
		fb_str(b, "dct_hash", h);
		fb_end(b, out);
	}
}

/* --fingerprints as a table (text and TSV: tabs). */
static void
print_fingerprints(const struct run *r, char sep)
{
	char h[17], d[65];

	printf("set%cid%cpixels_sha256%cdct_hash\n", sep, sep, sep);
	for (size_t i = 0; i < r->n; i++) {
		hex64(h, r->v[i].hash);
		sha256_tohex(r->v[i].digest, d);
		put_cell(r->names[r->v[i].set], sep);
		putchar(sep);
		put_cell(r->v[i].id, sep);
		printf("%c%s%c%s\n", sep, d, sep, h);
	}
}

/* The pairs as a table, one a row, with a header. */
static void
print_table(const struct run *r, const struct pairs *p, char sep)
{
	static const char *const head[] = { "match", "distance", "across", "set_a", "id_a", "set_b", "id_b" };

	for (size_t k = 0; k < sizeof head / sizeof head[0]; k++)
		printf("%s%s", k ? (sep == ',' ? "," : "\t") : "", head[k]);
	putchar('\n');
	for (size_t i = 0; i < p->n; i++) {
		const struct img *a = &r->v[p->v[i].a], *b = &r->v[p->v[i].b];
		const char *f[] = { r->names[a->set], a->id, r->names[b->set], b->id };
		printf("%s%c%d%c%s", match_names[p->v[i].match], sep, p->v[i].distance, sep,
		    a->set != b->set ? "true" : "false");
		for (size_t k = 0; k < 4; k++) {
			putchar(sep);
			put_cell(f[k], sep);
		}
		putchar('\n');
	}
}

int
main(int argc, char **argv)
{
	struct options o;
	struct run r = { 0 };
	struct pairs p = { 0 };
	struct fbytes out = { 0 };
	size_t across = 0;

	parse_command_line(argc, argv, &o);
	for (int i = 0; i < o.nsources; i++)
		read_set(&o, &r, o.sources[i]);
	if (o.list)
		build_fingerprints(&r, &out);
	else
		find_pairs(&o, &r, &p);
	for (int m = 0; m < M_COUNT; m++)
		across += p.count[m][1];
	if (o.list) {
		if (o.format == CLI_FMT_FRAMES)
			fwrite(out.data, 1, out.len, stdout);
		else if (o.format == CLI_FMT_JSON)
			report_json(stdout, (const char *)out.data, out.len);
		else
			print_fingerprints(&r, o.format == CLI_FMT_CSV ? ',' : '\t');
	} else if (o.format == CLI_FMT_TEXT) {
		print_text(&o, &r, &p);
	} else if (o.format == CLI_FMT_TSV || o.format == CLI_FMT_CSV) {
		print_table(&r, &p, o.format == CLI_FMT_TSV ? '\t' : ',');
	} else {
		build_frames(&o, &r, &p, &out);
		if (o.format == CLI_FMT_FRAMES)
			fwrite(out.data, 1, out.len, stdout);
		else
			report_json(stdout, (const char *)out.data, out.len);
	}
	stdout_finish();
	if (!o.list)
		info("%zu pair%s, %zu across sets", p.n, p.n == 1 ? "" : "s", across);
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i].id);
	for (int s = 0; s < r.nsets; s++)
		free(r.names[s]);
	free(r.v);
	free(r.names);
	free(r.count);
	free(p.v);
	free(out.data);
	if (o.strict && across > 0)
		die("%zu pair%s of images across sets (--strict)", across, across == 1 ? "" : "s");
	return 0;
}
