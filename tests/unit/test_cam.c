/* test_cam.c — Grad-CAM: the engine part (nn_model_plan_cam,
 * nn_cam_grad) on every backend against PyTorch's autograd Grad-CAM on
 * the same small CNN and weights (tests/ref/gradcam_fixture.h, from
 * tests/ref/make_gradcam_fixture.py), the map arithmetic (cam.h) by hand,
 * dS/dA against finite differences on the ref backend, the errors, and
 * InceptionV3's default layer at a small input.
 *
 * Tolerances: raw maps within 1e-4 of the reference map's maximum (per
 * image), upsampled normalised maps within 1e-4 absolute, probabilities
 * within 1e-5; finite differences (float, central, step 1e-2, away from
 * ReLU kinks) within 1e-3 of the largest gradient.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <cmocka.h>

#include "cam.h"
#include "nn/nn.h"
#include "nn/engine/nn_impl.h"
#include "../ref/gradcam_fixture.h"
#include "../ref/gradcam_weights.h"


/* small_cnn with the fixture's head (classes 1: sigmoid, else softmax)
 * and weights. */
static struct nn_model *
fixture_model(int classes)
{
	const struct nn_head hd = { .dense_units = GCFX_UNITS, .dropout = 0.5f,
	                            .classes = classes };
	struct nn_model *m = nn_small_cnn(GCFX_H, GCFX_W, GCFX_C, &hd);

	assert_non_null(m);
	assert_int_equal(gcfx_set_weights(m), 0);
	nn_set_preprocess(m, 1 / 255.0f, 0);
	return m;
}

/* ---- the map arithmetic, by hand ---- */

static void
test_map_math(void **state)
{
	/* 2x2x2: alpha = (mean(1,2,3,2), mean(-1,0,0,-1)) = (2, -0.5) */
	const float a[] = { 1, 2,  0, 4,  3, 0,  1, 1 };
	const float g[] = { 1, -1, 2, 0,  3, 0,  2, -1 };
	const float want[] = { 1, 0, 6, 1.5f };   /* 2a0 - 0.5a1, ReLU */
	float raw[4], up[16], z[4] = { 0 };

	(void)state;
	cam_map(a, g, 2, 2, 2, raw);
	for (int i = 0; i < 4; i++)
		assert_float_equal(raw[i], want[i], 1e-6);
	/* 2 -> 4 with half-pixel centres: source x = (d+0.5)/2 - 0.5 =
	 * -0.25 (clamped: 0), 0.25, 0.75, 1.25 (clamped: 1) */
	const float src[] = { 0, 4, 8, 12 };
	const float row0[] = { 0, 1, 3, 4 }, col[] = { 0, 2, 6, 8 };
	cam_resize(src, 2, 2, up, 4, 4);
	for (int i = 0; i < 4; i++) {
		assert_float_equal(up[i], row0[i], 1e-6);
		assert_float_equal(up[i * 4], col[i], 1e-6);
	}
	cam_heatmap(src, 2, 2, up, 4, 4);
	assert_float_equal(up[15], 1, 1e-7);
	assert_float_equal(up[1], 1 / 12.0, 1e-7);
	cam_normalise(z, 4);                      /* all zero stays zero */
	for (int i = 0; i < 4; i++)
		assert_true(z[i] == 0);
}

/* ---- the fixture on a backend ---- */

/* Largest error of image i's probabilities against the fixture's logits
 * (sigmoid, or softmax over cs->classes). */
static double
prob_error(const struct gcfx_case *cs, int i, const float *prob)
{
	const double *z = cs->logit + i * cs->classes;
	double sum = 0, e = 0;

	if (cs->classes == 1)
		return fabs(prob[i] - 1 / (1 + exp(-z[0])));
	for (int k = 0; k < cs->classes; k++)
		sum += exp(z[k]);
	for (int k = 0; k < cs->classes; k++)
		e = fmax(e, fabs(prob[i * cs->classes + k] - exp(z[k]) / sum));
	return e;
}

/* Runs every fixture case on be; 0, or -1 on a mismatch (messages said). */
static int
fixture_on(struct nn_backend *be)
{
	int bad = 0;
	double wr = 0, wh = 0, wp = 0;

	for (int k = 0; k < GCFX_NCASE; k++) {
		const struct gcfx_case *cs = &gcfx_case[k];
		struct nn_model *m = fixture_model(cs->classes);
		int L = nn_cam_layer(m, cs->layer);
		assert_true(L >= 0);
		const struct nn_layer *l = nn_layer_at(m, L);
		size_t px = (size_t)l->h * l->w, sz = px * l->c;
		float *act = calloc(GCFX_N * sz, sizeof *act);
		float *grad = calloc(GCFX_N * sz, sizeof *grad);
		float raw[GCFX_H * GCFX_W], heat[GCFX_H * GCFX_W], prob[GCFX_N * 3];
		assert_true(l->h == cs->h && l->w == cs->w);
		assert_int_equal(nn_model_plan_cam(m, be, GCFX_N, L), 0);
		/* checking another layer leaves the plan's alone */
		assert_true(nn_cam_layer(m, "activation_1") >= 0);
		assert_int_equal(nn_cam_grad(m, NN_IN_U8, gcfx_x, GCFX_N, cs->cls, act, grad,
		                             prob), 0);
		for (int i = 0; i < GCFX_N; i++) {
			const double *rr = cs->raw + i * px, *rh = cs->heat + i * GCFX_H * GCFX_W;
			double mx = 0, er = 0, eh = 0, ep = prob_error(cs, i, prob);
			cam_map(act + i * sz, grad + i * sz, l->h, l->w, l->c, raw);
			cam_heatmap(raw, l->h, l->w, heat, GCFX_H, GCFX_W);
			for (size_t j = 0; j < px; j++)
				mx = fmax(mx, rr[j]);
			assert_true(mx > 0);           /* the fixture says something */
			for (size_t j = 0; j < px; j++)
				er = fmax(er, fabs(raw[j] - rr[j]));
			for (int j = 0; j < GCFX_H * GCFX_W; j++)
				eh = fmax(eh, fabs(heat[j] - rh[j]));
			wr = fmax(wr, er / mx), wh = fmax(wh, eh), wp = fmax(wp, ep);
			if (er > 1e-4 * mx || eh > 1e-4 || ep > 1e-5) {
				fprintf(stderr, "test_cam: %s: %s class %d of %d, image %d: raw "
				        "error %.3g (max %.3g), heat error %.3g, prob error %.3g\n",
				        be->name, cs->layer, cs->cls, cs->classes, i, er, mx, eh, ep);
				bad = -1;
			}
		}
		free(act);
		free(grad);
		nn_model_free(m);
	}
	fprintf(stderr, "test_cam: %s: %d cases x %d images: largest raw error %.2g "
	        "of the max, heat %.2g, probability %.2g\n", be->name, GCFX_NCASE,
	        GCFX_N, wr, wh, wp);
	return bad;
}

static void
test_fixture_ref(void **state)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);

	(void)state;
	assert_non_null(be);
	assert_int_equal(fixture_on(be), 0);
	be->close(be);
}

static void
test_fixture_cpu(void **state)
{
	char err[256];
	struct nn_backend_opts o = { .threads = 1 };
	struct nn_backend *be = nn_cpu_open(&o, err, sizeof err);

	(void)state;
	if (be == NULL) {
		fprintf(stderr, "test_cam: cpu backend unavailable, skipped: %s\n", err);
		skip();
	}
	assert_int_equal(fixture_on(be), 0);
	be->close(be);
}

static void
test_fixture_cuda(void **state)
{
	char err[256];
	struct nn_backend_opts o = { .deterministic = 1 };
	struct nn_backend *be = nn_cuda_open(&o, err, sizeof err);

	(void)state;
	if (be == NULL) {
		fprintf(stderr, "test_cam: cuda backend unavailable, skipped: %s\n", err);
		skip();
	}
	assert_int_equal(fixture_on(be), 0);
	be->close(be);
}

/* ---- dS/dA against finite differences (ref backend) ---- */

/* S = the logit of image 0 after re-running every layer above L from L's
 * (modified) activation; the ref backend's memory is the host's. */
static double
score_from(struct nn_model *m, int L)
{
	for (int i = L + 1; i < m->nlay; i++)
		if (m->lay[i].up)               /* the others may be overwritten */
			nn_fwd_layer(m, i);
	return m->lay[m->nlay - 1].y[0];
}

static void
fd_layer(struct nn_backend *be, const char *layer)
{
	struct nn_model *m = fixture_model(1);
	int L = nn_cam_layer(m, layer);
	const float h = 1e-2f;

	assert_true(L >= 0);
	struct nn_lay *l = &m->lay[L];
	size_t px = (size_t)l->pub.h * l->pub.w, c = l->pub.c, sz = px * c;
	float *grad = calloc(GCFX_N * sz, sizeof *grad), *act = calloc(GCFX_N * sz, sizeof *act);
	double gmax = 0, amin = 0;
	assert_int_equal(nn_model_plan_cam(m, be, GCFX_N, L), 0);
	assert_int_equal(nn_cam_grad(m, NN_IN_U8, gcfx_x, GCFX_N, 1, act, grad, NULL), 0);
	for (size_t j = 0; j < sz; j++) {
		gmax = fmax(gmax, fabs(grad[j]));
		amin = fmin(amin, act[j]);
	}
	assert_true(gmax > 0);
	/* a BN's output is its own, not the in-place ReLU's above it */
	assert_true(l->pub.type != NN_BATCHNORM || amin < 0);
	/* S is piecewise linear in A (conv, BN, ReLU, pools, dense above it):
	 * one-sided differences that disagree mean the step crossed a kink,
	 * and that element is passed over; at least 8 of 16 must be checked. */
	int checked = 0;
	double s0 = score_from(m, L);
	for (int t = 0; t < 16; t++) {
		size_t j = ((size_t)t * 7919 + 13) % sz;
		float *a = l->y + (j / c) * l->y_ld + j % c, a0 = *a;
		*a = a0 + h;
		double sp = score_from(m, L);
		*a = a0 - h;
		double sm = score_from(m, L);
		*a = a0;
		double fp = (sp - s0) / h, fm = (s0 - sm) / h, fd = (sp - sm) / (2.0 * h);
		if (fabs(fp - fm) > 1e-3 * gmax)
			continue;
		checked++;
		if (fabs(fd - grad[j]) > 1e-3 * gmax)
			fprintf(stderr, "test_cam: fd %s[%zu] (a = %.6g, max |g| %.3g): %.6g, "
			        "backward %.6g\n", layer, j, a0, gmax, fd, grad[j]);
		assert_true(fabs(fd - grad[j]) <= 1e-3 * gmax);
	}
	assert_true(checked >= 8);
	free(grad);
	free(act);
	nn_model_free(m);
}

static void
test_fd_ref(void **state)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);

	(void)state;
	assert_non_null(be);
	fd_layer(be, "activation_5");
	fd_layer(be, "concatenate_1");
	fd_layer(be, "batch_normalization_3");  /* inside a block, in place ReLU above */
	fd_layer(be, "activation_3");           /* a view in the concat: strided */
	be->close(be);
}

/* ---- errors ---- */

static void
test_errors(void **state)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);
	struct nn_model *m = fixture_model(1);
	float y[GCFX_N] = { 0 };
	struct nn_optim o = { .type = NN_SGD, .lr = 0.1f };

	(void)state;
	assert_int_equal(nn_cam_layer(m, "mixed99"), -1);
	assert_non_null(strstr(nn_error(m), "no layer called 'mixed99'"));
	assert_int_equal(nn_cam_layer(m, "global_average_pooling2d_1"), -1);
	assert_non_null(strstr(nn_error(m), "no spatial extent"));
	assert_int_equal(nn_cam_layer(m, "dense_1"), -1);
	assert_non_null(strstr(nn_error(m), "no spatial extent"));
	assert_int_equal(nn_model_plan_cam(m, be, 2, 1000), -1);
	assert_int_equal(nn_cam_default_layer(m), nn_layer_find(m, "activation_5"));
	/* not planned for Grad-CAM */
	assert_int_equal(nn_model_plan_flags(m, be, 2, NN_PLAN_INFERENCE), 0);
	assert_int_equal(nn_cam_grad(m, NN_IN_U8, gcfx_x, 2, 1, NULL, NULL, NULL), -1);
	assert_non_null(strstr(nn_error(m), "not planned for Grad-CAM"));
	/* a Grad-CAM plan neither trains nor takes a bad class */
	assert_int_equal(nn_model_plan_cam(m, be, 2, nn_cam_layer(m, NULL)), 0);
	assert_int_equal(nn_cam_grad(m, NN_IN_U8, gcfx_x, 2, 2, NULL, NULL, NULL), -1);
	assert_non_null(strstr(nn_error(m), "class 2 out of range"));
	assert_int_equal(nn_cam_grad(m, NN_IN_U8, gcfx_x, 3, 1, NULL, NULL, NULL), -1);
	assert_int_equal(nn_forward(m, NN_IN_U8, gcfx_x, 2, 0), 0);
	assert_int_equal(nn_backward(m, y, NULL, NULL, NULL), -1);
	assert_int_equal(nn_step(m, &o), -1);
	nn_model_free(m);
	/* a layer the output does not read */
	m = nn_model_new("input_1", 8, 8, 1);
	int a = nn_conv2d(m, "conv_a", 0, 2, 3, 3, 1, 1, NN_SAME, 1);
	assert_true(nn_conv2d(m, "conv_b", 0, 2, 3, 3, 1, 1, NN_SAME, 1) >= 0);
	assert_true(nn_dense(m, "dense_1", nn_gap(m, "gap", a), 1, 1, NN_ACT_SIGMOID) >= 0);
	assert_int_equal(nn_cam_layer(m, "conv_a"), a);
	assert_int_equal(nn_cam_layer(m, "conv_b"), -1);
	assert_non_null(strstr(nn_error(m), "does not depend on layer conv_b"));
	nn_model_free(m);
	be->close(be);
}

/* Softmax output: S = z_k; the gradient for class k through the ref
 * backend equals the sigmoid model's for the same single logit when the
 * two-unit head's second unit is zero (z_1 = 0 constant). */
static void
test_softmax(void **state)
{
	static const struct nn_head H2 = { .dense_units = GCFX_UNITS, .dropout = 0.5f,
	                                   .classes = 2 };
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);
	struct nn_model *m1 = fixture_model(1), *m2 = nn_small_cnn(GCFX_H, GCFX_W, GCFX_C, &H2);
	int L = nn_cam_default_layer(m1);
	const struct nn_layer *l = nn_layer_at(m1, L);
	size_t sz = (size_t)GCFX_N * l->h * l->w * l->c;
	float *g1 = calloc(sz, sizeof *g1), *g2 = calloc(sz, sizeof *g2), *g3 = calloc(sz, sizeof *g3);
	float p[2 * GCFX_N];

	(void)state;
	assert_non_null(m2);
	/* copy m1's weights; dense_2 (16 x 2): column 0 = m1's, column 1 = 0 */
	float *h1 = nn_params_host(m1), *h2 = nn_params_host(m2);
	for (int q = 0; q < nn_param_count(m1); q++) {
		const struct nn_param *a = nn_param_at(m1, q), *b = nn_param_at(m2, q);
		assert_string_equal(a->name, b->name);
		for (size_t i = 0; i < b->size; i++)
			h2[b->offset + i] = b->size == a->size ? h1[a->offset + i] :
			    i % 2 ? 0 : h1[a->offset + i / 2];
	}
	nn_set_preprocess(m2, 1 / 255.0f, 0);
	assert_int_equal(nn_model_plan_cam(m1, be, GCFX_N, L), 0);
	assert_int_equal(nn_model_plan_cam(m2, be, GCFX_N, L), 0);
	assert_int_equal(nn_cam_grad(m1, NN_IN_U8, gcfx_x, GCFX_N, 1, NULL, g1, NULL), 0);
	assert_int_equal(nn_cam_grad(m2, NN_IN_U8, gcfx_x, GCFX_N, 0, NULL, g2, p), 0);
	for (size_t i = 0; i < sz; i++)
		assert_float_equal(g1[i], g2[i], 1e-6);
	/* -1: the most probable class; the logits are < 0, so class 1 (z = 0) */
	for (int i = 0; i < GCFX_N; i++)
		assert_true(p[2 * i + 1] > p[2 * i]);
	assert_int_equal(nn_cam_grad(m2, NN_IN_U8, gcfx_x, GCFX_N, -1, NULL, g3, NULL), 0);
	for (size_t i = 0; i < sz; i++)
		assert_true(g3[i] == 0);          /* z_1 does not depend on A */
	free(g1);
	free(g2);
	free(g3);
	nn_model_free(m1);
	nn_model_free(m2);
	be->close(be);
}

/* ---- InceptionV3: the default layer at 139 x 139 ---- */

/* Plans m for training, then for Grad-CAM on L (kept); the Grad-CAM plan
 * must take less than half the training plan's memory. */
static void
plan_both(struct nn_model *m, struct nn_backend *be, int n, int L,
          struct nn_mem *cam, struct nn_mem *train)
{
	assert_int_equal(nn_model_plan(m, be, n), 0);
	nn_plan_memory(m, train);
	assert_int_equal(nn_model_plan_cam(m, be, n, L), 0);
	nn_plan_memory(m, cam);
	assert_true(cam->acts + cam->grads + cam->params <
	            (train->acts + train->grads + train->params) / 2);
}

static void
test_inception_smoke(void **state)
{
	static const struct nn_head H = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };
	char err[256];
	struct nn_backend_opts o = { .threads = 2 };
	struct nn_backend *be = nn_cpu_open(&o, err, sizeof err);
	struct nn_model *m;
	struct nn_mem cam, train;
	enum { N = 2, S = 139 };
	static uint8_t x[N * S * S * 3];
	struct timespec t0, t1;

	(void)state;
	if (be == NULL) {
		fprintf(stderr, "test_cam: cpu backend unavailable, skipped: %s\n", err);
		skip();
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_non_null(m = nn_inception_v3(S, S, &H));
	nn_model_init_params(m, 7);
	nn_set_preprocess(m, 1 / 127.5f, -1);
	for (size_t i = 0; i < sizeof x; i++)
		x[i] = (uint8_t)(i * 2654435761u >> 24);
	int L = nn_cam_layer(m, NULL);
	assert_true(L >= 0);
	const struct nn_layer *l = nn_layer_at(m, L);
	assert_string_equal(l->name, "mixed10");
	assert_true(l->h == 3 && l->w == 3 && l->c == 2048);
	plan_both(m, be, N, L, &cam, &train);
	size_t sz = (size_t)N * 3 * 3 * 2048;
	float *act = calloc(sz, sizeof *act), *grad = calloc(sz, sizeof *grad);
	float raw[9], heat[S * S], mx = 0, gm = 0;
	assert_int_equal(nn_cam_grad(m, NN_IN_U8, x, N, -1, act, grad, NULL), 0);
	for (size_t i = 0; i < sz; i++) {
		assert_true(isfinite(grad[i]) && isfinite(act[i]));
		gm = fmaxf(gm, fabsf(grad[i]));
	}
	assert_true(gm > 0);
	cam_map(act, grad, 3, 3, 2048, raw);
	cam_heatmap(raw, 3, 3, heat, S, S);
	for (int i = 0; i < S * S; i++) {
		assert_true(heat[i] >= 0 && heat[i] <= 1);
		mx = fmaxf(mx, heat[i]);
	}
	assert_true(mx == 1 || mx == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "test_cam: inception_v3 139x139, batch %d, mixed10: %.2f s; "
	        "planned MB: cam %.1f (params %.1f, acts %.1f, grads %.1f), "
	        "training %.1f\n", N,
	        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
	        (cam.params + cam.acts + cam.grads + cam.aux) / 1048576.0,
	        cam.params / 1048576.0, cam.acts / 1048576.0, cam.grads / 1048576.0,
	        (train.params + train.acts + train.grads + train.aux) / 1048576.0);
	free(act);
	free(grad);
	nn_model_free(m);
	be->close(be);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_math),
		cmocka_unit_test(test_fixture_ref),
		cmocka_unit_test(test_fixture_cpu),
		cmocka_unit_test(test_fixture_cuda),
		cmocka_unit_test(test_fd_ref),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_softmax),
		cmocka_unit_test(test_inception_smoke),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
