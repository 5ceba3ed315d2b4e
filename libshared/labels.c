/* labels.c — CSV label tables. */
#include "labels.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
csv_split(char *line, char **f, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *out = p, *start = p;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			start = out = ++p;
			for (;;) {
				if (*p == '\0')
					return -1;
				if (*p == '"' && p[1] == '"') { *out++ = '"'; p += 2; continue; }
				if (*p == '"') { p++; break; }
				*out++ = *p++;
			}
			while (*p && *p != ',')
				p++;
		} else {
			start = out = p;
			while (*p && *p != ',')
				p++;
			out = p;
			while (out > start && (out[-1] == ' ' || out[-1] == '\t'))
				out--;
		}
		int more = *p == ',';
		*out = '\0';
		if (n < max)
			f[n] = start;
		n++;
		if (!more)
			return n;
		p++;
	}
}

static int
class_of(struct labels *l, const char *name)
{
	for (int i = 0; i < l->nclasses; i++)
		if (strcmp(l->classes[i], name) == 0)
			return i;
	l->classes = xreallocarray(l->classes, (size_t)l->nclasses + 1, sizeof *l->classes);
	l->classes[l->nclasses] = xstrdup(name);
	return l->nclasses++;
}

int
labels_read(struct labels *l, FILE *f, const char *name, char *err, size_t errlen)
{
	char *line = NULL, *fld[2];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = -1;

	memset(l, 0, sizeof *l);
	err[0] = '\0';
	while ((n = getline(&line, &cap, f)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (++lineno == 1 || n == 0 || line[0] == '#')
			continue;
		int nf = csv_split(line, fld, 2);
		if (nf < 0) {
			snprintf(err, errlen, "%s:%d: unterminated quote", name, lineno);
			goto out;
		}
		if (nf < 2 || fld[0][0] == '\0' || fld[1][0] == '\0') {
			snprintf(err, errlen, "%s:%d: expected KEY,CLASS", name, lineno);
			goto out;
		}
		int c = class_of(l, fld[1]);
		long old = idmap_get(&l->map, fld[0]);
		if (old >= 0 && old != c) {
			snprintf(err, errlen, "%s:%d: '%s' is labelled both '%s' and '%s'", name,
			    lineno, fld[0], l->classes[old], fld[1]);
			goto out;
		}
		idmap_put(&l->map, fld[0], (size_t)c);
	}
	if (ferror(f))
		snprintf(err, errlen, "%s: read error", name);
	else if (l->nclasses == 0)
		snprintf(err, errlen, "%s: no labels (a header line, then KEY,CLASS lines)", name);
	else
		rc = 0;
out:
	free(line);
	if (rc < 0)
		labels_free(l);
	return rc;
}

int
labels_load(struct labels *l, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		memset(l, 0, sizeof *l);
		return -1;
	}
	rc = labels_read(l, f, path, err, errlen);
	fclose(f);
	return rc;
}

int
labels_find(const struct labels *l, const char *key)
{
	return (int)idmap_get(&l->map, key);
}

void
labels_free(struct labels *l)
{
	idmap_free(&l->map);
	for (int i = 0; i < l->nclasses; i++)
		free(l->classes[i]);
	free(l->classes);
	memset(l, 0, sizeof *l);
}
