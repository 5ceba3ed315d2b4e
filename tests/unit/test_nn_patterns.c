/* test_nn_patterns.c — the graph patterns of ResNet50, MobileNetV2 and
 * DenseNet121 built from the new layers (NN_ADD, NN_ZEROPAD, NN_DWCONV,
 * ReLU6) on small random instances:
 *   resnet:    conv-BN-ReLU-conv-BN + conv-BN shortcut, Add, ReLU; then an
 *              identity block (the Add reads a ReLU output that a conv
 *              reads too); then an Add whose input a later conv reads;
 *   mobilenet: 1x1 expand, BN, ReLU6, ZeroPadding (0,1,0,1), depthwise 3x3
 *              stride 2 'valid', BN, ReLU6, 1x1 project, BN; then a stride
 *              1 block ('same' depthwise) with the Add;
 *   densenet:  BN on the network input; dense block BN-ReLU-conv1x1-BN-
 *              ReLU-conv3x3, concat(x, new), twice (concat of a concat,
 *              read by a BN too); transition BN-ReLU-conv1x1-avgpool 2x2;
 *   shared:    a BN output read by a ReLU6 and an Add, the ReLU6 output by
 *              a conv and a concat;
 *   densetail: DenseNet121's conv5 at 64x64: avgpool 2x2 to 2x2 pixels,
 *              three dense blocks there, the final BN-ReLU on the concat.
 * Each with a GAP and a Dense sigmoid head.  Checks, per pattern:
 *   - nn_backward against central differences of the float loss (ref) at
 *     the largest-gradient element of every trainable tensor, and along
 *     the tensor's gradient direction (the directional difference against
 *     |g|, which sees every element): |error| <= 3% of |g| + 2e-4 (as
 *     test_nn_graph), at the first of a few step sizes that agrees (see
 *     STEPS);
 *   - the default (recomputing) plan gives the stored plan's loss,
 *     gradients and parameters after an Adam step bit for bit (ref, cpu);
 *   - cpu and cuda (a GPU, or tests/gpu/emu/run.sh's kernel emulator)
 *     against ref: output probabilities and the parameters after an Adam
 *     step within 1e-4, gradients within 1e-3, of the largest magnitude;
 *     a backend that does not open is skipped.
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
#include "nn/modelfile/modelio.h"

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
	/* an Add whose input r1 a later layer reads too: backward reaches that
	 * reader first, so the Add must accumulate into r1's gradient */
	in[0] = r1, in[1] = r2;
	int t = nn_add(m, "late_add", in, 2);
	in[0] = t, in[1] = nn_conv2d(m, "late_conv", r1, 6, 1, 1, 1, 1, NN_SAME, 0);
	assert_true(head(m, nn_add(m, "out_add", in, 2)) > 0);
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

/* DenseNet121's conv5 at 64x64 (where float32 ReLU kinks made Keras' own
 * gradients move: see KINKS in test_models_parity.c): a transition's 2x2
 * average pooling down to 2x2 pixels, three dense blocks there (3x3 'same'
 * convolutions whose windows are mostly padding, batch statistics over N*4
 * values, each concat read by the next BN and, as a view, the next concat),
 * the final BN-ReLU on the last concat. */
static struct nn_model *
densetail(void)
{
	struct nn_model *m = nn_model_new("input_1", 4, 4, 3);
	int x = nn_conv2d(m, "conv0", 0, 6, 3, 3, 1, 1, NN_SAME, 0);
	x = nn_relu(m, "pool_relu", nn_batchnorm(m, "pool_bn", x, 1.001e-5f, 0.99f, 1, 1));
	x = nn_conv2d(m, "pool_conv", x, 5, 1, 1, 1, 1, NN_VALID, 0);
	x = nn_avgpool(m, "pool", x, 2, 2, 2, 2, NN_VALID);
	x = dense_conv(m, "block1", x, 2);
	x = dense_conv(m, "block2", x, 3);
	x = dense_conv(m, "block3", x, 2);
	x = nn_relu(m, "relu", nn_batchnorm(m, "bn", x, 1.001e-5f, 0.99f, 1, 1));
	assert_true(head(m, x) > 0);
	return m;
}

/* A BN output read by a ReLU and by an Add (the ReLU cannot run in
 * place), the ReLU6 output read by a conv and a concat. */
static struct nn_model *
shared_reads(void)
{
	struct nn_model *m = nn_model_new("input_1", 6, 6, 3);
	int x = cbr(m, "s1", 0, 4, 3, 1, 0, 0);
	int r = nn_relu_max(m, "s1_relu6", x, 6);
	int in[2] = { x, cbr(m, "s2", r, 4, 3, 1, 0, 0) };
	int a = nn_add(m, "s_add", in, 2);
	in[0] = a, in[1] = r;
	assert_true(head(m, nn_concat(m, "s_concat", in, 2)) > 0);
	return m;
}

typedef struct nn_model *builder(void);

static const struct {
	const char *name;
	builder *build;
} PATTERNS[] = {
	{ "resnet", resnet }, { "mobilenet", mobilenet }, { "densenet", densenet },
	{ "shared", shared_reads }, { "densetail", densetail },
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
	assert_true(nn_layer_count(m) > 8);
	/* seed 7 put one resnet pre-activation of b2_out at 2.4e-5: a ReLU
	 * kink inside every difference step, 6% off; any seed without one will do */
	nn_model_init_params(m, 8 + k);
	rng_init(&r, 99, (uint64_t)k, 0);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		float *v = nn_params_host(m) + p->offset;
		/* mobilenet: gammas up to 8, so that ReLU6 clips (about 1 in 4) */
		if (strstr(p->name, "gamma"))
			for (size_t j = 0; j < p->size; j++)
				v[j] = (float)rng_range(&r, 0.5, k == 1 ? 8 : 1.5);
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
			assert_true(isfinite(a.loss));
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

/* rel over the parameters whose gradient is above 1e-3 of the largest:
 * Adam's first steps move a parameter by about lr whatever the size of its
 * gradient, so a gradient that is rounding noise (a conv bias before a
 * BN: ~1e-9) moves it by +-lr at random on either backend, and one of
 * 1e-4 of the largest with another backend's rounding (cuDNN: ~1e-6 of
 * the largest) by a few percent of lr. */
static double
rel_moved(const struct run *c, const struct run *a, size_t n)
{
	double gmax = 0, d = 0, s = 0;

	for (size_t i = 0; i < n; i++)
		gmax = fmax(gmax, fabs(a->g[i]));
	for (size_t i = 0; i < n; i++) {
		s = fmax(s, fabs(a->p[i]));
		if (fabs(a->g[i]) > 1e-3 * gmax)
			d = fmax(d, fabs((double)c->p[i] - a->p[i]));
	}
	return d / s;
}

/* Each other backend that opens here against ref: cpu, and cuda (a GPU,
 * or the kernel emulator of tests/gpu/emu/run.sh) in fp32. */
static void
test_backends_vs_ref(void **state)
{
	static const char *const names[] = { "cpu", "cuda" };
	struct nn_backend *ref = open_be("ref");
	int ran = 0;

	for (int b = 0; b < 2; b++) {
		struct nn_backend *be = open_be(names[b]);
		if (be == NULL) {
			fprintf(stderr, "%s: does not open here, skipped\n", names[b]);
			continue;
		}
		for (int k = 0; k < (int)(sizeof PATTERNS / sizeof PATTERNS[0]); k++) {
			struct run a, c;
			size_t n = arena_of(k);
			run(ref, k, 0, &a);
			run(be, k, 0, &c);
			double ep = rel(c.prob, a.prob, N), eg = rel(c.g, a.g, n);
			double ew = rel_moved(&c, &a, n);
			fprintf(stderr, "%s vs ref %s: probs %.2g, gradients %.2g, params %.2g\n",
			        names[b], PATTERNS[k].name, ep, eg, ew);
			assert_true(ep < 1e-4 && eg < 1e-3 && ew < 1e-4);
			free(a.g), free(a.p), free(c.g), free(c.p);
		}
		be->close(be);
		ran++;
	}
	ref->close(ref);
	if (ran == 0)
		skip();
}

/* The builders: Keras names, shapes and order of the parameters, output
 * shapes, and their errors. */
static void
test_build(void **state)
{
	struct nn_model *m = mobilenet();
	const struct nn_param *k = nn_param_at(m, nn_param_find(m, "dw2/depthwise_kernel:0"));
	const struct nn_layer *l;

	assert_non_null(k);
	assert_true(k->rank == 4 && k->shape[0] == 3 && k->shape[1] == 3 && k->shape[2] == 8 &&
	            k->shape[3] == 1 && k->decay && k->trainable);
	assert_string_equal(nn_param_at(m, nn_param_find(m, "dw2/depthwise_kernel:0") + 1)->name,
	                    "dw2/bias:0");
	assert_true(nn_param_find(m, "dw1/bias:0") < 0);
	l = nn_layer_at(m, nn_layer_find(m, "pad1"));
	assert_true(l->type == NN_ZEROPAD && l->h == 8 && l->w == 8 && l->c == 6);
	l = nn_layer_at(m, nn_layer_find(m, "dw1"));
	assert_true(l->type == NN_DWCONV && l->h == 3 && l->w == 3 && l->c == 6);
	assert_true(nn_layer_at(m, nn_layer_find(m, "add2"))->type == NN_ADD);
	/* errors */
	int in[2] = { nn_layer_find(m, "p1_bn"), nn_layer_find(m, "e2_relu") };
	assert_int_equal(nn_add(m, "bad_add", in, 2), -1);
	assert_non_null(strstr(nn_error(m), "is 3x3x8, not 3x3x4"));
	assert_int_equal(nn_add(m, "one_add", in, 1), -1);
	assert_int_equal(nn_zeropad(m, "bad_pad", 0, -1, 0, 0, 0), -1);
	assert_int_equal(nn_relu_max(m, "bad_relu", 0, -6), -1);
	assert_int_equal(nn_dwconv2d(m, "bad_dw", 0, 9, 9, 1, 1, NN_VALID, 0), -1);
	assert_non_null(strstr(nn_error(m), "too small"));
	nn_model_free(m);
}

/* nn_set_preprocess_ch: caffe's BGR order and means on u8 pixels reach
 * the network input as stated, on every backend that opens; bad maps are
 * refused. */
static void
test_preprocess_ch(void **state)
{
	static const char *const names[] = { "ref", "cpu", "cuda" };
	static const int bgr[3] = { 2, 1, 0 }, dup[3] = { 0, 0, 1 };
	static const float one[3] = { 1, 1, 1 }, mean[3] = { -103.939f, -116.779f, -123.68f };
	uint8_t x[2 * 2 * 2 * 3];
	float got[2 * 2 * 2 * 3];

	for (int i = 0; i < (int)sizeof x; i++)
		x[i] = (uint8_t)(i * 11);
	for (int b = 0; b < 3; b++) {
		struct nn_backend *be = open_be(names[b]);
		if (be == NULL)
			continue;
		struct nn_model *m = nn_model_new("input_1", 2, 2, 3);
		int c = nn_conv2d(m, "conv", 0, 2, 1, 1, 1, 1, NN_VALID, 0);
		assert_true(nn_dense(m, "out", nn_gap(m, "gap", c), 1, 1, NN_ACT_SIGMOID) > 0);
		nn_model_init_params(m, 1);
		assert_int_equal(nn_set_preprocess_ch(m, 3, bgr, one, mean), 0);
		assert_int_equal(nn_model_plan(m, be, 2), 0);
		assert_int_equal(nn_forward(m, NN_IN_U8, x, 2, 0), 0);
		assert_int_equal(nn_layer_output(m, 0, got), 0);
		for (int p = 0; p < 8; p++)
			for (int ch = 0; ch < 3; ch++)
				assert_true(got[p * 3 + ch] == (float)x[p * 3 + 2 - ch] + mean[ch]);
		nn_set_preprocess(m, 2, 1);             /* back to one map */
		assert_int_equal(nn_forward(m, NN_IN_U8, x, 2, 0), 0);
		assert_int_equal(nn_layer_output(m, 0, got), 0);
		assert_true(got[5] == 2.0f * x[5] + 1);
		assert_int_equal(nn_set_preprocess_ch(m, 3, dup, one, mean), -1);
		assert_int_equal(nn_set_preprocess_ch(m, 1, NULL, one, mean), -1);
		nn_model_free(m);
		be->close(be);
	}
}

/* Inference plans (liveness-packed activations) and Grad-CAM plans on the
 * patterns: the probabilities of the training plan's inference forward
 * exactly; Grad-CAM's activation and dS/dA of a layer inside each pattern
 * the same on every backend that opens (ref: the reference). */
static void
test_inference_and_cam(void **state)
{
	static const char *const names[] = { "ref", "cpu", "cuda" };
	static const char *const cam[] = { "b2_out", "dw2_relu", "block2_concat", "s_add",
	                                    "block2_concat" };
	float *ref_a = NULL, *ref_g = NULL;

	for (int k = 0; k < (int)(sizeof PATTERNS / sizeof PATTERNS[0]); k++)
	for (int b = 0; b < 3; b++) {
		struct nn_backend *be = open_be(names[b]);
		float *x, y[N], p0[N], p1[N];
		if (be == NULL)
			continue;
		struct nn_model *m = instance(k, &x, y);
		assert_int_equal(nn_model_plan(m, be, N), 0);
		assert_int_equal(nn_infer(m, NN_IN_F32, x, N, p0), 0);
		setenv("RADPIPE_FOLD", "0", 1);         /* unfolded: exactly */
		assert_int_equal(nn_model_plan_flags(m, be, N, NN_PLAN_INFERENCE), 0);
		unsetenv("RADPIPE_FOLD");
		assert_int_equal(nn_infer(m, NN_IN_F32, x, N, p1), 0);
		assert_memory_equal(p0, p1, sizeof p0);
		/* BN folded into the convs (the default): to fp32 rounding */
		assert_int_equal(nn_model_plan_flags(m, be, N, NN_PLAN_INFERENCE), 0);
		assert_int_equal(nn_infer(m, NN_IN_F32, x, N, p1), 0);
		for (int i = 0; i < N; i++)
			assert_true(fabs((double)p0[i] - p1[i]) <= 1e-5);
		int L = nn_cam_layer(m, cam[k]);
		assert_true(L > 0);
		const struct nn_layer *l = nn_layer_at(m, L);
		size_t na = (size_t)N * l->h * l->w * l->c;
		float *a = malloc(na * sizeof *a), *g = malloc(na * sizeof *g);
		assert_int_equal(nn_model_plan_cam(m, be, N, L), 0);
		assert_int_equal(nn_cam_grad(m, NN_IN_F32, x, N, 1, a, g, NULL), 0);
		if (b == 0) {
			double gm = 0;
			for (size_t i = 0; i < na; i++)
				gm = fmax(gm, fabs(g[i]));
			assert_true(gm > 0);
			free(ref_a), free(ref_g);
			ref_a = a, ref_g = g;
		} else {
			double ea = rel(a, ref_a, na), eg = rel(g, ref_g, na);
			fprintf(stderr, "%s %s Grad-CAM at %s: activation %.2g, gradient %.2g\n",
			        names[b], PATTERNS[k].name, cam[k], ea, eg);
			assert_true(ea < 1e-4 && eg < 1e-3);
			free(a), free(g);
		}
		free(x);
		nn_model_free(m);
		be->close(be);
	}
	free(ref_a), free(ref_g);
}

/* The preprocessing names of the model file (nn_preprocess_set) against
 * Keras' imagenet_utils.preprocess_input formulas in double. */
static void
test_preprocess_names(void **state)
{
	struct nn_backend *be = open_be("ref");
	struct nn_model *m = nn_model_new("input_1", 1, 1, 3), *g = nn_model_new("input_1", 1, 1, 1);
	const uint8_t px[3] = { 10, 200, 255 };
	const double mean[3] = { 0.485, 0.456, 0.406 }, sd[3] = { 0.229, 0.224, 0.225 };
	const double bgr_mean[3] = { 103.939, 116.779, 123.68 };
	float in[3];

	assert_true(nn_dense(m, "out", nn_gap(m, "gap", 0), 1, 1, NN_ACT_SIGMOID) > 0);
	nn_model_init_params(m, 1);
	assert_int_equal(nn_model_plan(m, be, 1), 0);
	static const char *const names[] = { "rescale", "inception", "tf", "caffe", "torch" };
	for (int k = 0; k < 5; k++) {
		assert_true(nn_preprocess_known(names[k]));
		assert_int_equal(nn_preprocess_set(m, names[k]), 0);
		assert_int_equal(nn_forward(m, NN_IN_U8, px, 1, 0), 0);
		assert_int_equal(nn_layer_output(m, 0, in), 0);
		for (int c = 0; c < 3; c++) {
			double x = px[c], want = k == 0 ? x / 255 : k < 3 ? x / 127.5 - 1 :
			    k == 3 ? px[2 - c] - bgr_mean[c] : (x / 255 - mean[c]) / sd[c];
			assert_true(fabs(in[c] - want) <= 1e-6 * fmax(1, fabs(want)));
		}
	}
	assert_false(nn_preprocess_known("imagenet"));
	assert_int_equal(nn_preprocess_set(m, "imagenet"), -1);
	assert_int_equal(nn_preprocess_set(g, "caffe"), -1);  /* 1 channel */
	assert_int_equal(nn_preprocess_set(g, "tf"), 0);
	nn_model_free(m);
	nn_model_free(g);
	be->close(be);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_preprocess_ch),
		cmocka_unit_test(test_preprocess_names),
		cmocka_unit_test(test_fd),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_backends_vs_ref),
		cmocka_unit_test(test_inference_and_cam),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
