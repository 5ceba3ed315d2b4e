/* test_nn_fd.c — every backward op of the reference against central finite
 * differences of its forward op, in double precision (ref_ops.h compiled
 * with real = double).
 *
 * Each case builds a scalar L = sum_i r_i * y_i (r random) over the op's
 * output, computes dL/d(input, weights) with the backward op, and compares
 * with (L(v+h) - L(v-h)) / 2h, h = 1e-5, for every element.  The error is
 * max|analytic - numeric| / max|numeric|; tolerance 1e-6 (measured values
 * are around 1e-9 .. 1e-11).  Inputs are random and never zero; strided
 * views (ld > channels) check that padding channels are neither read nor
 * written; beta = 1 checks accumulation, beta = 0 over NaNs checks clearing.
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

typedef double real;
#include "nn/ref/ref_ops.h"
#include "rng.h"

#define H 1e-5
#define TOL 1e-6

static struct rng R;

/* Uniform in +-[lo, hi): random sign, never zero. */
static void
fill(double *a, size_t n, double lo, double hi)
{
	for (size_t i = 0; i < n; i++) {
		double v = rng_range(&R, lo, hi);
		a[i] = rng_u32(&R) & 1 ? v : -v;
	}
}

static double *
vec(size_t n, double lo, double hi)
{
	double *a = calloc(n ? n : 1, sizeof *a);
	fill(a, n, lo, hi);
	return a;
}

/* A scalar function of the op's inputs. */
typedef double lossfn(void *ctx);

/* Relative error of gradient ga of f wrt v[0..n), by central differences. */
static double
fd_err(lossfn *f, void *ctx, double *v, size_t n, const double *ga)
{
	double maxd = 0, maxn = 0;

	for (size_t i = 0; i < n; i++) {
		double s = v[i], lp, lm, num;
		v[i] = s + H;
		lp = f(ctx);
		v[i] = s - H;
		lm = f(ctx);
		v[i] = s;
		num = (lp - lm) / (2 * H);
		maxd = fmax(maxd, fabs(num - ga[i]));
		maxn = fmax(maxn, fabs(num));
	}
	assert_true(maxn > 0);
	return maxd / maxn;
}

static double worst;    /* largest error seen, printed at the end */

static void
expect_close(const char *what, double err)
{
	if (err > worst)
		worst = err;
	if (err >= TOL)
		fprintf(stderr, "%s: relative error %.3g >= %g\n", what, err, TOL);
	assert_true(err < TOL);
}

/* Analytic gradient from a backward output of (px, c) pixels at stride ld:
 * ga = dx - beta*pre on the view, 0 on the padding channels, which must
 * still hold pre. */
static double *
view_grad(const double *dx, const double *pre, double beta, int px, int c, int ld)
{
	double *ga = calloc((size_t)px * ld, sizeof *ga);

	for (int i = 0; i < px; i++)
		for (int k = 0; k < ld; k++) {
			size_t j = (size_t)i * ld + k;
			if (k < c)
				ga[j] = beta == 0 ? dx[j] : dx[j] - beta * pre[j];
			else
				assert_memory_equal(&dx[j], &pre[j], sizeof dx[j]);
		}
	return ga;
}

/* Sum of r*y over the view (px, c, ld). */
static double
dotv(const double *r, const double *y, int px, int c, int ld)
{
	double s = 0;

	for (int i = 0; i < px; i++)
		for (int k = 0; k < c; k++)
			s += r[(size_t)i * ld + k] * y[(size_t)i * ld + k];
	return s;
}

/* Backward prefill: random for beta = 1, NaN for beta = 0. */
static double *
prefill(size_t n, double beta)
{
	double *a = vec(n, 0.5, 1);

	for (size_t i = 0; beta == 0 && i < n; i++)
		a[i] = NAN;
	return a;
}

/* The input gradient of a backward op: dx_begin gives the op its dx,
 * prefilled (see prefill) for beta; dx_check compares what the op left on
 * the view with finite differences and frees. */
struct dxgrad {
	double *pre, *dx, beta;
	size_t n;
};

/* A prefilled dx of n elements for a backward op with beta. */
static double *
dx_begin(struct dxgrad *d, size_t n, double beta)
{
	d->pre = prefill(n, beta);
	d->dx = malloc(n * sizeof *d->dx);
	memcpy(d->dx, d->pre, n * sizeof *d->dx);
	d->beta = beta;
	d->n = n;
	return d->dx;
}

/* dx (px pixels of c channels at stride ld) against the gradient of f wrt
 * x[0..n) by central differences (see view_grad); frees d. */
static void
dx_check(struct dxgrad *d, const char *what, lossfn *f, void *ctx, double *x,
         int px, int c, int ld)
{
	double *ga = view_grad(d->dx, d->pre, d->beta, px, c, ld);

	expect_close(what, fd_err(f, ctx, x, d->n, ga));
	free(d->pre), free(d->dx), free(ga);
}

/* ---- convolution ---- */

struct convc {
	struct nn_conv p;
	double *x, *w, *b, *y, *r;
};

static double
conv_loss(void *v)
{
	struct convc *c = v;
	int px = c->p.n * c->p.oh * c->p.ow;

	ref_conv_fwd(&c->p, c->x, c->w, c->b, c->y);
	return dotv(c->r, c->y, px, c->p.oc, c->p.y_ld);
}

static void
conv_case(int n, int ih, int iw, int ic, int oc, int kh, int kw, int s,
          int same, int bias, int xpad, int ypad, double beta)
{
	struct convc c = { .p = { .n = n, .ih = ih, .iw = iw, .ic = ic, .oc = oc,
	                          .kh = kh, .kw = kw, .sh = s, .sw = s } };
	struct dxgrad d;
	char what[128];
	int ipx = n * ih * iw, opx;

	if (same) {
		nn_pad_same(ih, kh, s, &c.p.oh, &c.p.pt);
		nn_pad_same(iw, kw, s, &c.p.ow, &c.p.pl);
	} else {
		nn_pad_valid(ih, kh, s, &c.p.oh, &c.p.pt);
		nn_pad_valid(iw, kw, s, &c.p.ow, &c.p.pl);
	}
	c.p.x_ld = ic + xpad, c.p.y_ld = oc + ypad;
	opx = n * c.p.oh * c.p.ow;
	size_t nx = (size_t)ipx * c.p.x_ld, ny = (size_t)opx * c.p.y_ld;
	size_t nw = (size_t)kh * kw * ic * oc;
	c.x = vec(nx, 0.1, 1), c.w = vec(nw, 0.1, 1), c.r = vec(ny, 0.1, 1);
	c.b = bias ? vec(oc, 0.1, 1) : NULL;
	c.y = calloc(ny, sizeof *c.y);
	double *dy = calloc(ny, sizeof *dy), *dw = calloc(nw, sizeof *dw);
	double *db = calloc(oc, sizeof *db), *dx = dx_begin(&d, nx, beta);
	for (int i = 0; i < opx; i++)
		for (int k = 0; k < oc; k++)
			dy[(size_t)i * c.p.y_ld + k] = c.r[(size_t)i * c.p.y_ld + k];
	ref_conv_bwd_data(&c.p, dy, c.w, dx, beta);
	ref_conv_bwd_weights(&c.p, c.x, dy, dw, bias ? db : NULL);
	snprintf(what, sizeof what, "conv %dx%dx%d->%d k%dx%d s%d %s bias%d ld+%d/+%d",
	         ih, iw, ic, oc, kh, kw, s, same ? "same" : "valid", bias, xpad, ypad);
	dx_check(&d, what, conv_loss, &c, c.x, ipx, ic, c.p.x_ld);
	expect_close(what, fd_err(conv_loss, &c, c.w, nw, dw));
	if (bias)
		expect_close(what, fd_err(conv_loss, &c, c.b, oc, db));
	free(c.x), free(c.w), free(c.b), free(c.y), free(c.r);
	free(dy), free(dw), free(db);
}

static void
test_conv(void **state)
{
	conv_case(2, 5, 5, 2, 3, 3, 3, 1, 1, 1, 0, 0, 0);      /* same, bias */
	conv_case(2, 6, 6, 2, 3, 3, 3, 2, 1, 0, 0, 0, 1);      /* same s2, odd pad at bottom */
	conv_case(1, 7, 5, 3, 2, 3, 2, 2, 0, 1, 2, 3, 1);      /* valid s2, strided views */
	conv_case(2, 4, 4, 2, 2, 2, 2, 2, 1, 0, 1, 0, 0);      /* same, in 4 k 2 s 2 */
	conv_case(1, 5, 5, 1, 2, 2, 2, 1, 1, 1, 0, 1, 1);      /* same, in 5 k 2 s 1: pad 0/1 */
	conv_case(2, 5, 6, 3, 4, 1, 1, 2, 0, 0, 0, 0, 0);      /* 1x1 stride 2 */
	conv_case(1, 7, 7, 2, 3, 1, 7, 1, 1, 0, 1, 1, 1);      /* 1x7 same (InceptionV3) */
}

/* ---- batch normalisation ---- */

struct bnc {
	struct nn_bn p;
	double *x, *g, *b, *y, *r, *mean, *invstd, *rm, *rv;
	double ws[64];
	int train;
};

static double
bn_loss(void *v)
{
	struct bnc *c = v;

	if (c->train)
		ref_bn_fwd_train(&c->p, c->x, c->g, c->b, c->y, c->mean, c->invstd,
		                 c->rm, c->rv, c->ws);
	else
		ref_bn_fwd_infer(&c->p, c->x, c->g, c->b, c->rm, c->rv, c->y);
	return dotv(c->r, c->y, c->p.m, c->p.c, c->p.y_ld);
}

static void
bn_case(int m, int ch, int scale, int center, int xpad, int ypad, int train, double beta)
{
	struct bnc c = { .p = { .m = m, .c = ch, .x_ld = ch + xpad, .y_ld = ch + ypad,
	                        .eps = 1e-3f, .momentum = 0.99f }, .train = train };
	size_t nx = (size_t)m * c.p.x_ld, ny = (size_t)m * c.p.y_ld;
	struct dxgrad d;
	char what[96];

	c.x = vec(nx, 0.1, 2), c.r = vec(ny, 0.1, 1), c.y = calloc(ny, sizeof *c.y);
	c.g = scale ? vec(ch, 0.5, 2) : NULL, c.b = center ? vec(ch, 0.1, 1) : NULL;
	c.mean = calloc(ch, sizeof *c.mean), c.invstd = calloc(ch, sizeof *c.invstd);
	c.rm = vec(ch, 0.1, 1), c.rv = vec(ch, 0.5, 2);
	for (int k = 0; k < ch; k++)
		c.rv[k] = fabs(c.rv[k]);
	double *dy = calloc(ny, sizeof *dy), *dx = dx_begin(&d, nx, beta), dg[16], db[16];
	memcpy(dy, c.r, ny * sizeof *dy);
	bn_loss(&c);    /* saves mean and invstd */
	if (train)
		ref_bn_bwd(&c.p, c.x, dy, c.g, c.mean, c.invstd, dx, scale ? dg : NULL,
		           center ? db : NULL, beta, c.ws);
	else
		ref_bn_bwd_infer(&c.p, dy, c.g, c.rv, dx, beta);
	snprintf(what, sizeof what, "bn %s m%d c%d scale%d center%d", train ? "train" : "infer",
	         m, ch, scale, center);
	dx_check(&d, what, bn_loss, &c, c.x, m, ch, c.p.x_ld);
	if (train && scale)
		expect_close(what, fd_err(bn_loss, &c, c.g, ch, dg));
	if (train && center)
		expect_close(what, fd_err(bn_loss, &c, c.b, ch, db));
	free(c.x), free(c.r), free(c.y), free(c.g), free(c.b), free(c.mean);
	free(c.invstd), free(c.rm), free(c.rv), free(dy);
}

static void
test_bn(void **state)
{
	bn_case(12, 3, 1, 1, 0, 0, 1, 0);
	bn_case(10, 4, 0, 1, 2, 1, 1, 1);       /* InceptionV3: no gamma; strided */
	bn_case(9, 2, 1, 0, 0, 2, 1, 1);
	bn_case(8, 3, 0, 0, 1, 0, 1, 0);
	bn_case(7, 3, 1, 1, 1, 2, 0, 1);        /* inference mode (frozen BN) */
	bn_case(7, 3, 0, 1, 0, 0, 0, 0);
}

/* ---- ReLU ---- */

struct ewc {
	struct nn_ew p;
	double *x, *y, *r;
};

static double
relu_loss(void *v)
{
	struct ewc *c = v;

	ref_relu_fwd(&c->p, c->x, c->y);
	return dotv(c->r, c->y, c->p.m, c->p.c, c->p.y_ld);
}

static void
test_relu(void **state)
{
	struct ewc c = { .p = { .m = 6, .c = 3, .x_ld = 5, .y_ld = 4 } };
	size_t nx = 30, ny = 24;
	struct dxgrad d;

	for (double beta = 0; beta <= 1; beta++) {
		c.x = vec(nx, 0.05, 1), c.r = vec(ny, 0.1, 1), c.y = calloc(ny, sizeof *c.y);
		double *dx = dx_begin(&d, nx, beta);
		relu_loss(&c);
		ref_relu_bwd(&c.p, c.y, c.r, dx, beta);
		dx_check(&d, "relu", relu_loss, &c, c.x, 6, 3, 5);
		free(c.x), free(c.r), free(c.y);
	}
}

/* ---- pooling ---- */

struct poolc {
	struct nn_pool p;
	double *x, *y, *r;
};

static double
pool_loss(void *v)
{
	struct poolc *c = v;

	ref_pool_fwd(&c->p, c->x, c->y);
	return dotv(c->r, c->y, c->p.n * c->p.oh * c->p.ow, c->p.c, c->p.y_ld);
}

static void
pool_case(int avg, int ih, int iw, int k, int s, int same, int xpad, double beta)
{
	struct poolc c = { .p = { .n = 2, .ih = ih, .iw = iw, .c = 3, .kh = k, .kw = k,
	                          .sh = s, .sw = s, .avg = avg } };
	struct dxgrad d;
	char what[64];

	if (same) {
		nn_pad_same(ih, k, s, &c.p.oh, &c.p.pt);
		nn_pad_same(iw, k, s, &c.p.ow, &c.p.pl);
	} else {
		nn_pad_valid(ih, k, s, &c.p.oh, &c.p.pt);
		nn_pad_valid(iw, k, s, &c.p.ow, &c.p.pl);
	}
	c.p.x_ld = 3 + xpad, c.p.y_ld = 3;
	int ipx = 2 * ih * iw, opx = 2 * c.p.oh * c.p.ow;
	size_t nx = (size_t)ipx * c.p.x_ld, ny = (size_t)opx * 3;
	c.x = vec(nx, 0.1, 1), c.r = vec(ny, 0.1, 1), c.y = calloc(ny, sizeof *c.y);
	ref_pool_bwd(&c.p, c.x, c.r, dx_begin(&d, nx, beta), beta);
	snprintf(what, sizeof what, "%s pool %dx%d k%d s%d %s", avg ? "avg" : "max",
	         ih, iw, k, s, same ? "same" : "valid");
	dx_check(&d, what, pool_loss, &c, c.x, ipx, 3, c.p.x_ld);
	free(c.x), free(c.r), free(c.y);
}

static void
test_pool(void **state)
{
	pool_case(0, 5, 5, 3, 2, 1, 1, 0);      /* max, same, strided input */
	pool_case(0, 6, 4, 2, 2, 0, 0, 1);
	pool_case(0, 7, 7, 3, 2, 0, 0, 1);      /* InceptionV3's 3x3/2 valid */
	pool_case(1, 5, 5, 3, 1, 1, 2, 1);      /* avg, same: padding excluded */
	pool_case(1, 6, 5, 3, 2, 1, 0, 0);      /* avg, same, asymmetric padding */
	pool_case(1, 5, 5, 3, 2, 0, 0, 0);
}

/* ---- global average pooling, dense, dropout ---- */

struct gapc {
	struct nn_gap p;
	double *x, *y, *r;
};

static double
gap_loss(void *v)
{
	struct gapc *c = v;

	ref_gap_fwd(&c->p, c->x, c->y);
	return dotv(c->r, c->y, c->p.n, c->p.c, c->p.c);
}

static void
test_gap(void **state)
{
	struct gapc c = { .p = { .n = 2, .hw = 6, .c = 3, .x_ld = 5 } };
	size_t nx = 60;
	struct dxgrad d;

	c.x = vec(nx, 0.1, 1), c.r = vec(6, 0.1, 1), c.y = calloc(6, sizeof *c.y);
	ref_gap_bwd(&c.p, c.r, dx_begin(&d, nx, 1), 1);
	dx_check(&d, "gap", gap_loss, &c, c.x, 12, 3, 5);
	free(c.x), free(c.r), free(c.y);
}

struct densec {
	struct nn_dense p;
	double *x, *w, *b, *y, *r;
};

static double
dense_loss(void *v)
{
	struct densec *c = v;

	ref_dense_fwd(&c->p, c->x, c->w, c->b, c->y);
	return dotv(c->r, c->y, c->p.n, c->p.out, c->p.out);
}

static void
test_dense(void **state)
{
	struct densec c = { .p = { .n = 3, .in = 5, .out = 4 } };
	double dw[20], db[4];
	struct dxgrad d;

	c.x = vec(15, 0.1, 1), c.w = vec(20, 0.1, 1), c.b = vec(4, 0.1, 1);
	c.r = vec(12, 0.1, 1), c.y = calloc(12, sizeof *c.y);
	ref_dense_bwd(&c.p, c.x, c.w, c.r, dx_begin(&d, 15, 1), dw, db, 1);
	dx_check(&d, "dense dx", dense_loss, &c, c.x, 3, 5, 5);
	expect_close("dense dw", fd_err(dense_loss, &c, c.w, 20, dw));
	expect_close("dense db", fd_err(dense_loss, &c, c.b, 4, db));
	free(c.x), free(c.w), free(c.b), free(c.r), free(c.y);
}

struct dropc {
	double *x, *y, *r, *mask;
	size_t n;
};

static double
drop_loss(void *v)
{
	struct dropc *c = v;

	ref_dropout_fwd(c->n, 0.5f, 42, 7, c->x, c->y, c->mask);
	return dotv(c->r, c->y, 1, (int)c->n, (int)c->n);
}

static void
test_dropout(void **state)
{
	struct dropc c = { .n = 40 };

	c.x = vec(40, 0.1, 1), c.r = vec(40, 0.1, 1);
	c.y = calloc(40, sizeof *c.y), c.mask = calloc(40, sizeof *c.mask);
	double *dx = prefill(40, 0);
	drop_loss(&c);
	ref_dropout_bwd(40, c.mask, c.r, dx, 0);
	expect_close("dropout", fd_err(drop_loss, &c, c.x, 40, dx));
	free(c.x), free(c.r), free(c.y), free(c.mask), free(dx);
}

/* ---- losses ---- */

struct lossc {
	int n, k;
	float clip;
	double *z, *t, *w, *dz, *prob;
};

static double
bce_loss(void *v)
{
	struct lossc *c = v;
	double l;

	ref_bce_logits(c->n, c->z, c->t, c->w, c->clip, &l, c->dz, c->prob);
	return l;
}

static double
sce_loss(void *v)
{
	struct lossc *c = v;
	double l;

	ref_softmax_ce(c->n, c->k, c->z, c->t, c->w, &l, c->dz, c->prob);
	return l;
}

static void
test_bce(void **state)
{
	double z[8] = { -3, -0.5, 0.2, 2.5, 20, -19, 17, 0.7 };
	double t[8] = { 0, 1, 1, 0, 1, 0, 0, 1 };
	double w[8] = { 1, 0.5, 2, 1, 1, 1, 0.3, 1.5 };
	double dz[8], prob[8], g[8];
	struct lossc c = { .n = 8, .z = z, .t = t, .dz = dz, .prob = prob };

	for (int clip = 0; clip <= 1; clip++)
		for (int wt = 0; wt <= 1; wt++) {
			c.clip = clip ? 1e-7f : 0;
			c.w = wt ? w : NULL;
			bce_loss(&c);
			memcpy(g, dz, sizeof g);
			expect_close("bce", fd_err(bce_loss, &c, z, 8, g));
			/* clipped logits (|z| >= 17) have zero gradient */
			assert_true(!clip || (g[4] == 0 && g[5] == 0 && g[6] == 0));
			assert_true(clip || g[4] != 0);
		}
}

static void
test_softmax_ce(void **state)
{
	double *z = vec(12, 0.1, 3), label[4] = { 2, 0, 1, 2 }, w[4] = { 1, 2, 0.5, 1 };
	double dz[12], prob[12], g[12];
	struct lossc c = { .n = 4, .k = 3, .z = z, .t = label, .dz = dz, .prob = prob };

	for (int wt = 0; wt <= 1; wt++) {
		c.w = wt ? w : NULL;
		sce_loss(&c);
		memcpy(g, dz, sizeof g);
		expect_close("softmax ce", fd_err(sce_loss, &c, z, 12, g));
	}
	free(z);
}

/* ---- depthwise convolution, zero padding, ReLU6 ---- */

static double
dwconv_loss(void *v)
{
	struct convc *c = v;
	int px = c->p.n * c->p.oh * c->p.ow;

	ref_dwconv_fwd(&c->p, c->x, c->w, c->b, c->y);
	return dotv(c->r, c->y, px, c->p.oc, c->p.y_ld);
}

static void
dwconv_case(int n, int ih, int iw, int ch, int kh, int kw, int s, int same, int bias,
            int xpad, int ypad, double beta)
{
	struct convc c = { .p = { .n = n, .ih = ih, .iw = iw, .ic = ch, .oc = ch,
	                          .kh = kh, .kw = kw, .sh = s, .sw = s } };
	struct dxgrad d;
	char what[128];
	int ipx = n * ih * iw, opx;

	if (same) {
		nn_pad_same(ih, kh, s, &c.p.oh, &c.p.pt);
		nn_pad_same(iw, kw, s, &c.p.ow, &c.p.pl);
	} else {
		nn_pad_valid(ih, kh, s, &c.p.oh, &c.p.pt);
		nn_pad_valid(iw, kw, s, &c.p.ow, &c.p.pl);
	}
	c.p.x_ld = ch + xpad, c.p.y_ld = ch + ypad;
	opx = n * c.p.oh * c.p.ow;
	size_t nx = (size_t)ipx * c.p.x_ld, ny = (size_t)opx * c.p.y_ld;
	size_t nw = (size_t)kh * kw * ch;
	c.x = vec(nx, 0.1, 1), c.w = vec(nw, 0.1, 1), c.r = vec(ny, 0.1, 1);
	c.b = bias ? vec(ch, 0.1, 1) : NULL;
	c.y = calloc(ny, sizeof *c.y);
	double *dw = calloc(nw, sizeof *dw), *db = calloc(ch, sizeof *db);
	double *dx = dx_begin(&d, nx, beta);
	ref_dwconv_bwd_data(&c.p, c.r, c.w, dx, beta);
	ref_dwconv_bwd_weights(&c.p, c.x, c.r, dw, bias ? db : NULL);
	snprintf(what, sizeof what, "dwconv %dx%dx%d k%dx%d s%d %s bias%d ld+%d/+%d",
	         ih, iw, ch, kh, kw, s, same ? "same" : "valid", bias, xpad, ypad);
	dx_check(&d, what, dwconv_loss, &c, c.x, ipx, ch, c.p.x_ld);
	expect_close(what, fd_err(dwconv_loss, &c, c.w, nw, dw));
	if (bias)
		expect_close(what, fd_err(dwconv_loss, &c, c.b, ch, db));
	free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(dw), free(db);
}

static void
test_dwconv(void **state)
{
	dwconv_case(2, 5, 5, 3, 3, 3, 1, 1, 1, 0, 0, 0);        /* same, bias */
	dwconv_case(2, 7, 7, 4, 3, 3, 2, 0, 0, 0, 0, 1);        /* MobileNetV2: valid s2 after padding */
	dwconv_case(1, 6, 5, 3, 3, 3, 2, 1, 0, 2, 1, 1);        /* same s2, odd pad, strided */
	dwconv_case(2, 4, 5, 2, 2, 3, 1, 0, 1, 1, 3, 0);        /* valid, rectangular kernel */
}

struct padc {
	struct nn_padg p;
	double *x, *y, *r;
};

static double
pad_loss(void *v)
{
	struct padc *c = v;
	int px = c->p.n * (c->p.ih + c->p.pt + c->p.pb) * (c->p.iw + c->p.pl + c->p.pr);

	ref_pad_fwd(&c->p, c->x, c->y);
	return dotv(c->r, c->y, px, c->p.c, c->p.y_ld);
}

static void
pad_case(int ih, int iw, int pt, int pb, int pl, int pr, int xpad, int ypad, double beta)
{
	struct padc c = { .p = { .n = 2, .ih = ih, .iw = iw, .c = 3, .pt = pt, .pb = pb,
	                         .pl = pl, .pr = pr, .x_ld = 3 + xpad, .y_ld = 3 + ypad } };
	int ipx = 2 * ih * iw, opx = 2 * (ih + pt + pb) * (iw + pl + pr);
	size_t nx = (size_t)ipx * c.p.x_ld, ny = (size_t)opx * c.p.y_ld;
	struct dxgrad d;

	c.x = vec(nx, 0.1, 1), c.r = vec(ny, 0.1, 1), c.y = calloc(ny, sizeof *c.y);
	ref_pad_bwd(&c.p, c.r, dx_begin(&d, nx, beta), beta);
	dx_check(&d, "zero padding", pad_loss, &c, c.x, ipx, 3, c.p.x_ld);
	/* the border is zero */
	pad_loss(&c);
	for (int k = 0; k < 3; k++)
		assert_true(c.y[k] == 0 || pt + pl == 0);
	free(c.x), free(c.r), free(c.y);
}

static void
test_pad(void **state)
{
	pad_case(4, 5, 0, 1, 0, 1, 0, 0, 0);    /* MobileNetV2 / TF 'same' s2: bottom/right */
	pad_case(5, 4, 3, 3, 3, 3, 1, 2, 1);    /* ResNet50's conv1_pad */
	pad_case(3, 3, 1, 1, 1, 1, 2, 0, 0);    /* DenseNet's pool1_pad, strided input */
}

static void
test_relu6(void **state)
{
	struct ewc c = { .p = { .m = 6, .c = 3, .x_ld = 5, .y_ld = 4, .cap = 0.5f } };
	size_t nx = 30, ny = 24;
	struct dxgrad d;

	for (double beta = 0; beta <= 1; beta++) {
		c.x = vec(nx, 0.05, 1), c.r = vec(ny, 0.1, 1), c.y = calloc(ny, sizeof *c.y);
		for (size_t i = 0; i < nx; i++)         /* away from the kink at the cap */
			if (fabs(c.x[i] - 0.5) < 0.01)
				c.x[i] = 0.6;
		double *dx = dx_begin(&d, nx, beta);
		relu_loss(&c);
		ref_relu_bwd(&c.p, c.y, c.r, dx, beta);
		dx_check(&d, "relu6", relu_loss, &c, c.x, 6, 3, 5);
		free(c.x), free(c.r), free(c.y);
	}
}

static void
test_report(void **state)
{
	fprintf(stderr, "test_nn_fd: worst relative error %.3g (tolerance %g)\n", worst, TOL);
	assert_true(worst < TOL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv),
		cmocka_unit_test(test_bn),
		cmocka_unit_test(test_relu),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_dropout),
		cmocka_unit_test(test_bce),
		cmocka_unit_test(test_softmax_ce),
		cmocka_unit_test(test_dwconv),
		cmocka_unit_test(test_pad),
		cmocka_unit_test(test_relu6),
		cmocka_unit_test(test_report),
	};

	rng_init(&R, 12345, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
