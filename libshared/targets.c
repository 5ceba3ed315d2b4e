/* targets.c — multi-label target tables and label maps (targets.h). */
#include "targets.h"
#include "err.h"
#include "labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TG_MAX_COLS 4096
#define FINDINGS_COL "Finding Labels"

/* One row of the label map. */
struct mrow {
	char *col, *val;
	int target;             /* index in the map's target list */
	signed char out;        /* 1, 0, -1 */
};

struct lmap {
	struct mrow *r;
	int n;
	char **tn;              /* target names, in order of first appearance */
	int nt;
};

/* A table row: its key and the cells of the columns that are read. */
struct trow {
	char *key;
	char **cell;
	int line;
};

/* Everything read before the targets are resolved. */
struct table {
	const char *name;
	int layout, ncol;       /* ncol: columns read (cells per row) */
	char **colname;         /* their header names */
	int *colidx;            /* their positions on a line */
	struct trow *row;
	size_t nrow;
};

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
index_of(char *const *v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return i;
	return -1;
}

static int
add_name(char ***v, int *n, const char *s)
{
	int i = index_of(*v, *n, s);

	if (i >= 0)
		return i;
	*v = xreallocarray(*v, (size_t)*n + 1, sizeof **v);
	(*v)[*n] = xstrdup(s);
	return (*n)++;
}

static void
free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Reads the next line of f into *lineP without its line end (a UTF-8 BOM
 * on line 1 dropped); skips empty and # lines.  1 got one, 0 end, -1 read error. */
static int
next_line(FILE *f, char **lineP, size_t *capP, int *linenoP)
{
	ssize_t n;

	while ((n = getline(lineP, capP, f)) > 0) {
		char *s = *lineP;
		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
			s[--n] = '\0';
		if (++*linenoP == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			memmove(s, s + 3, (size_t)(n -= 3) + 1);
		if (n > 0 && s[0] != '#')
			return 1;
	}
	return ferror(f) ? -1 : 0;
}

/* "1", "0", "unknown" (or "-1") to 1, 0, -1; 2 if none. */
static int
map_out(const char *s)
{
	return strcmp(s, "1") == 0 ? 1 : strcmp(s, "0") == 0 ? 0 :
	       strcmp(s, "unknown") == 0 || strcmp(s, "-1") == 0 ? -1 : 2;
}

static void
lmap_free(struct lmap *m)
{
	for (int i = 0; i < m->n; i++) {
		free(m->r[i].col);
		free(m->r[i].val);
	}
	free(m->r);
	free_names(m->tn, m->nt);
	memset(m, 0, sizeof *m);
}

/* Reads a label map: SOURCE_COLUMN TAB SOURCE_VALUE TAB TARGET TAB 1|0|unknown. */
static int
lmap_read(struct lmap *m, FILE *f, const char *name, char *err, size_t errlen)
{
	char *line = NULL, *fld[5];
	size_t cap = 0;
	int lineno = 0, rc, nf;

	memset(m, 0, sizeof *m);
	while ((rc = next_line(f, &line, &cap, &lineno)) > 0) {
		char *p = line;
		for (nf = 0; nf < 5 && (fld[nf] = strsep(&p, "\t")) != NULL; nf++)
			;
		if (nf != 4 || fld[2][0] == '\0' || fld[0][0] == '\0') {
			rc = err_set(err, errlen, "%s:%d: expected SOURCE_COLUMN<TAB>SOURCE_VALUE<TAB>"
			    "TARGET<TAB>1|0|unknown", name, lineno);
			break;
		}
		int out = map_out(fld[3]);
		if (out == 2) {
			rc = err_set(err, errlen, "%s:%d: '%.100s' is not 1, 0 or unknown", name, lineno, fld[3]);
			break;
		}
		int t = add_name(&m->tn, &m->nt, fld[2]), dup = 0;
		for (int i = 0; i < m->n; i++)
			if (strcmp(m->r[i].col, fld[0]) == 0 && strcmp(m->r[i].val, fld[1]) == 0 &&
			    m->r[i].target == t)
				dup = 1 + (m->r[i].out != out);
		if (dup == 2) {
			rc = err_set(err, errlen, "%s:%d: %.100s = '%.100s' is mapped twice onto '%.100s', "
			    "differently", name, lineno, fld[0], fld[1], fld[2]);
			break;
		}
		m->r = xreallocarray(m->r, (size_t)m->n + 1, sizeof *m->r);
		m->r[m->n++] = (struct mrow){ xstrdup(fld[0]), xstrdup(fld[1]), t, (signed char)out };
	}
	free(line);
	if (rc < 0 && err[0] == '\0')
		err_set(err, errlen, "%s: read error", name);
	else if (rc == 0 && m->n == 0)
		rc = err_set(err, errlen, "%s: an empty label map", name);
	if (rc < 0)
		lmap_free(m);
	return rc < 0 ? -1 : 0;
}

static void
table_free(struct table *tb)
{
	for (size_t i = 0; i < tb->nrow; i++) {
		free(tb->row[i].key);
		for (int j = 0; j < tb->ncol; j++)
			free(tb->row[i].cell[j]);
		free(tb->row[i].cell);
	}
	free(tb->row);
	free_names(tb->colname, tb->ncol);
	free(tb->colidx);
	memset(tb, 0, sizeof *tb);
}

/* Is header column c one whose cells are read?  The findings column; or
 * in the columns layout a label column: one the map names, one of names,
 * or (neither given) any. */
static int
wanted(const struct table *tb, const char *c, const struct lmap *m, char *const *names, int nn)
{
	if (tb->layout == TARGETS_FINDINGS)
		return strcmp(c, FINDINGS_COL) == 0;
	if (m->n) {
		for (int i = 0; i < m->n; i++)
			if (strcmp(m->r[i].col, c) == 0)
				return 1;
		return 0;
	}
	return nn == 0 || index_of(names, nn, c) >= 0;
}

/* The header: the layout, the key column, the columns read. */
static int
read_header(struct table *tb, char **fld, int nf, const struct lmap *m, char *const *names,
    int nn, int *keyP, char *err, size_t errlen)
{
	static const char *const keys[] = { "Image Index", "Path", "path", "id" };
	int key = -1;

	tb->layout = index_of(fld, nf, FINDINGS_COL) >= 0 ? TARGETS_FINDINGS : TARGETS_COLUMNS;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0] && key < 0; i++)
		key = index_of(fld, nf, keys[i]);
	if (key < 0 && tb->layout == TARGETS_FINDINGS)
		return err_set(err, errlen, "%s:1: a \"Finding Labels\" column but no \"Image Index\"", tb->name);
	if (key < 0)
		key = 0;
	for (int i = 0; i < nf; i++) {
		if (i == key || fld[i][0] == '\0' || !wanted(tb, fld[i], m, names, nn))
			continue;
		if (index_of(tb->colname, tb->ncol, fld[i]) >= 0)
			return err_set(err, errlen, "%s:1: column '%.100s' appears twice", tb->name, fld[i]);
		tb->colname = xreallocarray(tb->colname, (size_t)tb->ncol + 1, sizeof *tb->colname);
		tb->colidx = xreallocarray(tb->colidx, (size_t)tb->ncol + 1, sizeof *tb->colidx);
		tb->colname[tb->ncol] = xstrdup(fld[i]);
		tb->colidx[tb->ncol++] = i;
	}
	if (tb->ncol == 0)
		return err_set(err, errlen, "%s:1: no label column (%s)", tb->name, m->n ?
		    "no column of the label map is in the header" : "a header with a key column, then "
		    "\"Finding Labels\" or one column per label");
	*keyP = key;
	return 0;
}

/* Reads the header and every row's key and cells. */
static int
table_read(struct table *tb, FILE *f, const char *name, const struct lmap *m, char *const *names,
    int nn, char *err, size_t errlen)
{
	char *line = NULL, **fld = XNEW(char *, TG_MAX_COLS);
	size_t cap = 0;
	int lineno = 0, key = 0, rc, nf, need;

	memset(tb, 0, sizeof *tb);
	tb->name = name;
	if ((rc = next_line(f, &line, &cap, &lineno)) <= 0) {
		rc = err_set(err, errlen, rc < 0 ? "%s: read error" : "%s: empty (no header line)", name);
		goto out;
	}
	if ((nf = csv_split(line, fld, TG_MAX_COLS)) < 0 || nf > TG_MAX_COLS) {
		rc = err_set(err, errlen, nf < 0 ? "%s:%d: unterminated quote" :
		    "%s:%d: more than 4096 columns", name, lineno);
		goto out;
	}
	if ((rc = read_header(tb, fld, nf, m, names, nn, &key, err, errlen)) < 0)
		goto out;
	need = key;
	for (int j = 0; j < tb->ncol; j++)
		need = tb->colidx[j] > need ? tb->colidx[j] : need;
	while ((rc = next_line(f, &line, &cap, &lineno)) > 0) {
		if ((nf = csv_split(line, fld, TG_MAX_COLS)) < 0) {
			rc = err_set(err, errlen, "%s:%d: unterminated quote", name, lineno);
			goto out;
		}
		if (nf <= need) {
			rc = err_set(err, errlen, "%s:%d: %d field%s, but column '%.100s' is field %d", name,
			    lineno, nf, nf == 1 ? "" : "s", need == key ? "the key" : tb->colname[tb->ncol - 1],
			    need + 1);
			goto out;
		}
		if (fld[key][0] == '\0') {
			rc = err_set(err, errlen, "%s:%d: empty key", name, lineno);
			goto out;
		}
		if (tb->nrow % 1024 == 0)
			tb->row = xreallocarray(tb->row, tb->nrow + 1024, sizeof *tb->row);
		struct trow *r = &tb->row[tb->nrow++];
		r->key = xstrdup(fld[key]);
		r->line = lineno;
		r->cell = XNEW(char *, (size_t)tb->ncol);
		for (int j = 0; j < tb->ncol; j++)
			r->cell[j] = xstrdup(fld[tb->colidx[j]]);
	}
	if (rc < 0)
		err_set(err, errlen, "%s: read error", name);
	else if (tb->nrow == 0)
		rc = err_set(err, errlen, "%s: no rows after the header", name);
out:
	free(line);
	free(fld);
	if (rc < 0)
		table_free(tb);
	return rc < 0 ? -1 : 0;
}

/* A cell as a label value: 1, 0, -1; 2 if empty; 3 if something else. */
static int
cell_value(const char *s)
{
	char *end;
	double d;

	if (*s == '\0')
		return 2;
	errno = 0;
	d = strtod(s, &end);
	if (*end != '\0' || errno || (d != 1 && d != 0 && d != -1))
		return 3;
	return (int)d;
}

/* Do map value mv and cell s match (as strings, or both as label numbers)? */
static int
value_match(const char *mv, const char *s)
{
	int a = cell_value(mv), b = cell_value(s);

	return strcmp(mv, s) == 0 || (a <= 1 && a == b);
}

/* Finds the map's verdict for column col = s onto target t: 1, 0, -1; 2
 * when the map has rows for (col, t) but none for s; 3 when it has none. */
static int
map_lookup(const struct lmap *m, const char *col, const char *s, int t)
{
	int any = 0, star = 3;

	for (int i = 0; i < m->n; i++) {
		const struct mrow *r = &m->r[i];
		if (r->target != t || strcmp(r->col, col) != 0)
			continue;
		any = 1;
		if (strcmp(r->val, "*") == 0)
			star = r->out;
		else if (value_match(r->val, s))
			return r->out;
	}
	return !any ? 3 : star != 3 ? star : 2;
}

/* Combines verdict o into target value *v: 1 beats 0 beats -1 (unset: 2). */
static void
combine(signed char *v, int o)
{
	if (*v == 2 || o > *v)
		*v = (signed char)o;
}

/* The findings of cell s ("A|B|C"), "No Finding" and empty ones left out. */
static int
findings(char *s, char **f, int max)
{
	int n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(s, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		while (*tok == ' ')
			tok++;
		size_t len = strlen(tok);
		while (len > 0 && tok[len - 1] == ' ')
			tok[--len] = '\0';
		if (*tok && strcmp(tok, "No Finding") != 0 && n < max)
			f[n++] = tok;
	}
	return n;
}

/* Row r's targets into v (k entries, first all 2 = unset). */
static int
row_values(const struct table *tb, struct trow *r, const struct lmap *m, const int *tmap,
    char *const *names, int k, int uncertain, signed char *v, char *err, size_t errlen)
{
	for (int j = 0; j < tb->ncol; j++) {
		char *s = r->cell[j], *f[256];
		if (tb->layout == TARGETS_FINDINGS) {
			int nf = findings(s, f, 256);
			for (int t = 0; t < k; t++) {
				int o = m->n ? map_lookup(m, FINDINGS_COL, "\x01", tmap[t]) : 0;
				if (m->n && o == 3)
					continue;       /* no finding feeds t */
				combine(&v[t], 0);
				for (int i = 0; i < nf; i++) {
					o = m->n ? map_lookup(m, FINDINGS_COL, f[i], tmap[t]) :
					    strcmp(f[i], names[t]) == 0 ? 1 : 3;
					if (o <= 1)
						v[t] = (signed char)(v[t] == 1 || o == 1 ? 1 : v[t] == -1 || o == -1 ? -1 : 0);
				}
			}
			continue;
		}
		for (int t = 0; t < k; t++) {
			int o;
			if (m->n) {
				o = map_lookup(m, tb->colname[j], s, tmap[t]);
				if (o == 3)
					continue;
			} else {
				if (strcmp(tb->colname[j], names[t]) != 0)
					continue;
				o = cell_value(s);
				o = o == 2 ? -1 : o != -1 ? o : uncertain == 1 ? 1 : uncertain == 2 ? 0 : -1;
			}
			if (o >= 2)
				return err_set(err, errlen, "%s:%d: column '%.100s': value '%.60s' is %s", tb->name,
				    r->line, tb->colname[j], s, m->n ? "not in the label map for this column" :
				    "not 1, 0, -1 or empty (pick the label columns with --target-names "
				    "or --label-map)");
			combine(&v[t], o);
		}
	}
	for (int t = 0; t < k; t++)
		if (v[t] == 2)
			v[t] = -1;
	return 0;
}

/* The target list: names given, else the map's, else the findings' sorted
 * union, else the label columns. */
static void
target_list(const struct table *tb, const struct lmap *m, char **given, int ng, char ***outP,
    int *kP)
{
	char **v = NULL, *f[256];
	int k = 0;

	if (ng) {
		for (int i = 0; i < ng; i++)
			add_name(&v, &k, given[i]);
	} else if (m->n) {
		for (int i = 0; i < m->nt; i++)
			add_name(&v, &k, m->tn[i]);
	} else if (tb->layout == TARGETS_FINDINGS) {
		for (size_t r = 0; r < tb->nrow; r++) {
			char *s = xstrdup(tb->row[r].cell[0]);
			int nf = findings(s, f, 256);
			for (int i = 0; i < nf; i++)
				add_name(&v, &k, f[i]);
			free(s);
		}
		if (k > 1)
			qsort(v, (size_t)k, sizeof *v, cmp_strp);
	} else {
		for (int j = 0; j < tb->ncol; j++)
			add_name(&v, &k, tb->colname[j]);
	}
	*outP = v;
	*kP = k;
}

/* Is target t fed by no column of the table? */
static int
unmapped(const struct table *tb, const struct lmap *m, const int *tmap, char *const *names, int t)
{
	for (int j = 0; j < tb->ncol; j++) {
		if (m->n && map_lookup(m, tb->colname[j], "\x01", tmap[t]) != 3)
			return 0;
		if (!m->n && (tb->layout == TARGETS_FINDINGS || strcmp(tb->colname[j], names[t]) == 0))
			return 0;
	}
	return 1;
}

/* Splits the --target-names list; -1 (err) on an empty or repeated name. */
static int
split_names(const char *list, char ***vP, int *nP, char *err, size_t errlen)
{
	char *s = xstrdup(list), *tok, *p = s;
	int rc = 0;

	*vP = NULL;
	*nP = 0;
	while ((tok = strsep(&p, ",")) != NULL) {
		if (*tok == '\0' || index_of(*vP, *nP, tok) >= 0) {
			rc = err_set(err, errlen, "target names '%.200s': %s name", list,
			    *tok ? "a repeated" : "an empty");
			break;
		}
		add_name(vP, nP, tok);
	}
	free(s);
	return rc;
}

/* Fills t's rows from the table read. */
static int
resolve(struct targets *t, const struct table *tb, const struct lmap *m, int uncertain,
    char *err, size_t errlen)
{
	int *tmap = XNEW(int, (size_t)t->k ? (size_t)t->k : 1), rc = 0;

	for (int i = 0; i < t->k; i++) {
		tmap[i] = index_of(m->tn, m->nt, t->names[i]);
		t->unmapped[i] = 0;
	}
	for (int i = 0; i < t->k; i++)
		t->unmapped[i] = unmapped(tb, m, tmap, t->names, i);
	t->v = XNEW(signed char, tb->nrow * (size_t)t->k + 1);
	for (size_t r = 0; r < tb->nrow && rc == 0; r++) {
		signed char *v = t->v + t->rows * (size_t)t->k;
		long old = idmap_get(&t->map, tb->row[r].key);
		memset(v, 2, (size_t)t->k);
		if ((rc = row_values(tb, &tb->row[r], m, tmap, t->names, t->k, uncertain, v,
		    err, errlen)) < 0)
			break;
		if (old >= 0 && memcmp(t->v + (size_t)old * (size_t)t->k, v, (size_t)t->k) != 0)
			rc = err_set(err, errlen, "%s:%d: '%.200s' has another row with other labels",
			    tb->name, tb->row[r].line, tb->row[r].key);
		else if (old < 0)
			idmap_put(&t->map, tb->row[r].key, t->rows++);
	}
	free(tmap);
	return rc;
}

int
targets_read(struct targets *t, FILE *f, const char *name, FILE *mapf, const char *mapname,
    const struct targets_opts *o, char *err, size_t errlen)
{
	struct lmap m = { 0 };
	struct table tb = { 0 };
	char **given = NULL;
	int ng = 0, rc = -1;

	memset(t, 0, sizeof *t);
	err[0] = '\0';
	if (o->names && split_names(o->names, &given, &ng, err, errlen) < 0)
		goto out;
	if (mapf && lmap_read(&m, mapf, mapname, err, errlen) < 0)
		goto out;
	if (table_read(&tb, f, name, &m, given, ng, err, errlen) < 0)
		goto out;
	t->layout = tb.layout;
	target_list(&tb, &m, given, ng, &t->names, &t->k);
	if (t->k == 0) {
		err_set(err, errlen, "%s: no target label (every row is \"No Finding\"?)", name);
		goto out;
	}
	t->unmapped = XNEW(int, (size_t)t->k);
	rc = resolve(t, &tb, &m, o->uncertain, err, errlen);
out:
	free_names(given, ng);
	lmap_free(&m);
	table_free(&tb);
	if (rc < 0)
		targets_free(t);
	return rc;
}

int
targets_load(struct targets *t, const char *path, const char *map_path,
    const struct targets_opts *o, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r"), *mf = NULL;
	int rc = -1;

	memset(t, 0, sizeof *t);
	if (f == NULL)
		return err_set(err, errlen, "%s: %s", path, strerror(errno));
	if (map_path && (mf = fopen(map_path, "r")) == NULL)
		err_set(err, errlen, "%s: %s", map_path, strerror(errno));
	else
		rc = targets_read(t, f, path, mf, map_path, o, err, errlen);
	fclose(f);
	if (mf)
		fclose(mf);
	return rc;
}

const signed char *
targets_find(const struct targets *t, const char *key)
{
	long i = idmap_get(&t->map, key);

	return i < 0 ? NULL : t->v + (size_t)i * (size_t)t->k;
}

void
targets_free(struct targets *t)
{
	idmap_free(&t->map);
	free_names(t->names, t->k);
	free(t->v);
	free(t->unmapped);
	memset(t, 0, sizeof *t);
}
