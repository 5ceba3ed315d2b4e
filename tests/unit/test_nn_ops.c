/* test_nn_ops.c — every op of every backend that opens here, against the
 * "ref" backend (the specification), with a tolerance per op and
 * precision: the table rows[] below (op, shapes, tolerances, why).
 *
 * Backends: ref itself (exact: checks the harness and ref's determinism),
 * cpu in each activation layout its convolutions can pick
 * (RADPIPE_CPU_LAYOUT), and cuda in fp32, tf32, bf16 and fp16 when a GPU
 * is present; a backend that does not open is skipped with its reason
 * ("skipped cuda (does not open here): ..."; not "SKIP", which would
 * mark the whole binary skipped in tests/run-unit), so the test passes
 * without a GPU.
 * RADPIPE_TEST_OPS_BACKENDS=cpu,cuda/tf32,... limits the list to those
 * labels (the kernel emulator, tests/gpu/emu/run.sh, runs only "cuda").
 *
 * Error of an output = max |backend - ref| / max(1, max |ref|) over the
 * whole buffer, strided views included: cells between channel slices must
 * stay untouched.  Every op that accumulates (beta) runs with beta 1 and
 * beta 0; every convolution and batch-norm backward runs twice and must
 * give the same bytes (backends open with deterministic = 1).  Optional
 * ops a backend does not offer (bn_apply, nonfinite) are skipped.
 * TEST_VERBOSE=1 prints every error.
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

#include "nn/backend.h"
#include "rng.h"

/* Precision columns of the tolerance table.  P_REF: ref and cpu (fp32
 * everywhere); P_CUDA: cuda fp32 (cuDNN may pick Winograd/FFT). */
enum { P_REF, P_CUDA, P_TF32, P_BF16, P_FP16, NP };
#define NO (-1.0)       /* not run in this precision */

static struct nn_backend *R, *X;        /* ref; the backend under test */
static struct rng rg;

/* ---- buffers mirrored on ref and the backend under test ---- */

struct buf {
	size_t n;
	float *h, *r, *x;
};

static struct buf
buf_new(size_t n, float lo, float hi)
{
	struct buf b = { n, malloc(n * 4 + 4), R->alloc(R, n * 4 + 4), X->alloc(X, n * 4 + 4) };

	assert_non_null(b.h);
	assert_non_null(b.r);
	assert_non_null(b.x);
	for (size_t i = 0; i < n; i++)
		b.h[i] = (float)rng_range(&rg, lo, hi);
	R->upload(R, b.r, b.h, n * 4);
	X->upload(X, b.x, b.h, n * 4);
	return b;
}

static struct buf
rnd(size_t n)
{
	return buf_new(n, -1, 1);
}

/* Integer-valued entries in [0, k): labels, or ties for max pooling. */
static struct buf
buf_ints(size_t n, int k)
{
	struct buf b = buf_new(n, 0, 1);

	for (size_t i = 0; i < n; i++)
		b.h[i] = (float)rng_below(&rg, (uint64_t)k);
	R->upload(R, b.r, b.h, n * 4);
	X->upload(X, b.x, b.h, n * 4);
	return b;
}

static void
buf_free(struct buf *b)
{
	R->free(R, b->r);
	X->free(X, b->x);
	free(b->h);
}

/* The backend's copy of b (caller frees). */
static float *
snap(const struct buf *b)
{
	float *s = malloc(b->n * 4 + 4);

	assert_non_null(s);
	X->download(X, s, b->x, b->n * 4);
	return s;
}

/* Fails unless the backend's copy of b is within tol of ref's. */
static void
check(const char *what, const struct buf *b, double tol)
{
	float *r = malloc(b->n * 4 + 4), *x = snap(b);
	double scale = 1, err = 0;
	size_t worst = 0;

	R->download(R, r, b->r, b->n * 4);
	for (size_t i = 0; i < b->n; i++)
		scale = fabs(r[i]) > scale ? fabs(r[i]) : scale;
	for (size_t i = 0; i < b->n; i++) {
		double e = isnan(x[i]) != isnan(r[i]) ? INFINITY : fabs((double)x[i] - r[i]) / scale;

		if (e > err) {
			err = e;
			worst = i;
		}
	}
	if (getenv("TEST_VERBOSE"))
		printf("  %s %-44s %.2e\n", X->name, what, err);
	if (!(err <= tol))
		fail_msg("%s: %s: error %.3g > %.3g at %zu (%s %.8g, ref %.8g)", X->name, what,
		         err, tol, worst, X->name, x[worst], r[worst]);
	free(r);
	free(x);
}

/* Fails unless the backend's copy of b still holds the bytes at s. */
static void
check_same(const char *what, const struct buf *b, float *s)
{
	float *now = snap(b);

	if (memcmp(now, s, b->n * 4) != 0)
		fail_msg("%s: %s: not deterministic", X->name, what);
	free(now);
	free(s);
}

/* TF geometry of one axis. */
static void
geom(int in, int k, int s, int same, int *out, int *before)
{
	if (same)
		nn_pad_same(in, k, s, out, before);
	else
		nn_pad_valid(in, k, s, out, before);
}

/* ---- shapes ---- */

/* conv: x (n, ih, iw, ic) pixel stride ic+xpad -> y (.., oc) stride oc+ypad */
struct conv_shape { int n, ih, iw, ic, oc, kh, kw, s, same, xpad, ypad, bias; };
static const struct conv_shape conv_shapes[] = {
	{ 2, 9, 11, 3, 8, 3, 3, 2, 0, 0, 0, 1 },
	{ 2, 7, 7, 5, 6, 3, 3, 1, 1, 0, 0, 0 },
	{ 1, 8, 8, 4, 4, 3, 3, 2, 1, 3, 0, 0 },         /* asymmetric 'same' */
	{ 2, 10, 10, 8, 8, 3, 3, 2, 1, 3, 0, 1 },       /* asymmetric, even */
	{ 1, 6, 7, 4, 4, 2, 2, 1, 1, 0, 4, 0 },         /* 2x2 'same': pad after */
	{ 2, 17, 15, 3, 32, 3, 3, 2, 0, 0, 0, 1 },      /* the stem */
	{ 2, 6, 9, 16, 12, 1, 7, 1, 1, 0, 5, 0 },
	{ 2, 9, 6, 12, 16, 7, 1, 1, 1, 4, 4, 1 },
	{ 1, 10, 10, 8, 16, 5, 5, 1, 1, 0, 0, 0 },
	{ 2, 5, 5, 19, 17, 1, 1, 1, 0, 7, 9, 0 },
	{ 2, 8, 8, 16, 24, 1, 1, 1, 1, 5, 40, 1 },      /* 1x1 on wide views */
	{ 3, 13, 13, 32, 48, 3, 3, 2, 0, 16, 0, 0 },
	{ 1, 11, 11, 33, 20, 3, 3, 1, 1, 0, 12, 1 },
	/* InceptionV3-like channel counts (oneDNN's brgconv / jit_1x1) */
	{ 2, 8, 8, 192, 64, 1, 1, 1, 1, 64, 128, 0 },
	{ 2, 9, 9, 64, 96, 3, 3, 1, 1, 0, 0, 0 },
	{ 2, 9, 9, 48, 64, 5, 5, 1, 1, 16, 32, 0 },
	{ 2, 11, 11, 96, 96, 3, 3, 2, 0, 0, 0, 0 },
	{ 2, 7, 7, 128, 192, 7, 1, 1, 1, 0, 0, 0 },
	{ 1, 4, 4, 448, 384, 3, 3, 1, 1, 0, 0, 0 },
};

/* bn: m pixels of c channels, x/y pixel strides c+xpad, c+ypad */
struct bn_shape { int m, c, xpad, ypad, scale, center, unbiased; };
static const struct bn_shape bn_shapes[] = {
	{ 70, 13, 0, 0, 1, 1, 1 },
	{ 2 * 9 * 7, 32, 5, 0, 0, 1, 1 },               /* InceptionV3: scale=False */
	{ 33, 17, 0, 3, 0, 0, 0 },
	{ 5 * 8 * 8, 48, 16, 16, 1, 0, 1 },
	{ 200, 20, 12, 7, 1, 0, 1 },
	{ 40000, 64, 0, 0, 1, 1, 1 },                   /* long sums */
};

/* pool: k x k window, stride s; x/y pixel strides c+xpad, c+ypad; ties:
 * integer inputs, so max pooling must route to the first maximum */
struct pool_shape { int n, ih, iw, c, k, s, same, avg, xpad, ypad, ties; };
static const struct pool_shape pool_shapes[] = {
	{ 2, 9, 9, 8, 3, 2, 0, 0, 0, 0, 0 },
	{ 2, 15, 15, 40, 3, 2, 0, 0, 0, 0, 1 },
	{ 2, 7, 8, 5, 3, 1, 1, 0, 3, 0, 1 },            /* 'same' padding, ties */
	{ 1, 9, 10, 70, 2, 2, 1, 0, 0, 6, 0 },          /* pad after only */
	{ 1, 7, 7, 16, 2, 2, 1, 0, 0, 0, 0 },
	{ 3, 8, 8, 16, 3, 2, 0, 0, 16, 32, 0 },
	{ 2, 9, 9, 8, 3, 2, 0, 1, 0, 0, 0 },
	{ 2, 7, 8, 5, 3, 1, 1, 1, 3, 0, 0 },            /* average excludes padding */
	{ 1, 9, 10, 70, 2, 2, 1, 1, 0, 6, 0 },
	{ 2, 10, 10, 16, 3, 2, 1, 1, 4, 0, 0 },         /* asymmetric, even */
	{ 3, 8, 8, 16, 3, 2, 0, 1, 16, 32, 0 },
	{ 1, 5, 5, 3, 3, 1, 1, 1, 0, 0, 0 },
};

struct ew_shape { int m, c, x_ld, y_ld; };
static const struct ew_shape ew_shapes[] = {
	{ 3 * 5 * 7, 11, 19, 14 },
	{ 300, 40, 56, 72 },
	{ 300, 40, 40, 40 },
};

struct gap_shape { int n, hw, c, x_ld; };
static const struct gap_shape gap_shapes[] = {
	{ 3, 7 * 5, 21, 29 },
	{ 3, 64, 100, 120 },
};

struct dense_shape { int n, in, out, bias; };
static const struct dense_shape dense_shapes[] = {
	{ 5, 2048, 1, 1 },              /* the paper's head */
	{ 7, 300, 33, 1 },
	{ 7, 33, 10, 0 },
	{ 1, 17, 3, 1 },
};

/* flat ops: n elements; for losses n samples of k classes */
struct flat_shape { int n, k; };
static const struct flat_shape flat_shapes[] = {
	{ 100003, 0 },
	{ 30000, 0 },
};
static const struct flat_shape loss_shapes[] = {
	{ 9, 4 },
	{ 37, 5 },
};

/* ---- runners: one op (fwd or bwd), one shape, on R and X ---- */

struct row;
typedef void (*run_fn)(const void *shape, double tol);

static struct nn_conv
conv_of(const struct conv_shape *t)
{
	struct nn_conv p = { .n = t->n, .ih = t->ih, .iw = t->iw, .ic = t->ic, .oc = t->oc,
	                     .kh = t->kh, .kw = t->kw, .sh = t->s, .sw = t->s };

	geom(t->ih, t->kh, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->kw, t->s, t->same, &p.ow, &p.pl);
	p.x_ld = t->ic + t->xpad;
	p.y_ld = t->oc + t->ypad;
	return p;
}

#define NX(p) ((size_t)(p).n * (p).ih * (p).iw * (p).x_ld)
#define NY(p) ((size_t)(p).n * (p).oh * (p).ow * (p).y_ld)
#define NW(p) ((size_t)(p).kh * (p).kw * (p).ic * (p).oc)

static void
run_conv_fwd(const void *shape, double tol)
{
	const struct conv_shape *t = shape;
	struct nn_conv p = conv_of(t);
	struct buf x = rnd(NX(p)), w = buf_new(NW(p), -0.5f, 0.5f), b = rnd(p.oc), y = rnd(NY(p));

	R->conv_fwd(R, &p, x.r, w.r, t->bias ? b.r : NULL, y.r);
	X->conv_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check("conv_fwd y", &y, tol);
	float *s = snap(&y);
	X->conv_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check_same("conv_fwd", &y, s);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
}

static void
run_conv_bwd_data(const void *shape, double tol)
{
	struct nn_conv p = conv_of(shape);
	struct buf dy = rnd(NY(p)), w = buf_new(NW(p), -0.5f, 0.5f), dx = rnd(NX(p));

	R->conv_bwd_data(R, &p, dy.r, w.r, dx.r, 1);
	X->conv_bwd_data(X, &p, dy.x, w.x, dx.x, 1);
	check("conv_bwd_data dx (beta 1)", &dx, tol);
	R->conv_bwd_data(R, &p, dy.r, w.r, dx.r, 0);
	X->conv_bwd_data(X, &p, dy.x, w.x, dx.x, 0);
	check("conv_bwd_data dx (beta 0)", &dx, tol);
	float *s = snap(&dx);
	X->conv_bwd_data(X, &p, dy.x, w.x, dx.x, 0);
	check_same("conv_bwd_data", &dx, s);
	buf_free(&dy); buf_free(&w); buf_free(&dx);
}

static void
run_conv_bwd_weights(const void *shape, double tol)
{
	const struct conv_shape *t = shape;
	struct nn_conv p = conv_of(t);
	struct buf x = rnd(NX(p)), dy = rnd(NY(p)), dw = rnd(NW(p)), db = rnd(p.oc);

	R->conv_bwd_weights(R, &p, x.r, dy.r, dw.r, t->bias ? db.r : NULL);
	X->conv_bwd_weights(X, &p, x.x, dy.x, dw.x, t->bias ? db.x : NULL);
	check("conv_bwd_weights dw", &dw, tol);
	check("conv_bwd_weights db", &db, tol);
	float *s = snap(&dw);
	X->conv_bwd_weights(X, &p, x.x, dy.x, dw.x, t->bias ? db.x : NULL);
	check_same("conv_bwd_weights", &dw, s);
	buf_free(&x); buf_free(&dy); buf_free(&dw); buf_free(&db);
}

/* The buffers of a batch-norm case. */
struct bn_bufs {
	struct nn_bn p;
	struct buf x, y, dy, dx, g, bt, mean, is, rm, rv, dg, db;
};

static void
bn_open(struct bn_bufs *b, const struct bn_shape *t)
{
	b->p = (struct nn_bn){ t->m, t->c, t->c + t->xpad, t->c + t->ypad, 1e-3f, 0.99f, t->unbiased };
	b->x = buf_new((size_t)t->m * b->p.x_ld, -2, 3);
	b->y = rnd((size_t)t->m * b->p.y_ld);
	b->dy = rnd(b->y.n);
	b->dx = rnd(b->x.n);
	b->g = buf_new(t->c, 0.5f, 1.5f);
	b->bt = rnd(t->c);
	b->mean = buf_new(t->c, -0.2f, 0.2f);
	b->is = buf_new(t->c, 0.5f, 1.5f);
	b->rm = rnd(t->c);
	b->rv = buf_new(t->c, 0.5f, 2);
	b->dg = rnd(t->c);
	b->db = rnd(t->c);
}

static void
bn_close(struct bn_bufs *b)
{
	struct buf *all[] = { &b->x, &b->y, &b->dy, &b->dx, &b->g, &b->bt, &b->mean, &b->is,
	                      &b->rm, &b->rv, &b->dg, &b->db };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		buf_free(all[i]);
}

/* gamma/beta of side s (0 ref, 1 backend), NULL when the shape has none. */
#define GAM(b, t, s) ((t)->scale ? ((s) ? (b).g.x : (b).g.r) : NULL)
#define BET(b, t, s) ((t)->center ? ((s) ? (b).bt.x : (b).bt.r) : NULL)

static void
run_bn_fwd_train(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	R->bn_fwd_train(R, &b.p, b.x.r, GAM(b, t, 0), BET(b, t, 0), b.y.r, b.mean.r, b.is.r,
	                b.rm.r, b.rv.r);
	X->bn_fwd_train(X, &b.p, b.x.x, GAM(b, t, 1), BET(b, t, 1), b.y.x, b.mean.x, b.is.x,
	                b.rm.x, b.rv.x);
	check("bn_fwd_train y", &b.y, tol);
	check("bn_fwd_train mean", &b.mean, tol);
	check("bn_fwd_train invstd", &b.is, tol);
	check("bn_fwd_train moving mean", &b.rm, tol);
	check("bn_fwd_train moving var", &b.rv, tol);
	bn_close(&b);
}

static void
run_bn_fwd_infer(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	R->bn_fwd_infer(R, &b.p, b.x.r, GAM(b, t, 0), BET(b, t, 0), b.rm.r, b.rv.r, b.y.r);
	X->bn_fwd_infer(X, &b.p, b.x.x, GAM(b, t, 1), BET(b, t, 1), b.rm.x, b.rv.x, b.y.x);
	check("bn_fwd_infer y", &b.y, tol);
	bn_close(&b);
}

static void
run_bn_bwd(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;
	float *s;

	bn_open(&b, t);
	/* mean and invstd of the batch, as the forward pass saves them */
	R->bn_fwd_train(R, &b.p, b.x.r, NULL, NULL, b.y.r, b.mean.r, b.is.r, b.rm.r, b.rv.r);
	R->download(R, b.mean.h, b.mean.r, b.mean.n * 4);
	R->download(R, b.is.h, b.is.r, b.is.n * 4);
	X->upload(X, b.mean.x, b.mean.h, b.mean.n * 4);
	X->upload(X, b.is.x, b.is.h, b.is.n * 4);
	for (int beta = 1; beta >= 0; beta--) {
		R->bn_bwd(R, &b.p, b.x.r, b.dy.r, GAM(b, t, 0), b.mean.r, b.is.r, b.dx.r,
		          t->scale ? b.dg.r : NULL, t->center ? b.db.r : NULL, (float)beta);
		X->bn_bwd(X, &b.p, b.x.x, b.dy.x, GAM(b, t, 1), b.mean.x, b.is.x, b.dx.x,
		          t->scale ? b.dg.x : NULL, t->center ? b.db.x : NULL, (float)beta);
		check(beta ? "bn_bwd dx (beta 1)" : "bn_bwd dx (beta 0)", &b.dx, tol);
		check("bn_bwd dgamma", &b.dg, tol);
		check("bn_bwd dbeta", &b.db, tol);
	}
	s = snap(&b.dx);
	X->bn_bwd(X, &b.p, b.x.x, b.dy.x, GAM(b, t, 1), b.mean.x, b.is.x, b.dx.x,
	          t->scale ? b.dg.x : NULL, t->center ? b.db.x : NULL, 0);
	check_same("bn_bwd", &b.dx, s);
	/* dgamma and dbeta not wanted */
	R->bn_bwd(R, &b.p, b.x.r, b.dy.r, GAM(b, t, 0), b.mean.r, b.is.r, b.dx.r, NULL, NULL, 1);
	X->bn_bwd(X, &b.p, b.x.x, b.dy.x, GAM(b, t, 1), b.mean.x, b.is.x, b.dx.x, NULL, NULL, 1);
	check("bn_bwd dx (no dgamma, dbeta)", &b.dx, tol);
	bn_close(&b);
}

static void
run_bn_bwd_infer(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	for (int beta = 1; beta >= 0; beta--) {
		R->bn_bwd_infer(R, &b.p, b.dy.r, GAM(b, t, 0), b.rv.r, b.dx.r, (float)beta);
		X->bn_bwd_infer(X, &b.p, b.dy.x, GAM(b, t, 1), b.rv.x, b.dx.x, (float)beta);
		check(beta ? "bn_bwd_infer dx (beta 1)" : "bn_bwd_infer dx (beta 0)", &b.dx, tol);
	}
	bn_close(&b);
}

static void
run_bn_apply(const void *shape, double tol)
{
	const struct bn_shape *t = shape;
	struct bn_bufs b;

	bn_open(&b, t);
	for (int relu = 0; relu < 2; relu++) {
		R->bn_apply(R, &b.p, b.x.r, GAM(b, t, 0), BET(b, t, 0), b.mean.r, b.is.r, b.y.r, relu);
		X->bn_apply(X, &b.p, b.x.x, GAM(b, t, 1), BET(b, t, 1), b.mean.x, b.is.x, b.y.x, relu);
		check(relu ? "bn_apply y (relu)" : "bn_apply y", &b.y, tol);
	}
	bn_close(&b);
}

static void
run_relu_fwd(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld };
	struct buf x = rnd((size_t)p.m * p.x_ld), y = rnd((size_t)p.m * p.y_ld);

	R->relu_fwd(R, &p, x.r, y.r);
	X->relu_fwd(X, &p, x.x, y.x);
	check("relu_fwd y", &y, tol);
	if (p.x_ld == p.y_ld) {
		R->relu_fwd(R, &p, x.r, x.r);
		X->relu_fwd(X, &p, x.x, x.x);
		check("relu_fwd in place", &x, tol);
	}
	buf_free(&x); buf_free(&y);
}

static void
run_relu_bwd(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld };
	struct buf y = rnd((size_t)p.m * p.y_ld), dy = rnd(y.n), dx = rnd((size_t)p.m * p.x_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->relu_bwd(R, &p, y.r, dy.r, dx.r, (float)beta);
		X->relu_bwd(X, &p, y.x, dy.x, dx.x, (float)beta);
		check(beta ? "relu_bwd dx (beta 1)" : "relu_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&y); buf_free(&dy); buf_free(&dx);
}

static void
run_add(const void *shape, double tol)
{
	const struct ew_shape *t = shape;
	struct nn_ew p = { t->m, t->c, t->x_ld, t->y_ld };
	struct buf x = rnd((size_t)p.m * p.x_ld), y = rnd((size_t)p.m * p.y_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->add(R, &p, x.r, y.r, (float)beta);
		X->add(X, &p, x.x, y.x, (float)beta);
		check(beta ? "add y (beta 1)" : "add y (beta 0: copy)", &y, tol);
	}
	buf_free(&x); buf_free(&y);
}

static struct nn_pool
pool_of(const struct pool_shape *t)
{
	struct nn_pool p = { .n = t->n, .ih = t->ih, .iw = t->iw, .c = t->c, .kh = t->k,
	                     .kw = t->k, .sh = t->s, .sw = t->s, .x_ld = t->c + t->xpad,
	                     .y_ld = t->c + t->ypad, .avg = t->avg };

	geom(t->ih, t->k, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->k, t->s, t->same, &p.ow, &p.pl);
	return p;
}

static void
run_pool_fwd(const void *shape, double tol)
{
	const struct pool_shape *t = shape;
	struct nn_pool p = pool_of(t);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.x_ld, ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	struct buf x = t->ties ? buf_ints(nx, 3) : rnd(nx), y = rnd(ny);

	R->pool_fwd(R, &p, x.r, y.r);
	X->pool_fwd(X, &p, x.x, y.x);
	check(p.avg ? "avgpool_fwd y" : "maxpool_fwd y", &y, tol);
	buf_free(&x); buf_free(&y);
}

static void
run_pool_bwd(const void *shape, double tol)
{
	const struct pool_shape *t = shape;
	struct nn_pool p = pool_of(t);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.x_ld, ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	struct buf x = t->ties ? buf_ints(nx, 3) : rnd(nx), dy = rnd(ny), dx = rnd(nx);

	for (int beta = 1; beta >= 0; beta--) {
		R->pool_bwd(R, &p, x.r, dy.r, dx.r, (float)beta);
		X->pool_bwd(X, &p, x.x, dy.x, dx.x, (float)beta);
		check(beta ? "pool_bwd dx (beta 1)" : "pool_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&x); buf_free(&dy); buf_free(&dx);
}

static void
run_gap_fwd(const void *shape, double tol)
{
	const struct gap_shape *t = shape;
	struct nn_gap p = { t->n, t->hw, t->c, t->x_ld };
	struct buf x = rnd((size_t)p.n * p.hw * p.x_ld), y = rnd((size_t)p.n * p.c);

	R->gap_fwd(R, &p, x.r, y.r);
	X->gap_fwd(X, &p, x.x, y.x);
	check("gap_fwd y", &y, tol);
	buf_free(&x); buf_free(&y);
}

static void
run_gap_bwd(const void *shape, double tol)
{
	const struct gap_shape *t = shape;
	struct nn_gap p = { t->n, t->hw, t->c, t->x_ld };
	struct buf dy = rnd((size_t)p.n * p.c), dx = rnd((size_t)p.n * p.hw * p.x_ld);

	for (int beta = 1; beta >= 0; beta--) {
		R->gap_bwd(R, &p, dy.r, dx.r, (float)beta);
		X->gap_bwd(X, &p, dy.x, dx.x, (float)beta);
		check(beta ? "gap_bwd dx (beta 1)" : "gap_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&dy); buf_free(&dx);
}

static void
run_dense_fwd(const void *shape, double tol)
{
	const struct dense_shape *t = shape;
	struct nn_dense p = { t->n, t->in, t->out };
	struct buf x = rnd((size_t)p.n * p.in), w = buf_new((size_t)p.in * p.out, -0.1f, 0.1f);
	struct buf b = rnd(p.out), y = rnd((size_t)p.n * p.out);

	R->dense_fwd(R, &p, x.r, w.r, t->bias ? b.r : NULL, y.r);
	X->dense_fwd(X, &p, x.x, w.x, t->bias ? b.x : NULL, y.x);
	check("dense_fwd y", &y, tol);
	buf_free(&x); buf_free(&w); buf_free(&b); buf_free(&y);
}

static void
run_dense_bwd(const void *shape, double tol)
{
	const struct dense_shape *t = shape;
	struct nn_dense p = { t->n, t->in, t->out };
	struct buf x = rnd((size_t)p.n * p.in), w = buf_new((size_t)p.in * p.out, -0.1f, 0.1f);
	struct buf dy = rnd((size_t)p.n * p.out), dx = rnd(x.n), dw = rnd(w.n), db = rnd(p.out);

	for (int beta = 1; beta >= 0; beta--) {
		R->dense_bwd(R, &p, x.r, w.r, dy.r, dx.r, dw.r, t->bias ? db.r : NULL, (float)beta);
		X->dense_bwd(X, &p, x.x, w.x, dy.x, dx.x, dw.x, t->bias ? db.x : NULL, (float)beta);
		check(beta ? "dense_bwd dx (beta 1)" : "dense_bwd dx (beta 0)", &dx, tol);
		check("dense_bwd dw", &dw, tol);
		check("dense_bwd db", &db, tol);
	}
	R->dense_bwd(R, &p, x.r, w.r, dy.r, NULL, dw.r, NULL, 0);
	X->dense_bwd(X, &p, x.x, w.x, dy.x, NULL, dw.x, NULL, 0);
	check("dense_bwd dw (no dx, db)", &dw, tol);
	buf_free(&x); buf_free(&w); buf_free(&dy); buf_free(&dx); buf_free(&dw); buf_free(&db);
}

static void
run_dropout_fwd(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf x = rnd(n), y = rnd(n), mask = rnd(n);

	R->dropout_fwd(R, n, 0.5f, 0x1234567890abcdefull, 77, x.r, y.r, mask.r);
	X->dropout_fwd(X, n, 0.5f, 0x1234567890abcdefull, 77, x.x, y.x, mask.x);
	check("dropout_fwd mask", &mask, 0);
	check("dropout_fwd y", &y, tol);
	R->dropout_fwd(R, n, 0.3f, 5, (1ull << 32) + 3, x.r, y.r, mask.r);
	X->dropout_fwd(X, n, 0.3f, 5, (1ull << 32) + 3, x.x, y.x, mask.x);
	check("dropout_fwd mask (rate 0.3, 64-bit counter)", &mask, 0);
	check("dropout_fwd y (rate 0.3)", &y, tol);
	buf_free(&x); buf_free(&y); buf_free(&mask);
}

static void
run_dropout_bwd(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf x = rnd(n), y = rnd(n), mask = rnd(n), dy = rnd(n), dx = rnd(n);

	R->dropout_fwd(R, n, 0.3f, 42, 7, x.r, y.r, mask.r);   /* one mask for both */
	R->download(R, mask.h, mask.r, n * 4);
	X->upload(X, mask.x, mask.h, n * 4);
	for (int beta = 1; beta >= 0; beta--) {
		R->dropout_bwd(R, n, mask.r, dy.r, dx.r, (float)beta);
		X->dropout_bwd(X, n, mask.x, dy.x, dx.x, (float)beta);
		check(beta ? "dropout_bwd dx (beta 1)" : "dropout_bwd dx (beta 0)", &dx, tol);
	}
	buf_free(&x); buf_free(&y); buf_free(&mask); buf_free(&dy); buf_free(&dx);
}

static void
run_bce_logits(const void *shape, double tol)
{
	int n = ((const struct flat_shape *)shape)->n;
	struct buf z = buf_new(n, -20, 20), y = buf_ints(n, 2), w = buf_new(n, 0.1f, 2);
	struct buf loss = rnd(1), dz = rnd(n), prob = rnd(n);
	float clips[] = { 0, 1e-7f, 1e-3f };

	for (int i = 0; i < 3; i++) {
		R->bce_logits(R, n, z.r, y.r, i ? w.r : NULL, clips[i], loss.r, dz.r, prob.r);
		X->bce_logits(X, n, z.x, y.x, i ? w.x : NULL, clips[i], loss.x, dz.x, prob.x);
		check("bce_logits loss", &loss, tol);
		check("bce_logits dz", &dz, tol);
		check("bce_logits prob", &prob, tol);
	}
	buf_free(&z); buf_free(&y); buf_free(&w); buf_free(&loss); buf_free(&dz); buf_free(&prob);
}

static void
run_softmax_ce(const void *shape, double tol)
{
	const struct flat_shape *t = shape;
	int n = t->n, k = t->k;
	struct buf z = buf_new((size_t)n * k, -12, 12), lab = buf_ints(n, k), w = buf_new(n, 0.1f, 2);
	struct buf loss = rnd(1), dz = rnd((size_t)n * k), prob = rnd((size_t)n * k);

	for (int i = 0; i < 2; i++) {
		R->softmax_ce(R, n, k, z.r, lab.r, i ? w.r : NULL, loss.r, dz.r, prob.r);
		X->softmax_ce(X, n, k, z.x, lab.x, i ? w.x : NULL, loss.x, dz.x, prob.x);
		check("softmax_ce loss", &loss, tol);
		check("softmax_ce dz", &dz, tol);
		check("softmax_ce prob", &prob, tol);
	}
	buf_free(&z); buf_free(&lab); buf_free(&w); buf_free(&loss); buf_free(&dz); buf_free(&prob);
}

static void
run_adam(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf p = rnd(n), g = rnd(n), m = buf_new(n, -0.1f, 0.1f), v = buf_new(n, 0, 0.01f);

	for (int t = 0; t < 3; t++) {
		R->adam(R, n, p.r, g.r, m.r, v.r, 1e-3f, 0.9f, 0.999f, 1e-7f, t ? 1e-4f : 0);
		X->adam(X, n, p.x, g.x, m.x, v.x, 1e-3f, 0.9f, 0.999f, 1e-7f, t ? 1e-4f : 0);
	}
	check("adam p", &p, tol);
	check("adam m", &m, tol);
	check("adam v", &v, tol);
	buf_free(&p); buf_free(&g); buf_free(&m); buf_free(&v);
}

static void
run_sgd(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf p = rnd(n), g = rnd(n), v = buf_new(n, -0.1f, 0.1f);

	for (int t = 0; t < 4; t++) {   /* plain and nesterov, with and without l2 */
		R->sgd(R, n, p.r, g.r, v.r, 0.01f, 0.9f, t & 1, t > 1 ? 1e-4f : 0);
		X->sgd(X, n, p.x, g.x, v.x, 0.01f, 0.9f, t & 1, t > 1 ? 1e-4f : 0);
	}
	check("sgd p", &p, tol);
	check("sgd v", &v, tol);
	buf_free(&p); buf_free(&g); buf_free(&v);
}

static void
run_input(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	uint8_t *u8 = malloc(n);
	uint16_t *u16 = malloc(n * 2);
	float *f = malloc(n * 4);
	struct buf d = rnd(n);

	for (size_t i = 0; i < n; i++) {
		u8[i] = (uint8_t)rng_below(&rg, 256);
		u16[i] = (uint16_t)rng_below(&rg, 65536);
		f[i] = (float)rng_normal(&rg);
	}
	R->input(R, NN_IN_U8, u8, n, 1 / 127.5f, -1, d.r);
	X->input(X, NN_IN_U8, u8, n, 1 / 127.5f, -1, d.x);
	check("input u8", &d, tol);
	R->input(R, NN_IN_U16, u16, n, 1 / 65535.0f, 0, d.r);
	X->input(X, NN_IN_U16, u16, n, 1 / 65535.0f, 0, d.x);
	check("input u16", &d, tol);
	R->input(R, NN_IN_F32, f, n, 2, 0.5f, d.r);
	X->input(X, NN_IN_F32, f, n, 2, 0.5f, d.x);
	check("input f32", &d, tol);
	free(u8); free(u16); free(f); buf_free(&d);
}

/* nonfinite (optional): exactly ref's answer, wherever the bad value is. */
static void
run_nonfinite(const void *shape, double tol)
{
	size_t n = (size_t)((const struct flat_shape *)shape)->n;
	struct buf x = buf_new(n, -3e35f, 3e35f);
	const float bad[] = { NAN, INFINITY, -INFINITY };

	assert_int_equal(X->nonfinite(X, x.x, n), R->nonfinite(R, x.r, n));
	for (int i = 0; i < 3; i++) {
		size_t at = i == 0 ? n - 1 : i == 1 ? 0 : n / 2;

		x.h[at] = bad[i];
		X->upload(X, x.x + at, x.h + at, 4);
		R->upload(R, x.r + at, x.h + at, 4);
		assert_int_equal(X->nonfinite(X, x.x, n), 1);
		assert_int_equal(R->nonfinite(R, x.r, n), 1);
		assert_int_equal(X->nonfinite(X, x.x, at), 0);  /* the range ends before it */
		x.h[at] = 0;
		X->upload(X, x.x + at, x.h + at, 4);
		R->upload(R, x.r + at, x.h + at, 4);
	}
	buf_free(&x);
}

/* ---- the table ---- */

#define SHAPES(a) (a), sizeof (a)[0], sizeof (a) / sizeof (a)[0]
#define ALL(t) { t, t, t, t, t }
#define NOT_FP16(t) { t, t, t, t, NO }

struct row {
	const char *op;
	run_fn run;
	const void *shapes;
	size_t size, count;
	double tol[NP];         /* P_REF (and cpu), P_CUDA, P_TF32, P_BF16, P_FP16 */
	size_t opt;             /* offsetof the op when optional, else 0 */
	const char *why;
};

/* conv and dense: tf32 and fp16 round operands to 10 bits (2^-11
 * relative), bf16 to 7 (2^-8); sums of up to 4032 products accumulate in
 * fp32.  Everything else is fp32 in every precision. */
#define T_GEMM(ref, cuda) { ref, cuda, 2e-2, 6e-2, 2e-2 }

static const struct row rows[] = {
	{ "input", run_input, SHAPES(flat_shapes), ALL(1e-6), 0,
	  "x*scale+offset: one rounding (an FMA may skip it)" },
	{ "conv_fwd", run_conv_fwd, SHAPES(conv_shapes), T_GEMM(1e-4, 5e-4), 0,
	  "sums of up to 4032 products in another order; cuDNN's Winograd/FFT round more" },
	{ "conv_bwd_data", run_conv_bwd_data, SHAPES(conv_shapes), T_GEMM(1e-4, 5e-4), 0,
	  "as conv_fwd" },
	{ "conv_bwd_weights", run_conv_bwd_weights, SHAPES(conv_shapes), T_GEMM(1e-4, 5e-4), 0,
	  "sums over n*oh*ow pixels (up to 392) in another order" },
	{ "bn_fwd_train", run_bn_fwd_train, SHAPES(bn_shapes), ALL(1e-4), 0,
	  "statistics over up to 40000 pixels (ref sums in double, as cpu does; cuda in "
	  "double partials)" },
	{ "bn_fwd_infer", run_bn_fwd_infer, SHAPES(bn_shapes), ALL(1e-5), 0,
	  "a few roundings per element; oneDNN folds the scale" },
	{ "bn_bwd", run_bn_bwd, SHAPES(bn_shapes), ALL(1e-4), 0,
	  "two sums over the pixels, as bn_fwd_train" },
	{ "bn_bwd_infer", run_bn_bwd_infer, SHAPES(bn_shapes), ALL(1e-5), 0,
	  "dy*gamma*rsqrt(var+eps): a few roundings" },
	{ "bn_apply", run_bn_apply, SHAPES(bn_shapes), ALL(1e-5), offsetof(struct nn_backend, bn_apply),
	  "(x-mean)*invstd*gamma+beta: a few roundings; optional op" },
	{ "relu_fwd", run_relu_fwd, SHAPES(ew_shapes), ALL(0), 0, "max(x, 0) is exact" },
	{ "relu_bwd", run_relu_bwd, SHAPES(ew_shapes), ALL(1e-6), 0,
	  "exact but for one add with beta 1" },
	{ "add", run_add, SHAPES(ew_shapes), ALL(1e-6), 0, "one add (beta 1) or a copy" },
	{ "pool_fwd", run_pool_fwd, SHAPES(pool_shapes), ALL(1e-5), 0,
	  "max is exact; average: a sum of up to 9 and one division" },
	{ "pool_bwd", run_pool_bwd, SHAPES(pool_shapes), ALL(1e-5), 0,
	  "max routes to the first maximum (exact); average spreads dy/count" },
	{ "gap_fwd", run_gap_fwd, SHAPES(gap_shapes), ALL(1e-5), 0,
	  "a mean over up to 64 pixels in another order" },
	{ "gap_bwd", run_gap_bwd, SHAPES(gap_shapes), ALL(1e-6), 0, "dy/hw broadcast, one add" },
	{ "dense_fwd", run_dense_fwd, SHAPES(dense_shapes), T_GEMM(1e-4, 1e-4), 0,
	  "dot products of up to 2048 terms (sgemm/cuBLAS blocking)" },
	{ "dense_bwd", run_dense_bwd, SHAPES(dense_shapes), T_GEMM(1e-4, 1e-4), 0,
	  "as dense_fwd; db sums n rows" },
	{ "dropout_fwd", run_dropout_fwd, SHAPES(flat_shapes), ALL(1e-6), 0,
	  "the mask is the counter-based generator's: identical (checked with 0); y = x*mask" },
	{ "dropout_bwd", run_dropout_bwd, SHAPES(flat_shapes), ALL(1e-6), 0, "dy*mask, one add" },
	{ "bce_logits", run_bce_logits, SHAPES(loss_shapes), NOT_FP16(1e-6), 0,
	  "log1p/exp of the logits, clipped as Keras; fp16 scales dz (test_nn_cuda)" },
	{ "softmax_ce", run_softmax_ce, SHAPES(loss_shapes), NOT_FP16(1e-6), 0,
	  "log-sum-exp over k classes; fp16 scales dz (test_nn_cuda)" },
	{ "adam", run_adam, SHAPES(flat_shapes), NOT_FP16(1e-5), 0,
	  "3 steps, sqrt and a division each; fp16 unscales g (test_nn_cuda)" },
	{ "sgd", run_sgd, SHAPES(flat_shapes), NOT_FP16(1e-5), 0,
	  "4 steps (nesterov, l2); fp16 unscales g (test_nn_cuda)" },
	{ "nonfinite", run_nonfinite, SHAPES(flat_shapes), ALL(0), offsetof(struct nn_backend, nonfinite),
	  "a yes/no answer: exact; optional op" },
};
#define NROWS (sizeof rows / sizeof rows[0])

/* ---- backends ---- */

struct bk {
	const char *label, *name;
	int precision, col;
	const char *layout;             /* RADPIPE_CPU_LAYOUT, or NULL */
};

static const struct bk backends[] = {
	{ "ref", "ref", NN_PREC_FP32, P_REF, NULL },
	{ "cpu/nhwc", "cpu", NN_PREC_FP32, P_REF, "nhwc" },
	{ "cpu/blocked", "cpu", NN_PREC_FP32, P_REF, "blocked" },
	{ "cpu", "cpu", NN_PREC_FP32, P_REF, "auto" },
	{ "cuda", "cuda", NN_PREC_FP32, P_CUDA, NULL },
	{ "cuda/tf32", "cuda", NN_PREC_TF32, P_TF32, NULL },
	{ "cuda/bf16", "cuda", NN_PREC_BF16, P_BF16, NULL },
	{ "cuda/fp16", "cuda", NN_PREC_FP16, P_FP16, NULL },
};

/* One cmocka test: one row, on the backend in X. */
struct job {
	const struct row *row;
	int col;
	int exact;              /* ref against ref: every tolerance is 0 */
	char name[96];
};

static void
run_job(void **state)
{
	const struct job *j = *state;
	const struct row *r = j->row;
	const char *sh = r->shapes;

	if (r->opt && *(void **)((char *)X + r->opt) == NULL) {
		printf("  %s: %s: not offered (optional)\n", X->name, r->op);
		skip();
	}
	rng_init(&rg, 42, (uint64_t)(r - rows), 0);     /* inputs independent of order */
	for (size_t i = 0; i < r->count; i++)
		r->run(sh + i * r->size, j->exact ? 0 : r->tol[j->col]);
	if (nn_backend_error(X))
		fail_msg("%s: %s: backend error: %s", X->name, r->op, nn_backend_error(X));
}

/* Is b's label in RADPIPE_TEST_OPS_BACKENDS (unset: all)? */
static int
wanted(const struct bk *b)
{
	const char *s = getenv("RADPIPE_TEST_OPS_BACKENDS");
	char list[256], *tok, *save;

	if (s == NULL || *s == '\0')
		return 1;
	snprintf(list, sizeof list, "%s", s);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, b->label) == 0)
			return 1;
	return 0;
}

/* Runs every row on backend b; 0 when it passed or did not open. */
static int
run_backend(const struct bk *b)
{
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1, .precision = b->precision };
	struct CMUnitTest tests[NROWS];
	struct job jobs[NROWS];
	char err[256] = "";
	int n = 0, rc;

	if (b->layout)
		setenv("RADPIPE_CPU_LAYOUT", b->layout, 1);
	X = nn_backend_open(b->name, &o, err, sizeof err);
	unsetenv("RADPIPE_CPU_LAYOUT");
	if (X == NULL) {
		printf("skipped %s (does not open here): %s\n", b->label, err);
		return 0;
	}
	for (size_t i = 0; i < NROWS; i++) {
		if (rows[i].tol[b->col] < 0)
			continue;
		jobs[n] = (struct job){ .row = &rows[i], .col = b->col,
		                        .exact = strcmp(b->name, "ref") == 0 };
		snprintf(jobs[n].name, sizeof jobs[n].name, "%s: %s", b->label, rows[i].op);
		tests[n] = (struct CMUnitTest){ .name = jobs[n].name, .test_func = run_job,
		                                .initial_state = &jobs[n] };
		n++;
	}
	rc = _cmocka_run_group_tests(b->label, tests, n, NULL, NULL);
	X->close(X);
	return rc;
}

int
main(void)
{
	struct nn_backend_opts o = { 0 };
	char err[256];
	int rc = 0;

	unsetenv("RADPIPE_CUDA_PRECISION");     /* each cuda entry names its own */
	if ((R = nn_ref_open(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "test_nn_ops: ref backend: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
		if (wanted(&backends[i]))
			rc |= run_backend(&backends[i]) != 0;
	R->close(R);
	return rc;
}
