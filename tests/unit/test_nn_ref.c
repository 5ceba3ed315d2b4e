/* test_nn_ref.c — the "ref" backend's forward ops and optimisers against
 * hand-checkable cases and independent computations.
 *
 * Tolerances: float results vs double expectations within 1e-5 relative
 * (a few float roundings) unless stated; exact where the op is a copy.
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
#include "nn/backend.h"
#include "nn/nn.h"

static struct nn_backend *be;

static void
near(double got, double want, double rtol)
{
	double tol = rtol * fmax(1, fabs(want));

	if (!(fabs(got - want) <= tol))
		fprintf(stderr, "got %.9g, want %.9g (tolerance %.3g)\n", got, want, tol);
	assert_true(fabs(got - want) <= tol);
}

/* ---- padding geometry ---- */

static void
test_pad(void **state)
{
	/* in, k, s, out, pad_before: TF puts the odd cell at the end. */
	static const int same[][5] = {
		{ 4, 2, 2, 2, 0 }, { 5, 2, 1, 5, 0 }, { 5, 3, 2, 3, 1 },
		{ 6, 3, 2, 3, 0 }, { 7, 1, 2, 4, 0 }, { 299, 3, 2, 150, 1 },
		{ 35, 3, 1, 35, 1 }, { 17, 7, 1, 17, 3 }, { 8, 4, 3, 3, 1 },
	};
	static const int valid[][4] = {
		{ 299, 3, 2, 149 }, { 147, 3, 1, 145 }, { 4, 2, 2, 2 }, { 2, 3, 1, 0 },
	};
	int out, pad;

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		nn_pad_same(same[i][0], same[i][1], same[i][2], &out, &pad);
		assert_int_equal(out, same[i][3]);
		assert_int_equal(pad, same[i][4]);
	}
	for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
		nn_pad_valid(valid[i][0], valid[i][1], valid[i][2], &out, &pad);
		assert_int_equal(out, valid[i][3]);
		assert_int_equal(pad, 0);
	}
}

/* ---- convolution vs an explicitly zero-padded valid convolution ---- */

/* One image, one input and one output channel: y = valid conv of x padded
 * with pt/pl zeros before and whatever completes the output after. */
static void
padded_conv(const float *x, int ih, int iw, const float *w, int k, int s,
            int oh, int ow, int pt, int pl, double *y)
{
	int ph = (oh - 1) * s + k, pw = (ow - 1) * s + k;
	double *xp = calloc((size_t)ph * pw, sizeof *xp);

	for (int i = 0; i < ih; i++)
		for (int j = 0; j < iw; j++)
			if (i + pt < ph && j + pl < pw)
				xp[(i + pt) * pw + j + pl] = x[i * iw + j];
	for (int i = 0; i < oh; i++)
		for (int j = 0; j < ow; j++) {
			double a = 0;
			for (int u = 0; u < k; u++)
				for (int v = 0; v < k; v++)
					a += xp[(i * s + u) * pw + j * s + v] * w[u * k + v];
			y[i * ow + j] = a;
		}
	free(xp);
}

static void
conv_same_case(int in, int k, int s)
{
	struct nn_conv p = { .n = 1, .ih = in, .iw = in, .ic = 1, .oc = 1,
	                     .kh = k, .kw = k, .sh = s, .sw = s, .x_ld = 1, .y_ld = 1 };
	float x[64], w[16], y[64];
	double want[64];

	nn_pad_same(in, k, s, &p.oh, &p.pt);
	nn_pad_same(in, k, s, &p.ow, &p.pl);
	for (int i = 0; i < in * in; i++)
		x[i] = (float)(1 + i);
	for (int i = 0; i < k * k; i++)
		w[i] = (float)(i % 3 + 1);
	be->conv_fwd(be, &p, x, w, NULL, y);
	padded_conv(x, in, in, w, k, s, p.oh, p.ow, p.pt, p.pl, want);
	for (int i = 0; i < p.oh * p.ow; i++)
		near(y[i], want[i], 1e-6);
}

static void
test_conv_same(void **state)
{
	struct nn_conv p = { .n = 1, .ih = 5, .iw = 5, .ic = 1, .oc = 1, .kh = 2,
	                     .kw = 2, .sh = 1, .sw = 1, .x_ld = 1, .y_ld = 1 };
	float x[25], w[4] = { 1, 1, 1, 1 }, y[25];

	/* in 5, k 2, s 1: padding 0 before, 1 after, so the last row/column
	 * sums only the cells inside: y[4][4] = x[4][4] = 25. */
	nn_pad_same(5, 2, 1, &p.oh, &p.pt);
	nn_pad_same(5, 2, 1, &p.ow, &p.pl);
	for (int i = 0; i < 25; i++)
		x[i] = (float)(1 + i);
	be->conv_fwd(be, &p, x, w, NULL, y);
	assert_true(y[0] == 1 + 2 + 6 + 7);
	assert_true(y[24] == 25);
	assert_true(y[4] == 5 + 10);
	conv_same_case(4, 2, 2);
	conv_same_case(5, 2, 1);
	conv_same_case(5, 3, 2);
	conv_same_case(6, 3, 2);
	conv_same_case(7, 3, 1);
	conv_same_case(8, 4, 3);
}

/* Two input and two output channels with bias, against a direct sum. */
static void
test_conv_channels(void **state)
{
	struct nn_conv p = { .n = 1, .ih = 3, .iw = 3, .ic = 2, .oc = 2, .kh = 3,
	                     .kw = 3, .sh = 1, .sw = 1, .x_ld = 2, .y_ld = 3 };
	float x[18], w[36], b[2] = { 0.5f, -1 }, y[3];

	nn_pad_valid(3, 3, 1, &p.oh, &p.pt);
	nn_pad_valid(3, 3, 1, &p.ow, &p.pl);
	for (int i = 0; i < 18; i++)
		x[i] = (float)(i + 1) / 4;
	for (int i = 0; i < 36; i++)
		w[i] = (float)(i % 5) - 2;
	y[2] = 77;
	be->conv_fwd(be, &p, x, w, b, y);
	for (int o = 0; o < 2; o++) {
		double a = b[o];
		for (int pix = 0; pix < 9; pix++)
			for (int c = 0; c < 2; c++)
				a += x[pix * 2 + c] * w[(pix * 2 + c) * 2 + o];
		near(y[o], a, 1e-6);
	}
	assert_true(y[2] == 77);        /* the view's padding channel is untouched */
}

/* ---- pooling ---- */

static void
test_pool(void **state)
{
	struct nn_pool p = { .n = 1, .ih = 3, .iw = 3, .c = 1, .kh = 3, .kw = 3,
	                     .sh = 1, .sw = 1, .x_ld = 1, .y_ld = 1, .avg = 1 };
	float x[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, y[9];

	nn_pad_same(3, 3, 1, &p.oh, &p.pt);
	nn_pad_same(3, 3, 1, &p.ow, &p.pl);
	be->pool_fwd(be, &p, x, y);
	/* corners average 4 cells, edges 6, the centre 9: padding excluded */
	near(y[0], (1 + 2 + 4 + 5) / 4.0, 1e-6);
	near(y[1], (1 + 2 + 3 + 4 + 5 + 6) / 6.0, 1e-6);
	near(y[4], 5, 1e-6);
	near(y[8], (5 + 6 + 8 + 9) / 4.0, 1e-6);
	p.avg = 0;
	be->pool_fwd(be, &p, x, y);
	assert_true(y[0] == 5 && y[4] == 9 && y[6] == 8);
	/* 2x2 stride 2 on 5x5 'same': out 3, the last window holds one cell */
	float x5[25], y3[9];
	struct nn_pool q = { .n = 1, .ih = 5, .iw = 5, .c = 1, .kh = 2, .kw = 2,
	                     .sh = 2, .sw = 2, .x_ld = 1, .y_ld = 1, .avg = 1 };
	nn_pad_same(5, 2, 2, &q.oh, &q.pt);
	nn_pad_same(5, 2, 2, &q.ow, &q.pl);
	for (int i = 0; i < 25; i++)
		x5[i] = (float)(i + 1);
	be->pool_fwd(be, &q, x5, y3);
	assert_int_equal(q.oh, 3);
	near(y3[0], (1 + 2 + 6 + 7) / 4.0, 1e-6);
	near(y3[8], 25, 1e-6);
	near(y3[2], (5 + 10) / 2.0, 1e-6);
}

/* ---- batch normalisation ---- */

static void
test_bn(void **state)
{
	/* one channel of m = 4 values, and a second channel, x_ld 2 */
	struct nn_bn p = { .m = 4, .c = 2, .x_ld = 2, .y_ld = 2, .eps = 1e-3f,
	                   .momentum = 0.99f };
	float x[8] = { 1, 10, 2, 20, 3, 30, 4, 40 }, y[8], mean[2], inv[2];
	float gamma[2] = { 2, 1 }, beta[2] = { 0.5f, 0 };
	float rm[2] = { 0, 1 }, rv[2] = { 1, 1 };

	be->bn_fwd_train(be, &p, x, gamma, beta, y, mean, inv, rm, rv);
	near(mean[0], 2.5, 1e-6);
	near(inv[0], 1 / sqrt(1.25 + 1e-3), 1e-6);
	near(y[0], (1 - 2.5) / sqrt(1.25 + 1e-3) * 2 + 0.5, 1e-5);
	near(y[7], (40 - 25) / sqrt(125 + 1e-3), 1e-5);
	/* moving = 0.99 moving + 0.01 batch; biased variance (Keras <= 2.1.2) */
	near(rm[0], 0.01 * 2.5, 1e-6);
	near(rv[0], 0.99 + 0.01 * 1.25, 1e-6);
	near(rm[1], 0.99 + 0.01 * 25, 1e-6);
	p.unbiased = 1;
	rv[0] = 1;
	be->bn_fwd_train(be, &p, x, NULL, NULL, y, mean, inv, rm, rv);
	near(rv[0], 0.99 + 0.01 * 1.25 * 4 / 3, 1e-6);
	near(y[2], (2 - 2.5) / sqrt(1.25 + 1e-3), 1e-5);
	/* inference: moving statistics */
	float rm2[2] = { 1, 2 }, rv2[2] = { 4, 9 };
	be->bn_fwd_infer(be, &p, x, gamma, beta, rm2, rv2, y);
	near(y[4], (3 - 1) / sqrt(4 + 1e-3) * 2 + 0.5, 1e-6);
	near(y[5], (30 - 2) / sqrt(9 + 1e-3), 1e-6);
}

/* ---- dense, gap, relu, add, input ---- */

static void
test_dense_gap(void **state)
{
	struct nn_dense d = { 2, 3, 2 };
	float x[6] = { 1, 2, 3, -1, 0.5f, 2 }, w[6] = { 1, -1, 0.5f, 2, -2, 0.25f };
	float b[2] = { 0.1f, -0.2f }, y[4];

	be->dense_fwd(be, &d, x, w, b, y);
	near(y[0], 1 * 1 + 2 * 0.5 + 3 * -2 + 0.1, 1e-6);
	near(y[3], -1 * -1 + 0.5 * 2 + 2 * 0.25 - 0.2, 1e-6);
	struct nn_gap g = { 2, 2, 2, 3 };
	float gx[12] = { 1, 2, 99, 3, 4, 99, 5, 6, 99, 7, 8, 99 }, gy[4];
	be->gap_fwd(be, &g, gx, gy);
	assert_true(gy[0] == 2 && gy[1] == 3 && gy[2] == 6 && gy[3] == 7);
	struct nn_ew e = { 2, 2, 3, 2, 0 };
	float ry[4];
	gx[0] = -1;
	be->relu_fwd(be, &e, gx, ry);
	assert_true(ry[0] == 0 && ry[1] == 2 && ry[2] == 3 && ry[3] == 4);
	be->add(be, &e, gx, ry, 1);
	assert_true(ry[0] == -1 && ry[3] == 8);
}

static void
test_input(void **state)
{
	uint8_t u8[3] = { 0, 128, 255 };
	uint16_t u16[2] = { 0, 65535 };
	float f[2] = { -1, 2 }, y[3];

	be->input(be, NN_IN_U8, u8, 3, 1 / 127.5f, -1, y);
	near(y[0], -1, 1e-7);
	near(y[2], 1, 1e-6);
	be->input(be, NN_IN_U16, u16, 2, 1 / 65535.0f, 0, y);
	near(y[1], 1, 1e-6);
	be->input(be, NN_IN_F32, f, 2, 2, 1, y);
	assert_true(y[0] == -1 && y[1] == 5);
}

/* ---- losses ---- */

static void
test_losses(void **state)
{
	float z[3] = { 0, 20, -2 }, t[3] = { 1, 0, 0 }, loss, dz[3], prob[3];

	be->bce_logits(be, 3, z, t, NULL, 0, &loss, dz, prob);
	near(loss, (log(2) + (20 + log1p(exp(-20))) + log1p(exp(-2))) / 3, 1e-6);
	near(dz[0], -0.5 / 3, 1e-6);
	near(prob[2], 1 / (1 + exp(2)), 1e-6);
	/* Keras clip: p = sigmoid(20) > 1 - 1e-7 is clipped; its loss is
	 * -log(1e-7) within float rounding of the clip; its gradient is 0 */
	be->bce_logits(be, 3, z, t, NULL, 1e-7f, &loss, dz, prob);
	near(loss * 3 - log(2) - log1p(exp(-2)), -log(1e-7), 1e-5);
	assert_true(dz[1] == 0 && dz[0] != 0);
	float w[3] = { 2, 0, 1 };
	be->bce_logits(be, 3, z, t, w, 0, &loss, dz, prob);
	near(loss, (2 * log(2) + log1p(exp(-2))) / 3, 1e-6);
	/* softmax: z = log(1, 2, 3) gives p = (1, 2, 3)/6 */
	float s[6] = { 0, logf(2), logf(3), 1, 1, 1 }, lab[2] = { 2, 0 }, sp[6], sd[6];
	be->softmax_ce(be, 2, 3, s, lab, NULL, &loss, sd, sp);
	near(sp[1], 2 / 6.0, 1e-6);
	near(loss, (-log(0.5) - log(1 / 3.0)) / 2, 1e-6);
	near(sd[2], (0.5 - 1) / 2, 1e-6);
	near(sd[4], (1 / 3.0) / 2, 1e-6);
}

/* ---- optimisers ---- */

static void
test_adam(void **state)
{
	const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7, l2 = 0.01;
	float p[2] = { 1, -0.5f }, g[2] = { 0.3f, -2 }, m[2] = { 0 }, v[2] = { 0 };
	double P[2] = { 1, -0.5 }, M[2] = { 0 }, V[2] = { 0 };

	for (int t = 1; t <= 2; t++) {
		double lr_t = lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
		be->adam(be, 2, p, g, m, v, (float)lr_t, b1, b2, eps, t == 2 ? l2 : 0);
		for (int i = 0; i < 2; i++) {
			double gi = g[i] + (t == 2 ? 2 * l2 * P[i] : 0);
			M[i] = b1 * M[i] + (1 - b1) * gi;
			V[i] = b2 * V[i] + (1 - b2) * gi * gi;
			P[i] -= lr_t * M[i] / (sqrt(V[i]) + eps);
		}
	}
	for (int i = 0; i < 2; i++) {
		near(p[i], P[i], 1e-6);
		near(m[i], M[i], 1e-5);
		near(v[i], V[i], 1e-5);
	}
}

/* nn_step on a logistic regression (input 1x1x2 -> dense_1 sigmoid): two
 * Keras Adam steps, lr_t from the step count, L2 on the kernel only,
 * against the same computation in double (1e-5 relative). */
static void
test_adam_step(void **state)
{
	struct nn_model *m = nn_model_new("input_1", 1, 1, 2);
	const float x[6] = { 0.5f, -1, 2, 0.25f, -0.75f, 1.5f }, y[3] = { 1, 0, 1 };
	struct nn_optim o = { .type = NN_ADAM, .lr = 0.1f, .beta1 = 0.9f,
	                      .beta2 = 0.999f, .eps = 1e-8f, .l2 = 0.01f };
	double P[3] = { 0.3, -0.2, 0.1 }, M[3] = { 0 }, V[3] = { 0 };

	assert_int_equal(nn_dense(m, "dense_1", 0, 1, 1, NN_ACT_SIGMOID), 1);
	float *h = nn_params_host(m);
	h[nn_param_at(m, 0)->offset] = 0.3f;
	h[nn_param_at(m, 0)->offset + 1] = -0.2f;
	h[nn_param_at(m, 1)->offset] = 0.1f;
	assert_int_equal(nn_model_plan(m, be, 3), 0);
	for (int t = 1; t <= 2; t++) {
		double g[3] = { 0 }, lr_t = o.lr * sqrt(1 - pow(o.beta2, t)) / (1 - pow(o.beta1, t));
		for (int i = 0; i < 3; i++) {
			double z = P[0] * x[2 * i] + P[1] * x[2 * i + 1] + P[2];
			double dz = (1 / (1 + exp(-z)) - y[i]) / 3;
			g[0] += dz * x[2 * i], g[1] += dz * x[2 * i + 1], g[2] += dz;
		}
		for (int k = 0; k < 3; k++) {
			double gk = g[k] + (k < 2 ? 2 * o.l2 * P[k] : 0);
			M[k] = o.beta1 * M[k] + (1 - o.beta1) * gk;
			V[k] = o.beta2 * V[k] + (1 - o.beta2) * gk * gk;
			P[k] -= lr_t * M[k] / (sqrt(V[k]) + o.eps);
		}
		assert_int_equal(nn_forward(m, NN_IN_F32, x, 3, 1), 0);
		assert_int_equal(nn_backward(m, y, NULL, NULL, NULL), 0);
		assert_int_equal(nn_step(m, &o), 0);
	}
	assert_int_equal(nn_step_count(m), 2);
	nn_params_download(m);
	near(h[nn_param_at(m, 0)->offset], P[0], 1e-5);
	near(h[nn_param_at(m, 0)->offset + 1], P[1], 1e-5);
	near(h[nn_param_at(m, 1)->offset], P[2], 1e-5);
	nn_model_free(m);
}

static void
test_sgd(void **state)
{
	for (int nest = 0; nest <= 1; nest++) {
		float p[1] = { 1 }, g[1] = { 0.5f }, v[1] = { 0 };
		double P = 1, V = 0;
		for (int t = 0; t < 2; t++) {
			be->sgd(be, 1, p, g, v, 0.1f, 0.9f, nest, 0.05f);
			double gi = 0.5 + 2 * 0.05 * P;
			V = 0.9 * V - 0.1 * gi;
			P += nest ? 0.9 * V - 0.1 * gi : V;
		}
		near(p[0], P, 1e-6);
		near(v[0], V, 1e-6);
	}
}

/* ---- dropout ---- */

static void
test_dropout(void **state)
{
	enum { N = 100000 };
	float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
	float *m1 = malloc(N * sizeof *m1), *m2 = malloc(N * sizeof *m2);
	const float rate = 0.3f, keep = 1 / (1 - rate);
	size_t zeros = 0, diff = 0;

	for (int i = 0; i < N; i++)
		x[i] = 1 + (float)(i % 7);
	be->dropout_fwd(be, N, rate, 99, 5, x, y, m1);
	for (int i = 0; i < N; i++) {
		int drop = rng_philox_uniform(99, 5, i) < rate;
		assert_true(m1[i] == (drop ? 0 : keep));
		assert_true(y[i] == x[i] * m1[i]);
		zeros += m1[i] == 0;
	}
	/* the dropped fraction is 0.3 within 7 standard deviations (0.0014) */
	near((double)zeros / N, rate, 0.01);
	be->dropout_fwd(be, N, rate, 99, 5, x, y, m2);
	assert_memory_equal(m1, m2, N * sizeof *m1);    /* deterministic */
	be->dropout_fwd(be, N, rate, 99, 6, x, y, m2);  /* next step: new mask */
	for (int i = 0; i < N; i++)
		diff += m1[i] != m2[i];
	near((double)diff / N, 2 * 0.3 * 0.7, 0.02);
	free(x), free(y), free(m1), free(m2);
}

/* ---- opening backends ---- */

static void
test_open(void **state)
{
	char err[256];
	struct nn_backend *b = nn_backend_open("ref", NULL, err, sizeof err);

	assert_non_null(b);
	assert_string_equal(b->name, "ref");
	b->close(b);
	assert_null(nn_backend_open("tpu", NULL, err, sizeof err));
	assert_non_null(strstr(err, "tpu"));
}

static int
setup(void **state)
{
	char err[256];

	be = nn_ref_open(NULL, err, sizeof err);
	return be ? 0 : -1;
}

static int
teardown(void **state)
{
	be->close(be);
	return 0;
}

/* ---- a backend's error reaches the caller ---- */

static const char *
failed(struct nn_backend *b)
{
	return "fake backend: an op failed";
}

/* backend.h's error rule, engine side: when be->error reports a failure,
 * nn_train_step and nn_infer fail with its message (nn_error) instead of
 * returning results computed after it. */
static void
test_backend_error(void **state)
{
	struct nn_backend fake = *be;
	struct nn_head head = { 4, 0, 1 };
	struct nn_model *m = nn_small_cnn(8, 8, 1, &head);
	struct nn_optim sgd = { .type = NN_SGD, .lr = 0.01f };
	uint8_t x[2 * 8 * 8] = { 0 };
	float y[2] = { 0, 1 }, loss, p[2];

	assert_non_null(m);
	nn_model_init_params(m, 1);
	assert_int_equal(nn_model_plan(m, &fake, 2), 0);
	nn_params_upload(m);
	assert_int_equal(nn_train_step(m, NN_IN_U8, x, 2, y, NULL, &sgd, &loss, p), 0);
	assert_null(nn_backend_error(&fake));
	fake.error = failed;
	assert_int_equal(nn_train_step(m, NN_IN_U8, x, 2, y, NULL, &sgd, &loss, p), -1);
	assert_non_null(strstr(nn_error(m), "fake backend: an op failed"));
	assert_int_equal(nn_infer(m, NN_IN_U8, x, 2, p), -1);
	assert_non_null(strstr(nn_error(m), "fake backend: an op failed"));
	nn_model_free(m);
}

/* ReLU6 at exactly 0 and 6 (TF: gradient 0 at both); depthwise 2x2 on a
 * 3x3 image of 2 channels, by hand; zero padding; per-channel input. */
static void
test_new_ops(void **state)
{
	struct nn_ew e = { 1, 6, 6, 6, 6 };
	float x[6] = { -1, 0, 3, 6, 7, 5.999f }, y[6], dy[6] = { 1, 1, 1, 1, 1, 1 }, dx[6];
	be->relu_fwd(be, &e, x, y);
	assert_true(y[0] == 0 && y[1] == 0 && y[2] == 3 && y[3] == 6 && y[4] == 6);
	be->relu_bwd(be, &e, y, dy, dx, 0);
	assert_true(dx[0] == 0 && dx[1] == 0 && dx[2] == 1 && dx[3] == 0 && dx[4] == 0 &&
	            dx[5] == 1);
	/* channel 0: 1..9, channel 1: 10*(1..9); kernel ch0 [[1,0],[0,-1]], ch1 all 0.5 */
	struct nn_conv c = { .n = 1, .ih = 3, .iw = 3, .ic = 2, .oh = 2, .ow = 2, .oc = 2,
	                     .kh = 2, .kw = 2, .sh = 1, .sw = 1, .x_ld = 2, .y_ld = 2 };
	float xi[18], w[8] = { 1, 0.5f, 0, 0.5f, 0, 0.5f, -1, 0.5f }, b[2] = { 0, 1 }, yo[8];
	for (int i = 0; i < 9; i++)
		xi[2 * i] = i + 1, xi[2 * i + 1] = 10 * (i + 1);
	be->dwconv_fwd(be, &c, xi, w, b, yo);
	for (int i = 0; i < 4; i++) {
		int r = i / 2, q = i % 2, a = r * 3 + q + 1;     /* top-left value */
		near(yo[2 * i], a - (a + 4), 1e-6);
		near(yo[2 * i + 1], 0.5 * 10 * (a + a + 1 + a + 3 + a + 4) + 1, 1e-6);
	}
	struct nn_padg p = { .n = 1, .ih = 1, .iw = 2, .c = 1, .pt = 1, .pb = 0, .pl = 0,
	                     .pr = 1, .x_ld = 1, .y_ld = 1 };
	float px[2] = { 4, 5 }, py[6], pdx[2] = { 1, 1 };
	be->pad_fwd(be, &p, px, py);
	assert_true(py[0] == 0 && py[1] == 0 && py[2] == 0 && py[3] == 4 && py[4] == 5 &&
	            py[5] == 0);
	be->pad_bwd(be, &p, py, pdx, 1);
	assert_true(pdx[0] == 5 && pdx[1] == 6);
	uint8_t rgb[6] = { 10, 20, 30, 40, 50, 60 };
	int bgr[3] = { 2, 1, 0 };
	float sc[3] = { 1, 2, 3 }, of[3] = { -1, 0, 1 }, in[6];
	be->input_ch(be, NN_IN_U8, rgb, 2, 3, bgr, sc, of, in);
	assert_true(in[0] == 29 && in[1] == 40 && in[2] == 31 && in[3] == 59 &&
	            in[4] == 100 && in[5] == 121);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pad),
		cmocka_unit_test(test_conv_same),
		cmocka_unit_test(test_conv_channels),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_bn),
		cmocka_unit_test(test_dense_gap),
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_new_ops),
		cmocka_unit_test(test_losses),
		cmocka_unit_test(test_adam),
		cmocka_unit_test(test_adam_step),
		cmocka_unit_test(test_sgd),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_backend_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
