/* split.h — dividing a labelled set into train/val/test, stratified by
 * class, with every group (a patient) in one set only (split(1)).
 *
 * The targets: set s gets N_s images (the counts given, or the fractions
 * of n rounded so that they add up to n), and of class c the share
 * count_c * N_s / n rounded down or up (largest remainders first), so
 * that each set's class ratio is within one image of the whole set's.
 * The assignment: the groups, ordered by their keys and then shuffled
 * with the seed (so the split depends on the seed and the data, not on
 * the order of the input), are placed largest first, each into the set
 * where it overshoots the class targets least, ties broken by the largest
 * deficit left and then by the set's number.  With one image per group
 * the targets are met exactly; with larger groups, as close as the
 * groups allow (the caller reports the result).
 */
#ifndef RADPIPE_SPLIT_H
#define RADPIPE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#define SPLIT_MAX_SETS 8

struct split_spec {
	int nsets;                      /* 2 or 3 (train, val[, test]); at most SPLIT_MAX_SETS */
	double frac[SPLIT_MAX_SETS];    /* fractions, summing to 1; used when count[0] is 0 */
	size_t count[SPLIT_MAX_SETS];   /* image counts, summing to n; or all 0 */
	uint64_t seed;
};

/* Assigns each of n items (class label[i] in [0, nclass), group key
 * group[i]; NULL keys make every item its own group) to a set: set_of[i]
 * in [0, spec->nsets).  Returns 0, or -1 with a one-line reason in err:
 * fewer than two classes, a set whose target is empty, a group larger than
 * the smallest set, counts or fractions that do not add up. */
int split_assign(size_t n, const int *label, int nclass, const char *const *group,
                 const struct split_spec *spec, int *set_of, char *err, size_t errlen);

/* The targets split_assign aims at: target[s * nclass + c] images of class
 * c in set s, for the class counts per_class[c] (total n).  Returns 0, or
 * -1 with a reason in err (as split_assign). */
int split_targets(const size_t *per_class, int nclass, const struct split_spec *spec,
                  size_t *target, char *err, size_t errlen);

#endif
