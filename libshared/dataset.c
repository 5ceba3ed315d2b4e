/* dataset.c — class folders, flat folders, file lists (sample frames are
 * encoded in sampleframe.c). */
#include "dataset.h"
#include "fidmap.h"
#include "strsort.h"
#include "err.h"
#include "rng.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The entry names of dir (no dot files), split into files and dirs, each
 * sorted (strsort: a folder of 10^5 names costs no more memory than one
 * of 10^3); -1 with the reason in err. */
static int
list_dir(const char *dir, struct strsort *files, struct strsort *dirs, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

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
		rc = strsort_add(is_dir(full) ? dirs : files, e->d_name, err, errlen);
		free(full);
		if (rc < 0) {
			closedir(d);
			return -1;
		}
	}
	if (errno != 0) {       /* not the end: part of the folder is unread */
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	if (strsort_finish(files, err, errlen) < 0 || strsort_finish(dirs, err, errlen) < 0)
		return -1;
	return 0;
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
	ds->count = xreallocarray(ds->count, (size_t)ds->nclasses + 1, sizeof *ds->count);
	ds->count[ds->nclasses] = 0;
	return ds->nclasses++;
}

/* An item's record in ds->items: this head, then path, NUL, and, unless
 * the id is the end of the path, id, NUL. */
struct rec_head {
	uint32_t len;           /* of the strings */
	int32_t label;          /* as found (ds->relabel maps it) */
	uint32_t id_at;         /* where the id starts in the strings */
};

/* Appends the item (path, id) to ds; id NULL: the id is path + id_at.
 * 0; -1 (err) when the temporary file fails. */
static int
add_item(struct dataset *ds, const char *path, size_t id_at, const char *id, int label,
    char *err, size_t errlen)
{
	size_t lp = strlen(path) + 1, li = id ? strlen(id) + 1 : 0;
	struct rec_head h = { (uint32_t)(lp + li), label, (uint32_t)(id ? lp : id_at) };
	uint64_t off;

	if (lp + li > UINT32_MAX / 2) {
		snprintf(err, errlen, "%.200s...: the path is too long", path);
		return -1;
	}
	if (spill_append(&ds->items, &h, sizeof h, &off, err, errlen) < 0 ||
	    spill_append(&ds->items, path, lp, NULL, err, errlen) < 0 ||
	    (id && spill_append(&ds->items, id, li, NULL, err, errlen) < 0) ||
	    spill_append(&ds->index, &off, sizeof off, NULL, err, errlen) < 0)
		return -1;
	if (label >= 0)
		ds->count[label]++;
	else
		ds->unlabelled++;
	ds->n++;
	return 0;
}

int
dataset_item(struct dataset *ds, size_t i, struct ds_item *it, char *err, size_t errlen)
{
	uint64_t off[2];
	struct rec_head h;
	size_t k = i + 1 < ds->n ? 2 : 1;

	if (spill_read(&ds->index, (uint64_t)i * 8, off, k * 8, err, errlen) < 0)
		return -1;
	if (k == 1)
		off[1] = ds->items.size;
	if (off[1] - off[0] < sizeof h || off[1] - off[0] > UINT32_MAX) {
		snprintf(err, errlen, "temporary file in %s: item %zu is damaged", ds->items.dir, i);
		return -1;
	}
	if ((size_t)(off[1] - off[0]) > ds->reccap) {
		ds->reccap = (size_t)(off[1] - off[0]) + 256;
		ds->rec = xreallocarray(ds->rec, ds->reccap, 1);
	}
	if (spill_read(&ds->items, off[0], ds->rec, (size_t)(off[1] - off[0]), err, errlen) < 0)
		return -1;
	memcpy(&h, ds->rec, sizeof h);
	if (h.len != off[1] - off[0] - sizeof h || h.id_at >= h.len || ds->rec[off[1] - off[0] - 1]) {
		snprintf(err, errlen, "temporary file in %s: item %zu is damaged", ds->items.dir, i);
		return -1;
	}
	it->path = ds->rec + sizeof h;
	it->id = it->path + h.id_at;
	it->label = h.label >= 0 && ds->relabel ? ds->relabel[h.label] : h.label;
	return 0;
}

/* The folders and files a walk has taken, by device and inode, in tables
 * kept in temporary files: a folder with the first path under which it
 * was taken (the offset of that path in paths), a file with its item
 * (whose path is that). */
struct walk {
	struct dataset *ds;
	struct fidmap seen;     /* folders: -> offset in paths */
	struct fidmap files;    /* files: -> index of the item */
	struct spill paths;     /* the folders' paths: uint32_t length, bytes */
	int fixed, flat;
	char *err;              /* the caller's message buffer */
	size_t errlen;
};

/* The path stored at off in w->paths, in a new string (caller frees);
 * NULL (w->err) when the file fails. */
static char *
path_at(struct walk *w, uint64_t off)
{
	uint32_t n;
	char *p;

	if (spill_read(&w->paths, off, &n, sizeof n, w->err, w->errlen) < 0)
		return NULL;
	p = xmalloc((size_t)n + 1);
	if (spill_read(&w->paths, off + sizeof n, p, n, w->err, w->errlen) < 0) {
		free(p);
		return NULL;
	}
	p[n] = '\0';
	return p;
}

/* Records the folder st of path: 0 when it is new; 1 and the path under
 * which it was taken before in *beforeP (caller frees); -1 (w->err). */
static int
seen_add(struct walk *w, const struct stat *st, const char *path, char **beforeP)
{
	uint64_t off = w->paths.size, before;
	uint32_t n = (uint32_t)strlen(path);
	int rc = fidmap_add(&w->seen, (uint64_t)st->st_dev, (uint64_t)st->st_ino, off, &before,
	    w->err, w->errlen);

	if (rc < 0)
		return -1;
	if (rc == 1)
		return (*beforeP = path_at(w, before)) ? 1 : -1;
	if (spill_append(&w->paths, &n, sizeof n, NULL, w->err, w->errlen) < 0 ||
	    spill_append(&w->paths, path, n, NULL, w->err, w->errlen) < 0)
		return -1;
	return 0;
}

static void
walk_free(struct walk *w)
{
	fidmap_free(&w->seen);
	fidmap_free(&w->files);
	spill_close(&w->paths);
}

/* 1 if folder dir is new to the walk; else says why it is left out (0);
 * -1 (w->err) if it cannot be read. */
static int
first_visit_dir(struct walk *w, const char *dir)
{
	struct stat st;
	char *before;
	size_t n;
	int rc;

	if (stat(dir, &st) != 0) {
		snprintf(w->err, w->errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((rc = seen_add(w, &st, dir, &before)) <= 0)
		return rc < 0 ? -1 : 1;
	n = strlen(before);
	if (strncmp(dir, before, n) == 0 && dir[n] == '/')
		warnx("%s: a link back to %s (a cycle): not followed", dir, before);
	else
		warnx("%s: the same folder as %s, taken already: skipped", dir, before);
	free(before);
	return 0;
}

/* Adds file dir/name (id: rel/name) if it is an image not taken before.
 * -1 (w->err) when a temporary file fails. */
static int
add_file(struct walk *w, const char *dir, const char *rel, const char *name, int label)
{
	char *full = join(dir, name);
	struct stat st;
	struct ds_item it;
	uint64_t i;
	int rc = 0;

	if (!image_path_ok(full))
		goto done;
	/* a broken link or a FIFO stays: loading it says what is wrong */
	if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = fidmap_add(&w->files, (uint64_t)st.st_dev, (uint64_t)st.st_ino, w->ds->n, &i,
		    w->err, w->errlen);
		if (rc == 1) {
			rc = dataset_item(w->ds, (size_t)i, &it, w->err, w->errlen);
			if (rc == 0)
				warnx("%s: the same file as %s (a link): skipped", full, it.path);
			goto done;
		}
		if (rc < 0)
			goto done;
	}
	/* the id, rel/name, is the end of full, root/rel/name: not stored twice */
	rc = add_item(w->ds, full, strlen(full) - (*rel ? strlen(rel) + 1 : 0) - strlen(name), NULL,
	    label, w->err, w->errlen);
done:
	free(full);
	return rc;
}

/* The sorted names of folder dir, or -1 (w->err); 0 when dir is left out. */
static int
open_dir(struct walk *w, const char *dir, struct strsort *files, struct strsort *dirs)
{
	int rc = first_visit_dir(w, dir);

	if (rc <= 0)
		return rc;
	return list_dir(dir, files, dirs, w->err, w->errlen) < 0 ? -1 : 1;
}

/* Adds the images under root/rel, depth first, sorted; each folder and
 * file once, however many links lead to it.  -1 (w->err) on failure. */
static int
walk_class(struct walk *w, const char *root, const char *rel, int label)
{
	char *dir = join(root, rel);
	struct strsort files, dirs;
	const char *name;
	int rc, more;

	strsort_init(&files);
	strsort_init(&dirs);
	if ((rc = open_dir(w, dir, &files, &dirs)) > 0) {
		rc = 0;
		while (rc == 0 && (more = strsort_next(&files, &name, w->err, w->errlen)) > 0)
			rc = add_file(w, dir, rel, name, label);
		if (rc == 0 && more < 0)
			rc = -1;
		strsort_free(&files);
		while (rc == 0 && (more = strsort_next(&dirs, &name, w->err, w->errlen)) > 0) {
			char *sub = join(rel, name);
			rc = walk_class(w, root, sub, label);
			free(sub);
		}
		if (rc == 0 && more < 0)
			rc = -1;
	}
	strsort_free(&files);
	strsort_free(&dirs);
	free(dir);
	return rc;
}

/* Images of root itself that class folders leave out: says so.  -1
 * (w->err) when the names cannot be read back. */
static int
warn_loose_files(struct walk *w, const char *root, struct strsort *files)
{
	size_t n = 0;
	const char *name;
	char *full;
	int more;

	while ((more = strsort_next(files, &name, w->err, w->errlen)) > 0) {
		full = join(root, name);
		n += image_path_ok(full);
		free(full);
	}
	if (n > 0)
		warnx("%s: %zu image%s beside the class folders belong%s to no class: ignored",
		    root, n, n == 1 ? "" : "s", n == 1 ? "s" : "");
	return more;
}

/* The class folders of root, each under its label; -1 (w->err). */
static int
add_classes(struct walk *w, const char *root, struct strsort *dirs)
{
	const char *name;
	int more;

	while ((more = strsort_next(dirs, &name, w->err, w->errlen)) > 0) {
		char *cls = xstrdup(name);
		int label = class_index(w->ds, cls, w->fixed, w->err, w->errlen);
		int rc = label < 0 ? -1 : walk_class(w, root, cls, label);
		free(cls);
		if (rc < 0)
			return -1;
	}
	return more;
}

/* The images of a flat folder root and its sub-folders, unlabelled. */
static int
add_flat(struct walk *w, const char *root, struct strsort *files, struct strsort *dirs)
{
	const char *name;
	int rc = 0, more;

	while (rc == 0 && (more = strsort_next(files, &name, w->err, w->errlen)) > 0)
		rc = add_file(w, root, "", name, -1);
	if (rc == 0 && more < 0)
		return -1;
	while (rc == 0 && (more = strsort_next(dirs, &name, w->err, w->errlen)) > 0) {
		char *sub = xstrdup(name);
		rc = walk_class(w, root, sub, -1);
		free(sub);
	}
	return rc < 0 || more < 0 ? -1 : 0;
}

/* flat: no class folders; every image at any depth, unlabelled.  -1
 * (w->err) on failure. */
static int
add_folder(struct walk *w, const char *root)
{
	struct strsort files, dirs;
	struct dataset *ds = w->ds;
	size_t before = ds->n;
	int rc;

	strsort_init(&files);
	strsort_init(&dirs);
	if ((rc = open_dir(w, root, &files, &dirs)) <= 0)
		goto done;
	if (strsort_count(&dirs) > 0 && !w->flat)
		rc = warn_loose_files(w, root, &files) < 0 ? -1 : add_classes(w, root, &dirs);
	else
		rc = add_flat(w, root, &files, &dirs);
	if (rc == 0 && ds->n == before) {
		snprintf(w->err, w->errlen, "%s: no images found (expected %s/<class>/<image> "
		         "or %s/<image>)", root, root, root);
		rc = -1;
	}
done:
	strsort_free(&files);
	strsort_free(&dirs);
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
		rc = add_item(ds, path, 0, line, label, w->err, w->errlen);
		free(path);
		if (rc < 0)
			break;
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
	return add_item(w->ds, p, 0, NULL, -1, w->err, w->errlen);
}

/* Sorts the discovered class names; the labels found are mapped to
 * their rank by ds->relabel as the items are read. */
static void
sort_classes(struct dataset *ds)
{
	char **old;
	size_t *count;

	if (ds->nclasses == 0)          /* classes is NULL: memcpy/qsort(NULL) are undefined */
		return;
	old = XNEW(char *, (size_t)ds->nclasses);
	ds->relabel = XNEW(int, (size_t)ds->nclasses);
	memcpy(old, ds->classes, (size_t)ds->nclasses * sizeof *old);
	qsort(ds->classes, (size_t)ds->nclasses, sizeof *ds->classes, cmp_str);
	for (int i = 0; i < ds->nclasses; i++)
		for (int j = 0; j < ds->nclasses; j++)
			if (old[i] == ds->classes[j])
				ds->relabel[i] = j;
	count = XNEW(size_t, (size_t)ds->nclasses);
	for (int i = 0; i < ds->nclasses; i++)
		count[ds->relabel[i]] = ds->count[i];
	free(ds->count);
	ds->count = count;
	free(old);
}

static int
collect(struct dataset *ds, char **paths, int npaths, const char *classes, int flat,
        char *err, size_t errlen)
{
	int fixed = classes != NULL, rc = 0;
	struct walk w = { .ds = ds, .fixed = fixed, .flat = flat, .err = err, .errlen = errlen };

	memset(ds, 0, sizeof *ds);
	spill_init(&ds->items);
	spill_init(&ds->index);
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
	fidmap_init(&w.seen);
	fidmap_init(&w.files);
	spill_init(&w.paths);
	if (spill_open(&ds->items, err, errlen) < 0 || spill_open(&ds->index, err, errlen) < 0 ||
	    spill_open(&w.paths, err, errlen) < 0) {
		spill_close(&w.paths);
		return -1;
	}
	for (int i = 0; rc == 0 && i < npaths; i++)
		rc = add_path(&w, paths[i]);
	walk_free(&w);
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
	for (int i = 0; i < ds->nclasses; i++)
		free(ds->classes[i]);
	free(ds->classes);
	free(ds->relabel);
	free(ds->count);
	free(ds->rec);
	spill_close(&ds->items);
	spill_close(&ds->index);
	memset(ds, 0, sizeof *ds);
	spill_init(&ds->items);
	spill_init(&ds->index);
}
