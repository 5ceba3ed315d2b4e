/* targets.h — multi-label target tables (imgload --targets): CSV files
 * giving each image several labels, each 1 (present), 0 (absent) or -1
 * (unknown: never annotated, uncertain, or mapped to unknown).
 *
 * Two layouts, told apart by the header (comma-separated, fields optionally
 * in double quotes, CRLF accepted, empty lines and lines starting with #
 * skipped; a row may have more fields than the header, or fewer as long as
 * it has every column that is read):
 *  - findings (ChestX-ray14's Data_Entry_2017.csv): a column "Finding
 *    Labels" holding "A|B|C", "No Finding" being the empty set; the key is
 *    the column "Image Index".  Targets: the sorted union of the findings.
 *  - columns (CheXpert's train.csv): a key column ("Path", "path", "Image
 *    Index" or "id"; else the first) and one column per label holding 1, 0,
 *    -1 (uncertain) or nothing (unknown); 1.0, 0.0, -1.0 too.  Targets:
 *    every other column, in order, unless names or a label map pick them.
 *
 * A label map (TAB-separated: SOURCE_COLUMN, SOURCE_VALUE, TARGET,
 * 1|0|unknown; # comments) harmonises several data sets into one target
 * list, in the order of first appearance in the map.  A target that no
 * column of this table maps into is unknown (-1) for every image.  In the
 * findings layout SOURCE_COLUMN is "Finding Labels" and SOURCE_VALUE a
 * finding; a target mapped from the findings is 1 when a present finding
 * maps to it with 1, else unknown when one maps to it with unknown, else 0.
 * In the columns layout SOURCE_VALUE is a cell's value (numbers compare by
 * value, "*" is any other value, the empty cell is ""); over several
 * columns mapped into one target, 1 wins over 0, 0 over unknown; a cell
 * value that the map does not list for its column is an error.
 *
 * Errors are one line, "file:line: reason" (or "file: reason").
 * Ownership: targets_free releases everything a table holds.
 */
#ifndef RADPIPE_TARGETS_H
#define RADPIPE_TARGETS_H

#include <stddef.h>
#include <stdio.h>
#include "idmap.h"

enum { TARGETS_FINDINGS, TARGETS_COLUMNS };

struct targets_opts {
	const char *names;      /* "A,B,C": the target list (NULL: from the table or map) */
	int uncertain;          /* columns layout without a map, a -1 cell: 0 unknown, 1 one, 2 zero */
};

struct targets {
	int k;                  /* targets */
	char **names;           /* k target names, in stream order */
	int layout;             /* TARGETS_FINDINGS or TARGETS_COLUMNS */
	struct idmap map;       /* key -> row */
	signed char *v;         /* rows x k: 1, 0 or -1 */
	size_t rows;
	int *unmapped;          /* k flags: 1 when no column of the table feeds the target */
};

/* Reads the table at path, with the label map at map_path (NULL: none).
 * Returns 0, or -1 with a one-line reason in err and t left empty. */
int targets_load(struct targets *t, const char *path, const char *map_path,
                 const struct targets_opts *o, char *err, size_t errlen);
/* Like targets_load from open files (name and mapname are used in
 * messages; map may be NULL). */
int targets_read(struct targets *t, FILE *f, const char *name, FILE *map, const char *mapname,
                 const struct targets_opts *o, char *err, size_t errlen);
/* The k targets of key, or NULL when the table has no row for it. */
const signed char *targets_find(const struct targets *t, const char *key);
/* Releases everything t holds. */
void targets_free(struct targets *t);

#endif
