/* epochorder.c — an epoch's order in a temporary file. */
#include "epochorder.h"
#include "err.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

void
epoch_order_init(struct epoch_order *o, size_t window)
{
	memset(o, 0, sizeof *o);
	spill_init(&o->f);
	o->wcap = window ? window : EPOCH_ORDER_WINDOW;
}

void
epoch_order_free(struct epoch_order *o)
{
	size_t w = o->wcap;

	free(o->win);
	spill_close(&o->f);
	epoch_order_init(o, w);
}

/* Loads positions [lo, lo + k) into the window. */
static int
win_load(struct epoch_order *o, size_t lo, size_t k, char *err, size_t errlen)
{
	o->wlo = lo;
	o->wn = k;
	return spill_read(&o->f, (uint64_t)lo * 8, o->win, k * 8, err, errlen);
}

static int
win_store(struct epoch_order *o, char *err, size_t errlen)
{
	return o->wn ? spill_write(&o->f, (uint64_t)o->wlo * 8, o->win, o->wn * 8, err, errlen) : 0;
}

/* Writes 0..n-1 to the file. */
static int
write_identity(struct epoch_order *o, char *err, size_t errlen)
{
	for (size_t lo = 0; lo < o->n; lo += o->wcap) {
		size_t k = o->n - lo < o->wcap ? o->n - lo : o->wcap;
		for (size_t i = 0; i < k; i++)
			o->win[i] = lo + i;
		o->wlo = lo;
		o->wn = k;
		if (win_store(o, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Swaps positions i - 1 (in the window) and j < i, as dataset_shuffle. */
static int
swap(struct epoch_order *o, size_t i, size_t j, char *err, size_t errlen)
{
	uint64_t *top = &o->win[i - 1 - o->wlo], t;

	if (j >= o->wlo) {
		t = *top;
		*top = o->win[j - o->wlo];
		o->win[j - o->wlo] = t;
		return 0;
	}
	if (spill_read(&o->f, (uint64_t)j * 8, &t, 8, err, errlen) < 0 ||
	    spill_write(&o->f, (uint64_t)j * 8, top, 8, err, errlen) < 0)
		return -1;
	*top = t;
	return 0;
}

int
epoch_order_make(struct epoch_order *o, size_t n, int shuffle, uint64_t seed, uint64_t epoch,
                 char *err, size_t errlen)
{
	struct rng r;

	o->n = n;
	o->shuffled = shuffle && n > 1;
	o->wn = 0;
	if (!o->shuffled)
		return 0;
	if (o->f.fd < 0 && spill_open(&o->f, err, errlen) < 0)
		return -1;
	if (o->win == NULL)
		o->win = XNEW(uint64_t, o->wcap);
	if (write_identity(o, err, errlen) < 0)
		return -1;
	o->wlo = n;
	o->wn = 0;
	rng_init(&r, seed, epoch, 0x5368756666ull);     /* "Shuff", as dataset_shuffle */
	for (size_t i = n; i > 1; i--) {
		if (i - 1 < o->wlo) {
			size_t lo = i > o->wcap ? i - o->wcap : 0;
			if (win_store(o, err, errlen) < 0 || win_load(o, lo, i - lo, err, errlen) < 0)
				return -1;
		}
		if (swap(o, i, (size_t)rng_below(&r, i), err, errlen) < 0)
			return -1;
	}
	return win_store(o, err, errlen);
}

int
epoch_order_at(struct epoch_order *o, size_t p, size_t *iP, char *err, size_t errlen)
{
	if (!o->shuffled) {
		*iP = p;
		return 0;
	}
	if (p < o->wlo || p >= o->wlo + o->wn) {
		size_t k = o->n - p < o->wcap ? o->n - p : o->wcap;
		if (win_load(o, p, k, err, errlen) < 0)
			return -1;
	}
	*iP = (size_t)o->win[p - o->wlo];
	return 0;
}
