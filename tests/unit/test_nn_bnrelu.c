/* test_nn_bnrelu.c — the fused BN(+ReLU) training backward (the optional
 * op bn_relu_bwd, cpu: cpu/cpu_bnbwd.c) and the engine's use of it.
 *
 * Op (every backend that offers it; cpu with 1, 2 and 3 threads): against
 * ref's two-op path (bn_apply, relu_fwd with the ceiling, relu_bwd,
 * bn_bwd) on strided x/dx and dy, beta 1 then 0, with and without
 * gamma/beta, plain BN, ReLU and ReLU6, with pixels where the BN output is
 * exactly 0 and exactly 6 (no gradient there: TF's Relu6Grad).  Error =
 * max |op - ref| / max(1, max |ref|) over each whole buffer (the cells
 * between channel slices must stay untouched) <= 1e-5: both sum in double;
 * the rest is a few float roundings per element.  Also: dx NULL leaves dx
 * alone (dgamma, dbeta still right); two runs give the same bytes; and the
 * mask is the forward's bit for bit: with dy = 1, dbeta counts the pixels
 * where the backend's own bn_fwd_train output passes the ReLU, exactly.
 *
 * Engine: one training backward of a small net (a BN on the network input
 * (its input needs no gradient), conv-BN-ReLU, ReLU6 and scale=False BNs
 * writing into a concat (strided gradients), a conv output read by two
 * BNs (accumulated dx), a plain BN into an Add) and of InceptionV3 at
 * 75x75 on cpu, with RADPIPE_BN_RELU_BWD on, off on the same plan (whose
 * BN inputs' gradients are views of the BNs': relu_bwd and bn_bwd run in
 * place) and off from the plan on: every gradient tensor within 1e-4 of
 * its largest magnitude (measured: 6e-5 in the small net, a ReLU6 BN's
 * beta, where the sum cancels; 7e-6 in InceptionV3), and the op counts
 * say which path ran (on: no relu_bwd, no bn_bwd).  And --sync-bn set
 * after planning (the views are wrong for it) fails the step cleanly.
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
#include "nn/nn.h"
#include "rng.h"

#define TOL_OP 1e-5
#define TOL_NET 1e-4

static struct nn_backend *R;
static struct rng rg;

/* ---- the op against ref ---- */

/* m pixels of c channels, x/dx stride c+xpad, dy stride c+ypad */
struct shape { int m, c, xpad, ypad, scale, center, relu; float cap; };
static const struct shape shapes[] = {
	{ 70, 13, 0, 0, 1, 1, 1, 0 },
	{ 2 * 9 * 7, 32, 5, 0, 0, 1, 1, 0 },            /* InceptionV3: scale=False */
	{ 33, 17, 0, 3, 0, 0, 1, 6 },
	{ 5 * 8 * 8, 48, 16, 16, 1, 0, 1, 6 },
	{ 200, 20, 12, 7, 1, 1, 0, 0 },                 /* plain BN */
	{ 300, 40, 0, 0, 1, 1, 1, 6 },
	{ 40000, 64, 0, 24, 1, 1, 1, 0 },               /* long sums, strided dy */
	{ 5000, 40, 8, 8, 0, 1, 0, 0 },
};

/* Host and backend copies of one array. */
struct arr {
	size_t n;
	float *h, *r, *x;       /* host, ref, backend under test */
};

static struct arr
arr_new(struct nn_backend *X, size_t n, float lo, float hi)
{
	struct arr a = { n, malloc(n * 4 + 4), R->alloc(R, n * 4 + 4), X->alloc(X, n * 4 + 4) };

	assert_non_null(a.h);
	for (size_t i = 0; i < n; i++)
		a.h[i] = (float)rng_range(&rg, lo, hi);
	return a;
}

static void
arr_put(struct nn_backend *X, struct arr *a)
{
	R->upload(R, a->r, a->h, a->n * 4);
	X->upload(X, a->x, a->h, a->n * 4);
}

static void
arr_free(struct nn_backend *X, struct arr *a)
{
	R->free(R, a->r);
	X->free(X, a->x);
	free(a->h);
}

/* The backend's copy of a (caller frees). */
static float *
arr_get(struct nn_backend *be, const float *p, size_t n)
{
	float *h = malloc(n * 4 + 4);

	assert_non_null(h);
	be->download(be, h, p, n * 4);
	return h;
}

/* max |x - r| / max(1, max |r|) over n floats. */
static double
err_of(const float *x, const float *r, size_t n)
{
	double scale = 1, e = 0;

	for (size_t i = 0; i < n; i++)
		scale = fabs(r[i]) > scale ? fabs(r[i]) : scale;
	for (size_t i = 0; i < n; i++) {
		double d = isnan(x[i]) != isnan(r[i]) ? INFINITY : fabs((double)x[i] - r[i]);
		e = d > e ? d : e;
	}
	return e / scale;
}

static void
check(struct nn_backend *X, const char *what, const struct shape *t, const struct arr *a)
{
	float *x = arr_get(X, a->x, a->n), *r = arr_get(R, a->r, a->n);
	double e = err_of(x, r, a->n);

	if (getenv("TEST_VERBOSE"))
		printf("  m %d c %d relu %d cap %g: %s %.2e\n", t->m, t->c, t->relu, t->cap, what, e);
	if (!(e <= TOL_OP))
		fail_msg("m %d c %d relu %d cap %g: %s: error %.3g > %g", t->m, t->c, t->relu,
		         t->cap, what, e, TOL_OP);
	free(x);
	free(r);
}

struct bufs {
	struct nn_bn p;
	struct arr x, dy, dx, y, g, gam, bet, mean, is, rm, rv, dg, db;
};

/* Random inputs; mean/invstd of x's batch, then every third pixel of
 * channel 0 (1) set to its mean: BN output exactly 0 (exactly 6, when
 * the shape has beta: beta[1] = 6). */
static void
bufs_open(struct nn_backend *X, struct bufs *b, const struct shape *t)
{
	size_t xl = t->c + t->xpad, yl = t->c + t->ypad, m = t->m;

	b->p = (struct nn_bn){ t->m, t->c, (int)xl, (int)yl, 1e-3f, 0.99f, 0 };
	b->x = arr_new(X, m * xl, -1, 1);
	b->dy = arr_new(X, m * yl, -1, 1);
	for (size_t i = 0; i < b->dy.n; i++)        /* |dy| >= 0.5: a wrong mask shows */
		b->dy.h[i] += b->dy.h[i] < 0 ? -0.5f : 0.5f;
	b->dx = arr_new(X, m * xl, -1, 1);
	b->y = arr_new(X, m * yl, 0, 0);
	b->g = arr_new(X, m * t->c, 0, 0);
	b->gam = arr_new(X, t->c, 1, 4);
	b->bet = arr_new(X, t->c, -1, 3);
	b->bet.h[0] = 0;
	if (t->c > 1)
		b->bet.h[1] = t->center ? 6 : 0;
	b->mean = arr_new(X, t->c, 0, 0);
	b->is = arr_new(X, t->c, 0, 0);
	b->rm = arr_new(X, t->c, 0, 0);
	b->rv = arr_new(X, t->c, 1, 1);
	b->dg = arr_new(X, t->c, -1, 1);
	b->db = arr_new(X, t->c, -1, 1);
	struct arr *all[] = { &b->x, &b->dy, &b->dx, &b->y, &b->g, &b->gam, &b->bet, &b->rm,
	                      &b->rv, &b->dg, &b->db };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		arr_put(X, all[i]);
	R->bn_fwd_train(R, &b->p, b->x.r, NULL, NULL, b->y.r, b->mean.r, b->is.r, b->rm.r, b->rv.r);
	R->download(R, b->mean.h, b->mean.r, t->c * 4);
	R->download(R, b->is.h, b->is.r, t->c * 4);
	for (size_t i = 0; i < m; i += 3)
		for (int k = 0; k < 2 && k < t->c; k++)
			b->x.h[i * xl + k] = b->mean.h[k];
	arr_put(X, &b->x);
	arr_put(X, &b->mean);
	arr_put(X, &b->is);
}

static void
bufs_close(struct nn_backend *X, struct bufs *b)
{
	struct arr *all[] = { &b->x, &b->dy, &b->dx, &b->y, &b->g, &b->gam, &b->bet, &b->mean,
	                      &b->is, &b->rm, &b->rv, &b->dg, &b->db };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		arr_free(X, all[i]);
}

#define GAM(b, t, s) ((t)->scale ? ((s) ? (b)->gam.x : (b)->gam.r) : NULL)
#define BET(b, t, s) ((t)->center ? ((s) ? (b)->bet.x : (b)->bet.r) : NULL)

/* ref's two ops: y = bn_apply (then the ReLU), g = relu_bwd (dense), bn_bwd. */
static void
ref_path(struct bufs *b, const struct shape *t, float *dx, float *dg, float *db, float beta)
{
	struct nn_bn q = b->p;
	struct nn_ew e = { t->m, t->c, t->c, b->p.y_ld, t->cap };
	const float *g = b->dy.r;

	if (t->relu) {
		R->bn_apply(R, &b->p, b->x.r, GAM(b, t, 0), BET(b, t, 0), b->mean.r, b->is.r,
		            b->y.r, 0);
		e.x_ld = b->p.y_ld;
		R->relu_fwd(R, &e, b->y.r, b->y.r);
		e.x_ld = t->c;
		R->relu_bwd(R, &e, b->y.r, b->dy.r, b->g.r, 0);
		g = b->g.r;
		q.y_ld = t->c;
	}
	R->bn_bwd(R, &q, b->x.r, g, GAM(b, t, 0), b->mean.r, b->is.r, dx, dg, db, beta);
}

static void
fused(struct nn_backend *X, struct bufs *b, const struct shape *t, float *dx, float *dg,
      float *db, float beta)
{
	X->bn_relu_bwd(X, &b->p, b->x.x, b->dy.x, GAM(b, t, 1), BET(b, t, 1), b->mean.x,
	               b->is.x, dx, dg, db, beta, t->relu, t->cap);
}

/* Two runs with beta 0 give the same bytes. */
static void
check_repeat(struct nn_backend *X, struct bufs *b, const struct shape *t)
{
	float *s[3], *n[3];
	const struct arr *a[3] = { &b->dx, &b->dg, &b->db };

	for (int r = 0; r < 2; r++) {
		fused(X, b, t, b->dx.x, b->dg.x, b->db.x, 0);
		for (int i = 0; i < 3; i++)
			(r ? n : s)[i] = arr_get(X, a[i]->x, a[i]->n);
	}
	for (int i = 0; i < 3; i++) {
		if (memcmp(s[i], n[i], a[i]->n * 4) != 0)
			fail_msg("m %d c %d: two runs differ", t->m, t->c);
		free(s[i]);
		free(n[i]);
	}
}

/* With dy = 1, dbeta[k] = the pixels of channel k where X's own forward
 * output passes the ReLU, exactly (the mask is the forward's, bit for bit). */
static void
check_mask(struct nn_backend *X, struct bufs *b, const struct shape *t)
{
	size_t yl = b->p.y_ld;
	float *one = malloc(b->dy.n * 4), *y, *db;

	assert_non_null(one);
	for (size_t i = 0; i < b->dy.n; i++)
		one[i] = 1;
	X->upload(X, b->dy.x, one, b->dy.n * 4);
	X->bn_fwd_train(X, &b->p, b->x.x, GAM(b, t, 1), BET(b, t, 1), b->y.x, b->mean.x,
	                b->is.x, b->rm.x, b->rv.x);
	fused(X, b, t, NULL, NULL, b->db.x, 0);
	y = arr_get(X, b->y.x, b->y.n);
	db = arr_get(X, b->db.x, t->c);
	for (int k = 0; k < t->c; k++) {
		long pass = 0;
		for (int i = 0; i < t->m; i++) {
			float v = y[i * yl + k];
			pass += !t->relu || (v > 0 && (!(t->cap > 0) || v < t->cap));
		}
		if (db[k] != (float)pass)
			fail_msg("m %d c %d: channel %d: mask passes %.0f, the forward %ld",
			         t->m, t->c, k, db[k], pass);
	}
	free(one);
	free(y);
	free(db);
}

static void
run_shape(struct nn_backend *X, const struct shape *t)
{
	struct bufs b;
	float *before, *after;

	bufs_open(X, &b, t);
	for (int beta = 1; beta >= 0; beta--) {
		ref_path(&b, t, b.dx.r, b.dg.r, b.db.r, (float)beta);
		fused(X, &b, t, b.dx.x, b.dg.x, b.db.x, (float)beta);
		check(X, beta ? "dx (beta 1)" : "dx (beta 0)", t, &b.dx);
		check(X, "dgamma", t, &b.dg);
		check(X, "dbeta", t, &b.db);
	}
	/* no dx wanted: dx untouched, dgamma and dbeta as before */
	before = arr_get(X, b.dx.x, b.dx.n);
	X->upload(X, b.dg.x, b.dx.h, t->c * 4);
	fused(X, &b, t, NULL, b.dg.x, b.db.x, 1);
	after = arr_get(X, b.dx.x, b.dx.n);
	if (memcmp(before, after, b.dx.n * 4) != 0)
		fail_msg("m %d c %d: dx NULL wrote dx", t->m, t->c);
	check(X, "dgamma (no dx)", t, &b.dg);
	free(before);
	free(after);
	check_repeat(X, &b, t);
	check_mask(X, &b, t);
	bufs_close(X, &b);
}

static void
test_op(void **state)
{
	static const int threads[] = { 1, 2, 3 };

	for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
		struct nn_backend_opts o = { .threads = threads[k], .deterministic = 1 };
		char err[256];
		struct nn_backend *X = nn_backend_open("cpu", &o, err, sizeof err);

		assert_non_null(X);
		assert_non_null(X->bn_relu_bwd);
		rng_init(&rg, 7, k, 0);
		for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
			run_shape(X, &shapes[i]);
		if (nn_backend_error(X))
			fail_msg("cpu: %s", nn_backend_error(X));
		X->close(X);
	}
}

/* ---- the engine, fused on and off ---- */

/* The cpu backend with relu_bwd, bn_bwd and bn_relu_bwd counted. */
static struct nn_backend C0;
static long n_relu, n_bn, n_fused;

static void
c_relu_bwd(struct nn_backend *be, const struct nn_ew *p, const float *y, const float *dy,
           float *dx, float beta)
{
	n_relu++;
	C0.relu_bwd(be, p, y, dy, dx, beta);
}

static void
c_bn_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x, const float *dy,
         const float *gamma, const float *mean, const float *invstd, float *dx,
         float *dgamma, float *dbeta, float beta)
{
	n_bn++;
	C0.bn_bwd(be, p, x, dy, gamma, mean, invstd, dx, dgamma, dbeta, beta);
}

static void
c_bn_relu_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x, const float *dy,
              const float *gamma, const float *beta, const float *mean, const float *invstd,
              float *dx, float *dgamma, float *dbeta, float acc, int relu, float cap)
{
	n_fused++;
	C0.bn_relu_bwd(be, p, x, dy, gamma, beta, mean, invstd, dx, dgamma, dbeta, acc,
	               relu, cap);
}

static int
cbr(struct nn_model *m, const char *p, int in, int f, int k, int scale, float cap)
{
	char a[64], b[64], c[64];

	snprintf(a, sizeof a, "%s_conv", p);
	snprintf(b, sizeof b, "%s_bn", p);
	snprintf(c, sizeof c, "%s_relu", p);
	int x = nn_conv2d(m, a, in, f, k, k, 1, 1, NN_SAME, 0);   /* no bias: BN takes its mean out */
	x = nn_batchnorm(m, b, x, 1e-3f, 0.99f, scale, 1);
	return nn_relu_max(m, c, x, cap);
}

static struct nn_model *
small_net(void)
{
	struct nn_model *m = nn_model_new("input_1", 9, 9, 3);
	int x = nn_batchnorm(m, "in_bn", 0, 1e-3f, 0.99f, 1, 1);
	int in[2];

	x = nn_relu(m, "in_relu", x);
	x = cbr(m, "c1", x, 8, 3, 1, 0);
	in[0] = cbr(m, "a", x, 4, 1, 1, 6);
	in[1] = cbr(m, "b", x, 6, 3, 0, 0);
	x = nn_concat(m, "cat", in, 2);
	x = nn_conv2d(m, "c2_conv", x, 10, 1, 1, 1, 1, NN_SAME, 0);
	in[0] = nn_relu(m, "c2_relu", nn_batchnorm(m, "c2_bn", x, 1e-3f, 0.99f, 1, 1));
	in[1] = nn_batchnorm(m, "c2_bn2", x, 1e-3f, 0.99f, 1, 1);
	x = nn_add(m, "add", in, 2);
	x = nn_gap(m, "gap", x);
	assert_true(nn_dense(m, "out", x, 1, 1, NN_ACT_SIGMOID) > 0);
	return m;
}

/* One training forward + backward; a copy of the gradient arena. */
static float *
grads(struct nn_model *m, const float *img, const float *lab, int n, int fuse)
{
	size_t na = nn_arena_size(m);
	float *g = malloc(na * 4), loss;

	assert_non_null(g);
	setenv("RADPIPE_BN_RELU_BWD", fuse ? "1" : "0", 1);
	n_relu = n_bn = n_fused = 0;
	if (nn_forward(m, NN_IN_F32, img, n, 1) < 0 || nn_backward(m, lab, NULL, &loss, NULL) < 0)
		fail_msg("%s", nn_error(m));
	unsetenv("RADPIPE_BN_RELU_BWD");
	memcpy(g, nn_backend_arena(m, 1), na * 4);
	return g;
}

/* Every trainable tensor of a within TOL_NET of b's largest magnitude. */
static void
compare(struct nn_model *m, const float *a, const float *b)
{
	double worst = 0;

	for (int k = 0; k < nn_param_count(m); k++) {
		const struct nn_param *p = nn_param_at(m, k);
		double s = 1e-30, e = 0;
		if (!p->trainable)
			continue;
		for (size_t i = 0; i < p->size; i++)
			s = fabs(b[p->offset + i]) > s ? fabs(b[p->offset + i]) : s;
		for (size_t i = 0; i < p->size; i++) {
			double d = fabs((double)a[p->offset + i] - b[p->offset + i]) / s;
			e = d > e || isnan(d) ? d : e;
		}
		if (!(e <= TOL_NET))
			fail_msg("%s: fused and unfused gradients differ by %.3g", p->name, e);
		if (getenv("TEST_VERBOSE") && e > 1e-6)
			printf("  %s: %.2e of %.3g\n", p->name, e, s);
		worst = e > worst ? e : worst;
	}
	if (getenv("TEST_VERBOSE"))
		printf("  worst gradient difference %.2e\n", worst);
}

/* Plans m on the counting cpu backend, compares the two backward paths. */
static void
on_off(struct nn_model *m, int n, int nbn, int nrelu)
{
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1 };
	char err[256];
	struct nn_backend *be = nn_backend_open("cpu", &o, err, sizeof err);
	const struct nn_layer *in = nn_layer_at(m, 0);
	size_t ni = (size_t)n * in->h * in->w * in->c;
	float *img = malloc(ni * 4), lab[8], *a, *b, *c;

	assert_non_null(be);
	assert_non_null(img);
	C0 = *be;
	be->relu_bwd = c_relu_bwd;
	be->bn_bwd = c_bn_bwd;
	be->bn_relu_bwd = c_bn_relu_bwd;
	for (size_t i = 0; i < ni; i++)
		img[i] = (float)rng_range(&rg, -1, 1);
	for (int i = 0; i < n; i++)
		lab[i] = (float)(i & 1);
	nn_model_init_params(m, 3);
	if (nn_model_plan(m, be, n) < 0)
		fail_msg("%s", nn_error(m));
	a = grads(m, img, lab, n, 1);
	if (n_relu != 0 || n_bn != 0 || n_fused != nbn)
		fail_msg("fused: %ld relu_bwd, %ld bn_bwd, %ld bn_relu_bwd (want 0, 0, %d)",
		         n_relu, n_bn, n_fused, nbn);
	b = grads(m, img, lab, n, 0);
	if (n_relu != nrelu || n_bn != nbn || n_fused != 0)
		fail_msg("unfused: %ld relu_bwd, %ld bn_bwd, %ld bn_relu_bwd (want %d, %d, 0)",
		         n_relu, n_bn, n_fused, nrelu, nbn);
	compare(m, a, b);
	/* planned with the fused path off: no gradient views (plan.c
	 * mark_bn_dx_views), relu_bwd and bn_bwd not in place */
	setenv("RADPIPE_BN_RELU_BWD", "0", 1);
	if (nn_model_plan(m, be, n) < 0)
		fail_msg("%s", nn_error(m));
	c = grads(m, img, lab, n, 0);
	compare(m, a, c);
	compare(m, b, c);
	free(a);
	free(b);
	free(c);
	free(img);
	nn_model_free(m);
	be->close(be);
}

static void
test_engine_small(void **state)
{
	rng_init(&rg, 11, 0, 0);
	on_off(small_net(), 4, 6, 5);
}

static void
test_engine_inception(void **state)
{
	struct nn_head h = { .dense_units = 0, .dropout = 0, .classes = 1 };

	rng_init(&rg, 12, 0, 0);
	on_off(nn_inception_v3(75, 75, &h), 2, 94, 94);
}

static long n_fwd_fused;

static void
c_bn_fwd_train_relu(struct nn_backend *be, const struct nn_bn *p, const float *x,
                    const float *gamma, const float *beta, float *y, float *mean,
                    float *invstd, float *run_mean, float *run_var)
{
	n_fwd_fused++;
	C0.bn_fwd_train_relu(be, p, x, gamma, beta, y, mean, invstd, run_mean, run_var);
}

/* One training forward + backward of m (planned on be) from parameters
 * seeded 3: the probabilities and the gradient arena (caller frees). */
static float *
step_bytes(struct nn_model *m, struct nn_backend *be, const float *img, const float *lab,
    int n, float *prob)
{
	size_t na = nn_arena_size(m);
	float *g = malloc(na * 4), loss;

	assert_non_null(g);
	nn_model_init_params(m, 3);
	if (nn_model_plan(m, be, n) < 0 || nn_forward(m, NN_IN_F32, img, n, 1) < 0 ||
	    nn_backward(m, lab, NULL, &loss, prob) < 0)
		fail_msg("%s", nn_error(m));
	memcpy(g, nn_backend_arena(m, 1), na * 4);
	return g;
}

/* The forward's BN+ReLU in one op (bn_fwd_train_relu, the ReLU skipped)
 * gives the bytes of bn_fwd_train and relu_fwd apart: probabilities and
 * every gradient, on the small net and InceptionV3 at 75x75; it runs once
 * for each batch-mode BN read by an uncapped ReLU in place. */
static void
fwd_fused(struct nn_model *m, int n, int want)
{
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1 };
	char err[256];
	struct nn_backend *be = nn_backend_open("cpu", &o, err, sizeof err);
	const struct nn_layer *in = nn_layer_at(m, 0);
	size_t ni = (size_t)n * in->h * in->w * in->c, na;
	float *img = malloc(ni * 4), lab[8], pa[8], pb[8], *a, *b;

	assert_non_null(be);
	assert_non_null(img);
	for (size_t i = 0; i < ni; i++)
		img[i] = (float)rng_range(&rg, -1, 1);
	for (int i = 0; i < n; i++)
		lab[i] = (float)(i & 1);
	C0 = *be;
	be->bn_fwd_train_relu = c_bn_fwd_train_relu;
	n_fwd_fused = 0;
	a = step_bytes(m, be, img, lab, n, pa);
	if (n_fwd_fused != want)
		fail_msg("bn_fwd_train_relu ran %ld times (want %d)", n_fwd_fused, want);
	na = nn_arena_size(m);
	be->bn_fwd_train_relu = NULL;
	b = step_bytes(m, be, img, lab, n, pb);
	assert_memory_equal(pa, pb, n * sizeof(float));
	if (memcmp(a, b, na * 4) != 0)
		fail_msg("the fused forward's gradients are not the bytes of the unfused one");
	free(a);
	free(b);
	free(img);
	nn_model_free(m);
	be->close(be);
}

static void
test_fwd_fused(void **state)
{
	struct nn_head h = { .dense_units = 0, .dropout = 0, .classes = 1 };

	rng_init(&rg, 13, 0, 0);
	fwd_fused(small_net(), 4, 4);
	fwd_fused(nn_inception_v3(75, 75, &h), 2, 94);
}

/* One rank's sum over the ranks: v itself. */
static void
sum_one(void *ctx, double *v, int n)
{
}

/* --sync-bn set after a plan whose BN inputs' gradients are views of the
 * BNs' (its backward needs them apart): the step fails and says why; set
 * before planning, the plan has no views and the step runs. */
static void
test_syncbn_late(void **state)
{
	struct nn_backend_opts o = { .threads = 1 };
	const struct nn_optim adam = { .type = NN_ADAM, .lr = 1e-3f, .beta1 = 0.9f,
	                               .beta2 = 0.999f, .eps = 1e-7f };
	char err[256];
	struct nn_backend *be = nn_backend_open("cpu", &o, err, sizeof err);
	float img[2 * 9 * 9 * 3], lab[2] = { 0, 1 };

	assert_non_null(be);
	for (size_t i = 0; i < sizeof img / sizeof img[0]; i++)
		img[i] = (float)(i % 7) / 7 - 0.5f;
	for (int late = 1; late >= 0; late--) {
		struct nn_model *m = small_net();
		nn_model_init_params(m, 3);
		if (!late)
			nn_set_bn_sync(m, sum_one, NULL, 1);
		assert_int_equal(nn_model_plan(m, be, 2), 0);
		if (late)
			nn_set_bn_sync(m, sum_one, NULL, 1);
		int rc = nn_train_step(m, NN_IN_F32, img, 2, lab, NULL, &adam, NULL, NULL);
		if (late) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(nn_error(m), "--sync-bn was set after"));
		} else if (rc != 0) {
			fail_msg("%s", nn_error(m));
		}
		nn_model_free(m);
	}
	be->close(be);
}

int
main(void)
{
	struct nn_backend_opts o = { 0 };
	char err[256];
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_op),
		cmocka_unit_test(test_engine_small),
		cmocka_unit_test(test_engine_inception),
		cmocka_unit_test(test_fwd_fused),
		cmocka_unit_test(test_syncbn_late),
	};

	if ((R = nn_ref_open(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "test_nn_bnrelu: ref backend: %s\n", err);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	R->close(R);
	return rc;
}
