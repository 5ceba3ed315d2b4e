/* testutil.c — helpers shared by the unit tests; see testutil.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

char tu_tmpdir[] = "/tmp/radpipe-unit-XXXXXX";

int
tu_tmpdir_setup(void **state)
{
	return mkdtemp(tu_tmpdir) == NULL ? -1 : 0;
}

int
tu_tmpdir_teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tu_tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

void
tu_write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

int
tu_weights_file(const char *name, char *buf, size_t len)
{
	static const char v3[] = "inception_v3_imagenet_notop.h5";
	static const char keras[] = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5";
	const char *d = getenv("RADPIPE_WEIGHTS");

	if (d == NULL || *d == '\0')
		d = "weights";
	snprintf(buf, len, "%s/%s", d, name);
	if (access(buf, R_OK) == 0)
		return 0;
	if (strcmp(name, v3) == 0) {
		snprintf(buf, len, "%s/%s", d, keras);
		if (access(buf, R_OK) == 0)
			return 0;
		snprintf(buf, len, "%s/%s", d, name);
	}
	return -1;
}
