/* split.c — stratified, grouped train/val/test splits (see split.h). */
#include "split.h"
#include "err.h"
#include "idmap.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set sizes from spec for n images into size[]; 0 or -1 with err. */
static int
set_sizes(size_t n, const struct split_spec *sp, size_t *size, char *err, size_t errlen)
{
	size_t sum = 0;
	double fsum = 0;

	if (sp->nsets < 2 || sp->nsets > SPLIT_MAX_SETS)
		return snprintf(err, errlen, "%d sets: give 2 to %d", sp->nsets, SPLIT_MAX_SETS), -1;
	if (sp->count[0] > 0) {
		for (int s = 0; s < sp->nsets; s++)
			sum += size[s] = sp->count[s];
		if (sum != n)
			return snprintf(err, errlen, "the counts add up to %zu images, the set holds %zu", sum, n), -1;
		return 0;
	}
	for (int s = 0; s < sp->nsets; s++) {
		if (!(sp->frac[s] >= 0 && sp->frac[s] <= 1))
			return snprintf(err, errlen, "fraction %g is not in [0, 1]", sp->frac[s]), -1;
		fsum += sp->frac[s];
	}
	if (fabs(fsum - 1) > 1e-6)
		return snprintf(err, errlen, "the fractions add up to %g, not 1", fsum), -1;
	for (int s = 0; s < sp->nsets; s++)
		sum += size[s] = (size_t)floor(sp->frac[s] * (double)n);
	while (sum < n) {                       /* largest remainders first */
		int best = 0;
		double br = -1;
		for (int s = 0; s < sp->nsets; s++) {
			double r = sp->frac[s] * (double)n - (double)size[s];
			if (r > br)
				br = r, best = s;
		}
		size[best]++, sum++;
	}
	return 0;
}

/* Hands out class c's rem images left over by rounding down, to the sets
 * with the largest remainders, one each, where the set has room left. */
static void
round_up_class(const size_t *per_class, int nclass, int c, size_t n, const size_t *size,
               int nsets, size_t *target, size_t *room)
{
	size_t rem = per_class[c];
	int given[SPLIT_MAX_SETS] = { 0 };

	for (int s = 0; s < nsets; s++)
		rem -= target[s * nclass + c];
	for (; rem > 0; rem--) {
		int best = -1;
		for (int pass = 0; pass < 3 && best < 0; pass++)
			for (int s = 0; s < nsets; s++) {
				size_t r = per_class[c] * size[s] % n;
				if ((pass < 1 && given[s]) || (pass < 2 && room[s] == 0))
					continue;
				if (best < 0 || r > per_class[c] * size[best] % n)
					best = s;
			}
		given[best] = 1;
		target[best * nclass + c]++;
		if (room[best] > 0)
			room[best]--;
	}
}

int
split_targets(const size_t *per_class, int nclass, const struct split_spec *sp,
              size_t *target, char *err, size_t errlen)
{
	size_t n = 0, size[SPLIT_MAX_SETS], room[SPLIT_MAX_SETS];
	int present = 0;

	for (int c = 0; c < nclass; c++) {
		n += per_class[c];
		present += per_class[c] > 0;
	}
	if (present < 2)
		return snprintf(err, errlen, "%s: a stratified split needs two classes or more",
		                present ? "one class only" : "no images"), -1;
	if (set_sizes(n, sp, size, err, errlen) < 0)
		return -1;
	for (int s = 0; s < sp->nsets; s++) {
		if (size[s] == 0)
			return snprintf(err, errlen, "set %d would be empty (%zu images in all)", s + 1, n), -1;
		room[s] = size[s];
		for (int c = 0; c < nclass; c++) {
			target[s * nclass + c] = per_class[c] * size[s] / n;
			room[s] -= target[s * nclass + c];
		}
	}
	for (int c = 0; c < nclass; c++)
		round_up_class(per_class, nclass, c, n, size, sp->nsets, target, room);
	return 0;
}

struct group {
	const char *key;        /* NULL: a group of one, item `first` */
	size_t first, size, rank;
	size_t *per_class;
};

static const struct group *sort_groups;

/* By key (groups of one by their item's position, before the others). */
static int
key_cmp(const void *a, const void *b)
{
	const struct group *x = &sort_groups[*(const size_t *)a], *y = &sort_groups[*(const size_t *)b];

	if (x->key != NULL && y->key != NULL)
		return strcmp(x->key, y->key);
	if ((x->key == NULL) != (y->key == NULL))
		return x->key == NULL ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

/* Largest first; equal sizes in shuffled order (rank). */
static int
size_cmp(const void *a, const void *b)
{
	const struct group *x = &sort_groups[*(const size_t *)a], *y = &sort_groups[*(const size_t *)b];

	if (x->size != y->size)
		return (x->size < y->size) - (x->size > y->size);
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* The groups of the items (gid[i]: item i's group), and in *order the
 * order in which they are placed (split.h). */
static struct group *
make_groups(size_t n, const int *label, int nclass, const char *const *group,
            uint64_t seed, size_t *gid, size_t **order, size_t *ngroups)
{
	struct idmap m = { 0 };
	struct group *g = xcalloc(n, sizeof *g);
	size_t ng = 0, *ord;
	struct rng r;

	for (size_t i = 0; i < n; i++) {
		const char *k = group != NULL ? group[i] : NULL;
		long j = k != NULL ? idmap_get(&m, k) : -1;
		if (j < 0) {
			j = (long)ng++;
			g[j] = (struct group){ .key = k, .first = i,
			                       .per_class = xcalloc((size_t)nclass, sizeof(size_t)) };
			if (k != NULL)
				idmap_put(&m, k, (size_t)j);
		}
		gid[i] = (size_t)j;
		g[j].size++;
		g[j].per_class[label[i]]++;
	}
	idmap_free(&m);
	ord = xcalloc(ng, sizeof *ord);
	for (size_t i = 0; i < ng; i++)
		ord[i] = i;
	sort_groups = g;
	qsort(ord, ng, sizeof *ord, key_cmp);
	rng_init(&r, seed, 0x73706c6974, 0);    /* "split" */
	for (size_t i = ng; i > 1; i--) {
		size_t j = (size_t)rng_below(&r, i), t = ord[i - 1];
		ord[i - 1] = ord[j], ord[j] = t;
	}
	for (size_t i = 0; i < ng; i++)
		g[ord[i]].rank = i;
	qsort(ord, ng, sizeof *ord, size_cmp);
	*order = ord;
	*ngroups = ng;
	return g;
}

/* The set for group g: the least overshoot of the class targets, then the
 * most room left, then the lowest number. */
static int
best_set(const struct group *g, int nclass, int nsets, const size_t *target,
         const size_t *have, const size_t *size, const size_t *filled)
{
	int best = 0;
	size_t bover = SIZE_MAX, broom = 0;

	for (int s = 0; s < nsets; s++) {
		size_t over = 0, room = size[s] > filled[s] ? size[s] - filled[s] : 0;
		for (int c = 0; c < nclass; c++) {
			size_t t = target[s * nclass + c], h = have[s * nclass + c];
			size_t after = h + g->per_class[c];
			over += (after > t ? after - t : 0) - (h > t ? h - t : 0);
		}
		if (over < bover || (over == bover && room > broom))
			best = s, bover = over, broom = room;
	}
	return best;
}

int
split_assign(size_t n, const int *label, int nclass, const char *const *group,
             const struct split_spec *sp, int *set_of, char *err, size_t errlen)
{
	size_t *per_class = xcalloc((size_t)nclass, sizeof(size_t));
	size_t *target = xcalloc((size_t)nclass * SPLIT_MAX_SETS, sizeof(size_t));
	size_t *have = xcalloc((size_t)nclass * SPLIT_MAX_SETS, sizeof(size_t));
	size_t *gid = xcalloc(n, sizeof *gid), *ord = NULL, ng = 0;
	size_t size[SPLIT_MAX_SETS] = { 0 }, filled[SPLIT_MAX_SETS] = { 0 }, smallest = SIZE_MAX;
	int *gset = NULL, rc = -1;
	struct group *g = NULL;

	for (size_t i = 0; i < n; i++) {
		if (label[i] < 0 || label[i] >= nclass) {
			snprintf(err, errlen, "item %zu: class %d is not in [0, %d)", i + 1, label[i], nclass);
			goto out;
		}
		per_class[label[i]]++;
	}
	if (split_targets(per_class, nclass, sp, target, err, errlen) < 0)
		goto out;
	for (int s = 0; s < sp->nsets; s++) {
		for (int c = 0; c < nclass; c++)
			size[s] += target[s * nclass + c];
		if (size[s] < smallest)
			smallest = size[s];
	}
	g = make_groups(n, label, nclass, group, sp->seed, gid, &ord, &ng);
	if (ng > 0 && g[ord[0]].size > smallest) {
		snprintf(err, errlen, "group %s holds %zu images, more than the smallest set's %zu",
		         g[ord[0]].key, g[ord[0]].size, smallest);
		goto out;
	}
	gset = xcalloc(ng, sizeof *gset);
	for (size_t k = 0; k < ng; k++) {
		const struct group *x = &g[ord[k]];
		int s = best_set(x, nclass, sp->nsets, target, have, size, filled);
		gset[ord[k]] = s;
		filled[s] += x->size;
		for (int c = 0; c < nclass; c++)
			have[s * nclass + c] += x->per_class[c];
	}
	for (size_t i = 0; i < n; i++)
		set_of[i] = gset[gid[i]];
	rc = 0;
out:
	for (size_t k = 0; g != NULL && k < ng; k++)
		free(g[k].per_class);
	free(g);
	free(ord);
	free(gset);
	free(gid);
	free(have);
	free(target);
	free(per_class);
	return rc;
}
