/* dataset.c — class folders, flat folders, file lists; sample frames. */
#include "dataset.h"
#include "frame_mp.h"
#include "idmap.h"
#include "err.h"
#include "rng.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct names {
	char **v;
	size_t n, cap;
};

static void
names_add(struct names *s, char *name)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n++] = name;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = xmalloc(la + lb + 2);

	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	if (la == 0)
		memmove(s, s + 1, lb + 1);
	return s;
}

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Sorted entry names of dir (no dot files), split into files and dirs;
 * -1 with the reason in err. */
static int
list_dir(const char *dir, struct names *files, struct names *dirs, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (;;) {
		char *full;
		errno = 0;
		if ((e = readdir(d)) == NULL)
			break;
		if (e->d_name[0] == '.')
			continue;
		full = join(dir, e->d_name);
		if (is_dir(full))
			names_add(dirs, xstrdup(e->d_name));
		else
			names_add(files, xstrdup(e->d_name));
		free(full);
	}
	if (errno != 0) {       /* not the end: part of the folder is unread */
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	if (files->n > 1)       /* v is NULL while empty: qsort(NULL) is undefined */
		qsort(files->v, files->n, sizeof *files->v, cmp_str);
	if (dirs->n > 1)
		qsort(dirs->v, dirs->n, sizeof *dirs->v, cmp_str);
	return 0;
}

static void
names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* The label of class name, added unless fixed; -1 (reason in err) when
 * fixed and name is not a class. */
static int
class_index(struct dataset *ds, const char *name, int fixed, char *err, size_t errlen)
{
	for (int i = 0; i < ds->nclasses; i++)
		if (strcmp(ds->classes[i], name) == 0)
			return i;
	if (fixed) {
		snprintf(err, errlen, "class '%s' is not one of --classes", name);
		return -1;
	}
	ds->classes = xreallocarray(ds->classes, (size_t)ds->nclasses + 1, sizeof *ds->classes);
	ds->classes[ds->nclasses] = xstrdup(name);
	return ds->nclasses++;
}

static void
add_item(struct dataset *ds, char *path, char *id, int label)
{
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? 2 * ds->cap : 64;
		ds->items = xreallocarray(ds->items, ds->cap, sizeof *ds->items);
	}
	ds->items[ds->n++] = (struct ds_item){ path, id, label, 0 };
}

/* The folders and files a walk has taken, by device and inode ("dev:ino"
 * keys in an idmap): a folder with the first path under which it was
 * taken, a file with its item (whose path is that: no copy per image). */
struct walk {
	struct dataset *ds;
	struct idmap seen;      /* folders: "dev:ino" -> index in path */
	struct idmap files;     /* files: "dev:ino" -> index in ds->items */
	char **path;            /* owned */
	size_t n, cap;
	int fixed, flat;
	char *err;              /* the caller's message buffer */
	size_t errlen;
};

static void
file_key(const struct stat *st, char *key, size_t cap)
{
	snprintf(key, cap, "%llx:%llx", (unsigned long long)st->st_dev, (unsigned long long)st->st_ino);
}

/* Records the folder st of path; returns NULL when it is new, else the
 * path under which it was taken before. */
static const char *
seen_add(struct walk *w, const struct stat *st, const char *path)
{
	char key[48];
	long i;

	file_key(st, key, sizeof key);
	if ((i = idmap_get(&w->seen, key)) >= 0)
		return w->path[i];
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->path = xreallocarray(w->path, w->cap, sizeof *w->path);
	}
	w->path[w->n] = xstrdup(path);
	idmap_put(&w->seen, key, w->n++);
	return NULL;
}

static void
seen_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->path[i]);
	free(w->path);
	idmap_free(&w->seen);
	idmap_free(&w->files);
}

/* 1 if folder dir is new to the walk; else says why it is left out (0);
 * -1 (w->err) if it cannot be read. */
static int
first_visit_dir(struct walk *w, const char *dir)
{
	struct stat st;
	const char *before;
	size_t n;

	if (stat(dir, &st) != 0) {
		snprintf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((before = seen_add(w, &st, dir)) == NULL)
		return 1;
	n = strlen(before);
	if (strncmp(dir, before, n) == 0 && dir[n] == '/')
		warnx("%s: a link back to %s (a cycle): not followed", dir, before);
	else
		warnx("%s: the same folder as %s, taken already: skipped", dir, before);
	return 0;
}

/* Adds file dir/name (id: rel/name) if it is an image not taken before. */
static void
add_file(struct walk *w, const char *dir, const char *rel, const char *name, int label)
{
	char *full = join(dir, name);
	char key[48];
	struct stat st;
	long i;

	if (!image_path_ok(full)) {
		free(full);
		return;
	}
	/* a broken link or a FIFO stays: loading it says what is wrong */
	if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
		file_key(&st, key, sizeof key);
		if ((i = idmap_get(&w->files, key)) >= 0) {
			warnx("%s: the same file as %s (a link): skipped", full, w->ds->items[i].path);
			free(full);
			return;
		}
		idmap_put(&w->files, key, w->ds->n);
	}
	/* the id, rel/name, is the end of full, root/rel/name: shared, not
	 * copied (a data set of 10^5 images saves a malloc'd string each) */
	add_item(w->ds, full, full + strlen(full) - (*rel ? strlen(rel) + 1 : 0) - strlen(name), label);
	w->ds->items[w->ds->n - 1].id_in_path = 1;
}

/* Adds the images under root/rel, depth first, sorted; each folder and
 * file once, however many links lead to it.  -1 (w->err) on failure. */
static int
walk_class(struct walk *w, const char *root, const char *rel, int label)
{
	char *dir = join(root, rel);
	struct names files = { 0 }, dirs = { 0 };
	int rc = first_visit_dir(w, dir);

	if (rc <= 0) {
		free(dir);
		return rc;
	}
	rc = list_dir(dir, &files, &dirs, w->err, w->errlen);
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		add_file(w, dir, rel, files.v[i], label);
	for (size_t i = 0; rc == 0 && i < dirs.n; i++) {
		char *sub = join(rel, dirs.v[i]);
		rc = walk_class(w, root, sub, label);
		free(sub);
	}
	names_free(&files);
	names_free(&dirs);
	free(dir);
	return rc;
}

/* Images of root itself that class folders leave out: says so. */
static void
warn_loose_files(const char *root, const struct names *files)
{
	size_t n = 0;
	char *full;

	for (size_t i = 0; i < files->n; i++) {
		full = join(root, files->v[i]);
		n += image_path_ok(full);
		free(full);
	}
	if (n > 0)
		warnx("%s: %zu image%s beside the class folders belong%s to no class: ignored",
		    root, n, n == 1 ? "" : "s", n == 1 ? "s" : "");
}

/* The class folders of root, each under its label; -1 (w->err). */
static int
add_classes(struct walk *w, const char *root, const struct names *dirs)
{
	for (size_t i = 0; i < dirs->n; i++) {
		int label = class_index(w->ds, dirs->v[i], w->fixed, w->err, w->errlen);
		if (label < 0 || walk_class(w, root, dirs->v[i], label) < 0)
			return -1;
	}
	return 0;
}

/* flat: no class folders; every image at any depth, unlabelled.  -1
 * (w->err) on failure. */
static int
add_folder(struct walk *w, const char *root)
{
	struct names files = { 0 }, dirs = { 0 };
	struct dataset *ds = w->ds;
	size_t before = ds->n;
	int rc = first_visit_dir(w, root);

	if (rc <= 0)
		return rc;
	rc = list_dir(root, &files, &dirs, w->err, w->errlen);
	if (rc == 0 && dirs.n > 0 && !w->flat) {
		warn_loose_files(root, &files);
		rc = add_classes(w, root, &dirs);
	} else if (rc == 0) {
		for (size_t i = 0; i < files.n; i++)
			add_file(w, root, "", files.v[i], -1);
		for (size_t i = 0; rc == 0 && i < dirs.n; i++)
			rc = walk_class(w, root, dirs.v[i], -1);
	}
	if (rc == 0 && ds->n == before) {
		snprintf(w->err, w->errlen, "%s: no images found (expected %s/<class>/<image> "
		         "or %s/<image>)", root, root, root);
		rc = -1;
	}
	names_free(&files);
	names_free(&dirs);
	return rc;
}

/* @LIST: one path per line, optionally TAB class; relative paths are taken
 * relative to the list file's folder.  -1 (w->err) on failure. */
static int
add_list(struct walk *w, const char *list)
{
	struct dataset *ds = w->ds;
	FILE *f = fopen(list, "r");
	char *line = NULL, *dir, *slash;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, label, rc = 0;

	if (f == NULL) {
		snprintf(w->err, w->errlen, "%s: %s", list, strerror(errno));
		return -1;
	}
	dir = xstrdup(list);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	while ((n = getline(&line, &cap, f)) > 0) {
		char *tab, *path;
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (tab)
			*tab++ = '\0';
		label = tab && *tab ? class_index(ds, tab, w->fixed, w->err, w->errlen) : -1;
		if (label < 0 && tab && *tab) {
			rc = -1;
			break;
		}
		path = line[0] == '/' ? xstrdup(line) : join(dir, line);
		add_item(ds, path, xstrdup(line), label);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(w->err, w->errlen, "%s: read error", list);
		rc = -1;
	}
	fclose(f);
	free(line);
	free(dir);
	return rc;
}

/* -1 (w->err) on failure. */
static int
add_path(struct walk *w, const char *p)
{
	struct stat st;

	if (p[0] == '@')
		return add_list(w, p + 1);
	if (stat(p, &st) != 0) {
		snprintf(w->err, w->errlen, "%s: %s", p, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return add_folder(w, p);
	add_item(w->ds, xstrdup(p), xstrdup(p), -1);
	return 0;
}

/* Sorts the discovered class names and renumbers the labels. */
static void
sort_classes(struct dataset *ds)
{
	char **old;
	int *map;

	if (ds->nclasses == 0)          /* classes is NULL: memcpy/qsort(NULL) are undefined */
		return;
	old = XNEW(char *, (size_t)ds->nclasses);
	map = XNEW(int, (size_t)ds->nclasses);
	memcpy(old, ds->classes, (size_t)ds->nclasses * sizeof *old);
	qsort(ds->classes, (size_t)ds->nclasses, sizeof *ds->classes, cmp_str);
	for (int i = 0; i < ds->nclasses; i++)
		for (int j = 0; j < ds->nclasses; j++)
			if (old[i] == ds->classes[j])
				map[i] = j;
	for (size_t i = 0; i < ds->n; i++)
		if (ds->items[i].label >= 0)
			ds->items[i].label = map[ds->items[i].label];
	free(old);
	free(map);
}

static int
collect(struct dataset *ds, char **paths, int npaths, const char *classes, int flat,
        char *err, size_t errlen)
{
	int fixed = classes != NULL, rc = 0;
	struct walk w = { .ds = ds, .fixed = fixed, .flat = flat, .err = err, .errlen = errlen };

	memset(ds, 0, sizeof *ds);
	if (fixed) {
		char *list = xstrdup(classes), *save = NULL;
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
			class_index(ds, t, 0, err, errlen);
		free(list);
		if (ds->nclasses == 0) {
			snprintf(err, errlen, "--classes: no class names given");
			return -2;
		}
	}
	for (int i = 0; rc == 0 && i < npaths; i++)
		rc = add_path(&w, paths[i]);
	seen_free(&w);
	if (rc < 0)
		return -1;
	if (!fixed)
		sort_classes(ds);
	if (ds->n == 0) {
		snprintf(err, errlen, "no images found");
		return -1;
	}
	return 0;
}

int
dataset_collect(struct dataset *ds, char **paths, int npaths, const char *classes,
                char *err, size_t errlen)
{
	return collect(ds, paths, npaths, classes, 0, err, errlen);
}

int
dataset_collect_unlabelled(struct dataset *ds, char **paths, int npaths, const char *classes,
                           char *err, size_t errlen)
{
	return collect(ds, paths, npaths, classes, 1, err, errlen);
}

void
dataset_shuffle(size_t *order, size_t n, uint64_t seed, uint64_t epoch)
{
	struct rng r;

	rng_init(&r, seed, epoch, 0x5368756666ull);     /* "Shuff" */
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i);
		size_t t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
}

void
dataset_free(struct dataset *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		if (!ds->items[i].id_in_path)
			free(ds->items[i].id);
		free(ds->items[i].path);
	}
	for (int i = 0; i < ds->nclasses; i++)
		free(ds->classes[i]);
	free(ds->items);
	free(ds->classes);
	memset(ds, 0, sizeof *ds);
}

static void
pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s[0] does not
 * start one (RFC 3629: no overlong forms, surrogates or values > 10FFFF). */
static int
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Packs a name from the file system (an id, a class) as a valid UTF-8
 * str: a byte that is not part of valid UTF-8, a control byte (below 0x20,
 * or 0x7f) and the backslash itself are written \xHH (lower-case hex) and
 * \\, so the original bytes can be recovered (radpipe-stream(5)). */
static void
pack_name(msgpack_packer *pk, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), len = 0;
	char *out = xmallocarray(n + 1, 4);

	while (*s) {
		int k = utf8_len(s);
		if (*s == '\\') {
			out[len++] = '\\';
			out[len++] = '\\';
		} else if (k == 0 || *s < 0x20 || *s == 0x7f) {
			len += (size_t)snprintf(out + len, 5, "\\x%02x", *s);
			k = 1;
		} else {
			memcpy(out + len, s, (size_t)k);
			len += (size_t)k;
		}
		s += k ? k : 1;
	}
	msgpack_pack_str_with_body(pk, out, len);
	free(out);
}

static void
pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	pack_str(pk, k);
	pack_str(pk, v);
}

/* meta.dicom: the attributes radpipe keeps; empty ones are left out.
 * Never a name or a birth date; PatientID only when it was asked for. */
static void
pack_dicom(msgpack_packer *pk, const struct dicom_meta *d)
{
	const char *const key[] = { "modality", "body_part", "view_position", "photometric",
	    "study_uid", "series_uid", "sop_uid", "sop_class_uid", "transfer_syntax",
	    "voi", "patient_key", "patient_id" };
	const char *const val[] = { d->modality, d->body_part, d->view_position, d->photometric,
	    d->study_uid, d->series_uid, d->sop_uid, d->sop_class_uid, d->transfer_syntax,
	    d->voi, d->patient_key, d->patient_id };
	size_t nk = sizeof key / sizeof key[0], n = (size_t)d->has_spacing;

	for (size_t i = 0; i < nk; i++)
		n += val[i][0] != '\0';
	msgpack_pack_map(pk, n);
	for (size_t i = 0; i < nk; i++)
		if (val[i][0] != '\0')
			pack_kv_str(pk, key[i], val[i]);
	if (d->has_spacing) {
		pack_str(pk, "pixel_spacing");
		msgpack_pack_array(pk, 2);
		msgpack_pack_double(pk, d->spacing[0]);
		msgpack_pack_double(pk, d->spacing[1]);
	}
}

static void
pack_meta(msgpack_packer *pk, const struct dataset *ds, const struct image_info *ii,
    const char *hex, int gray_rgb)
{
	int frames = ii->frames > 1, orient = ii->orientation > 1, shard = ds->shard_size > 1;

	msgpack_pack_map(pk, 3 + (ii->dicom != NULL) + shard);
	pack_str(pk, "source");
	msgpack_pack_map(pk, 5 + frames + orient);
	pack_str(pk, "format"); pack_str(pk, ii->format);
	pack_str(pk, "width"); msgpack_pack_int(pk, ii->width);
	pack_str(pk, "height"); msgpack_pack_int(pk, ii->height);
	pack_str(pk, "bit_depth"); msgpack_pack_int(pk, ii->bit_depth);
	pack_str(pk, "channels"); msgpack_pack_int(pk, ii->channels);
	if (frames) {
		pack_str(pk, "frames"); msgpack_pack_int(pk, ii->frames);
	}
	if (orient) {
		pack_str(pk, "exif_orientation"); msgpack_pack_int(pk, ii->orientation);
	}
	pack_str(pk, "sha256"); pack_str(pk, hex);
	pack_str(pk, "gray_rgb");
	if (gray_rgb)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (ii->dicom) {
		pack_str(pk, "dicom");
		pack_dicom(pk, ii->dicom);
	}
	if (shard) {
		pack_str(pk, "shard");
		msgpack_pack_map(pk, 2);
		pack_str(pk, "rank"); msgpack_pack_int(pk, ds->shard_rank);
		pack_str(pk, "size"); msgpack_pack_int(pk, ds->shard_size);
	}
}

/* A msgpack_sbuffer that remembers a failed write (out of memory), so
 * that a frame is never left with a piece missing. */
struct safe_sbuffer {
	msgpack_sbuffer sb;
	int failed;
};

static int
safe_write(void *data, const char *buf, size_t len)
{
	struct safe_sbuffer *s = data;

	if (!s->failed && msgpack_sbuffer_write(&s->sb, buf, len) != 0)
		s->failed = 1;
	return s->failed ? -1 : 0;
}

char *
sample_frame_encode(const struct dataset *ds, const struct ds_item *it, const struct tensor *x,
    const struct image_info *ii, const char *hex, int gray_rgb, size_t *lenP)
{
	return sample_frame_encode_targets(ds, it, x, ii, hex, gray_rgb, NULL, lenP);
}

/* targets: [k ints], target_names: [k strings] (radpipe-stream(5)). */
static void
pack_targets(msgpack_packer *pk, const struct sample_targets *t)
{
	pack_str(pk, "targets");
	msgpack_pack_array(pk, (size_t)t->k);
	for (int i = 0; i < t->k; i++)
		msgpack_pack_int(pk, t->v[i]);
	pack_str(pk, "target_names");
	msgpack_pack_array(pk, (size_t)t->k);
	for (int i = 0; i < t->k; i++)
		pack_name(pk, t->names[i]);
}

char *
sample_frame_encode_targets(const struct dataset *ds, const struct ds_item *it,
    const struct tensor *x, const struct image_info *ii, const char *hex, int gray_rgb,
    const struct sample_targets *t, size_t *lenP)
{
	struct safe_sbuffer ssb = { .failed = 0 };
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int labelled = it->label >= 0 && t == NULL;

	msgpack_sbuffer_init(&ssb.sb);
	msgpack_packer_init(&pk, &ssb, safe_write);
	msgpack_pack_map(&pk, 4 + (labelled ? 2 : 0) + (t ? 2 : 0));
	pack_str(&pk, "kind"); pack_str(&pk, "sample");
	pack_str(&pk, "id"); pack_name(&pk, it->id);
	if (labelled) {
		pack_str(&pk, "label"); msgpack_pack_int(&pk, it->label);
		pack_str(&pk, "class"); pack_name(&pk, ds->classes[it->label]);
	}
	if (t)
		pack_targets(&pk, t);
	pack_str(&pk, "x"); tensor_pack(&pk, x);
	pack_str(&pk, "meta"); pack_meta(&pk, ds, ii, hex, gray_rgb);
	sb = ssb.sb;
	if (ssb.failed || sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return NULL;
	}
	*lenP = sb.size;
	return msgpack_sbuffer_release(&sb);
}
