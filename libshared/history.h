/* history.h — training histories (the metrics frames nntrain writes),
 * summarised as metrics(1)'s training_summary frame: the best epoch by a
 * key and the final one.  A hist owns its rows and key names; hist_free
 * releases them.
 */
#ifndef RADPIPE_HISTORY_H
#define RADPIPE_HISTORY_H

#include <stddef.h>
#include "frame.h"

#define HIST_MAXKEYS 128

/* Training history: one row of numbers per metrics frame. */
struct hist {
	char *keys[HIST_MAXKEYS];
	size_t nkeys, nrows, cap;
	double *val;            /* nrows x HIST_MAXKEYS, NaN when absent */
	int dropped;            /* 1: a frame had more than HIST_MAXKEYS numeric keys */
};

/* Adds the numbers of metrics frame f (but "epochs") as a row of h. */
void hist_add(struct hist *h, const struct frame *f);
/* Appends to out a training_summary frame of h (at least one row): the best
 * epoch by key `by` (NULL: the first of val_acc, acc, val_loss, loss),
 * minimised when its name holds "loss" or "err", ties to the earliest.
 * Returns 0, or -1 with a message in err when there is no such key. */
int hist_summarise(const struct hist *h, const char *by, struct fbytes *out,
                   char *err, size_t errlen);
/* Frees the rows and names of h. */
void hist_free(struct hist *h);

#endif
