/* test_nn_cuda.c — every op of the "cuda" backend against the "ref" backend
 * on random inputs, with per-op tolerances (error = max |cuda - ref| over
 * max(|ref|, 1)).  Without a usable GPU (or a CUDA=0 build) it prints
 * "SKIP: <reason>" and passes.
 *
 * Tolerances (fp32): conv 5e-4 (cuDNN may pick Winograd/FFT, which round
 * differently), dense/BN 1e-4, the rest 1e-5; dropout masks must be
 * bit-identical.  TF32 convs and dense are checked again at 2e-2, fp16 at
 * 2e-2 and bf16 at 6e-2 (8 significant bits: inputs and weights are
 * rounded to 2^-9 relative, sums of up to ~400 products accumulate in
 * fp32, outputs are rounded again before going back to fp32).
 *
 * Also: fp16 loss scaling (an inf gradient skips the optimiser step, keeps
 * the parameters and halves the scale; a clean step unscales), and CUDA
 * graphs (training steps of a small CNN replayed from a graph give the
 * parameters of eager steps bit for bit, in deterministic mode).
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

/* ---- input ---- */

static void
test_input(void **state)
{
	size_t n = 3000;
	uint8_t u8[3000];
	uint16_t u16[3000];
	float f32[3000];
	struct buf o = buf_new(n, 0, 1);

	for (size_t i = 0; i < n; i++) {
		u8[i] = (uint8_t)rng_below(&rg, 256);
		u16[i] = (uint16_t)rng_below(&rg, 65536);
		f32[i] = (float)rng_range(&rg, -3, 3);
	}
	R->input(R, NN_IN_U8, u8, n, 1 / 127.5f, -1, o.r);
	C->input(C, NN_IN_U8, u8, n, 1 / 127.5f, -1, o.c);
	check("input u8", &o, 1e-6);
	R->input(R, NN_IN_U16, u16, n, 1 / 65535.0f, 0, o.r);
	C->input(C, NN_IN_U16, u16, n, 1 / 65535.0f, 0, o.c);
	check("input u16", &o, 1e-6);
	R->input(R, NN_IN_F32, f32, n, 2, 0.5f, o.r);
	C->input(C, NN_IN_F32, f32, n, 2, 0.5f, o.c);
	check("input f32", &o, 1e-6);
	buf_free(&o);
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

static void
run_conv(const char *name, const struct nn_conv *p, double tol)
{
	size_t nx = (size_t)p->n * p->ih * p->iw * p->x_ld, ny = (size_t)p->n * p->oh * p->ow * p->y_ld;
	size_t nw = (size_t)p->kh * p->kw * p->ic * p->oc;
	struct buf x = buf_new(nx, -1, 1), w = buf_new(nw, -0.5f, 0.5f), b = buf_new(p->oc, -1, 1);
	struct buf y = buf_new(ny, -1, 1), dx = buf_new(nx, -1, 1), dw = buf_new(nw, 0, 1);
	struct buf db = buf_new(p->oc, 0, 1);
	char what[128];

	R->conv_fwd(R, p, x.r, w.r, b.r, y.r);
	C->conv_fwd(C, p, x.c, w.c, b.c, y.c);
	snprintf(what, sizeof what, "%s fwd", name);
	check(what, &y, tol);
	R->conv_bwd_data(R, p, y.r, w.r, dx.r, 1);      /* y as dy; accumulate */
	C->conv_bwd_data(C, p, y.c, w.c, dx.c, 1);
	snprintf(what, sizeof what, "%s bwd data (beta 1)", name);
	check(what, &dx, tol);
	R->conv_bwd_data(R, p, y.r, w.r, dx.r, 0);
	C->conv_bwd_data(C, p, y.c, w.c, dx.c, 0);
	snprintf(what, sizeof what, "%s bwd data (beta 0)", name);
	check(what, &dx, tol);
	R->conv_bwd_weights(R, p, x.r, y.r, dw.r, db.r);
	C->conv_bwd_weights(C, p, x.c, y.c, dw.c, db.c);
	snprintf(what, sizeof what, "%s bwd weights", name);
	check(what, &dw, tol);
	snprintf(what, sizeof what, "%s bwd bias", name);
	check(what, &db, tol);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
	buf_free(&dx); buf_free(&dw); buf_free(&db);
}

static void
conv_suite(double tol)
{
	struct nn_conv p;

	p = conv_geo(2, 9, 9, 8, 16, 3, 3, 1, 1, 1, 0, 0);
	run_conv("conv 3x3 same", &p, tol);
	p = conv_geo(2, 17, 15, 3, 32, 3, 3, 2, 2, 0, 0, 0);
	run_conv("conv 3x3 s2 valid", &p, tol);
	p = conv_geo(3, 8, 8, 16, 24, 1, 7, 1, 1, 1, 0, 0);
	run_conv("conv 1x7 same", &p, tol);
	p = conv_geo(2, 8, 8, 16, 24, 1, 1, 1, 1, 1, 5, 40);
	run_conv("conv 1x1 strided views", &p, tol);
	p = conv_geo(2, 10, 10, 8, 8, 3, 3, 2, 2, 1, 3, 0);
	run_conv("conv 3x3 s2 same (asymmetric pad)", &p, tol);
	p = conv_geo(1, 6, 7, 4, 4, 2, 2, 1, 1, 1, 0, 4);
	run_conv("conv 2x2 same (asymmetric pad)", &p, tol);
}

static void
test_conv(void **state)
{
	conv_suite(5e-4);
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

/* ---- batch norm ---- */

static void
run_bn(const char *name, int m, int c, int xpad, int ypad, int scale, int center, int unbiased)
{
	struct nn_bn p = { m, c, c + xpad, c + ypad, 1e-3f, 0.99f, unbiased };
	size_t nx = (size_t)m * p.x_ld, ny = (size_t)m * p.y_ld;
	struct buf x = buf_new(nx, -2, 3), y = buf_new(ny, 0, 1), dy = buf_new(ny, -1, 1);
	struct buf g = buf_new(c, 0.5f, 1.5f), bt = buf_new(c, -1, 1);
	struct buf mean = buf_new(c, 0, 1), is = buf_new(c, 0, 1);
	struct buf rm = buf_new(c, -1, 1), rv = buf_new(c, 0.5f, 2), dx = buf_new(nx, -1, 1);
	struct buf dg = buf_new(c, 0, 1), dbt = buf_new(c, 0, 1);
	const float *gr = scale ? g.r : NULL, *gc = scale ? g.c : NULL;
	const float *br = center ? bt.r : NULL, *bc = center ? bt.c : NULL;
	char what[128];

#define CHK(t, b, tol) (snprintf(what, sizeof what, "%s %s", name, t), check(what, b, tol))
	R->bn_fwd_infer(R, &p, x.r, gr, br, rm.r, rv.r, y.r);
	C->bn_fwd_infer(C, &p, x.c, gc, bc, rm.c, rv.c, y.c);
	CHK("infer", &y, 1e-5);
	R->bn_bwd_infer(R, &p, dy.r, gr, rv.r, dx.r, 1);
	C->bn_bwd_infer(C, &p, dy.c, gc, rv.c, dx.c, 1);
	CHK("bwd infer", &dx, 1e-5);
	R->bn_fwd_train(R, &p, x.r, gr, br, y.r, mean.r, is.r, rm.r, rv.r);
	C->bn_fwd_train(C, &p, x.c, gc, bc, y.c, mean.c, is.c, rm.c, rv.c);
	CHK("train y", &y, 1e-4);
	CHK("train mean", &mean, 1e-5);
	CHK("train invstd", &is, 1e-5);
	CHK("train moving mean", &rm, 1e-5);
	CHK("train moving var", &rv, 1e-5);
	R->bn_bwd(R, &p, x.r, dy.r, gr, mean.r, is.r, dx.r, dg.r, dbt.r, 0);
	C->bn_bwd(C, &p, x.c, dy.c, gc, mean.c, is.c, dx.c, dg.c, dbt.c, 0);
	CHK("bwd dx", &dx, 1e-4);
	CHK("bwd dgamma", &dg, 1e-4);
	CHK("bwd dbeta", &dbt, 1e-4);
	R->bn_bwd(R, &p, x.r, dy.r, gr, mean.r, is.r, dx.r, NULL, NULL, 1);
	C->bn_bwd(C, &p, x.c, dy.c, gc, mean.c, is.c, dx.c, NULL, NULL, 1);
	CHK("bwd dx (beta 1)", &dx, 1e-4);
#undef CHK
	buf_free(&x); buf_free(&y); buf_free(&dy); buf_free(&g); buf_free(&bt);
	buf_free(&mean); buf_free(&is); buf_free(&rm); buf_free(&rv); buf_free(&dx);
	buf_free(&dg); buf_free(&dbt);
}

static void
test_bn(void **state)
{
	run_bn("bn", 500, 48, 0, 0, 1, 1, 1);
	run_bn("bn scale=False", 333, 32, 0, 0, 0, 1, 0);
	run_bn("bn strided", 200, 20, 12, 7, 1, 0, 1);
	run_bn("bn large", 40000, 64, 0, 0, 1, 1, 1);
}

/* ---- elementwise ---- */

static void
test_ew(void **state)
{
	struct nn_ew p = { 300, 40, 56, 72 };
	struct buf x = buf_new((size_t)p.m * p.x_ld, -1, 1), y = buf_new((size_t)p.m * p.y_ld, -1, 1);
	struct buf dy = buf_new((size_t)p.m * p.y_ld, -1, 1), dx = buf_new((size_t)p.m * p.x_ld, -1, 1);
	struct nn_ew same = { 300, 40, 56, 56 };

	R->relu_fwd(R, &p, x.r, y.r);
	C->relu_fwd(C, &p, x.c, y.c);
	check("relu fwd", &y, 0);
	R->relu_bwd(R, &p, y.r, dy.r, dx.r, 1);
	C->relu_bwd(C, &p, y.c, dy.c, dx.c, 1);
	check("relu bwd (beta 1)", &dx, 1e-6);
	R->relu_bwd(R, &p, y.r, dy.r, dx.r, 0);
	C->relu_bwd(C, &p, y.c, dy.c, dx.c, 0);
	check("relu bwd (beta 0)", &dx, 0);
	R->add(R, &p, x.r, y.r, 1);
	C->add(C, &p, x.c, y.c, 1);
	check("add (beta 1)", &y, 1e-6);
	R->add(R, &p, x.r, y.r, 0);
	C->add(C, &p, x.c, y.c, 0);
	check("add (beta 0)", &y, 0);
	R->relu_fwd(R, &same, x.r, x.r);
	C->relu_fwd(C, &same, x.c, x.c);
	check("relu fwd in place", &x, 0);
	buf_free(&x); buf_free(&y); buf_free(&dy); buf_free(&dx);
}

/* ---- pooling ---- */

static void
run_pool(const char *name, int n, int ih, int iw, int c, int k, int s, int same, int avg,
         int xpad, int ties)
{
	struct nn_pool p = { .n = n, .ih = ih, .iw = iw, .c = c, .kh = k, .kw = k, .sh = s,
	                     .sw = s, .x_ld = c + xpad, .y_ld = c, .avg = avg };
	char what[128];

	if (same) {
		nn_pad_same(ih, k, s, &p.oh, &p.pt);
		nn_pad_same(iw, k, s, &p.ow, &p.pl);
	} else {
		nn_pad_valid(ih, k, s, &p.oh, &p.pt);
		nn_pad_valid(iw, k, s, &p.ow, &p.pl);
	}
	size_t nx = (size_t)n * ih * iw * p.x_ld, ny = (size_t)n * p.oh * p.ow * p.y_ld;
	struct buf x = ties ? buf_ints(nx, 3) : buf_new(nx, -1, 1), y = buf_new(ny, 0, 1);
	struct buf dy = buf_new(ny, -1, 1), dx = buf_new(nx, -1, 1);

	R->pool_fwd(R, &p, x.r, y.r);
	C->pool_fwd(C, &p, x.c, y.c);
	snprintf(what, sizeof what, "%s fwd", name);
	check(what, &y, 1e-6);
	R->pool_bwd(R, &p, x.r, dy.r, dx.r, 1);
	C->pool_bwd(C, &p, x.c, dy.c, dx.c, 1);
	snprintf(what, sizeof what, "%s bwd", name);
	check(what, &dx, 1e-5);
	buf_free(&x); buf_free(&y); buf_free(&dy); buf_free(&dx);
}

static void
test_pool(void **state)
{
	run_pool("maxpool 3x3 s2 valid", 2, 15, 15, 40, 3, 2, 0, 0, 0, 0);
	run_pool("maxpool 3x3 s2 valid ties", 2, 15, 15, 40, 3, 2, 0, 0, 0, 1);
	run_pool("maxpool 3x3 s1 same ties strided", 2, 9, 9, 24, 3, 1, 1, 0, 8, 1);
	run_pool("maxpool 2x2 s2 same odd", 1, 7, 7, 16, 2, 2, 1, 0, 0, 0);
	run_pool("avgpool 3x3 s1 same", 2, 9, 9, 40, 3, 1, 1, 1, 0, 0);
	run_pool("avgpool 3x3 s2 same even (asymmetric)", 2, 10, 10, 16, 3, 2, 1, 1, 4, 0);
}

static void
test_gap(void **state)
{
	struct nn_gap p = { 3, 64, 100, 120 };
	struct buf x = buf_new((size_t)p.n * p.hw * p.x_ld, -1, 1), y = buf_new((size_t)p.n * p.c, 0, 1);
	struct buf dx = buf_new((size_t)p.n * p.hw * p.x_ld, -1, 1);

	R->gap_fwd(R, &p, x.r, y.r);
	C->gap_fwd(C, &p, x.c, y.c);
	check("gap fwd", &y, 1e-5);
	R->gap_bwd(R, &p, y.r, dx.r, 1);
	C->gap_bwd(C, &p, y.c, dx.c, 1);
	check("gap bwd", &dx, 1e-6);
	buf_free(&x); buf_free(&y); buf_free(&dx);
}

/* ---- dense ---- */

static void
dense_suite(double tol)
{
	struct nn_dense p = { 7, 300, 33 };
	struct buf x = buf_new((size_t)p.n * p.in, -1, 1), w = buf_new((size_t)p.in * p.out, -0.1f, 0.1f);
	struct buf b = buf_new(p.out, -1, 1), y = buf_new((size_t)p.n * p.out, 0, 1);
	struct buf dx = buf_new((size_t)p.n * p.in, -1, 1), dw = buf_new((size_t)p.in * p.out, 0, 1);
	struct buf db = buf_new(p.out, 0, 1);

	R->dense_fwd(R, &p, x.r, w.r, b.r, y.r);
	C->dense_fwd(C, &p, x.c, w.c, b.c, y.c);
	check("dense fwd", &y, tol);
	R->dense_fwd(R, &p, x.r, w.r, NULL, y.r);
	C->dense_fwd(C, &p, x.c, w.c, NULL, y.c);
	check("dense fwd (no bias)", &y, tol);
	R->dense_bwd(R, &p, x.r, w.r, y.r, dx.r, dw.r, db.r, 1);
	C->dense_bwd(C, &p, x.c, w.c, y.c, dx.c, dw.c, db.c, 1);
	check("dense bwd dx", &dx, tol);
	check("dense bwd dw", &dw, tol);
	check("dense bwd db", &db, tol);
	R->dense_bwd(R, &p, x.r, w.r, y.r, NULL, dw.r, NULL, 0);
	C->dense_bwd(C, &p, x.c, w.c, y.c, NULL, dw.c, NULL, 0);
	check("dense bwd dw (no dx)", &dw, tol);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
	buf_free(&dx); buf_free(&dw); buf_free(&db);
}

static void
test_dense(void **state)
{
	dense_suite(1e-4);
}

/* ---- dropout ---- */

static void
test_dropout(void **state)
{
	size_t n = 100003;
	struct buf x = buf_new(n, -1, 1), y = buf_new(n, 0, 1), mask = buf_new(n, 0, 1);
	struct buf dx = buf_new(n, -1, 1);

	R->dropout_fwd(R, n, 0.5f, 0x1234567890abcdefull, 77, x.r, y.r, mask.r);
	C->dropout_fwd(C, n, 0.5f, 0x1234567890abcdefull, 77, x.c, y.c, mask.c);
	check("dropout mask", &mask, 0);
	check("dropout y", &y, 0);
	R->dropout_bwd(R, n, mask.r, x.r, dx.r, 1);
	C->dropout_bwd(C, n, mask.c, x.c, dx.c, 1);
	check("dropout bwd", &dx, 1e-6);
	R->dropout_fwd(R, n, 0.3f, 5, (1ull << 32) + 3, x.r, y.r, mask.r);
	C->dropout_fwd(C, n, 0.3f, 5, (1ull << 32) + 3, x.c, y.c, mask.c);
	check("dropout mask (rate 0.3, 64-bit counter)", &mask, 0);
	buf_free(&x); buf_free(&y); buf_free(&mask); buf_free(&dx);
}

/* ---- losses ---- */

static void
test_loss(void **state)
{
	int n = 37, k = 5;
	struct buf z = buf_new(n, -20, 20), y = buf_ints(n, 2), w = buf_new(n, 0.5f, 2);
	struct buf loss = buf_new(1, 0, 1), dz = buf_new(n, 0, 1), prob = buf_new(n, 0, 1);
	struct buf zk = buf_new((size_t)n * k, -5, 5), lab = buf_ints(n, k);
	struct buf dzk = buf_new((size_t)n * k, 0, 1), pk = buf_new((size_t)n * k, 0, 1);
	float clips[] = { 0, 1e-7f, 1e-3f };

	for (int i = 0; i < 3; i++) {
		R->bce_logits(R, n, z.r, y.r, i ? w.r : NULL, clips[i], loss.r, dz.r, prob.r);
		C->bce_logits(C, n, z.c, y.c, i ? w.c : NULL, clips[i], loss.c, dz.c, prob.c);
		check("bce loss", &loss, 1e-6);
		check("bce dz", &dz, 1e-6);
		check("bce prob", &prob, 1e-6);
	}
	R->softmax_ce(R, n, k, zk.r, lab.r, w.r, loss.r, dzk.r, pk.r);
	C->softmax_ce(C, n, k, zk.c, lab.c, w.c, loss.c, dzk.c, pk.c);
	check("softmax loss", &loss, 1e-6);
	check("softmax dz", &dzk, 1e-6);
	check("softmax prob", &pk, 1e-6);
	buf_free(&z); buf_free(&y); buf_free(&w); buf_free(&loss); buf_free(&dz);
	buf_free(&prob); buf_free(&zk); buf_free(&lab); buf_free(&dzk); buf_free(&pk);
}

/* ---- optimisers ---- */

static void
test_optim(void **state)
{
	size_t n = 10007;
	struct buf p = buf_new(n, -1, 1), g = buf_new(n, -1, 1);
	struct buf m = buf_new(n, -0.1f, 0.1f), v = buf_new(n, 0, 0.01f);

	for (int t = 0; t < 3; t++) {
		R->adam(R, n, p.r, g.r, m.r, v.r, 1e-3f, 0.9f, 0.999f, 1e-7f, t ? 1e-4f : 0);
		C->adam(C, n, p.c, g.c, m.c, v.c, 1e-3f, 0.9f, 0.999f, 1e-7f, t ? 1e-4f : 0);
	}
	check("adam p", &p, 1e-5);
	check("adam m", &m, 1e-5);
	check("adam v", &v, 1e-5);
	for (int t = 0; t < 4; t++) {
		R->sgd(R, n, p.r, g.r, m.r, 0.01f, 0.9f, t & 1, t ? 1e-4f : 0);
		C->sgd(C, n, p.c, g.c, m.c, 0.01f, 0.9f, t & 1, t ? 1e-4f : 0);
	}
	check("sgd p", &p, 1e-5);
	check("sgd v", &m, 1e-5);
	buf_free(&p); buf_free(&g); buf_free(&m); buf_free(&v);
}

/* ---- mixed precision (TF32): same ops, loose tolerance ---- */

static void
test_tf32(void **state)
{
	struct nn_backend_opts o = { .precision = 1 };
	char err[256];
	struct nn_backend *save = C, *t = nn_cuda_open(&o, err, sizeof err);

	assert_non_null(t);
	C = t;
	conv_suite(2e-2);
	dense_suite(2e-2);
	t->close(t);
	C = save;
}

/* ---- mixed precision (bf16, fp16): conv and dense on half copies ---- */

static void
half_suite(int prec, double tol)
{
	struct nn_backend_opts o = { .precision = prec };
	char err[256];
	struct nn_backend *save = C, *h = nn_cuda_open(&o, err, sizeof err);

	assert_non_null(h);
	C = h;
	conv_suite(tol);
	dense_suite(tol);
	h->close(h);
	C = save;
}

static void
test_bf16(void **state)
{
	half_suite(NN_PREC_BF16, 6e-2);
}

static void
test_fp16(void **state)
{
	half_suite(NN_PREC_FP16, 2e-2);
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
	struct nn_head head = { 16, 0.5f, 1 };
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
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_conv),
		cmocka_unit_test(test_conv_deterministic),
		cmocka_unit_test(test_bn),
		cmocka_unit_test(test_ew),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_optim),
		cmocka_unit_test(test_tf32),
		cmocka_unit_test(test_bf16),
		cmocka_unit_test(test_fp16),
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
