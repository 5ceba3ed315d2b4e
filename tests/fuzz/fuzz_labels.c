/* fuzz_labels.c — libFuzzer target for the CSV label tables
 * (libshared/labels.c): labels_read on a memory file holding the input.
 * A table that loads has at least one class, none of them empty; one that
 * does not says why, naming the input, and is left empty.
 *
 *   make fuzz                        all targets (mk/fuzz.mk)
 *   build/fuzz/fuzz_labels CORPUS    by hand; seeds in tests/fuzz/corpus/fuzz_labels
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "labels.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct labels l;
	char err[1024];
	FILE *f;

	if (len == 0)
		return 0;               /* fmemopen refuses an empty buffer */
	if ((f = fmemopen((void *)data, len, "r")) == NULL)
		return 0;
	if (labels_read(&l, f, "fuzz.csv", err, sizeof err) == 0) {
		CHECK(l.nclasses >= 1);
		for (int i = 0; i < l.nclasses; i++)
			CHECK(l.classes[i][0] != '\0');
		CHECK(labels_find(&l, "") == -1);
		labels_free(&l);
	} else {
		CHECK(strncmp(err, "fuzz.csv", 8) == 0);
		CHECK(l.nclasses == 0 && l.classes == NULL);
	}
	fclose(f);
	return 0;
}
