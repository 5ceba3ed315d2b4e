/* test_errors.c — the error rule of err.h: library functions that used to
 * die return -1 with the message the program printed before (the program
 * now prints it), and the process goes on.  Before the change each case
 * ended this test binary with exit status 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "fileio.h"
#include "gnuplot.h"
#include "labels.h"
#include "png.h"
#include "tensor.h"

/* A fresh folder for the test's files (removed by the test runner's
 * temporary directory, or left in $TMPDIR). */
static char dir[256];

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof dir, "%s/test_errors.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_fileio(void **state)
{
	char path[512], want[600], err[600] = "";
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/missing/x.bin", dir);
	assert_int_equal(file_write_atomic(path, "ab", 2, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: cannot create a temporary file: No such file or directory", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof path, "%s/file", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(want, sizeof want, "%s/file/sub", dir);
	assert_int_equal(file_mkdirs(want, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s/file/sub: Not a directory", dir);
	assert_string_equal(err, want);
	snprintf(path, sizeof path, "%s/a/b/c", dir);
	assert_int_equal(file_mkdirs(path, err, sizeof err), 0);
	assert_int_equal(access(path, F_OK), 0);
}

static void
test_png_write(void **state)
{
	struct tensor t;
	char path[512], want[600], err[600] = "";

	(void)state;
	tensor_alloc_hwc(&t, DT_F32, 2, 2, 1);
	snprintf(path, sizeof path, "%s/x.png", dir);
	assert_int_equal(png_write_file(path, &t, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: PNG needs a u8/u16 HWC image with 1-4 channels", path);
	assert_string_equal(err, want);
	tensor_free(&t);
	tensor_alloc_hwc(&t, DT_U8, 2, 2, 1);
	memset(t.data, 7, t.nbytes);
	assert_int_equal(png_write_file(path, &t, err, sizeof err), 0);
	tensor_free(&t);
}

static void
test_labels(void **state)
{
	struct labels l;
	char path[512], want[600], err[600] = "";

	(void)state;
	snprintf(path, sizeof path, "%s/none.csv", dir);
	assert_int_equal(labels_load(&l, path, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(err, want);
	labels_free(&l);
}

static void
test_dataset(void **state)
{
	struct dataset ds;
	char path[512], want[1600], err[1600] = "";
	char *paths[1] = { path };
	FILE *f;

	(void)state;
	snprintf(path, sizeof path, "%s/nothing-here", dir);
	assert_int_equal(dataset_collect(&ds, paths, 1, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	assert_string_equal(err, want);
	dataset_free(&ds);

	assert_int_equal(dataset_collect(&ds, paths, 1, ",", err, sizeof err), -2);
	assert_string_equal(err, "--classes: no class names given");
	dataset_free(&ds);

	snprintf(path, sizeof path, "%s/ds/b", dir);
	assert_int_equal(file_mkdirs(path, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/ds/b/x.png", dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	snprintf(path, sizeof path, "%s/ds", dir);
	assert_int_equal(dataset_collect(&ds, paths, 1, "a", err, sizeof err), -1);
	assert_string_equal(err, "class 'b' is not one of --classes");
	dataset_free(&ds);
	assert_int_equal(dataset_collect(&ds, paths, 1, NULL, err, sizeof err), 0);
	assert_int_equal((int)ds.n, 1);
	dataset_free(&ds);

	snprintf(path, sizeof path, "%s/empty", dir);
	assert_int_equal(file_mkdirs(path, err, sizeof err), 0);
	assert_int_equal(dataset_collect(&ds, paths, 1, NULL, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: no images found (expected %s/<class>/<image> or %s/<image>)",
	    path, path, path);
	assert_string_equal(err, want);
	dataset_free(&ds);
}

static void
test_gnuplot(void **state)
{
	struct gp_plot p;
	char path[512], want[700];

	(void)state;
	snprintf(path, sizeof path, "%s/missing/plot.png", dir);
	assert_int_equal(gp_begin(&p, path, GP_PNG, 64, 48, 0), 0);
	fputs("plot x\n", p.script);
	assert_int_equal(gp_render(&p), -1);
	snprintf(want, sizeof want, "%s: cannot create a temporary file: No such file or directory", path);
	assert_string_equal(p.err, want);
	gp_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fileio),
		cmocka_unit_test(test_png_write),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_dataset),
		cmocka_unit_test(test_gnuplot),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
