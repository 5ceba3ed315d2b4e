/* test_h5keras.c — the Keras HDF5 reader on the two weights fixtures
 * ($RADPIPE_WEIGHTS; skipped when unset) and on bad files. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <hdf5.h>

#include "err.h"
#include "fileio.h"
#include "nn/modelfile/h5keras.h"
#include "nn/nn.h"
#include "testutil.h"

static int
weights_path(char *buf, size_t len, const char *file)
{
	return tu_weights_file(file, buf, len);
}

/* Opens fixture file of $RADPIPE_WEIGHTS (the test is skipped when it is
 * not there). */
static struct h5k_file *
open_fixture(const char *file)
{
	char path[4096], err[512];
	struct h5k_file *f;

	if (weights_path(path, sizeof path, file) < 0)
		skip();
	if ((f = h5k_open(path, err, sizeof err)) == NULL)
		fail_msg("%s: %s", path, err);
	return f;
}

/* Reads weight w of layer l; returns its first value, after checking that
 * all are finite. */
static float
read_first(struct h5k_file *f, const struct h5k_layer *l, const struct h5k_weight *w)
{
	char err[512];
	float *v = calloc(w->count, sizeof *v), first;

	assert_int_equal(h5k_read(f, l, w, v, err, sizeof err), 0);
	for (size_t i = 0; i < w->count; i++)
		assert_true(isfinite(v[i]));
	first = v[0];
	free(v);
	return first;
}

static void
test_mobilenet(void **state)
{
	struct h5k_file *f = open_fixture("keras2_mobilenet_0.25_notop_fixture.h5");
	const struct h5k_layer *l;
	char shp[64];
	int i, nw = 0;

	assert_string_equal(f->keras_version, "2.0.4");
	assert_string_equal(f->backend, "tensorflow");
	assert_int_equal(f->nlayers, 83);
	assert_string_equal(f->layers[0].name, "input_1");
	assert_int_equal(f->layers[0].nweights, 0);
	i = h5k_layer_find(f, "conv1");
	assert_true(i >= 0);
	l = &f->layers[i];
	assert_int_equal(l->nweights, 1);
	assert_string_equal(l->w[0].name, "conv1/kernel:0");
	assert_string_equal(h5k_shape_str(&l->w[0], shp, sizeof shp), "[3,3,3,8]");
	i = h5k_layer_find(f, "conv1_bn");
	assert_true(i >= 0);
	assert_int_equal(f->layers[i].nweights, 4);    /* gamma beta mean var */
	assert_non_null(h5k_weight_find(&f->layers[i], "conv1_bn/gamma:0"));
	read_first(f, l, &l->w[0]);
	for (i = 0; i < f->nlayers; i++)
		nw += f->layers[i].nweights;
	assert_true(nw > 100);
	h5k_close(f);
}

static void
test_inception(void **state)
{
	struct h5k_file *f = open_fixture("inception_v3_imagenet_notop.h5");
	const struct h5k_layer *l;
	char shp[64];
	int i, nw = 0;

	assert_int_equal(f->nlayers, 311);
	assert_string_equal(f->layers[310].name, "mixed10");
	for (i = 0; i < f->nlayers; i++)
		nw += f->layers[i].nweights;
	assert_int_equal(nw, 376);
	assert_int_equal(f->nparams, 21802784);
	l = &f->layers[h5k_layer_find(f, "conv2d_1")];
	assert_string_equal(h5k_shape_str(&l->w[0], shp, sizeof shp), "[3,3,3,32]");
	assert_true(read_first(f, l, &l->w[0]) != 0);
	h5k_close(f);
}

/* h5k_import_model places all 376 weights of the InceptionV3 file, keeps
 * the head, and names what does not fit another model. */
static void
test_place(void **state)
{
	struct nn_head h = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };
	char path[4096], err[2048];
	struct nn_model *m;
	const struct nn_param *p;
	float head0;

	if (weights_path(path, sizeof path, "inception_v3_imagenet_notop.h5") < 0)
		skip();
	assert_non_null(m = nn_inception_v3(299, 299, &h));
	nn_model_init_params(m, 5);
	p = nn_param_at(m, nn_param_find(m, "dense_1/kernel:0"));
	head0 = nn_params_host(m)[p->offset];
	assert_int_equal(h5k_import_model(path, m, err, sizeof err), 376);
	assert_true(nn_params_host(m)[p->offset] == head0);
	p = nn_param_at(m, nn_param_find(m, "batch_normalization_1/moving_variance:0"));
	assert_true(nn_params_host(m)[p->offset] > 0.99f && nn_params_host(m)[p->offset] < 1.0f);
	nn_model_free(m);
	assert_non_null(m = nn_small_cnn(32, 32, 3, &h));
	nn_model_init_params(m, 5);
	assert_int_equal(h5k_import_model(path, m, err, sizeof err), -1);
	if (strstr(err, "wrong shape (") == NULL || strstr(err, "extra (") == NULL)
		fail_msg("unexpected error: %s", err);
	nn_model_free(m);
}

static void
expect_fail(const char *path, const char *needle)
{
	char err[512] = "";

	assert_null(h5k_open(path, err, sizeof err));
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err, needle);
}

static void
test_bad_files(void **state)
{
	char p[256];
	hid_t fid, g;

	snprintf(p, sizeof p, "%s/none.h5", tu_tmpdir);
	expect_fail(p, "No such file");
	snprintf(p, sizeof p, "%s/text.h5", tu_tmpdir);
	tu_write_file(p, "hello, not hdf5\n", 16);
	expect_fail(p, "not an HDF5 file");
	snprintf(p, sizeof p, "%s/empty.h5", tu_tmpdir);
	tu_write_file(p, "", 0);
	expect_fail(p, "not an HDF5 file");
	expect_fail(tu_tmpdir, "not a regular file");
	/* a valid HDF5 file that is not a Keras weights file */
	snprintf(p, sizeof p, "%s/plain.h5", tu_tmpdir);
	fid = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(fid >= 0);
	g = H5Gcreate2(fid, "conv2d_1", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	assert_true(g >= 0);
	H5Gclose(g);
	H5Fclose(fid);
	expect_fail(p, "not a Keras weights file");
}

/* Cuts and damages copies of the MobileNet fixture: always a clean error
 * or a clean success, never a crash or libhdf5 noise. */
static void
test_truncated(void **state)
{
	static const size_t cut[] = { 8, 100, 2048, 100000, 1000000, 2000000 };
	char path[4096], p[256], err[512];
	struct h5k_file *f;
	uint8_t *buf;
	size_t n, i;

	if (weights_path(path, sizeof path, "keras2_mobilenet_0.25_notop_fixture.h5") < 0)
		skip();
	assert_int_equal(file_read_all(path, &buf, &n), 0);
	snprintf(p, sizeof p, "%s/cut.h5", tu_tmpdir);
	for (i = 0; i < sizeof cut / sizeof cut[0]; i++) {
		tu_write_file(p, buf, cut[i]);
		f = h5k_open(p, err, sizeof err);
		assert_null(f);
		assert_true(strlen(err) > 0);
	}
	memset(buf + 800, 0xff, 4000);  /* damage the object headers */
	tu_write_file(p, buf, n);
	f = h5k_open(p, err, sizeof err);
	h5k_close(f);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mobilenet),
		cmocka_unit_test(test_inception),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_truncated),
	};

	char path[4096];

	if (tu_weights_file("keras2_mobilenet_0.25_notop_fixture.h5", path, sizeof path) < 0 ||
	    tu_weights_file("inception_v3_imagenet_notop.h5", path, sizeof path) < 0)
		printf("SKIP: needs RADPIPE_WEIGHTS (or weights/) with the .h5 fixtures: fixture tests skipped\n");
	return cmocka_run_group_tests(tests, tu_tmpdir_setup, tu_tmpdir_teardown);
}
