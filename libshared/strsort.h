/* strsort.h — sorting many strings (the names in a folder) in bounded
 * memory, strcmp order.  Up to STRSORT_BUDGET bytes (the strings and a
 * pointer each) are sorted in memory; beyond that, sorted runs go to an
 * unlinked temporary file (spill.h) and are merged as they are read back,
 * with a 2 KiB buffer per run.  A struct strsort owns its strings;
 * strsort_free releases them.  A zeroed struct is not ready: strsort_init.
 */
#ifndef RADPIPE_STRSORT_H
#define RADPIPE_STRSORT_H

#include <stddef.h>
#include <stdint.h>
#include "spill.h"

#define STRSORT_BUDGET (128 * 1024)
#define STRSORT_MAX 1023        /* the longest string taken */

struct strsort_run;

struct strsort {
	char *arena;            /* the strings of the run in memory, NUL-terminated */
	size_t used, cap, n;
	size_t count;           /* strings added in all */
	char **v;               /* that run sorted (reading from memory) */
	size_t next;
	struct spill f;         /* the runs that went to disk */
	struct strsort_run *runs;
	size_t nruns;
	long last;              /* the run whose string was returned last; -1 none */
};

/* Makes s an empty sorter. */
void strsort_init(struct strsort *s);
/* Adds str.  0; -1 with the reason in err (longer than STRSORT_MAX, or the
 * temporary file failed). */
int strsort_add(struct strsort *s, const char *str, char *err, size_t errlen);
/* Ends the adding; the strings can then be read in order.  0; -1 (err). */
int strsort_finish(struct strsort *s, char *err, size_t errlen);
/* The next string in order in *strP (valid until the next call): 1; 0 at
 * the end; -1 with the reason in err. */
int strsort_next(struct strsort *s, const char **strP, char *err, size_t errlen);
/* The number of strings added. */
size_t strsort_count(const struct strsort *s);
/* Frees everything s holds, leaving an empty sorter. */
void strsort_free(struct strsort *s);

#endif
