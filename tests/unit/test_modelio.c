/* test_modelio.c — model files: round trip of parameters, optimizer state
 * and train state; every kind of mismatch named; damaged files refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "frame_mp.h"
#include "nn/modelfile/modelio.h"
#include "nn/nn.h"
#include "testutil.h"

static char path[256];         /* the model file, in tu_tmpdir */

/* A small model: conv/BN/relu, GAP, dense head; filters and an optional
 * extra conv vary it for the mismatch tests. */
static struct nn_model *
small(int filters, int extra)
{
	struct nn_model *m = nn_model_new("input_1", 8, 8, 3);
	int x;

	assert_non_null(m);
	x = nn_conv2d(m, "conv2d_1", 0, filters, 3, 3, 1, 1, NN_SAME, 0);
	x = nn_batchnorm(m, "batch_normalization_1", x, 1e-3f, 0.99f, 0, 1);
	x = nn_relu(m, "activation_1", x);
	if (extra)
		x = nn_conv2d(m, "conv2d_2", x, 4, 1, 1, 1, 1, NN_SAME, 1);
	x = nn_gap(m, "global_average_pooling2d_1", x);
	x = nn_dense(m, "dense_1", x, 5, 1, NN_ACT_RELU);
	x = nn_dense(m, "dense_2", x, 1, 1, NN_ACT_SIGMOID);
	assert_true(x >= 0);
	nn_model_init_params(m, 7);
	return m;
}

static void
fill_info(struct nn_model_info *info)
{
	static char *const names[] = { "chest", "abdomen" };

	memset(info, 0, sizeof *info);
	snprintf(info->arch, sizeof info->arch, "small_test");
	info->input[0] = info->input[1] = 8;
	info->input[2] = 3;
	info->head = (struct nn_head){ .dense_units = 5, .dropout = 0.25f, .classes = 1 };
	snprintf(info->preprocess, sizeof info->preprocess, "inception");
	nn_model_info_set_classes(info, names, 2);
	info->optim = (struct nn_optim){ .type = NN_ADAM, .lr = 1e-4f, .beta1 = 0.9f,
	                                 .beta2 = 0.999f, .eps = 1e-8f };
}

/* Train state {epoch: 3, rng: bin(16), pos: 1234} in zone z. */
static msgpack_object
make_state(msgpack_zone *z, msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_object o;
	size_t off = 0;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "epoch", 5);
	msgpack_pack_int(&pk, 3);
	msgpack_pack_str_with_body(&pk, "rng", 3);
	msgpack_pack_bin_with_body(&pk, "0123456789abcdef", 16);
	msgpack_pack_str_with_body(&pk, "pos", 3);
	msgpack_pack_int(&pk, 1234);
	assert_int_equal(msgpack_unpack(sb->data, sb->size, &off, z, &o), MSGPACK_UNPACK_SUCCESS);
	return o;
}

static void
test_roundtrip(void **state)
{
	struct nn_model *a = small(6, 0), *b = small(6, 0);
	struct nn_model_info info, got;
	msgpack_sbuffer sb;
	msgpack_zone *z = msgpack_zone_new(4096);
	msgpack_object ts = make_state(z, &sb);
	size_t n = nn_arena_size(a), i;
	float *m1;
	char err[1024];

	fill_info(&info);
	m1 = nn_moments_host(a, 0);
	assert_non_null(m1);
	for (i = 0; i < n; i++) {
		m1[i] = (float)i * 0.5f;
		nn_moments_host(a, 1)[i] = (float)i * 0.25f;
	}
	nn_set_step_count(a, 42);
	nn_set_trainable(a, nn_layer_find(a, "conv2d_1"), 0);
	nn_model_init_params(b, 99);
	assert_int_equal(nn_model_save(path, a, &info, 1, mp_fv(&ts), err, sizeof err), 0);
	if (nn_model_load_into(path, b, &got, err, sizeof err) < 0)
		fail_msg("%s", err);
	assert_memory_equal(nn_params_host(a), nn_params_host(b), n * sizeof(float));
	for (i = 0; i < (size_t)nn_param_count(a); i++) {
		const struct nn_param *p = nn_param_at(a, (int)i);

		if (!p->trainable)
			continue;
		assert_memory_equal(nn_moments_host(a, 0) + p->offset,
		                    nn_moments_host(b, 0) + p->offset, p->size * sizeof(float));
		assert_memory_equal(nn_moments_host(a, 1) + p->offset,
		                    nn_moments_host(b, 1) + p->offset, p->size * sizeof(float));
	}
	assert_int_equal(nn_step_count(b), 42);
	assert_false(nn_layer_at(b, nn_layer_find(b, "conv2d_1"))->trainable);
	assert_string_equal(got.arch, "small_test");
	assert_string_equal(got.preprocess, "inception");
	assert_int_equal(got.nclasses, 2);
	assert_string_equal(got.classes[1], "abdomen");
	assert_int_equal(got.head.dense_units, 5);
	assert_true(got.has_optim && got.optim.type == NN_ADAM && got.optim.eps == 1e-8f);
	assert_true(got.has_train_state);
	assert_int_equal(fv_mp(got.train_state)->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(fv_mp(got.train_state)->via.map.size, 3);
	assert_int_equal(fv_mp(got.train_state)->via.map.ptr[2].val.via.u64, 1234);
	assert_memory_equal(fv_mp(got.train_state)->via.map.ptr[1].val.via.bin.ptr, "0123456789abcdef", 16);
	nn_model_info_free(&got);
	nn_model_info_free(&info);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_free(z);
	nn_model_free(a);
	nn_model_free(b);
}

static void
expect(struct nn_model *m, const char *const *needles)
{
	struct nn_model_info got;
	char err[2048] = "";

	assert_int_equal(nn_model_load_into(path, m, &got, err, sizeof err), -1);
	for (; *needles != NULL; needles++)
		if (strstr(err, *needles) == NULL)
			fail_msg("error \"%s\" does not say \"%s\"", err, *needles);
	nn_model_free(m);
}

static void
test_mismatch(void **state)
{
	static const char *const shape[] = { "wrong shape (5)", "conv2d_1/kernel:0",
		"file [3,3,3,6], model [3,3,3,8]", "batch_normalization_1/beta:0", NULL };
	static const char *const missing[] = { "missing (2)", "conv2d_2/kernel:0",
		"conv2d_2/bias:0", NULL };
	static const char *const extra[] = { "extra (2)", "conv2d_2/kernel:0", NULL };
	struct nn_model *a = small(6, 0), *c = small(4, 1);
	struct nn_model_info info;
	char err[1024];

	fill_info(&info);
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	expect(small(8, 0), shape);
	expect(small(6, 1), missing);
	/* a file with conv2d_2 loaded into a model without it */
	assert_int_equal(nn_model_save(path, c, &info, 0, NULL, err, sizeof err), 0);
	expect(small(4, 0), extra);
	nn_model_info_free(&info);
	nn_model_free(a);
	nn_model_free(c);
}

static void
test_damaged(void **state)
{
	static const char *const trunc[] = { "model.mpk", NULL };
	static const char *const notmodel[] = { "not a radpipe model file", NULL };
	struct nn_model *a = small(6, 0);
	struct nn_model_info info;
	char err[1024];
	uint8_t *buf;
	size_t n;

	fill_info(&info);
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	assert_int_equal(file_read_all(path, &buf, &n), 0);
	tu_write_file(path, buf, n - 7);
	expect(small(6, 0), trunc);
	tu_write_file(path, buf, 60);
	expect(small(6, 0), trunc);
	tu_write_file(path, "\x81\xa4kind\xa6sample", 13);
	expect(small(6, 0), notmodel);
	tu_write_file(path, "", 0);
	expect(small(6, 0), trunc);
	free(buf);
	nn_model_info_free(&info);
	nn_model_free(a);
}

/* A param frame without a tensor 'x' is refused with a reason (fuzz_model
 * found a NULL dereference here; tests/fuzz/regress/fuzz_model/). */
static void
test_param_without_x(void **state)
{
	static const char *const nox[] = { "conv2d_1/kernel:0: no tensor 'x'", NULL };
	static const char *const notf32[] = { "conv2d_1/kernel:0: not f32", NULL };
	static const char param[] = "\x82\xa4kind\xa5param\xa4name\xb1" "conv2d_1/kernel:0";
	static const char u8x[] = "\x83\xa4kind\xa5param\xa4name\xb1" "conv2d_1/kernel:0"
	    "\xa1x\x83\xa5" "dtype\xa2u8\xa5shape\x91\x01\xa4" "data\xc4\x01\x07";
	struct nn_model *a = small(6, 0);
	struct nn_model_info info;
	char err[1024];
	uint8_t *buf, *bad;
	size_t n;

	fill_info(&info);
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	assert_int_equal(file_read_all(path, &buf, &n), 0);
	bad = malloc(n + sizeof u8x);
	memcpy(bad, buf, n);
	memcpy(bad + n, param, sizeof param - 1);
	tu_write_file(path, bad, n + sizeof param - 1);
	expect(small(6, 0), nox);
	memcpy(bad + n, u8x, sizeof u8x - 1);
	tu_write_file(path, bad, n + sizeof u8x - 1);
	expect(small(6, 0), notf32);
	free(bad);
	free(buf);
	nn_model_info_free(&info);
	nn_model_free(a);
}

/* nn_model_load builds the architecture the file names. */
static void
test_load_arch(void **state)
{
	struct nn_head h = { .dense_units = 16, .dropout = 0.5f, .classes = 3 };
	struct nn_model *a = nn_small_cnn(32, 32, 3, &h), *b;
	struct nn_model_info info, got;
	char err[1024];

	assert_non_null(a);
	nn_model_init_params(a, 3);
	fill_info(&info);
	snprintf(info.arch, sizeof info.arch, "small_cnn");
	info.input[0] = info.input[1] = 32;
	info.head = h;
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	b = nn_model_load(path, &got, err, sizeof err);
	if (b == NULL)
		fail_msg("%s", err);
	assert_int_equal(nn_arena_size(a), nn_arena_size(b));
	assert_memory_equal(nn_params_host(a), nn_params_host(b), nn_arena_size(a) * sizeof(float));
	assert_int_equal(nn_output_size(b), 3);
	assert_false(got.has_optim || got.has_train_state);
	nn_model_info_free(&got);
	nn_model_free(b);
	snprintf(info.arch, sizeof info.arch, "no_such_net");
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	assert_null(nn_model_load(path, &got, err, sizeof err));
	assert_non_null(strstr(err, "no_such_net"));
	nn_model_info_free(&info);
	nn_model_free(a);
}

/* The loader alone sets the file's preprocessing, per channel too: the
 * network input after nn_model_load (no nn_preprocess_set by the caller)
 * against Keras' imagenet_utils.preprocess_input formulas in double
 * (1e-6 relative; caffe 1e-6 of 255 absolute); a file whose preprocessing does not fit the model, or
 * is unknown, is refused with the name in err. */
static void
test_load_sets_preprocess(void **state)
{
	static const char *const names[] = { "rescale", "inception", "tf", "caffe", "torch" };
	const double mean[3] = { 0.485, 0.456, 0.406 }, sd[3] = { 0.229, 0.224, 0.225 };
	const double bgr_mean[3] = { 103.939, 116.779, 123.68 };
	struct nn_head h = { .dense_units = 4, .dropout = 0.5f, .classes = 1 };
	char err[1024];
	struct nn_backend *be = nn_backend_open("ref", NULL, err, sizeof err);
	struct nn_model *a = nn_small_cnn(8, 8, 3, &h), *b, *g;
	struct nn_model_info info, got;
	uint8_t px[8 * 8 * 3];
	float in[8 * 8 * 3];

	assert_non_null(be);
	assert_non_null(a);
	nn_model_init_params(a, 5);
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = (uint8_t)(i * 37 + 11);
	fill_info(&info);
	snprintf(info.arch, sizeof info.arch, "small_cnn");
	info.head = h;
	for (int k = 0; k < 5; k++) {
		snprintf(info.preprocess, sizeof info.preprocess, "%s", names[k]);
		assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
		if ((b = nn_model_load(path, &got, err, sizeof err)) == NULL)
			fail_msg("%s", err);
		assert_int_equal(nn_model_plan(b, be, 1), 0);
		nn_params_upload(b);
		assert_int_equal(nn_forward(b, NN_IN_U8, px, 1, 0), 0);
		assert_int_equal(nn_layer_output(b, 0, in), 0);
		for (size_t i = 0; i < sizeof px; i++) {
			int c = (int)(i % 3);
			double x = px[i], want = k == 0 ? x / 255 : k < 3 ? x / 127.5 - 1 :
			    k == 3 ? px[i - (size_t)c + (size_t)(2 - c)] - bgr_mean[c] :
			    (x / 255 - mean[c]) / sd[c];
			/* caffe: a float difference of numbers up to 255 */
			if (!(fabs(in[i] - want) <= 1e-6 * fmax(1, k == 3 ? 255 : fabs(want))))
				fail_msg("%s: input %zu: %g, want %g", names[k], i, in[i], want);
		}
		nn_model_info_free(&got);
		nn_model_free(b);
	}
	/* caffe on a gray model, and a name radpipe does not know */
	g = nn_small_cnn(8, 8, 1, &h);
	assert_non_null(g);
	nn_model_init_params(g, 5);
	info.input[2] = 1;
	snprintf(info.preprocess, sizeof info.preprocess, "caffe");
	assert_int_equal(nn_model_save(path, g, &info, 0, NULL, err, sizeof err), 0);
	assert_null(nn_model_load(path, &got, err, sizeof err));
	assert_non_null(strstr(err, "preprocessing 'caffe'"));
	snprintf(info.preprocess, sizeof info.preprocess, "imagenet");
	assert_int_equal(nn_model_save(path, g, &info, 0, NULL, err, sizeof err), 0);
	assert_int_equal(nn_model_load_into(path, g, &got, err, sizeof err), -1);
	assert_non_null(strstr(err, "preprocessing 'imagenet': unknown"));
	nn_model_info_free(&info);
	nn_model_free(g);
	nn_model_free(a);
	be->close(be);
}

/* A multi-label model round-trips task, target_names and the counts, and
 * loads as K sigmoid outputs. */
static void
test_multilabel(void **state)
{
	static char *names[] = { "disc", "bar", "never" };
	struct nn_head h = { .classes = 3, .multilabel = 1 };
	struct nn_model *a = nn_small_cnn(16, 16, 3, &h), *b;
	struct nn_model_info info, got;
	char err[1024];

	assert_non_null(a);
	nn_model_init_params(a, 3);
	fill_info(&info);
	snprintf(info.arch, sizeof info.arch, "small_cnn");
	info.input[0] = info.input[1] = 16;
	info.head = h;
	nn_ml_info_set(&info.ml, names, 3);
	info.ml.pos[0] = 5, info.ml.neg[0] = 7, info.ml.neg[1] = 2;
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	b = nn_model_load(path, &got, err, sizeof err);
	if (b == NULL)
		fail_msg("%s", err);
	assert_int_equal(got.ml.k, 3);
	assert_true(got.head.multilabel);
	assert_string_equal(got.ml.names[1], "bar");
	assert_true(got.ml.pos[0] == 5 && got.ml.neg[0] == 7 && got.ml.pos[1] == 0 && got.ml.neg[1] == 2);
	assert_true(got.ml.pos[2] == 0 && got.ml.neg[2] == 0);
	assert_int_equal(nn_output_size(b), 3);
	assert_int_equal(nn_output_act(b), NN_ACT_SIGMOID);
	nn_model_info_free(&got);
	nn_model_free(b);
	nn_model_info_free(&info);
	nn_model_free(a);
}

/* A flipped byte inside a weight fails the checksum; the error names the
 * file and the parameter. */
static void
test_checksum(void **state)
{
	static const char *const flipped[] = { "model.mpk", "checksum mismatch",
		"param conv2d_1/kernel:0", NULL };
	struct nn_model *a = small(6, 0);
	const struct nn_param *p = nn_param_at(a, nn_param_find(a, "conv2d_1/kernel:0"));
	const float *w = nn_params_host(a) + p->offset;
	struct nn_model_info info;
	char err[1024];
	uint8_t *buf, *at = NULL;
	size_t n, wb = p->size * sizeof(float);

	fill_info(&info);
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	assert_int_equal(file_read_all(path, &buf, &n), 0);
	for (size_t i = 0; i + wb <= n && at == NULL; i++)
		if (memcmp(buf + i, w, wb) == 0)
			at = buf + i;
	assert_non_null(at);
	at[wb / 2] ^= 0x10;
	tu_write_file(path, buf, n);
	expect(small(6, 0), flipped);
	free(buf);
	nn_model_info_free(&info);
	nn_model_free(a);
}

/* A NaN/Inf parameter or moment is named, and such a model is not saved. */
static void
test_nonfinite(void **state)
{
	struct nn_model *a = small(6, 0);
	const struct nn_param *p = nn_param_at(a, nn_param_find(a, "batch_normalization_1/moving_mean:0"));
	const struct nn_param *q = nn_param_at(a, nn_param_find(a, "dense_1/kernel:0"));
	struct nn_model_info info;
	char err[1024];
	float keep;

	fill_info(&info);
	assert_int_equal(nn_model_check_finite(a, 1, err, sizeof err), 0);
	keep = nn_params_host(a)[p->offset + 1];
	nn_params_host(a)[p->offset + 1] = NAN;
	unlink(path);
	assert_int_equal(nn_model_check_finite(a, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "batch_normalization_1/moving_mean:0"));
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "not written"));
	assert_int_equal(access(path, F_OK), -1);
	nn_params_host(a)[p->offset + 1] = keep;
	nn_moments_host(a, 1)[q->offset] = INFINITY;
	assert_int_equal(nn_model_save(path, a, &info, 0, NULL, err, sizeof err), 0);
	assert_int_equal(nn_model_save(path, a, &info, 1, NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "moment v of parameter dense_1/kernel:0"));
	nn_model_info_free(&info);
	nn_model_free(a);
}

/* Group setup: the temporary folder and the model file's path in it. */
static int
setup(void **state)
{
	if (tu_tmpdir_setup(state) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/model.mpk", tu_tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_param_without_x),
		cmocka_unit_test(test_load_arch),
		cmocka_unit_test(test_load_sets_preprocess),
		cmocka_unit_test(test_multilabel),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_nonfinite),
	};

	return cmocka_run_group_tests(tests, setup, tu_tmpdir_teardown);
}
