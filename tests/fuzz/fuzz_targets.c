/* fuzz_targets.c — libFuzzer target for the multi-label target tables and
 * label maps (libshared/targets.c): the input is a CSV table, then
 * optionally a NUL byte and a label map, then optionally another NUL and
 * a --target-names list.  A table that loads has at least one target, each
 * named, values 1, 0 or -1 only; one that does not says why, naming the
 * table or the map or the names, and is left empty.
 *
 *   make fuzz                        all targets (mk/fuzz.mk)
 *   build/fuzz/fuzz_targets CORPUS   by hand; seeds in tests/fuzz/corpus/fuzz_targets
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "targets.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t *z1 = memchr(data, 0, len), *z2;
	size_t tlen = z1 ? (size_t)(z1 - data) : len, mlen = 0;
	struct targets_opts o = { .uncertain = len ? data[len - 1] % 3 : 0 };
	struct targets t;
	char err[1024], *names = NULL;
	FILE *f, *m = NULL;

	if (tlen == 0)
		return 0;               /* fmemopen refuses an empty buffer */
	if (z1) {
		z2 = memchr(z1 + 1, 0, len - tlen - 1);
		mlen = z2 ? (size_t)(z2 - z1 - 1) : len - tlen - 1;
		if (z2) {
			names = strndup((const char *)z2 + 1, len - (size_t)(z2 + 1 - data));
			o.names = names;
		}
	}
	if ((f = fmemopen((void *)data, tlen, "r")) == NULL ||
	    (mlen && (m = fmemopen((void *)(z1 + 1), mlen, "r")) == NULL)) {
		if (f)
			fclose(f);
		free(names);
		return 0;
	}
	if (targets_read(&t, f, "fuzz.csv", m, "fuzz.tsv", &o, err, sizeof err) == 0) {
		CHECK(t.k >= 1);
		for (int i = 0; i < t.k; i++)
			CHECK(t.names[i][0] != '\0' || names != NULL);
		for (size_t i = 0; i < t.rows * (size_t)t.k; i++)
			CHECK(t.v[i] == 1 || t.v[i] == 0 || t.v[i] == -1);
		CHECK(targets_find(&t, "") == NULL);
		targets_free(&t);
	} else {
		CHECK(strncmp(err, "fuzz.csv", 8) == 0 || strncmp(err, "fuzz.tsv", 8) == 0 ||
		      strncmp(err, "target names", 12) == 0);
		CHECK(t.k == 0 && t.v == NULL && t.names == NULL);
	}
	fclose(f);
	if (m)
		fclose(m);
	free(names);
	return 0;
}
