/* test_nn_patterns.c — the graph patterns of ResNet50, MobileNetV2 and
 * DenseNet121 built from the new layers (NN_ADD, NN_ZEROPAD, NN_DWCONV,
 * ReLU6) on small random instances:
 *   resnet:    conv-BN-ReLU-conv-BN + conv-BN shortcut, Add, ReLU; then an
 *              identity block (the Add reads a ReLU output that a conv
 *              reads too);
 *   mobilenet: 1x1 expand, BN, ReLU6, ZeroPadding (0,1,0,1), depthwise 3x3
 *              stride 2 'valid', BN, ReLU6, 1x1 project, BN; then a stride
 *              1 block ('same' depthwise) with the Add;
 *   densenet:  BN on the network input; dense block BN-ReLU-conv1x1-BN-
 *              ReLU-conv3x3, concat(x, new), twice (concat of a concat,
 *              read by a BN too); transition BN-ReLU-conv1x1-avgpool 2x2.
 * Each with a GAP and a Dense sigmoid head.  Checks, per pattern:
 *   - nn_backward against central differences of the float loss (ref) at
 *     the largest-gradient element of every trainable tensor, and along
 *     the tensor's gradient direction (the directional difference against
 *     |g|, which sees every element): |error| <= 3% of |g| + 2e-4 (as
 *     test_nn_graph), at the first of a few step sizes that agrees (see
 *     STEPS);
 *   - the default (recomputing) plan gives the stored plan's loss,
 *     gradients and parameters after an Adam step bit for bit (ref, cpu);
 *   - cpu against ref: output probabilities and the parameters after one
 *     training step within 1e-4 of their scale (relative to the largest
 *     magnitude), skipped when cpu is not built.
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

enum { N = 4 };

static const struct nn_optim ADAM = { .type = NN_ADAM, .lr = 0.01f, .beta1 = 0.9f,
                                      .beta2 = 0.999f, .eps = 1e-7f };

static int
cbr(struct nn_model *m, const char *p, int in, int f, int k, int s, float cap, int relu)
{
	char a[64], b[64], c[64];

	snprintf(a, sizeof a, "%s_conv", p);
	snprintf(b, sizeof b, "%s_bn", p);
	snprintf(c, sizeof c, "%s_relu", p);
	int x = nn_conv2d(m, a, in, f, k, k, s, s, NN_SAME, 1);
	x = nn_batchnorm(m, b, x, 1e-3f, 0.99f, 1, 1);
	return relu ? nn_relu_max(m, c, x, cap) : x;
}

static int
head(struct nn_model *m, int x)
{
	x = nn_gap(m, "gap", x);
	return nn_dense(m, "out", x, 1, 1, NN_ACT_SIGMOID);
}

static struct nn_model *
resnet(void)
{
	struct nn_model *m = nn_model_new("input_1", 7, 7, 3);
	int x0 = cbr(m, "c1", 0, 4, 3, 1, 0, 1);
	int a = cbr(m, "b1a", x0, 4, 3, 1, 0, 1);
	a = cbr(m, "b1b", a, 6, 1, 1, 0, 0);
	int s = cbr(m, "b1s", x0, 6, 1, 1, 0, 0);
	int in[2] = { a, s };
	int r1 = nn_relu(m, "b1_out", nn_add(m, "b1_add", in, 2));
	a = cbr(m, "b2a", r1, 3, 3, 1, 0, 1);
	a = cbr(m, "b2b", a, 6, 3, 1, 0, 0);
	in[0] = a, in[1] = r1;
	int r2 = nn_relu(m, "b2_out", nn_add(m, "b2_add", in, 2));
	assert_true(head(m, r2) > 0);
	return m;
}

static struct nn_model *
mobilenet(void)
{
	struct nn_model *m = nn_model_new("input_1", 7, 7, 3);
	int x = cbr(m, "e1", 0, 6, 1, 1, 6, 1);
	x = nn_zeropad(m, "pad1", x, 0, 1, 0, 1);
	x = nn_dwconv2d(m, "dw1", x, 3, 3, 2, 2, NN_VALID, 0);
	x = nn_batchnorm(m, "dw1_bn", x, 1e-3f, 0.999f, 1, 1);
	x = nn_relu_max(m, "dw1_relu", x, 6);
	int p1 = cbr(m, "p1", x, 4, 1, 1, 0, 0);
	x = cbr(m, "e2", p1, 8, 1, 1, 6, 1);
	x = nn_dwconv2d(m, "dw2", x, 3, 3, 1, 1, NN_SAME, 1);
	x = nn_batchnorm(m, "dw2_bn", x, 1e-3f, 0.999f, 1, 1);
	x = nn_relu_max(m, "dw2_relu", x, 6);
	x = cbr(m, "p2", x, 4, 1, 1, 0, 0);
	int in[2] = { p1, x };
	assert_true(head(m, nn_add(m, "add2", in, 2)) > 0);
	return m;
}

/* DenseNet's conv block: BN-ReLU-conv1x1-BN-ReLU-conv3x3 (growth g). */
static int
dense_conv(struct nn_model *m, const char *p, int in, int g)
{
	char a[64], b[64], c[64];

	snprintf(a, sizeof a, "%s_0_bn", p);
	snprintf(b, sizeof b, "%s_0_relu", p);
	snprintf(c, sizeof c, "%s_1", p);
	int x = nn_relu(m, b, nn_batchnorm(m, a, in, 1.001e-5f, 0.99f, 1, 1));
	x = nn_conv2d(m, c, x, 4, 1, 1, 1, 1, NN_VALID, 0);
	snprintf(a, sizeof a, "%s_1_bn", p);
	snprintf(b, sizeof b, "%s_1_relu", p);
	snprintf(c, sizeof c, "%s_2", p);
	x = nn_relu(m, b, nn_batchnorm(m, a, x, 1.001e-5f, 0.99f, 1, 1));
	x = nn_conv2d(m, c, x, g, 3, 3, 1, 1, NN_SAME, 0);
	snprintf(a, sizeof a, "%s_concat", p);
	int in2[2] = { in, x };
	return nn_concat(m, a, in2, 2);
}

static struct nn_model *
densenet(void)
{
	struct nn_model *m = nn_model_new("input_1", 8, 8, 3);
	int x = nn_relu(m, "in_relu", nn_batchnorm(m, "in_bn", 0, 1e-3f, 0.99f, 1, 1));
	x = nn_conv2d(m, "conv0", x, 4, 3, 3, 1, 1, NN_SAME, 0);
	x = dense_conv(m, "block1", x, 2);
	x = dense_conv(m, "block2", x, 3);
	x = nn_relu(m, "pool_relu", nn_batchnorm(m, "pool_bn", x, 1.001e-5f, 0.99f, 1, 1));
	x = nn_conv2d(m, "pool_conv", x, 5, 1, 1, 1, 1, NN_VALID, 0);
	x = nn_avgpool(m, "pool", x, 2, 2, 2, 2, NN_VALID);
	x = nn_relu(m, "bn_relu", nn_batchnorm(m, "bn", x, 1.001e-5f, 0.99f, 1, 1));
	assert_true(head(m, x) > 0);
	return m;
}

typedef struct nn_model *builder(void);

static const struct {
	const char *name;
	builder *build;
} PATTERNS[] = {
	{ "resnet", resnet }, { "mobilenet", mobilenet }, { "densenet", densenet },
};

/* A model of pattern k with seeded parameters (gammas and betas random
 * too, so that BN is not an identity), and its input and labels. */
static struct nn_model *
instance(int k, float **xP, float *y)
{
	struct nn_model *m = PATTERNS[k].build();
	const struct nn_layer *in;
	struct rng r;

	assert_non_null(m);
	assert_true(nn_layer_count(m) > 10);
	/* seed 7 put one resnet pre-activation of b2_out at 2.4e-5: a ReLU
	 * kink inside every difference step, 6% off; any seed without one will do */
	nn_model_init_params(m, 8 + k);
	rng_init(&r, 99, (uint64_t)k, 0);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		float *v = nn_params_host(m) + p->offset;
		if (strstr(p->name, "gamma"))
			for (size_t j = 0; j < p->size; j++)
				v[j] = (float)rng_range(&r, 0.5, 1.5);
		else if (strstr(p->name, "beta") || strstr(p->name, "bias"))
			for (size_t j = 0; j < p->size; j++)
				v[j] = (float)rng_range(&r, -0.5, 0.5);
	}
	in = nn_layer_at(m, 0);
	size_t nx = (size_t)N * in->h * in->w * in->c;
	*xP = malloc(nx * sizeof **xP);
	for (size_t i = 0; i < nx; i++)
		(*xP)[i] = (float)rng_range(&r, 0, 4);
	for (int i = 0; i < N; i++)
		y[i] = (float)(i % 2);
	return m;
}

static struct nn_backend *
open_be(const char *name)
{
	char err[256];

	return nn_backend_open(name, NULL, err, sizeof err);
}

static double
loss_at(struct nn_model *m, const float *x, const float *y)
{
	float loss;

	nn_params_upload(m);
	assert_int_equal(nn_forward(m, NN_IN_F32, x, N, 1), 0);
	assert_int_equal(nn_backward(m, y, NULL, &loss, NULL), 0);
	return loss;
}

/* Step sizes of the central differences.  Batch statistics over a few
 * pixels, pooling and ReLU make these small losses strongly curved (a
 * densenet kernel element: 0.0315 at h = 1e-2, 0.0351 at 6e-4, 0.0458 at
 * 1.6e-4 and below, where backward says 0.04576), while the float loss's
 * rounding (~1e-6 after a dozen layers) is 2e-3 of the difference
 * quotient at h = 2.5e-4 (a resnet gamma direction: 4.6% off at 1.25e-4,
 * 0.2% at 8e-3): a gradient passes when the differences at one of these
 * steps agree with it. */
static const float STEPS[] = { 8e-3f, 4e-3f, 2e-3f, 1e-3f, 5e-4f, 2.5e-4f, 1.25e-4f, 6e-5f, 3.125e-5f };
#define NSTEPS (sizeof STEPS / sizeof STEPS[0])

static int
agrees(double fd, double g)
{
	return fabs(fd - g) <= 0.03 * fabs(g) + 2e-4;
}

/* One element of parameter q: backward's g[k] against differences. */
static void
fd_one(struct nn_model *m, const float *x, const float *y, const struct nn_param *q,
       size_t k, const float *g, const char *pat)
{
	float *p = nn_params_host(m), s = p[k];
	double fd = 0;
	int ok = 0;

	for (size_t e = 0; e < NSTEPS && !ok; e++) {
		p[k] = s + STEPS[e];
		double lp = loss_at(m, x, y);
		p[k] = s - STEPS[e];
		double lm = loss_at(m, x, y);
		p[k] = s;
		fd = (lp - lm) / (2 * STEPS[e]);
		ok = agrees(fd, g[k]);
	}
	if (!ok)
		fprintf(stderr, "%s: %s[%zu]: backward %.6g, differences %.6g\n", pat,
		        q->name, k - q->offset, g[k], fd);
	assert_true(ok);
}

/* The whole of parameter q along its gradient direction u = g/|g|: the
 * directional difference (L(p + h u) - L(p - h u))/2h against |g|. */
static void
fd_dir(struct nn_model *m, const float *x, const float *y, const struct nn_param *q,
       const float *g, const char *pat)
{
	float *p = nn_params_host(m), *s = malloc(q->size * sizeof *s);
	double norm = 0, l[2], fd = 0;
	int ok = 0;

	for (size_t j = 0; j < q->size; j++)
		norm += (double)g[q->offset + j] * g[q->offset + j];
	norm = sqrt(norm);
	memcpy(s, p + q->offset, q->size * sizeof *s);
	for (size_t e = 0; e < NSTEPS && !ok && norm > 0; e++) {
		for (int d = 0; d < 2; d++) {
			for (size_t j = 0; j < q->size; j++)
				p[q->offset + j] = (float)(s[j] + (d ? -1 : 1) * STEPS[e] *
				                           g[q->offset + j] / norm);
			l[d] = loss_at(m, x, y);
		}
		fd = (l[0] - l[1]) / (2 * STEPS[e]);
		ok = agrees(fd, norm);
	}
	memcpy(p + q->offset, s, q->size * sizeof *s);
	free(s);
	if (!ok && norm > 0)
		fprintf(stderr, "%s: %s along its gradient: backward %.6g, differences %.6g\n",
		        pat, q->name, norm, fd);
	assert_true(ok || norm == 0);
}

static void
test_fd(void **state)
{
	struct nn_backend *be = open_be("ref");

	for (int k = 0; k < (int)(sizeof PATTERNS / sizeof PATTERNS[0]); k++) {
		float *x, y[N];
		struct nn_model *m = instance(k, &x, y);
		size_t n = nn_arena_size(m);
		float *g = malloc(n * sizeof *g);

		assert_int_equal(nn_model_plan(m, be, N), 0);
		loss_at(m, x, y);
		be->download(be, g, nn_backend_arena(m, 1), n * sizeof *g);
		for (int i = 0; i < nn_param_count(m); i++) {
			const struct nn_param *q = nn_param_at(m, i);
			size_t big = q->offset;
			if (!q->trainable)
				continue;
			for (size_t j = q->offset; j < q->offset + q->size; j++)
				if (fabsf(g[j]) > fabsf(g[big]))
					big = j;
			fd_one(m, x, y, q, big, g, PATTERNS[k].name);
			fd_dir(m, x, y, q, g, PATTERNS[k].name);
		}
		free(g), free(x);
		nn_model_free(m);
	}
	be->close(be);
}

/* Two forward+backward passes with an Adam step between; loss, the
 * second gradients and the parameters after a second step. */
struct run {
	float loss, *g, *p, prob[N];
};

static void
run(struct nn_backend *be, int k, unsigned flags, struct run *o)
{
	float *x, y[N];
	struct nn_model *m = instance(k, &x, y);
	size_t n = nn_arena_size(m);

	o->g = malloc(n * sizeof *o->g), o->p = malloc(n * sizeof *o->p);
	assert_int_equal(nn_model_plan_flags(m, be, N, flags), 0);
	for (int s = 0; s < 2; s++) {
		assert_int_equal(nn_forward(m, NN_IN_F32, x, N, 1), 0);
		assert_int_equal(nn_backward(m, y, NULL, &o->loss, s ? NULL : o->prob), 0);
		if (s == 0)
			assert_int_equal(nn_step(m, &ADAM), 0);
	}
	be->download(be, o->g, nn_backend_arena(m, 1), n * sizeof *o->g);
	assert_int_equal(nn_step(m, &ADAM), 0);
	assert_int_equal(nn_params_download(m), 0);
	memcpy(o->p, nn_params_host(m), n * sizeof *o->p);
	free(x);
	nn_model_free(m);
}

static size_t
arena_of(int k)
{
	float *x, y[N];
	struct nn_model *m = instance(k, &x, y);
	size_t n = nn_arena_size(m);

	free(x);
	nn_model_free(m);
	return n;
}

static void
test_recompute(void **state)
{
	static const char *const names[] = { "ref", "cpu" };

	for (int b = 0; b < 2; b++) {
		struct nn_backend *be = open_be(names[b]);
		if (be == NULL)
			continue;
		for (int k = 0; k < (int)(sizeof PATTERNS / sizeof PATTERNS[0]); k++) {
			struct run a, c;
			size_t n = arena_of(k);
			run(be, k, NN_PLAN_KEEP, &a);
			run(be, k, 0, &c);
			fprintf(stderr, "%s %s: loss %.6f\n", names[b], PATTERNS[k].name, a.loss);
			assert_memory_equal(&a.loss, &c.loss, sizeof a.loss);
			assert_memory_equal(a.g, c.g, n * sizeof *a.g);
			assert_memory_equal(a.p, c.p, n * sizeof *a.p);
			free(a.g), free(a.p), free(c.g), free(c.p);
		}
		be->close(be);
	}
}

/* max |a - b| / max |b| over n floats. */
static double
rel(const float *a, const float *b, size_t n)
{
	double d = 0, s = 0;

	for (size_t i = 0; i < n; i++) {
		d = fmax(d, fabs((double)a[i] - b[i]));
		s = fmax(s, fabs((double)b[i]));
	}
	return s > 0 ? d / s : d;
}

/* rel over the parameters whose gradient is above 1e-4 of the largest:
 * Adam's first steps move a parameter by about lr whatever the size of its
 * gradient, so a gradient that is rounding noise (a conv bias before a
 * BN: ~1e-9) moves it by +-lr at random on either backend. */
static double
rel_moved(const struct run *c, const struct run *a, size_t n)
{
	double gmax = 0, d = 0, s = 0;

	for (size_t i = 0; i < n; i++)
		gmax = fmax(gmax, fabs(a->g[i]));
	for (size_t i = 0; i < n; i++) {
		s = fmax(s, fabs(a->p[i]));
		if (fabs(a->g[i]) > 1e-4 * gmax)
			d = fmax(d, fabs((double)c->p[i] - a->p[i]));
	}
	return d / s;
}

static void
test_cpu_vs_ref(void **state)
{
	struct nn_backend *ref = open_be("ref"), *cpu = open_be("cpu");

	if (cpu == NULL) {
		ref->close(ref);
		skip();
	}
	for (int k = 0; k < (int)(sizeof PATTERNS / sizeof PATTERNS[0]); k++) {
		struct run a, c;
		size_t n = arena_of(k);
		run(ref, k, 0, &a);
		run(cpu, k, 0, &c);
		double ep = rel(c.prob, a.prob, N), eg = rel(c.g, a.g, n), ew = rel_moved(&c, &a, n);
		fprintf(stderr, "cpu vs ref %s: probs %.2g, gradients %.2g, params %.2g\n",
		        PATTERNS[k].name, ep, eg, ew);
		assert_true(ep < 1e-4 && eg < 1e-3 && ew < 1e-4);
		free(a.g), free(a.p), free(c.g), free(c.p);
	}
	ref->close(ref);
	cpu->close(cpu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_cpu_vs_ref),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
