/* testutil.c — helpers shared by the unit tests; see testutil.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
