/* epochorder.h — the order of an epoch's items, 0..n-1 or shuffled, kept
 * in an unlinked temporary file (spill.h) with a window of it in memory,
 * so that its memory does not grow with n.  The shuffle is the one of
 * dataset_shuffle (the same (seed, epoch) gives the same order, bit for
 * bit), done with the top of the array in the window and the other swaps
 * read and written in the file.  Zeroed is not ready: epoch_order_init;
 * epoch_order_free releases it.
 */
#ifndef RADPIPE_EPOCHORDER_H
#define RADPIPE_EPOCHORDER_H

#include <stddef.h>
#include <stdint.h>
#include "spill.h"

#define EPOCH_ORDER_WINDOW 8192 /* positions held in memory (64 KiB) */

struct epoch_order {
	size_t n;
	int shuffled;
	struct spill f;         /* shuffled: position p's item at 8 p */
	uint64_t *win;          /* positions [wlo, wlo + wn) */
	size_t wlo, wn, wcap;
};

/* Makes o empty, with a window of window positions (0: the default). */
void epoch_order_init(struct epoch_order *o, size_t window);
/* Makes the order of n items: 0..n-1, or, when shuffle is set, that
 * shuffled as dataset_shuffle(order, n, seed, epoch) would.  0; -1 with
 * the reason in err (the temporary file). */
int epoch_order_make(struct epoch_order *o, size_t n, int shuffle, uint64_t seed, uint64_t epoch,
                     char *err, size_t errlen);
/* The item at position p (< n) in *iP; fastest for p ascending.  0; -1
 * with the reason in err. */
int epoch_order_at(struct epoch_order *o, size_t p, size_t *iP, char *err, size_t errlen);
/* Frees o's window and file. */
void epoch_order_free(struct epoch_order *o);

#endif
