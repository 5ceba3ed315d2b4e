/* labels.h — label tables: a CSV file mapping keys (sample ids, file
 * names, DICOM UIDs...) to class names, as datasets distributed with a
 * label table have them (imgload --labels).
 *
 * Format: comma-separated, fields optionally in double quotes ("" is a
 * quote); the first line is a header and is skipped; column 1 is the key,
 * column 2 the class name, further columns are ignored; empty lines and
 * lines starting with # are skipped.  A key listed twice with different
 * classes is an error.  Ownership: labels_free releases everything.
 */
#ifndef RADPIPE_LABELS_H
#define RADPIPE_LABELS_H

#include <stdio.h>
#include "idmap.h"

struct labels {
	struct idmap map;       /* key -> class index */
	char **classes;         /* distinct class names, in order of first use */
	int nclasses;
};

/* Splits one CSV line (modified in place: quotes and "" undone, blanks
 * around unquoted fields trimmed) into at most max fields f[]; returns the
 * number of fields on the line (may exceed max), or -1 on an unterminated
 * quote.  Shared by every CSV reader (labels, targets). */
int csv_split(char *line, char **f, int max);
/* Reads the table at path.  Returns 0, or -1 with "path:line: reason"
 * (or "path: reason") in err and l left empty. */
int labels_load(struct labels *l, const char *path, char *err, size_t errlen);
/* Reads a table from f (name is used in messages).  Returns 0, or -1 with
 * "name:line: reason" in err and l left empty. */
int labels_read(struct labels *l, FILE *f, const char *name, char *err, size_t errlen);
/* The class index of key, or -1. */
int labels_find(const struct labels *l, const char *key);
/* Releases everything l owns. */
void labels_free(struct labels *l);

#endif
