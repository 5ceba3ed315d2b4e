/* test_ml_train.c — the masked multi-label loss (train/multilabel.c's
 * mlt_loss_inputs through every backend's bce_logits, and through the
 * engine): unknown targets (-1) add nothing to the loss or its gradient
 * and the loss is the mean over the known entries.  Checked against a
 * plain double computation (loss within 1e-6 relative, dL/dz within 1e-6)
 * and against central finite differences of that computation (h = 1e-4,
 * within 1e-6); the batch has a row with every target unknown and a target
 * unknown in every row; a batch with no known target has loss 0 and a zero
 * gradient.  Also mlt_mean_auc against hand-counted AUCs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nn/backend.h"
#include "nn/nn.h"
#include "nn/train/multilabel.h"

enum { N = 5, K = 3, NK = N * K };

/* Row 1: all unknown; target 2: unknown in every row. */
static const float T[NK] = {
	1, 0, -1,
	-1, -1, -1,
	0, 1, -1,
	1, 1, -1,
	0, -1, -1,
};
static const float Z[NK] = {
	0.3f, -1.2f, 2.0f,
	4.0f, -3.0f, 0.5f,
	-0.7f, 0.9f, -2.5f,
	2.2f, -0.1f, 1.5f,
	-1.8f, 0.4f, 0.0f,
};

/* The masked mean BCE of logits z against targets t, in double. */
static double
ref_loss(const double *z, const float *t, int nk)
{
	double s = 0;
	int known = 0;

	for (int i = 0; i < nk; i++) {
		if (t[i] < 0)
			continue;
		s += fmax(z[i], 0) - z[i] * t[i] + log1p(exp(-fabs(z[i])));
		known++;
	}
	return known ? s / known : 0;
}

/* Runs be's bce_logits on the masked inputs of t; loss and dz on the host. */
static void
run_op(struct nn_backend *be, const float *z, const float *t, int nk, float *lossP, float *dz)
{
	float y[NK], w[NK], prob[NK];
	size_t b = (size_t)nk * sizeof(float);
	float *dev = be->alloc(be, 5 * b + 64);
	float *dz_d = dev, *z_d = dev + nk, *y_d = dev + 2 * nk, *w_d = dev + 3 * nk, *p_d = dev + 4 * nk;
	float *l_d = dev + 5 * nk;

	mlt_loss_inputs(t, (size_t)nk, y, w);
	be->upload(be, z_d, z, b);
	be->upload(be, y_d, y, b);
	be->upload(be, w_d, w, b);
	be->bce_logits(be, nk, z_d, y_d, w_d, 0, l_d, dz_d, p_d);
	be->download(be, lossP, l_d, sizeof *lossP);
	be->download(be, dz, dz_d, b);
	be->download(be, prob, p_d, b);
	be->free(be, dev);
}

static void
check_backend(struct nn_backend *be, const char *name)
{
	double zd[NK], want = 0;
	float loss, dz[NK], none[NK];
	int known = 0;

	for (int i = 0; i < NK; i++) {
		zd[i] = Z[i];
		known += T[i] >= 0;
	}
	run_op(be, Z, T, NK, &loss, dz);
	want = ref_loss(zd, T, NK);
	if (fabs(loss - want) > 1e-6 * fabs(want))
		fail_msg("%s: loss %.9g, want %.9g", name, loss, want);
	for (int i = 0; i < NK; i++) {
		double p = 1 / (1 + exp(-zd[i])), g = T[i] < 0 ? 0 : (p - T[i]) / known;
		double zp[NK], zm[NK], fd;
		memcpy(zp, zd, sizeof zd);
		memcpy(zm, zd, sizeof zd);
		zp[i] += 1e-4;
		zm[i] -= 1e-4;
		fd = (ref_loss(zp, T, NK) - ref_loss(zm, T, NK)) / 2e-4;
		if (fabs(dz[i] - g) > 1e-6 || fabs(dz[i] - fd) > 1e-6)
			fail_msg("%s: dz[%d] = %.9g, want %.9g (finite differences %.9g)", name, i, dz[i], g, fd);
		if (T[i] < 0 && dz[i] != 0)
			fail_msg("%s: dz[%d] of an unknown target is %g, not 0", name, i, dz[i]);
	}
	/* nothing known: loss 0, gradient 0 */
	for (int i = 0; i < NK; i++)
		none[i] = -1;
	run_op(be, Z, none, NK, &loss, dz);
	assert_true(loss == 0);
	for (int i = 0; i < NK; i++)
		assert_true(dz[i] == 0);
}

static void
test_op_ref(void **state)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);

	assert_non_null(be);
	check_backend(be, "ref");
	be->close(be);
}

static void
test_op_cpu(void **state)
{
	char err[256];
	struct nn_backend *be = nn_cpu_open(NULL, err, sizeof err);

	assert_non_null(be);
	check_backend(be, "cpu");
	be->close(be);
}

static void
test_op_cuda(void **state)
{
	char err[256];
	struct nn_backend *be = nn_cuda_open(NULL, err, sizeof err);

	if (be == NULL) {
		fprintf(stderr, "test_ml_train: cuda backend unavailable, skipped: %s\n", err);
		skip();
	}
	check_backend(be, "cuda");
	be->close(be);
}

/* Through the engine: small_cnn with a 3-sigmoid head; the loss of
 * nn_backward is the masked mean of its probabilities, and the gradient
 * of the output bias is sum_i w (p - y) / nk, exactly 0 for the target
 * that is never known. */
static void
test_engine(void **state)
{
	static const struct nn_head head = { .dense_units = 0, .dropout = 0, .classes = K, .multilabel = 1 };
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);
	struct nn_model *m = nn_small_cnn(8, 8, 3, &head);
	uint8_t x[N * 8 * 8 * 3];
	float y[NK], w[NK], p[NK], loss, *g;
	double want = 0, db[K] = { 0 };
	int known = (int)mlt_loss_inputs(T, NK, y, w), bi;

	assert_non_null(m);
	assert_int_equal(nn_output_size(m), K);
	assert_int_equal(nn_output_act(m), NN_ACT_SIGMOID);
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)(i * 37 % 251);
	nn_model_init_params(m, 1);
	nn_set_preprocess(m, 1 / 255.0f, 0);
	assert_int_equal(nn_model_plan(m, be, N), 0);
	nn_params_upload(m);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, N, 1), 0);
	assert_int_equal(nn_backward(m, y, w, &loss, p), 0);
	for (int i = 0; i < NK; i++) {
		if (T[i] < 0)
			continue;
		want -= (T[i] > 0 ? log(p[i]) : log(1 - p[i])) / known;
		db[i % K] += (p[i] - T[i]) / known;
	}
	if (fabs(loss - want) > 1e-5 * want)
		fail_msg("engine: loss %.9g, want %.9g", loss, want);
	bi = nn_param_find(m, "dense_1/bias:0");
	assert_true(bi >= 0);
	g = nn_backend_arena(m, 1) + nn_param_at(m, bi)->offset;
	for (int j = 0; j < K; j++)
		if (fabs(g[j] - db[j]) > 1e-6)
			fail_msg("engine: d bias[%d] = %.9g, want %.9g", j, g[j], db[j]);
	assert_true(g[2] == 0);
	nn_model_free(m);
	be->close(be);
}

static void
test_auc(void **state)
{
	/* target 0: positives 0.9, 0.4; negatives 0.5, 0.1: 3 of 4 pairs
	 * ordered -> 0.75; target 1: one class only (skipped); target 2:
	 * perfectly ordered with an unknown row -> 1 */
	static const float p[4 * 3] = { 0.9f, 0.2f, 0.8f,  0.5f, 0.3f, 0.1f,  0.4f, 0.6f, 0.7f,
	                                0.1f, 0.1f, 0.9f };
	static const float y[4 * 3] = { 1, 1, 1,  0, 1, 0,  1, 1, 1,  0, 1, -1 };
	int used;

	assert_true(fabs(mlt_mean_auc(p, y, 4, 3, &used) - (0.75 + 1) / 2) < 1e-12);
	assert_int_equal(used, 2);
	static const float one[4 * 3] = { 1, 1, 1,  1, 1, 1,  1, 1, 1,  1, 1, -1 };
	assert_true(isnan(mlt_mean_auc(p, one, 4, 3, &used)));     /* no target has both classes */
	assert_int_equal(used, 0);
	assert_true(fabs(mlt_accuracy(p, y, 12) - 7.0 / 11) < 1e-12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_op_ref),
		cmocka_unit_test(test_op_cpu),
		cmocka_unit_test(test_op_cuda),
		cmocka_unit_test(test_engine),
		cmocka_unit_test(test_auc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
