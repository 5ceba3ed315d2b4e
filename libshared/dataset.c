/* dataset.c — class folders, flat folders, file lists; sample frames. */
#include "dataset.h"
#include "err.h"
#include "rng.h"

#include <dirent.h>
#include <errno.h>
#include <msgpack.h>
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

/* Sorted entry names of dir (no dot files), split into files and dirs. */
static void
list_dir(const char *dir, struct names *files, struct names *dirs)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		die("%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		char *full;
		if (e->d_name[0] == '.')
			continue;
		full = join(dir, e->d_name);
		if (is_dir(full))
			names_add(dirs, xstrdup(e->d_name));
		else
			names_add(files, xstrdup(e->d_name));
		free(full);
	}
	closedir(d);
	if (files->n > 1)       /* v is NULL while empty: qsort(NULL) is undefined */
		qsort(files->v, files->n, sizeof *files->v, cmp_str);
	if (dirs->n > 1)
		qsort(dirs->v, dirs->n, sizeof *dirs->v, cmp_str);
}

static void
names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int
class_index(struct dataset *ds, const char *name, int fixed)
{
	for (int i = 0; i < ds->nclasses; i++)
		if (strcmp(ds->classes[i], name) == 0)
			return i;
	if (fixed)
		die("class '%s' is not one of --classes", name);
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
	ds->items[ds->n++] = (struct ds_item){ path, id, label };
}

/* Adds the images under root/rel, depth first, sorted. */
static void
walk_class(struct dataset *ds, const char *root, const char *rel, int label)
{
	char *dir = join(root, rel);
	struct names files = { 0 }, dirs = { 0 };

	list_dir(dir, &files, &dirs);
	for (size_t i = 0; i < files.n; i++) {
		char *full = join(dir, files.v[i]);
		if (image_path_ok(full))
			add_item(ds, full, join(rel, files.v[i]), label);
		else
			free(full);
	}
	for (size_t i = 0; i < dirs.n; i++) {
		char *sub = join(rel, dirs.v[i]);
		walk_class(ds, root, sub, label);
		free(sub);
	}
	names_free(&files);
	names_free(&dirs);
	free(dir);
}

/* flat: no class folders; every image at any depth, unlabelled. */
static void
add_folder(struct dataset *ds, const char *root, int fixed, int flat)
{
	struct names files = { 0 }, dirs = { 0 };
	size_t before = ds->n;

	list_dir(root, &files, &dirs);
	if (dirs.n > 0 && !flat) {
		for (size_t i = 0; i < dirs.n; i++)
			walk_class(ds, root, dirs.v[i], class_index(ds, dirs.v[i], fixed));
	} else {
		for (size_t i = 0; i < files.n; i++) {
			char *full = join(root, files.v[i]);
			if (image_path_ok(full))
				add_item(ds, full, xstrdup(files.v[i]), -1);
			else
				free(full);
		}
		for (size_t i = 0; i < dirs.n; i++)
			walk_class(ds, root, dirs.v[i], -1);
	}
	if (ds->n == before)
		die("%s: no images found (expected %s/<class>/<image> or %s/<image>)", root, root, root);
	names_free(&files);
	names_free(&dirs);
}

/* @LIST: one path per line, optionally TAB class; relative paths are taken
 * relative to the list file's folder. */
static void
add_list(struct dataset *ds, const char *list, int fixed)
{
	FILE *f = fopen(list, "r");
	char *line = NULL, *dir, *slash;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;

	if (f == NULL)
		die("%s: %s", list, strerror(errno));
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
		path = line[0] == '/' ? xstrdup(line) : join(dir, line);
		add_item(ds, path, xstrdup(line), tab && *tab ? class_index(ds, tab, fixed) : -1);
	}
	if (ferror(f))
		die("%s: read error", list);
	fclose(f);
	free(line);
	free(dir);
}

static void
add_path(struct dataset *ds, const char *p, int fixed, int flat)
{
	struct stat st;

	if (p[0] == '@') {
		add_list(ds, p + 1, fixed);
		return;
	}
	if (stat(p, &st) != 0)
		die("%s: %s", p, strerror(errno));
	if (S_ISDIR(st.st_mode))
		add_folder(ds, p, fixed, flat);
	else
		add_item(ds, xstrdup(p), xstrdup(p), -1);
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

static void
collect(struct dataset *ds, char **paths, int npaths, const char *classes, int flat)
{
	int fixed = classes != NULL;

	memset(ds, 0, sizeof *ds);
	if (fixed) {
		char *list = xstrdup(classes), *save = NULL;
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
			class_index(ds, t, 0);
		free(list);
		if (ds->nclasses == 0)
			die_usage("--classes: no class names given");
	}
	for (int i = 0; i < npaths; i++)
		add_path(ds, paths[i], fixed, flat);
	if (!fixed)
		sort_classes(ds);
	if (ds->n == 0)
		die("no images found");
}

void
dataset_collect(struct dataset *ds, char **paths, int npaths, const char *classes)
{
	collect(ds, paths, npaths, classes, 0);
}

void
dataset_collect_unlabelled(struct dataset *ds, char **paths, int npaths, const char *classes)
{
	collect(ds, paths, npaths, classes, 1);
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
		free(ds->items[i].path);
		free(ds->items[i].id);
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
pack_meta(msgpack_packer *pk, const struct image_info *ii, const char *hex, int gray_rgb)
{
	int frames = ii->frames > 1, orient = ii->orientation > 1;

	msgpack_pack_map(pk, 3 + (ii->dicom != NULL));
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
}

char *
sample_frame_encode(const struct dataset *ds, const struct ds_item *it, const struct tensor *x,
    const struct image_info *ii, const char *hex, int gray_rgb, size_t *lenP)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int labelled = it->label >= 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, labelled ? 6 : 4);
	pack_str(&pk, "kind"); pack_str(&pk, "sample");
	pack_str(&pk, "id"); pack_str(&pk, it->id);
	if (labelled) {
		pack_str(&pk, "label"); msgpack_pack_int(&pk, it->label);
		pack_str(&pk, "class"); pack_str(&pk, ds->classes[it->label]);
	}
	pack_str(&pk, "x"); tensor_pack(&pk, x);
	pack_str(&pk, "meta"); pack_meta(&pk, ii, hex, gray_rgb);
	if (sb.data == NULL)
		die("out of memory");
	*lenP = sb.size;
	return msgpack_sbuffer_release(&sb);
}
