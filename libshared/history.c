/* history.c — training histories summarised (metrics(1)). */
#include "history.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hist_add(struct hist *h, const struct frame *f)
{
	const struct fval *m = f->root;
	double *row;

	if (h->nrows == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->val = xreallocarray(h->val, h->cap * HIST_MAXKEYS, sizeof *h->val);
	}
	row = h->val + h->nrows++ * HIST_MAXKEYS;
	for (size_t j = 0; j < HIST_MAXKEYS; j++)
		row[j] = NAN;
	for (size_t i = 0; i < fv_len(m); i++) {
		const struct fval *k = fv_key_at(m, i);
		double v;
		size_t j;
		char *name;
		if (fv_type(k) != FV_STR)
			continue;
		name = fv_strdup(k);
		if (fv_num(m, name, &v) != 1 || strcmp(name, "epochs") == 0) {
			free(name);
			continue;
		}
		for (j = 0; j < h->nkeys && strcmp(h->keys[j], name) != 0; j++)
			;
		if (j == h->nkeys && h->nkeys < HIST_MAXKEYS)
			h->keys[h->nkeys++] = xstrdup(name);
		else if (j == h->nkeys)
			h->dropped = 1;
		if (j < HIST_MAXKEYS)
			row[j] = v;
		free(name);
	}
}

static long
hist_key(const struct hist *h, const char *k)
{
	for (size_t j = 0; j < h->nkeys; j++)
		if (strcmp(h->keys[j], k) == 0)
			return (long)j;
	return -1;
}

static void
fb_row(struct fb *b, const char *k, const struct hist *h, size_t row)
{
	const double *v = h->val + row * HIST_MAXKEYS;

	fb_map(b, k);
	for (size_t j = 0; j < h->nkeys; j++)
		if (!isnan(v[j]))
			fb_num(b, h->keys[j], v[j]);
	fb_close(b);
}

int
hist_summarise(const struct hist *h, const char *by, struct fbytes *out,
               char *err, size_t errlen)
{
	static const char *const defaults[] = { "val_acc", "acc", "val_loss", "loss", NULL };
	long key = -1, ep = hist_key(h, "epoch");
	size_t best = 0, last = h->nrows - 1;
	int minimise, found = 0;
	struct fb *b;

	for (int i = 0; !by && key < 0 && defaults[i]; i++)
		key = hist_key(h, defaults[i]);
	if (by && (key = hist_key(h, by)) < 0)
		return snprintf(err, errlen, "--by %s: no such number in the metrics frames", by), -1;
	if (key < 0)
		return snprintf(err, errlen, "metrics frames have none of val_acc, acc, val_loss, "
		    "loss: give --by KEY"), -1;
	minimise = strstr(h->keys[key], "loss") || strstr(h->keys[key], "err");
	for (size_t r = 0; r < h->nrows; r++) {
		double v = h->val[r * HIST_MAXKEYS + (size_t)key];
		double bv = h->val[best * HIST_MAXKEYS + (size_t)key];
		if (!isnan(v) && (!found || (minimise ? v < bv : v > bv)))
			best = r, found = 1;
	}
	if (!found)
		return snprintf(err, errlen, "--by %s: no epoch has a value", h->keys[key]), -1;
	b = fb_begin();
	fb_str(b, "kind", "training_summary");
	fb_int(b, "epochs", (int64_t)h->nrows);
	fb_str(b, "by", h->keys[key]);
	fb_str(b, "goal", minimise ? "min" : "max");
	fb_num(b, "best_epoch", ep >= 0 ? h->val[best * HIST_MAXKEYS + (size_t)ep] : (double)best + 1);
	fb_num(b, "best_value", h->val[best * HIST_MAXKEYS + (size_t)key]);
	fb_num(b, "final_epoch", ep >= 0 ? h->val[last * HIST_MAXKEYS + (size_t)ep] : (double)last + 1);
	fb_row(b, "best", h, best);
	fb_row(b, "final", h, last);
	fb_end(b, out);
	return 0;
}

void
hist_free(struct hist *h)
{
	for (size_t j = 0; j < h->nkeys; j++)
		free(h->keys[j]);
	free(h->val);
	memset(h, 0, sizeof *h);
}
