/* test_nn_fold.c — BN folding in inference plans (engine/forward.c,
 * plan.c mark_fold): a conv whose only reader is a BN runs with the BN
 * folded into its weights and bias, and the in-place ReLU after it fused
 * where the backend offers conv_fwd_relu (cpu).  The unfused plan
 * (RADPIPE_FOLD=0) is the oracle: the same model, the same inputs, the
 * probabilities within 1e-5 of the largest (fp32 rounding: s*(w.x) against
 * (s*w).x over sums of up to 2048 products), on ref and cpu; BN statistics
 * and affine parameters random so that the fold does something.  Also:
 * what is folded (every conv of InceptionV3), refolding after
 * nn_params_upload, and nn_layer_output refusing a folded conv's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "rng.h"
#include "nn/nn.h"
#include "nn/engine/nn_impl.h"

#define BATCH 3
#define K 4             /* softmax classes: probabilities that do not saturate */

static const struct nn_head HEAD = { .dense_units = 16, .dropout = 0.5f, .classes = K };

/* Random BN statistics and affine parameters on the host. */
static void
random_bn(struct nn_model *m, uint64_t seed)
{
	float *h = nn_params_host(m);
	struct rng g;

	rng_init(&g, seed, 0, 0);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		double lo = 0, hi = 0;
		if (strstr(p->name, "moving_mean"))
			lo = -0.5, hi = 0.5;
		else if (strstr(p->name, "moving_variance"))
			lo = 0.3, hi = 2.0;
		else if (strstr(p->name, "gamma"))
			lo = 0.5, hi = 1.5;
		else if (strstr(p->name, "beta"))
			lo = -0.3, hi = 0.3;
		else
			continue;
		for (size_t e = 0; e < p->size; e++)
			h[p->offset + e] = (float)rng_range(&g, lo, hi);
	}
}

/* Probabilities of x through an inference plan of m, folded or not. */
static void
infer(struct nn_model *m, struct nn_backend *be, int fold, const uint8_t *x, float *probs)
{
	setenv("RADPIPE_FOLD", fold ? "1" : "0", 1);
	assert_int_equal(nn_model_plan_flags(m, be, BATCH, NN_PLAN_INFERENCE), 0);
	unsetenv("RADPIPE_FOLD");
	assert_int_equal(nn_forward(m, NN_IN_U8, x, BATCH, 0), 0);
	assert_int_equal(nn_predict(m, probs), 0);
}

/* max |a - b| / max |a| over n values. */
static double
relerr(const float *a, const float *b, int n)
{
	double d = 0, mx = 0;

	for (int i = 0; i < n; i++) {
		d = fmax(d, fabs((double)a[i] - b[i]));
		mx = fmax(mx, fabs((double)a[i]));
	}
	return d / mx;
}

/* Convs folded, ReLUs fused, BNs left unfolded. */
static void
count_folds(const struct nn_model *m, int *conv, int *fold, int *relu)
{
	*conv = *fold = *relu = 0;
	for (int i = 0; i < m->nlay; i++) {
		*conv += m->lay[i].pub.type == NN_CONV2D;
		*fold += m->lay[i].fold != 0;
		*relu += m->lay[i].fold_relu;
	}
}

/* Folds of m that fused a ReLU with a ceiling (ReLU6 must run on its own). */
static int
capped_fusions(const struct nn_model *m)
{
	int n = 0;

	for (int i = 0; i < m->nlay; i++)
		if (m->lay[i].fold_relu && m->lay[m->lay[m->lay[i].fold].owner].cap != 0)
			n++;
	return n;
}

/* every: every conv of the model feeds one BN and one plain ReLU after it
 * (small_cnn, InceptionV3), so all are folded and fused. */
static void
check(const char *bname, const char *arch, int size, int every)
{
	struct nn_backend_opts o = { .threads = 2 };
	char err[256];
	struct nn_backend *be = nn_backend_open(bname, &o, err, sizeof err);
	struct nn_model *m = nn_arch_build(arch, size, size, 3, &HEAD);
	size_t nx = (size_t)BATCH * size * size * 3;
	uint8_t *x = malloc(nx);
	float p0[BATCH * K], p1[BATCH * K], *out;
	int conv, fold, relu, last = -1;
	struct rng g;
	double e, e2;

	assert_non_null(be);
	assert_non_null(m);
	rng_init(&g, 5, 0, 0);
	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)rng_range(&g, 0, 256);
	nn_model_init_params(m, 1);
	random_bn(m, 2);
	infer(m, be, 0, x, p0);
	count_folds(m, &conv, &fold, &relu);
	assert_int_equal(fold, 0);
	infer(m, be, 1, x, p1);
	count_folds(m, &conv, &fold, &relu);
	e = relerr(p0, p1, BATCH * K);
	assert_true(fold > 0);
	assert_int_equal(capped_fusions(m), 0);
	if (every) {
		assert_int_equal(fold, conv);
		assert_int_equal(relu, be->conv_fwd_relu != NULL ? conv : 0);
	}
	/* a folded conv's own output is never written: refused */
	for (int i = 0; i < m->nlay; i++)
		if (m->lay[i].fold && !m->lay[m->lay[i].root].clob)
			last = i;
	if (last >= 0) {
		out = malloc(sizeof(float) * BATCH * m->lay[last].pub.h * m->lay[last].pub.w *
		    m->lay[last].pub.c);
		assert_int_equal(nn_layer_output(m, last, out), -1);
		assert_non_null(strstr(nn_error(m), "folded"));
		free(out);
	}
	/* new values uploaded: folded again */
	random_bn(m, 3);
	nn_params_upload(m);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, BATCH, 0), 0);
	assert_int_equal(nn_predict(m, p1), 0);
	infer(m, be, 0, x, p0);
	e2 = relerr(p0, p1, BATCH * K);
	printf("  %s %s %dx%d: %d convs folded, %d ReLUs fused; probabilities within "
	    "%.1e, %.1e after an upload (of the largest)\n", bname, arch, size, size,
	    fold, relu, e, e2);
	assert_true(e <= 1e-5 && e2 <= 1e-5);
	nn_model_free(m);
	be->close(be);
	free(x);
}

static void
test_small_cnn(void **state)
{
	check("ref", "small_cnn", 24, 1);
	check("cpu", "small_cnn", 24, 1);
}

static void
test_inception(void **state)
{
	check("ref", "inception_v3", 75, 1);
	check("cpu", "inception_v3", 75, 1);
}

/* ResNet50 (convs with biases, BN outputs read by Add), DenseNet121 (BN
 * on concatenations) and MobileNetV2 (BN then ReLU6: not fused, the
 * input's 0..255 drives activations far past 6; depthwise convs not
 * folded). */
static void
test_keras_archs(void **state)
{
	check("ref", "mobilenet_v2", 32, 0);
	check("cpu", "mobilenet_v2", 32, 0);
	check("cpu", "resnet50", 32, 0);
	check("cpu", "densenet121", 32, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_cnn),
		cmocka_unit_test(test_inception),
		cmocka_unit_test(test_keras_archs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
