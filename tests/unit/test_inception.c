/* test_inception.c — nn_inception_v3 builds Keras' InceptionV3 layer for
 * layer: counts and shapes always; names, order and weight shapes against
 * the layer_names of the weights file when $RADPIPE_WEIGHTS is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "nn/nn.h"
#include "nn/modelfile/h5keras.h"
#include "testutil.h"

static void
count_params(const struct nn_model *m, size_t *all, size_t *trainable)
{
	const struct nn_param *p;
	int i;

	*all = *trainable = 0;
	for (i = 0; i < nn_param_count(m); i++) {
		p = nn_param_at(m, i);
		*all += p->size;
		if (p->trainable)
			*trainable += p->size;
	}
}

static void
test_base(void **state)
{
	struct nn_model *m = nn_inception_v3(299, 299, NULL);
	const struct nn_layer *l;
	size_t all, tr;

	assert_non_null(m);
	assert_int_equal(nn_layer_count(m), 311);
	count_params(m, &all, &tr);
	assert_int_equal(all, 21802784);
	assert_int_equal(tr, 21768352);
	assert_int_equal(all - tr, 34432);
	assert_int_equal(nn_param_count(m), 376);
	l = nn_layer_at(m, nn_layer_count(m) - 1);
	assert_string_equal(l->name, "mixed10");
	assert_int_equal(l->h, 8);
	assert_int_equal(l->w, 8);
	assert_int_equal(l->c, 2048);
	l = nn_layer_at(m, nn_layer_find(m, "mixed0"));
	assert_int_equal(l->h * 1000 + l->c, 35 * 1000 + 256);
	l = nn_layer_at(m, nn_layer_find(m, "mixed5"));
	assert_int_equal(l->h * 1000 + l->c, 17 * 1000 + 768);
	assert_true(nn_param_find(m, "conv2d_94/kernel:0") >= 0);
	assert_true(nn_param_find(m, "batch_normalization_94/gamma:0") < 0);
	nn_model_free(m);
}

static void
test_head(void **state)
{
	struct nn_head h = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };
	struct nn_model *m = nn_inception_v3(299, 299, &h);
	const struct nn_param *p;
	size_t all, tr;

	assert_non_null(m);
	assert_int_equal(nn_layer_count(m), 315);
	assert_string_equal(nn_layer_at(m, 311)->name, "global_average_pooling2d_1");
	assert_string_equal(nn_layer_at(m, 312)->name, "dense_1");
	assert_string_equal(nn_layer_at(m, 313)->name, "dropout_1");
	assert_string_equal(nn_layer_at(m, 314)->name, "dense_2");
	p = nn_param_at(m, nn_param_find(m, "dense_1/kernel:0"));
	assert_int_equal(p->shape[0] * 1000 + p->shape[1], 2048 * 1000 + 256);
	count_params(m, &all, &tr);
	assert_int_equal(all, 21802784 + 2048 * 256 + 256 + 256 + 1);
	assert_int_equal(nn_output_size(m), 1);
	assert_int_equal(nn_output_act(m), NN_ACT_SIGMOID);
	nn_model_free(m);

	h.dense_units = 0;
	h.classes = 3;
	m = nn_inception_v3(299, 299, &h);
	assert_non_null(m);
	assert_int_equal(nn_layer_count(m), 313);
	assert_string_equal(nn_layer_at(m, 312)->name, "dense_1");
	assert_int_equal(nn_output_size(m), 3);
	assert_int_equal(nn_output_act(m), NN_ACT_SOFTMAX);
	nn_model_free(m);

	h.classes = 0;
	assert_null(nn_inception_v3(299, 299, &h));
	assert_null(nn_inception_v3(74, 299, NULL));
}

/* Another input size: Keras accepts anything from 75 x 75. */
static void
test_sizes(void **state)
{
	struct nn_model *m = nn_inception_v3(75, 75, NULL);
	const struct nn_layer *l;

	assert_non_null(m);
	l = nn_layer_at(m, nn_layer_count(m) - 1);
	assert_int_equal(l->h * 100 + l->w, 101);
	nn_model_free(m);
	m = nn_inception_v3(512, 384, NULL);
	assert_non_null(m);
	l = nn_layer_at(m, nn_layer_count(m) - 1);
	assert_int_equal(l->h * 100 + l->w, 14 * 100 + 10);
	nn_model_free(m);
}

/* Same layer names in the same order as the file, same weights. */
static void
test_against_h5(void **state)
{
	char path[4096], err[512];
	struct h5k_file *f;
	struct nn_model *m;
	const struct h5k_weight *w;
	const struct nn_param *p;
	int i, j, k, pi, placed = 0;

	if (tu_weights_file("inception_v3_imagenet_notop.h5", path, sizeof path) < 0)
		skip();
	assert_non_null(f = h5k_open(path, err, sizeof err));
	assert_non_null(m = nn_inception_v3(299, 299, NULL));
	assert_int_equal(f->nlayers, nn_layer_count(m));
	for (i = 0; i < f->nlayers; i++) {
		assert_string_equal(nn_layer_at(m, i)->name, f->layers[i].name);
		for (j = 0; j < f->layers[i].nweights; j++) {
			w = &f->layers[i].w[j];
			pi = nn_param_find(m, w->name);
			if (pi < 0)
				fail_msg("%s: not in the model", w->name);
			p = nn_param_at(m, pi);
			assert_int_equal(p->layer, i);
			assert_int_equal(p->rank, w->rank);
			for (k = 0; k < w->rank; k++)
				assert_int_equal(p->shape[k], w->shape[k]);
			placed++;
		}
	}
	assert_int_equal(placed, nn_param_count(m));
	nn_model_free(m);
	h5k_close(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_against_h5),
	};

	char path[4096];

	if (tu_weights_file("inception_v3_imagenet_notop.h5", path, sizeof path) < 0)
		printf("SKIP: needs RADPIPE_WEIGHTS (or weights/): comparison with the weights file skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
