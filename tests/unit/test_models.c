/* test_models.c — the ResNet50, DenseNet121 and MobileNetV2 builders
 * against Keras: parameter counts (Keras' own figures, on the description
 * and on the built model, with and without the head), and, from the
 * fixtures tests/ref/keras_<arch>.mpk written by TensorFlow's Keras 2.15
 * (make_keras_models_fixture.sh), the layer names in model.layers order,
 * and every weight of Keras' h5 file (name and shape) matched by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "frame.h"
#include "nn/models/kgraph.h"
#include "nn/modelfile/h5keras.h"
#include "nn/nn.h"
#include "testutil.h"

struct arch {
	const char *name;
	void (*describe)(struct kg_net *t);
	long long params;       /* Keras' count, include_top=False */
	int features;           /* channels of the base's output */
	int layers;             /* Keras' len(model.layers) */
};

static const struct arch archs[] = {
	{ "resnet50", kg_resnet50, 23587712, 2048, 175 },
	{ "densenet121", kg_densenet121, 7037504, 1024, 427 },
	{ "mobilenet_v2", kg_mobilenet_v2, 2257984, 1280, 154 },
};

static long long
model_params(const struct nn_model *m)
{
	long long n = 0;

	for (int i = 0; i < nn_param_count(m); i++)
		n += (long long)nn_param_at(m, i)->size;
	return n;
}

/* The model can be built: the layers of issue 20 are in this build. */
static struct nn_model *
build(const struct arch *a, int size, const struct nn_head *head)
{
	return nn_arch_build(a->name, size, size, 3, head);
}

static void
test_description_counts(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++)
		for (int size = 32; size <= 224; size += 96) {
			struct kg_net *t = kg_new(size, size, 3);

			assert_non_null(t);
			archs[k].describe(t);
			assert_false(t->bad);
			assert_int_equal(t->n, archs[k].layers);
			assert_int_equal(kg_param_count(t), archs[k].params);
			assert_int_equal(t->l[t->n - 1].c, archs[k].features);
			/* 32 -> 1: five halvings in every network */
			assert_int_equal(t->l[t->n - 1].h, (size + 31) / 32);
			kg_free(t);
		}
}

/* Built model: Keras' counts without and with the paper's head
 * (GAP -> Dense 256 relu -> Dropout -> Dense 1: f*256 + 256 + 256 + 1). */
static void
test_built_counts(void **state)
{
	const struct nn_head head = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };
	struct nn_model *m;

	(void)state;
	for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++) {
		if ((m = build(&archs[k], 64, NULL)) == NULL) {
			printf("SKIP %s: cannot build (this build lacks the layers of issue 20)\n",
			       archs[k].name);
			continue;
		}
		assert_int_equal(nn_layer_count(m), archs[k].layers);
		assert_int_equal(model_params(m), archs[k].params);
		nn_model_free(m);
		assert_non_null(m = build(&archs[k], 64, &head));
		assert_int_equal(model_params(m), archs[k].params + archs[k].features * 256LL + 513);
		assert_int_equal(nn_output_size(m), 1);
		nn_model_free(m);
	}
	/* too small, or not 3 channels */
	assert_null(nn_arch_build("resnet50", 31, 64, 3, &head));
	assert_null(nn_arch_build("densenet121", 64, 64, 1, &head));
	assert_null(nn_arch_build("mobilenet_v2", 64, 16, 3, &head));
}

/* Odd input sizes: the spatial sizes Keras 2.15 gives (model.get_layer(n)
 * .output.shape for MobileNetV2's correct_pad layers, the outputs of all
 * three), where TF's 'same' and correct_pad's asymmetric padding matter. */
static void
test_odd_sizes(void **state)
{
	static const struct {
		int size;
		const char *layer[5];
		int h[5];
	} mb[] = {
		{ 65, { "block_1_pad", "block_3_pad", "block_6_pad", "block_13_pad", "out_relu" }, { 35, 19, 11, 7, 3 } },
		{ 97, { "block_1_pad", "block_3_pad", "block_6_pad", "block_13_pad", "out_relu" }, { 51, 27, 15, 9, 4 } },
	};
	static const int rn[2] = { 3, 4 }, dn[2] = { 2, 3 };

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct kg_net *t[3];

		for (int a = 0; a < 3; a++) {
			t[a] = kg_new(mb[k].size, mb[k].size, 3);
			archs[a].describe(t[a]);
			assert_false(t[a]->bad);
		}
		assert_int_equal(t[0]->l[t[0]->n - 1].h, rn[k]);
		assert_int_equal(t[1]->l[t[1]->n - 1].h, dn[k]);
		for (int j = 0; j < 5; j++) {
			int i = 0;

			while (i < t[2]->n && strcmp(t[2]->l[i].name, mb[k].layer[j]) != 0)
				i++;
			assert_true(i < t[2]->n);
			assert_int_equal(t[2]->l[i].h, mb[k].h[j]);
			assert_int_equal(t[2]->l[i].w, mb[k].h[j]);
		}
		for (int a = 0; a < 3; a++)
			kg_free(t[a]);
	}
}

static void
test_arch_table(void **state)
{
	const char *const *n = nn_arch_names();
	int k = 0;

	(void)state;
	for (; n[k] != NULL; k++)
		assert_true(nn_arch_known(n[k]));
	assert_int_equal(k, 5);
	assert_false(nn_arch_known("resnet"));
	assert_string_equal(nn_arch_preprocess("resnet50"), "caffe");
	assert_string_equal(nn_arch_preprocess("densenet121"), "torch");
	assert_string_equal(nn_arch_preprocess("mobilenet_v2"), "tf");
	assert_string_equal(nn_arch_preprocess("inception_v3"), "inception");
	assert_null(nn_arch_preprocess("vgg16"));
}

/* The fixture's meta frame (NULL when the fixture is missing); the caller
 * closes r. */
static int
read_meta(const char *arch, struct frame_reader **rP, struct frame *f)
{
	char path[256];

	snprintf(path, sizeof path, "tests/ref/keras_%s.mpk", arch);
	if (access(path, R_OK) < 0 || (*rP = frame_reader_open(path)) == NULL)
		return -1;
	if (frame_next(*rP, f) != 1 || !frame_is(f, "ref_meta")) {
		frame_reader_close(*rP);
		fail_msg("%s: no ref_meta frame first", path);
	}
	return 0;
}

/* Layer names and order against Keras' model.layers, from the description
 * (always) and the built model (when it builds). */
static void
check_names(const struct arch *a, const struct fval *names, const struct fval *types)
{
	struct kg_net *t = kg_new(64, 64, 3);
	struct nn_model *m = build(a, 64, NULL);
	int *order, n = (int)fv_len(names);

	a->describe(t);
	assert_int_equal(n, t->n);
	assert_int_equal(fv_len(types), n);
	order = calloc((size_t)n, sizeof *order);
	kg_order(t, order);
	for (int i = 0; i < n; i++) {
		if (!fv_str_eq(fv_at(names, i), t->l[order[i]].name))
			fail_msg("%s: layer %d is %s, Keras has %.*s", a->name, i, t->l[order[i]].name,
			         (int)fv_len(fv_at(names, i)), fv_strp(fv_at(names, i), NULL));
		if (m != NULL)
			assert_true(fv_str_eq(fv_at(names, i), nn_layer_at(m, i)->name));
	}
	free(order);
	kg_free(t);
	nn_model_free(m);
}

/* Every weight Keras saves is a parameter of the model with the same
 * shape, and the model has no other parameter. */
static void
check_h5_names(const struct arch *a, const struct fval *h5)
{
	struct nn_model *m = build(a, 64, NULL);
	const struct nn_param *p;
	char name[96];
	size_t i, j;
	int pi;

	if (m == NULL)
		return;
	assert_int_equal(fv_len(h5), nn_param_count(m));
	for (i = 0; i < fv_len(h5); i++) {
		const struct fval *e = fv_at(h5, i), *shape = fv_at(e, 1);
		size_t len;
		const char *s = fv_strp(fv_at(e, 0), &len);

		snprintf(name, sizeof name, "%.*s", (int)len, s);
		if ((pi = nn_param_find(m, name)) < 0)
			fail_msg("%s: Keras weight %s is not in the model", a->name, name);
		p = nn_param_at(m, pi);
		assert_int_equal(p->rank, fv_len(shape));
		for (j = 0; j < fv_len(shape); j++)
			assert_int_equal(p->shape[j], (int)fv_number(fv_at(shape, j)));
	}
	nn_model_free(m);
}

static void
test_against_keras(void **state)
{
	struct frame_reader *r;
	struct frame f;
	int64_t params;

	(void)state;
	for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++) {
		if (read_meta(archs[k].name, &r, &f) < 0) {
			printf("SKIP %s: no tests/ref/keras_%s.mpk\n", archs[k].name, archs[k].name);
			continue;
		}
		assert_int_equal(frame_int(&f, "params", &params), 1);
		assert_int_equal(params, archs[k].params);
		check_names(&archs[k], frame_get(&f, "layers"), frame_get(&f, "types"));
		check_h5_names(&archs[k], frame_get(&f, "h5"));
		frame_reader_close(r);
	}
}

/* Keras' h5 file of each (written by Keras, datasets recompressed with
 * gzip and chunked) loads by name into the model, every weight placed. */
static void
test_load_keras_h5(void **state)
{
	char path[256], err[512];
	struct nn_model *m;
	struct h5k_file *f;

	(void)state;
	for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++) {
		snprintf(path, sizeof path, "tests/ref/keras_%s_weights.h5", archs[k].name);
		if (access(path, R_OK) < 0 || (m = build(&archs[k], 64, &(struct nn_head){ .dense_units = 8, .dropout = 0, .classes = 1 })) == NULL) {
			printf("SKIP %s: no %s or cannot build\n", archs[k].name, path);
			continue;
		}
		assert_non_null(f = h5k_open(path, err, sizeof err));
		assert_int_equal((long long)f->nparams, archs[k].params);
		h5k_close(f);
		if (h5k_import_model(path, m, err, sizeof err) < 0)
			fail_msg("%s: %s", path, err);
		nn_model_free(m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_description_counts),
		cmocka_unit_test(test_built_counts),
		cmocka_unit_test(test_odd_sizes),
		cmocka_unit_test(test_arch_table),
		cmocka_unit_test(test_against_keras),
		cmocka_unit_test(test_load_keras_h5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
