/* test_nn_cuda.c — what the "cuda" backend does beyond one op, which
 * test_nn_ops.c checks against ref for every backend and precision:
 * deterministic convolution plans (two runs, the same bytes), fp16 loss
 * scaling (an inf gradient skips the optimiser step, keeps the parameters
 * and halves the scale; the loss writes S*dz; a clean step unscales), and
 * CUDA graphs (training steps of a small CNN replayed from a graph give
 * the parameters of eager steps bit for bit, in deterministic mode).
 * Without a usable GPU (or a CUDA=0 build) it prints "SKIP: <reason>" and
 * passes.  Error = max |cuda - ref| over max(|ref|, 1).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/nn.h"
#include "rng.h"

static struct nn_backend *R, *C;        /* reference, cuda under test */
static struct rng rg;

/* One tensor with a host copy and a copy on each backend. */
struct buf {
	size_t n;
	float *h, *r, *c;
};

static struct buf
buf_new(size_t n, float lo, float hi)
{
	struct buf b = { n, malloc(n * 4 + 4), R->alloc(R, n * 4 + 4), C->alloc(C, n * 4 + 4) };

	assert_non_null(b.h);
	assert_non_null(b.r);
	assert_non_null(b.c);
	for (size_t i = 0; i < n; i++)
		b.h[i] = (float)rng_range(&rg, lo, hi);
	R->upload(R, b.r, b.h, n * 4);
	C->upload(C, b.c, b.h, n * 4);
	return b;
}

/* Integer-valued entries in [0, k): ties for max pooling. */
static struct buf
buf_ints(size_t n, int k)
{
	struct buf b = buf_new(n, 0, 1);

	for (size_t i = 0; i < n; i++)
		b.h[i] = (float)rng_below(&rg, (uint64_t)k);
	R->upload(R, b.r, b.h, n * 4);
	C->upload(C, b.c, b.h, n * 4);
	return b;
}

static void
buf_free(struct buf *b)
{
	R->free(R, b->r);
	C->free(C, b->c);
	free(b->h);
}

/* Fails unless the two backends' copies agree within tol. */
static void
check(const char *what, struct buf *b, double tol)
{
	float *r = malloc(b->n * 4 + 4), *c = malloc(b->n * 4 + 4);
	double scale = 1, err = 0;
	size_t worst = 0;

	R->download(R, r, b->r, b->n * 4);
	C->download(C, c, b->c, b->n * 4);
	for (size_t i = 0; i < b->n; i++)
		scale = fabs(r[i]) > scale ? fabs(r[i]) : scale;
	for (size_t i = 0; i < b->n; i++) {
		double e = fabs((double)c[i] - r[i]) / scale;
		if (e > err || isnan(c[i]) != isnan(r[i])) {
			err = isnan(c[i]) != isnan(r[i]) ? INFINITY : e;
			worst = i;
		}
	}
	if (err > tol)
		fprintf(stderr, "%s: error %.3g > %.3g at %zu (cuda %.8g, ref %.8g)\n", what, err,
		        tol, worst, c[worst], r[worst]);
	else if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s: error %.3g\n", what, err);
	free(r);
	free(c);
	assert_true(err <= tol);
}

/* ---- convolution ---- */

static struct nn_conv
conv_geo(int n, int ih, int iw, int ic, int oc, int kh, int kw, int sh, int sw,
         int same, int xpad, int ypad)
{
	struct nn_conv p = { .n = n, .ih = ih, .iw = iw, .ic = ic, .oc = oc,
	                     .kh = kh, .kw = kw, .sh = sh, .sw = sw };

	if (same) {
		nn_pad_same(ih, kh, sh, &p.oh, &p.pt);
		nn_pad_same(iw, kw, sw, &p.ow, &p.pl);
	} else {
		nn_pad_valid(ih, kh, sh, &p.oh, &p.pt);
		nn_pad_valid(iw, kw, sw, &p.ow, &p.pl);
	}
	p.x_ld = ic + xpad;
	p.y_ld = oc + ypad;
	return p;
}

/* Bit-identical results from two runs with opts.deterministic. */
static void
test_conv_deterministic(void **state)
{
	struct nn_backend_opts o = { .deterministic = 1 };
	char err[256];
	struct nn_backend *save = C, *d = nn_cuda_open(&o, err, sizeof err);
	struct nn_conv p = conv_geo(4, 17, 17, 32, 48, 3, 3, 1, 1, 1, 0, 0);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.ic, ny = (size_t)p.n * p.oh * p.ow * p.oc;
	size_t nw = (size_t)p.kh * p.kw * p.ic * p.oc;
	float *a = malloc(nw * 4), *b = malloc(nw * 4);

	assert_non_null(d);
	C = d;
	struct buf x = buf_new(nx, -1, 1), dy = buf_new(ny, -1, 1), dw = buf_new(nw, 0, 1);
	C->conv_bwd_weights(C, &p, x.c, dy.c, dw.c, NULL);
	C->download(C, a, dw.c, nw * 4);
	C->conv_bwd_weights(C, &p, x.c, dy.c, dw.c, NULL);
	C->download(C, b, dw.c, nw * 4);
	assert_memory_equal(a, b, nw * 4);
	R->conv_bwd_weights(R, &p, x.r, dy.r, dw.r, NULL);
	check("conv deterministic bwd weights", &dw, 5e-4);
	buf_free(&x); buf_free(&dy); buf_free(&dw);
	d->close(d);
	C = save;
	free(a);
	free(b);
}

/* ---- fp16 loss scaling ---- */

static void
expect_amp(long long skipped, float scale)
{
	long long s;
	float sc;

	C->amp_stats(C, &s, &sc);
	if (s != skipped || sc != scale)
		fprintf(stderr, "amp: skipped %lld, scale %g (want %lld, %g)\n", s, sc, skipped, scale);
	assert_true(s == skipped && sc == scale);
}

/* An inf in a weight gradient (BN's dgamma here) skips the next optimiser
 * step and halves the scale; the loss writes S*dz; a clean step uses g/S. */
static void
amp_overflow(void)
{
	int n = 16, c = 8, m = 64;
	size_t np = 1000;
	struct nn_bn bp = { m, c, c, c, 1e-3f, 0.99f, 1 };
	struct buf z = buf_new(n, -3, 3), y = buf_ints(n, 2), loss = buf_new(1, 0, 1);
	struct buf dz = buf_new(n, 0, 1), prob = buf_new(n, 0, 1);
	struct buf x = buf_new((size_t)m * c, -1, 1), dy = buf_new((size_t)m * c, -1, 1);
	struct buf g = buf_new(c, 0.5f, 1.5f), mean = buf_new(c, -0.1f, 0.1f), is = buf_new(c, 0.5f, 1);
	struct buf dx = buf_new((size_t)m * c, 0, 1), dg = buf_new(c, 0, 1), db = buf_new(c, 0, 1);
	struct buf p = buf_new(np, -1, 1), gr = buf_new(np, -1, 1), m1 = buf_new(np, 0, 0);
	struct buf m2 = buf_new(np, 0, 0);
	float *before = malloc(np * 4), *after = malloc(np * 4), *dzc = malloc(n * 4), *dzr = malloc(n * 4);

	R->bce_logits(R, n, z.r, y.r, NULL, 1e-7f, loss.r, dz.r, prob.r);
	C->bce_logits(C, n, z.c, y.c, NULL, 1e-7f, loss.c, dz.c, prob.c);
	expect_amp(0, 32768);
	R->download(R, dzr, dz.r, n * 4);
	C->download(C, dzc, dz.c, n * 4);
	for (int i = 0; i < n; i++)
		assert_true(fabs(dzc[i] - 32768.0 * dzr[i]) <= 1e-6 * 32768 * (fabs(dzr[i]) + 1e-3));
	dy.h[5] = INFINITY;
	C->upload(C, dy.c, dy.h, dy.n * 4);
	C->bn_bwd(C, &bp, x.c, dy.c, g.c, mean.c, is.c, dx.c, dg.c, db.c, 0);
	C->download(C, before, p.c, np * 4);
	C->adam(C, np, p.c, gr.c, m1.c, m2.c, 1e-3f, 0.9f, 0.999f, 1e-7f, 0);
	C->download(C, after, p.c, np * 4);
	assert_memory_equal(before, after, np * 4);     /* skipped */
	expect_amp(1, 16384);
	C->bce_logits(C, n, z.c, y.c, NULL, 1e-7f, loss.c, dz.c, prob.c);     /* settles */
	expect_amp(1, 16384);
	dy.h[5] = 0;
	C->upload(C, dy.c, dy.h, dy.n * 4);
	C->bn_bwd(C, &bp, x.c, dy.c, g.c, mean.c, is.c, dx.c, dg.c, db.c, 0);
	for (size_t i = 0; i < np; i++)
		after[i] = gr.h[i] * 16384;             /* a gradient of the scaled loss */
	C->upload(C, gr.c, after, np * 4);
	R->adam(R, np, p.r, gr.r, m1.r, m2.r, 1e-3f, 0.9f, 0.999f, 1e-7f, 0);
	C->adam(C, np, p.c, gr.c, m1.c, m2.c, 1e-3f, 0.9f, 0.999f, 1e-7f, 0);
	check("adam with g/scale", &p, 1e-5);
	check("adam m with g/scale", &m1, 1e-5);
	C->bce_logits(C, n, z.c, y.c, NULL, 1e-7f, loss.c, dz.c, prob.c);
	expect_amp(1, 16384);
	buf_free(&z); buf_free(&y); buf_free(&loss); buf_free(&dz); buf_free(&prob);
	buf_free(&x); buf_free(&dy); buf_free(&g); buf_free(&mean); buf_free(&is);
	buf_free(&dx); buf_free(&dg); buf_free(&db); buf_free(&p); buf_free(&gr);
	buf_free(&m1); buf_free(&m2);
	free(before); free(after); free(dzc); free(dzr);
}

static void
test_amp(void **state)
{
	struct nn_backend_opts o = { .precision = NN_PREC_FP16 };
	char err[256];
	struct nn_backend *save = C, *h = nn_cuda_open(&o, err, sizeof err);

	assert_non_null(h);
	C = h;
	amp_overflow();
	h->close(h);
	C = save;
}

/* ---- CUDA graphs: replayed steps give the eager steps' results ---- */

#ifndef GR_S
#define GR_S 32         /* image size (the host emulator runs it smaller) */
#define GR_N 6
#define GR_STEPS 6
#endif
#define GR_PX (GR_S * GR_S * 3)

/* The parameters (malloc'ed, *sizeP floats) of a small CNN after GR_STEPS
 * training steps, each followed by an inference whose probabilities go to
 * probs, on a deterministic cuda backend with graphs on (1) or off (-1).
 * The learning rate changes every step and dropout draws a new mask. */
static float *
graph_run(int graphs, size_t *sizeP, float *probs)
{
	struct nn_backend_opts o = { .deterministic = 1, .graphs = graphs };
	char err[256];
	struct nn_backend *be = nn_cuda_open(&o, err, sizeof err);
	struct nn_head head = { .dense_units = 16, .dropout = 0.5f, .classes = 1 };
	struct nn_model *m = nn_small_cnn(GR_S, GR_S, 3, &head);
	struct nn_optim adam = { NN_ADAM, 1e-3f, 0.9f, 0.999f, 1e-7f, 0, 0, 1e-4f };
	static uint8_t x[GR_N * GR_PX];
	float y[GR_N], loss, p[GR_N], *out;
	struct rng r;

	assert_non_null(be);
	assert_non_null(m);
	rng_init(&r, 7, 0, 0);
	nn_model_init_params(m, 3);
	nn_set_preprocess(m, 1 / 127.5f, -1);
	nn_set_seed(m, 5);
	assert_int_equal(nn_model_plan(m, be, GR_N), 0);
	nn_params_upload(m);
	for (int s = 0; s < GR_STEPS; s++) {
		for (int i = 0; i < GR_N * GR_PX; i++)
			x[i] = (uint8_t)rng_u32(&r);
		for (int i = 0; i < GR_N; i++)
			y[i] = (float)rng_below(&r, 2);
		adam.lr = 1e-3f * (float)(1 + s % 3);
		assert_int_equal(nn_train_step(m, NN_IN_U8, x, GR_N, y, NULL, &adam, &loss, p), 0);
		assert_int_equal(nn_infer(m, NN_IN_U8, x, GR_N, probs + s * GR_N), 0);
	}
	nn_params_download(m);
	*sizeP = nn_arena_size(m);
	out = malloc(*sizeP * 4);
	memcpy(out, nn_params_host(m), *sizeP * 4);
	nn_model_free(m);
	be->close(be);
	return out;
}

static void
test_graphs(void **state)
{
	float pe[GR_STEPS * GR_N], pg[GR_STEPS * GR_N];
	size_t ne, ng;
	float *e = graph_run(-1, &ne, pe), *g = graph_run(1, &ng, pg);

	assert_true(ne == ng);
	assert_memory_equal(e, g, ne * 4);
	assert_memory_equal(pe, pg, sizeof pe);
	free(e);
	free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv_deterministic),
		cmocka_unit_test(test_amp),
		cmocka_unit_test(test_graphs),
	};
	struct nn_backend_opts o = { 0 };
	char err[256] = "";
	int rc;

	unsetenv("RADPIPE_CUDA_PRECISION");     /* the fp32 tolerances need fp32 */
	if (!(C = nn_cuda_open(&o, err, sizeof err))) {
		printf("SKIP: needs a GPU: %s\n", err);
		return 0;
	}
	if (!(R = nn_ref_open(&o, err, sizeof err))) {
		fprintf(stderr, "test_nn_cuda: ref backend: %s\n", err);
		return 1;
	}
	rng_init(&rg, 42, 0, 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	C->close(C);
	R->close(R);
	return rc;
}
