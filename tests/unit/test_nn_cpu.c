/* test_nn_cpu.c — every op of the "cpu" backend (oneDNN) against the "ref"
 * backend, on random inputs: odd sizes, stride 2, 'same' with asymmetric
 * padding, channel slices (ld > channels) on inputs and outputs, beta 0
 * and 1, forward and backward.  Error = max|cpu - ref| / max(1, max|ref|)
 * over whole buffers (so the cells between slices must stay untouched).
 * Tolerances: 1e-4 convolutions and batch norm, 1e-5 the rest; dropout
 * masks must be identical.  Determinism: an op run twice gives the same
 * bytes.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "nn/backend.h"
#include "rng.h"

#define TOL_CONV 1e-4
#define TOL_BN 1e-4
#define TOL_EW 1e-5

static struct nn_backend *cpu, *ref;
static struct rng rng;

/* A buffer mirrored on both backends, filled from the same host values. */
struct buf {
	size_t n;
	float *h, *c, *r;
};

static struct buf
buf_new(size_t n, float lo, float hi)
{
	struct buf b;
	size_t i;

	b.n = n;
	b.h = XNEW(float, n);
	for (i = 0; i < n; i++)
		b.h[i] = (float)rng_range(&rng, lo, hi);
	b.c = cpu->alloc(cpu, n * sizeof(float));
	b.r = ref->alloc(ref, n * sizeof(float));
	assert_non_null(b.c);
	assert_non_null(b.r);
	cpu->upload(cpu, b.c, b.h, n * sizeof(float));
	ref->upload(ref, b.r, b.h, n * sizeof(float));
	return b;
}

static struct buf
rnd(size_t n)
{
	return buf_new(n, -1.0f, 1.0f);
}

static void
buf_free(struct buf *b)
{
	free(b->h);
	cpu->free(cpu, b->c);
	ref->free(ref, b->r);
}

/* Normalised error of the cpu copy against the ref copy. */
static double
buf_err(const struct buf *b)
{
	float *x = XNEW(float, b->n), *y = XNEW(float, b->n);
	double d = 0.0, m = 1.0;
	size_t i;

	cpu->download(cpu, x, b->c, b->n * sizeof(float));
	ref->download(ref, y, b->r, b->n * sizeof(float));
	for (i = 0; i < b->n; i++) {
		double e = fabs((double)x[i] - y[i]);

		d = e > d || isnan(e) ? e : d;
		m = fabs(y[i]) > m ? fabs(y[i]) : m;
	}
	free(x);
	free(y);
	return d / m;
}

static void
check(const char *what, const struct buf *b, double tol)
{
	double e = buf_err(b);

	if (!(e <= tol))
		fail_msg("%s: error %.3g > %.3g", what, e, tol);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("  %-40s %.2e\n", what, e);
}

/* Bytes of b's cpu copy (caller frees). */
static float *
snap(const struct buf *b)
{
	float *x = XNEW(float, b->n);

	cpu->download(cpu, x, b->c, b->n * sizeof(float));
	return x;
}

static void
check_same(const char *what, const struct buf *b, const float *before)
{
	float *x = snap(b);

	if (memcmp(x, before, b->n * sizeof(float)) != 0)
		fail_msg("%s: not deterministic", what);
	free(x);
}

/* TF geometry of one axis. */
static void
geom(int in, int k, int s, int same, int *out, int *before)
{
	int total;

	if (!same) {
		*out = (in - k) / s + 1;
		*before = 0;
		return;
	}
	*out = (in + s - 1) / s;
	total = (*out - 1) * s + k - in;
	*before = total > 0 ? total / 2 : 0;
}

/* ---- convolution ---- */

struct conv_case {
	int n, ih, iw, ic, oc, kh, kw, s, same, xpad, ypad, bias;
};

static const struct conv_case conv_cases[] = {
	{ 2, 9, 11, 3, 8, 3, 3, 2, 0, 0, 0, 1 },
	{ 2, 7, 7, 5, 6, 3, 3, 1, 1, 0, 0, 0 },
	{ 1, 8, 8, 4, 4, 3, 3, 2, 1, 3, 0, 0 },      /* asymmetric 'same' */
	{ 2, 6, 9, 16, 12, 1, 7, 1, 1, 0, 5, 0 },
	{ 2, 9, 6, 12, 16, 7, 1, 1, 1, 4, 4, 1 },
	{ 1, 10, 10, 8, 16, 5, 5, 1, 1, 0, 0, 0 },
	{ 2, 5, 5, 19, 17, 1, 1, 1, 0, 7, 9, 0 },
	{ 3, 13, 13, 32, 48, 3, 3, 2, 0, 16, 0, 0 },
	{ 1, 11, 11, 33, 20, 3, 3, 1, 1, 0, 12, 1 },
	/* InceptionV3-like channel counts (brgconv / jit_1x1 kernels) */
	{ 2, 8, 8, 192, 64, 1, 1, 1, 1, 64, 128, 0 },
	{ 2, 9, 9, 64, 96, 3, 3, 1, 1, 0, 0, 0 },
	{ 2, 9, 9, 48, 64, 5, 5, 1, 1, 16, 32, 0 },
	{ 2, 11, 11, 96, 96, 3, 3, 2, 0, 0, 0, 0 },
	{ 2, 7, 7, 128, 192, 7, 1, 1, 1, 0, 0, 0 },
	{ 1, 4, 4, 448, 384, 3, 3, 1, 1, 0, 0, 0 },
};

static void
conv_case(const struct conv_case *t)
{
	struct nn_conv p = { 0 };
	struct buf x, w, b, y, dy, dx, dw, db;
	size_t nx, ny;
	float *s1, *s2;
	float beta;

	p.n = t->n; p.ih = t->ih; p.iw = t->iw; p.ic = t->ic; p.oc = t->oc;
	p.kh = t->kh; p.kw = t->kw; p.sh = p.sw = t->s;
	geom(t->ih, t->kh, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->kw, t->s, t->same, &p.ow, &p.pl);
	p.x_ld = t->ic + t->xpad;
	p.y_ld = t->oc + t->ypad;
	nx = (size_t)p.n * p.ih * p.iw * p.x_ld;
	ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	x = rnd(nx); w = rnd((size_t)p.kh * p.kw * p.ic * p.oc); b = rnd(p.oc);
	y = rnd(ny); dy = rnd(ny); dx = rnd(nx);
	dw = rnd(w.n); db = rnd(p.oc);

	cpu->conv_fwd(cpu, &p, x.c, w.c, t->bias ? b.c : NULL, y.c);
	ref->conv_fwd(ref, &p, x.r, w.r, t->bias ? b.r : NULL, y.r);
	check("conv_fwd", &y, TOL_CONV);
	s1 = snap(&y);
	cpu->conv_fwd(cpu, &p, x.c, w.c, t->bias ? b.c : NULL, y.c);
	check_same("conv_fwd", &y, s1);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->conv_bwd_data(cpu, &p, dy.c, w.c, dx.c, beta);
		ref->conv_bwd_data(ref, &p, dy.r, w.r, dx.r, beta);
		check(beta != 0.0f ? "conv_bwd_data beta 1" : "conv_bwd_data beta 0", &dx, TOL_CONV);
	}
	s2 = snap(&dx);
	cpu->conv_bwd_data(cpu, &p, dy.c, w.c, dx.c, 0.0f);
	check_same("conv_bwd_data", &dx, s2);
	cpu->conv_bwd_weights(cpu, &p, x.c, dy.c, dw.c, t->bias ? db.c : NULL);
	ref->conv_bwd_weights(ref, &p, x.r, dy.r, dw.r, t->bias ? db.r : NULL);
	check("conv_bwd_weights dw", &dw, TOL_CONV);
	check("conv_bwd_weights db", &db, TOL_CONV);
	free(s1);
	s1 = snap(&dw);
	cpu->conv_bwd_weights(cpu, &p, x.c, dy.c, dw.c, t->bias ? db.c : NULL);
	check_same("conv_bwd_weights", &dw, s1);
	free(s1);
	free(s2);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
	buf_free(&dy); buf_free(&dx); buf_free(&dw); buf_free(&db);
}

/* Every case in each activation layout the backend can pick for a
 * convolution (RADPIPE_CPU_LAYOUT, read when the backend opens). */
static void
test_conv(void **state)
{
	static const char *layouts[] = { "nhwc", "blocked", "auto" };
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1 };
	char err[256];
	size_t i, l;

	for (l = 0; l < 3; l++) {
		setenv("RADPIPE_CPU_LAYOUT", layouts[l], 1);
		cpu->close(cpu);
		cpu = nn_cpu_open(&o, err, sizeof err);
		assert_non_null(cpu);
		for (i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
			conv_case(&conv_cases[i]);
	}
	unsetenv("RADPIPE_CPU_LAYOUT");
}

/* A batch cut into chunks (4 + 1 samples: a 256 KiB blocked copy per
 * sample against a 1 MiB cap): dw and db summed over the chunks. */
static void
test_conv_chunks(void **state)
{
	static const struct conv_case big = { 5, 32, 32, 64, 64, 3, 3, 1, 1, 8, 16, 1 };
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1 };
	char err[256];

	setenv("RADPIPE_CPU_LAYOUT", "blocked", 1);
	setenv("RADPIPE_CPU_CHUNK_KB", "1024", 1);
	cpu->close(cpu);
	cpu = nn_cpu_open(&o, err, sizeof err);
	assert_non_null(cpu);
	conv_case(&big);
	unsetenv("RADPIPE_CPU_LAYOUT");
	unsetenv("RADPIPE_CPU_CHUNK_KB");
	cpu->close(cpu);
	cpu = nn_cpu_open(&o, err, sizeof err);
	assert_non_null(cpu);
}

/* Weights change between steps: the cached reorder must follow. */
static void
test_conv_weights_update(void **state)
{
	struct nn_conv p = { 1, 7, 7, 16, 7, 7, 16, 3, 3, 1, 1, 1, 1, 16, 16 };
	struct buf x = rnd(7 * 7 * 16), w = rnd(9 * 16 * 16), y = rnd(7 * 7 * 16);
	struct buf g = rnd(w.n), m = buf_new(w.n, 0, 0), v = buf_new(w.n, 0, 0);

	cpu->conv_fwd(cpu, &p, x.c, w.c, NULL, y.c);
	cpu->adam(cpu, w.n, w.c, g.c, m.c, v.c, 0.1f, 0.9f, 0.999f, 1e-7f, 0.0f);
	ref->adam(ref, w.n, w.r, g.r, m.r, v.r, 0.1f, 0.9f, 0.999f, 1e-7f, 0.0f);
	cpu->conv_fwd(cpu, &p, x.c, w.c, NULL, y.c);
	ref->conv_fwd(ref, &p, x.r, w.r, NULL, y.r);
	check("conv_fwd after adam", &y, TOL_CONV);
	/* an upload elsewhere keeps the copy; one into the kernel renews it */
	cpu->upload(cpu, g.c, g.r, g.n * sizeof(float));
	cpu->upload(cpu, w.c + 5, g.r, 7 * sizeof(float));
	memcpy(w.r + 5, g.r, 7 * sizeof(float));
	cpu->conv_fwd(cpu, &p, x.c, w.c, NULL, y.c);
	ref->conv_fwd(ref, &p, x.r, w.r, NULL, y.r);
	check("conv_fwd after an upload into the kernel", &y, TOL_CONV);
	buf_free(&x); buf_free(&w); buf_free(&y);
	buf_free(&g); buf_free(&m); buf_free(&v);
}

/* ---- batch normalisation ---- */

static void
bn_case(int m, int c, int xpad, int ypad, int scale, int center)
{
	struct nn_bn p = { m, c, c + xpad, c + ypad, 1e-3f, 0.99f, 1 };
	struct buf x = buf_new((size_t)m * p.x_ld, -2.0f, 3.0f), y = rnd((size_t)m * p.y_ld);
	struct buf ga = buf_new(c, 0.5f, 1.5f), be = rnd(c), mean = rnd(c), inv = rnd(c);
	struct buf rm = rnd(c), rv = buf_new(c, 0.5f, 2.0f), dy = rnd(y.n), dx = rnd(x.n);
	struct buf dg = rnd(c), dbe = rnd(c);
	const float *gc = scale ? ga.c : NULL, *gr = scale ? ga.r : NULL;
	const float *bc = center ? be.c : NULL, *br = center ? be.r : NULL;
	float beta, *s;

	cpu->bn_fwd_infer(cpu, &p, x.c, gc, bc, rm.c, rv.c, y.c);
	ref->bn_fwd_infer(ref, &p, x.r, gr, br, rm.r, rv.r, y.r);
	check("bn_fwd_infer", &y, TOL_BN);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->bn_bwd_infer(cpu, &p, dy.c, gc, rv.c, dx.c, beta);
		ref->bn_bwd_infer(ref, &p, dy.r, gr, rv.r, dx.r, beta);
		check("bn_bwd_infer", &dx, TOL_BN);
	}
	cpu->bn_fwd_train(cpu, &p, x.c, gc, bc, y.c, mean.c, inv.c, rm.c, rv.c);
	ref->bn_fwd_train(ref, &p, x.r, gr, br, y.r, mean.r, inv.r, rm.r, rv.r);
	check("bn_fwd_train y", &y, TOL_BN);
	check("bn_fwd_train mean", &mean, TOL_BN);
	check("bn_fwd_train invstd", &inv, TOL_BN);
	check("bn_fwd_train run_mean", &rm, TOL_BN);
	check("bn_fwd_train run_var", &rv, TOL_BN);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->bn_bwd(cpu, &p, x.c, dy.c, gc, mean.c, inv.c, dx.c,
		    scale ? dg.c : NULL, center ? dbe.c : NULL, beta);
		ref->bn_bwd(ref, &p, x.r, dy.r, gr, mean.r, inv.r, dx.r,
		    scale ? dg.r : NULL, center ? dbe.r : NULL, beta);
		check("bn_bwd dx", &dx, TOL_BN);
		check("bn_bwd dgamma", &dg, TOL_BN);
		check("bn_bwd dbeta", &dbe, TOL_BN);
	}
	s = snap(&dx);
	cpu->bn_bwd(cpu, &p, x.c, dy.c, gc, mean.c, inv.c, dx.c,
	    scale ? dg.c : NULL, center ? dbe.c : NULL, 0.0f);
	check_same("bn_bwd", &dx, s);
	free(s);
	buf_free(&x); buf_free(&y); buf_free(&ga); buf_free(&be);
	buf_free(&mean); buf_free(&inv); buf_free(&rm); buf_free(&rv);
	buf_free(&dy); buf_free(&dx); buf_free(&dg); buf_free(&dbe);
}

static void
test_bn(void **state)
{
	bn_case(70, 13, 0, 0, 1, 1);
	bn_case(2 * 9 * 7, 32, 5, 0, 0, 1);     /* InceptionV3: scale=False */
	bn_case(33, 17, 0, 3, 0, 0);
	bn_case(5 * 8 * 8, 48, 16, 16, 1, 0);
}

/* ---- pooling ---- */

static void
pool_case(int n, int ih, int iw, int c, int k, int s, int same, int avg, int xpad, int ypad)
{
	struct nn_pool p = { 0 };
	struct buf x, y, dy, dx;
	float beta;

	p.n = n; p.ih = ih; p.iw = iw; p.c = c; p.kh = p.kw = k; p.sh = p.sw = s;
	p.avg = avg;
	geom(ih, k, s, same, &p.oh, &p.pt);
	geom(iw, k, s, same, &p.ow, &p.pl);
	p.x_ld = c + xpad;
	p.y_ld = c + ypad;
	x = rnd((size_t)n * ih * iw * p.x_ld);
	y = rnd((size_t)n * p.oh * p.ow * p.y_ld);
	dy = rnd(y.n);
	dx = rnd(x.n);
	cpu->pool_fwd(cpu, &p, x.c, y.c);
	ref->pool_fwd(ref, &p, x.r, y.r);
	check(avg ? "avgpool_fwd" : "maxpool_fwd", &y, TOL_EW);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->pool_bwd(cpu, &p, x.c, dy.c, dx.c, beta);
		ref->pool_bwd(ref, &p, x.r, dy.r, dx.r, beta);
		check(avg ? "avgpool_bwd" : "maxpool_bwd", &dx, TOL_EW);
	}
	buf_free(&x); buf_free(&y); buf_free(&dy); buf_free(&dx);
}

static void
test_pool(void **state)
{
	int avg;

	for (avg = 0; avg < 2; avg++) {
		pool_case(2, 9, 9, 8, 3, 2, 0, avg, 0, 0);
		pool_case(2, 7, 8, 5, 3, 1, 1, avg, 3, 0);
		pool_case(1, 9, 10, 70, 2, 2, 1, avg, 0, 6);    /* asymmetric */
		pool_case(3, 8, 8, 16, 3, 2, 0, avg, 16, 32);
		pool_case(1, 5, 5, 3, 3, 1, 1, avg, 0, 0);
	}
}

/* ---- elementwise, gap, dense ---- */

static void
test_elementwise(void **state)
{
	struct nn_ew p = { 3 * 5 * 7, 11, 19, 14 };
	struct buf x = rnd((size_t)p.m * p.x_ld), y = rnd((size_t)p.m * p.y_ld);
	struct buf dy = rnd(y.n), dx = rnd(x.n);
	float beta;

	cpu->relu_fwd(cpu, &p, x.c, y.c);
	ref->relu_fwd(ref, &p, x.r, y.r);
	check("relu_fwd", &y, TOL_EW);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->relu_bwd(cpu, &p, y.c, dy.c, dx.c, beta);
		ref->relu_bwd(ref, &p, y.r, dy.r, dx.r, beta);
		check("relu_bwd", &dx, TOL_EW);
		cpu->add(cpu, &p, x.c, y.c, beta);
		ref->add(ref, &p, x.r, y.r, beta);
		check("add", &y, TOL_EW);
	}
	buf_free(&x); buf_free(&y); buf_free(&dy); buf_free(&dx);
}

static void
test_gap(void **state)
{
	struct nn_gap p = { 3, 7 * 5, 21, 29 };
	struct buf x = rnd((size_t)p.n * p.hw * p.x_ld), y = rnd((size_t)p.n * p.c);
	struct buf dx = rnd(x.n);
	float beta;

	cpu->gap_fwd(cpu, &p, x.c, y.c);
	ref->gap_fwd(ref, &p, x.r, y.r);
	check("gap_fwd", &y, TOL_EW);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->gap_bwd(cpu, &p, y.c, dx.c, beta);
		ref->gap_bwd(ref, &p, y.r, dx.r, beta);
		check("gap_bwd", &dx, TOL_EW);
	}
	buf_free(&x); buf_free(&y); buf_free(&dx);
}

static void
dense_case(int n, int in, int out, int bias)
{
	struct nn_dense p = { n, in, out };
	struct buf x = rnd((size_t)n * in), w = rnd((size_t)in * out), b = rnd(out);
	struct buf y = rnd((size_t)n * out), dy = rnd(y.n), dx = rnd(x.n), dw = rnd(w.n);
	struct buf db = rnd(out);
	float beta;

	cpu->dense_fwd(cpu, &p, x.c, w.c, bias ? b.c : NULL, y.c);
	ref->dense_fwd(ref, &p, x.r, w.r, bias ? b.r : NULL, y.r);
	check("dense_fwd", &y, TOL_EW * 10);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->dense_bwd(cpu, &p, x.c, w.c, dy.c, dx.c, dw.c, bias ? db.c : NULL, beta);
		ref->dense_bwd(ref, &p, x.r, w.r, dy.r, dx.r, dw.r, bias ? db.r : NULL, beta);
		check("dense_bwd dx", &dx, TOL_EW * 10);
		check("dense_bwd dw", &dw, TOL_EW * 10);
		check("dense_bwd db", &db, TOL_EW);
	}
	cpu->dense_bwd(cpu, &p, x.c, w.c, dy.c, NULL, dw.c, NULL, 0.0f);
	ref->dense_bwd(ref, &p, x.r, w.r, dy.r, NULL, dw.r, NULL, 0.0f);
	check("dense_bwd dx NULL", &dw, TOL_EW * 10);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
	buf_free(&dy); buf_free(&dx); buf_free(&dw); buf_free(&db);
}

static void
test_dense(void **state)
{
	dense_case(5, 2048, 1, 1);
	dense_case(7, 33, 10, 0);
	dense_case(1, 17, 3, 1);
}

/* ---- dropout, losses, optimisers, input ---- */

static void
test_dropout(void **state)
{
	size_t n = 100003;
	struct buf x = rnd(n), y = rnd(n), mask = rnd(n), dy = rnd(n), dx = rnd(n);
	float *a = XNEW(float, n), *b = XNEW(float, n), beta;

	cpu->dropout_fwd(cpu, n, 0.3f, 42, 7, x.c, y.c, mask.c);
	ref->dropout_fwd(ref, n, 0.3f, 42, 7, x.r, y.r, mask.r);
	cpu->download(cpu, a, mask.c, n * sizeof(float));
	ref->download(ref, b, mask.r, n * sizeof(float));
	assert_memory_equal(a, b, n * sizeof(float));
	check("dropout_fwd", &y, TOL_EW);
	for (beta = 1.0f; beta >= 0.0f; beta -= 1.0f) {
		cpu->dropout_bwd(cpu, n, mask.c, dy.c, dx.c, beta);
		ref->dropout_bwd(ref, n, mask.r, dy.r, dx.r, beta);
		check("dropout_bwd", &dx, TOL_EW);
	}
	free(a); free(b);
	buf_free(&x); buf_free(&y); buf_free(&mask); buf_free(&dy); buf_free(&dx);
}

static void
test_losses(void **state)
{
	int n = 9, k = 4, i, clip;
	struct buf z = buf_new(n * k, -12.0f, 12.0f), y = rnd(n), w = buf_new(n, 0.1f, 2.0f);
	struct buf lo = rnd(1), dz = rnd(n * k), pr = rnd(n * k);

	for (i = 0; i < n; i++)
		y.h[i] = (float)(i % k);
	cpu->upload(cpu, y.c, y.h, n * sizeof(float));
	ref->upload(ref, y.r, y.h, n * sizeof(float));
	cpu->softmax_ce(cpu, n, k, z.c, y.c, w.c, lo.c, dz.c, pr.c);
	ref->softmax_ce(ref, n, k, z.r, y.r, w.r, lo.r, dz.r, pr.r);
	check("softmax_ce loss", &lo, TOL_EW);
	check("softmax_ce dz", &dz, TOL_EW);
	check("softmax_ce prob", &pr, TOL_EW);
	for (i = 0; i < n; i++)
		y.h[i] = (float)(i % 2);
	cpu->upload(cpu, y.c, y.h, n * sizeof(float));
	ref->upload(ref, y.r, y.h, n * sizeof(float));
	for (clip = 0; clip < 2; clip++) {
		cpu->bce_logits(cpu, n, z.c, y.c, clip ? w.c : NULL, clip ? 1e-7f : 0, lo.c, dz.c, pr.c);
		ref->bce_logits(ref, n, z.r, y.r, clip ? w.r : NULL, clip ? 1e-7f : 0, lo.r, dz.r, pr.r);
		check("bce_logits loss", &lo, TOL_EW);
		check("bce_logits dz", &dz, TOL_EW);
		check("bce_logits prob", &pr, TOL_EW);
	}
	buf_free(&z); buf_free(&y); buf_free(&w); buf_free(&lo); buf_free(&dz); buf_free(&pr);
}

static void
test_optim(void **state)
{
	size_t n = 50001;
	struct buf p = rnd(n), g = rnd(n), m = rnd(n), v = buf_new(n, 0.0f, 1.0f);
	int i;

	for (i = 0; i < 3; i++) {
		cpu->adam(cpu, n, p.c, g.c, m.c, v.c, 1e-3f, 0.9f, 0.999f, 1e-7f, i ? 1e-4f : 0);
		ref->adam(ref, n, p.r, g.r, m.r, v.r, 1e-3f, 0.9f, 0.999f, 1e-7f, i ? 1e-4f : 0);
	}
	check("adam p", &p, TOL_EW);
	check("adam m", &m, TOL_EW);
	check("adam v", &v, TOL_EW);
	for (i = 0; i < 4; i++) {
		cpu->sgd(cpu, n, p.c, g.c, m.c, 0.01f, 0.9f, i & 1, i > 1 ? 1e-4f : 0);
		ref->sgd(ref, n, p.r, g.r, m.r, 0.01f, 0.9f, i & 1, i > 1 ? 1e-4f : 0);
	}
	check("sgd p", &p, TOL_EW);
	check("sgd v", &m, TOL_EW);
	buf_free(&p); buf_free(&g); buf_free(&m); buf_free(&v);
}

static void
test_input(void **state)
{
	size_t n = 30000, i;
	uint8_t *u8 = XNEW(uint8_t, n);
	uint16_t *u16 = XNEW(uint16_t, n);
	float *f = XNEW(float, n);
	struct buf d = rnd(n);

	for (i = 0; i < n; i++) {
		u8[i] = (uint8_t)rng_below(&rng, 256);
		u16[i] = (uint16_t)rng_below(&rng, 65536);
		f[i] = (float)rng_normal(&rng);
	}
	cpu->input(cpu, NN_IN_U8, u8, n, 1.0f / 255, -0.5f, d.c);
	ref->input(ref, NN_IN_U8, u8, n, 1.0f / 255, -0.5f, d.r);
	check("input u8", &d, TOL_EW);
	cpu->input(cpu, NN_IN_U16, u16, n, 1.0f / 65535, 0.0f, d.c);
	ref->input(ref, NN_IN_U16, u16, n, 1.0f / 65535, 0.0f, d.r);
	check("input u16", &d, TOL_EW);
	cpu->input(cpu, NN_IN_F32, f, n, 2.0f, 1.0f, d.c);
	ref->input(ref, NN_IN_F32, f, n, 2.0f, 1.0f, d.r);
	check("input f32", &d, TOL_EW);
	free(u8); free(u16); free(f);
	buf_free(&d);
}

static int
setup(void **state)
{
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1 };
	char err[256];

	rng_init(&rng, 12345, 0, 0);
	if ((ref = nn_ref_open(&o, err, sizeof err)) == NULL ||
	    (cpu = nn_cpu_open(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "test_nn_cpu: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	cpu->close(cpu);
	ref->close(ref);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv),
		cmocka_unit_test(test_conv_chunks),
		cmocka_unit_test(test_conv_weights_update),
		cmocka_unit_test(test_bn),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_elementwise),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_losses),
		cmocka_unit_test(test_optim),
		cmocka_unit_test(test_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
