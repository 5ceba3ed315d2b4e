/* test_nn_pool.c — the "cpu" backend's pooling (cpu_pool.c) against
 * "ref" (the specification), at 1 and 2 threads, beyond test_nn_ops.c's
 * shapes: batch 1 and 5, odd sizes, 'same' padding, strided x, y and dy
 * (channel slices of wider buffers), channel counts that use every path
 * of the loops (64-channel blocks, 16, single channels), beta 0 and 1.
 *
 * Max pooling is checked for the same bytes as ref, forward and backward:
 * backward routes dy to the first maximum in window order (inputs with
 * many ties: integers in [0, 3)) and adds in ref's order; beta 1 keeps
 * the -0.0 entries of dx that get nothing.  Average pooling within 1e-6
 * of ref relative to max(1, max |ref|) (a multiply by 1/count instead of
 * ref's division; oneDNN's forward on dense views sums in its own order).
 * Every output must be the same bytes at 1 and 2 threads, and the cells
 * between channel slices must stay untouched (checked as part of the
 * whole-buffer comparisons).
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

#define TOL_AVG 1e-6

/* x (n, ih, iw, c) pixel stride c+xpad; y and dy (n, oh, ow, c) stride
 * c+ypad; k x k window, stride s; ties: integer inputs */
struct shape { int n, ih, iw, c, k, s, same, avg, xpad, ypad, ties; };

static const struct shape shapes[] = {
	/* max: the stem (valid, stride 2), with ties, batch 5 and 1 */
	{ 5, 15, 15, 64, 3, 2, 0, 0, 0, 0, 1 },
	{ 1, 15, 15, 64, 3, 2, 0, 0, 0, 0, 0 },
	/* mixed3/8: valid stride 2 into a concat slice (y strided) */
	{ 5, 9, 9, 96, 3, 2, 0, 0, 0, 160, 1 },
	{ 1, 7, 7, 288, 3, 2, 0, 0, 0, 480, 0 },
	/* odd sizes, 'same' padding (overlapping windows), x and y strided,
	 * channels 85 = 64 + 16 + 5 */
	{ 5, 7, 9, 85, 3, 1, 1, 0, 11, 7, 1 },
	{ 1, 11, 6, 85, 3, 2, 1, 0, 3, 0, 1 },
	{ 5, 6, 5, 3, 2, 2, 1, 0, 5, 1, 1 },
	{ 1, 9, 9, 20, 5, 3, 1, 0, 0, 4, 0 },
	{ 2, 10, 11, 20, 2, 3, 0, 0, 2, 0, 1 },        /* stride > window: gaps */
	/* avg: InceptionV3's branch_pool (3x3 stride 1 same), dense and strided */
	{ 5, 9, 9, 192, 3, 1, 1, 1, 0, 0, 0 },
	{ 1, 8, 8, 288, 3, 1, 1, 1, 32, 0, 0 },
	{ 5, 7, 9, 85, 3, 1, 1, 1, 11, 7, 0 },
	{ 1, 11, 6, 85, 3, 2, 1, 1, 3, 0, 0 },
	{ 5, 10, 10, 16, 2, 2, 0, 1, 0, 16, 0 },
	{ 1, 9, 9, 20, 5, 3, 1, 1, 0, 4, 0 },
	{ 2, 10, 11, 20, 2, 3, 0, 1, 2, 0, 0 },
};

static struct nn_backend *ref, *cpu;
static int cpu_threads;
static struct rng rng;

/* The cpu backend at t threads (OpenMP's thread count is the process's:
 * one cpu backend at a time, reopened when t changes). */
static struct nn_backend *
cpu_at(int t)
{
	struct nn_backend_opts o = { .threads = t, .deterministic = 1 };
	char err[256];

	if (cpu != NULL && cpu_threads == t)
		return cpu;
	if (cpu != NULL)
		cpu->close(cpu);
	if ((cpu = nn_cpu_open(&o, err, sizeof err)) == NULL)
		fail_msg("cpu backend: %s", err);
	cpu_threads = t;
	return cpu;
}

static struct nn_pool
pool_of(const struct shape *t)
{
	struct nn_pool p = { .n = t->n, .ih = t->ih, .iw = t->iw, .c = t->c, .kh = t->k,
	                     .kw = t->k, .sh = t->s, .sw = t->s, .x_ld = t->c + t->xpad,
	                     .y_ld = t->c + t->ypad, .avg = t->avg };

	if (t->same) {
		nn_pad_same(t->ih, t->k, t->s, &p.oh, &p.pt);
		nn_pad_same(t->iw, t->k, t->s, &p.ow, &p.pl);
	} else {
		nn_pad_valid(t->ih, t->k, t->s, &p.oh, &p.pt);
		nn_pad_valid(t->iw, t->k, t->s, &p.ow, &p.pl);
	}
	return p;
}

/* n host floats: integers in [0, 3) (ties), or uniform in [-1, 1) with
 * every 7th a -0.0 (kept by beta 1 where nothing is added). */
static float *
host_fill(size_t n, int ties)
{
	float *h = XNEW(float, n);

	for (size_t i = 0; i < n; i++)
		h[i] = ties ? (float)rng_below(&rng, 3) :
		    i % 7 == 3 ? -0.0f : (float)rng_range(&rng, -1, 1);
	return h;
}

/* A device copy of h (n floats) on be. */
static float *
dev(struct nn_backend *be, const float *h, size_t n)
{
	float *d = be->alloc(be, n * sizeof(float));

	assert_non_null(d);
	be->upload(be, d, h, n * sizeof(float));
	return d;
}

/* The host copy of d (n floats) on be (caller frees). */
static float *
host(struct nn_backend *be, const float *d, size_t n)
{
	float *h = XNEW(float, n);

	be->download(be, h, d, n * sizeof(float));
	return h;
}

/* Fails unless got equals want: the same bytes (tol < 0), or within tol
 * relative to max(1, max |want|). */
static void
compare(const char *what, const struct shape *t, const float *got, const float *want,
    size_t n, double tol)
{
	double scale = 1, err = 0;
	size_t i, worst = 0;

	if (tol < 0) {
		for (i = 0; i < n; i++)
			if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
				fail_msg("%s (n %d %dx%dx%d k%d s%d %s %s): element %zu: %.9g, want %.9g",
				    what, t->n, t->ih, t->iw, t->c, t->k, t->s, t->same ? "same" : "valid",
				    t->avg ? "avg" : "max", i, got[i], want[i]);
		return;
	}
	for (i = 0; i < n; i++)
		scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
	for (i = 0; i < n; i++) {
		double e = fabs((double)got[i] - want[i]) / scale;
		if (!(e <= err)) {
			err = e;
			worst = i;
		}
	}
	if (!(err <= tol))
		fail_msg("%s (n %d %dx%dx%d k%d s%d %s avg): error %.3g > %.3g at %zu (%.9g, want %.9g)",
		    what, t->n, t->ih, t->iw, t->c, t->k, t->s, t->same ? "same" : "valid", err, tol,
		    worst, got[worst], want[worst]);
}

/* Runs forward or backward (beta) of shape t on be; the host result. */
static float *
run(struct nn_backend *be, const struct shape *t, int bwd, float beta, const float *hx,
    const float *hdy, const float *hout)
{
	struct nn_pool p = pool_of(t);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.x_ld, ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	float *x = dev(be, hx, nx), *dy = dev(be, hdy, ny);
	float *out = dev(be, hout, bwd ? nx : ny), *r;

	if (bwd)
		be->pool_bwd(be, &p, x, dy, out, beta);
	else
		be->pool_fwd(be, &p, x, out);
	r = host(be, out, bwd ? nx : ny);
	assert_null(nn_backend_error(be));
	be->free(be, x);
	be->free(be, dy);
	be->free(be, out);
	return r;
}

/* One op (forward, backward beta 0, backward beta 1) of one shape on ref
 * and cpu at 1 and 2 threads. */
static void
check_op(const struct shape *t, int bwd, float beta)
{
	struct nn_pool p = pool_of(t);
	size_t nx = (size_t)p.n * p.ih * p.iw * p.x_ld, ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	size_t no = bwd ? nx : ny;
	float *hx = host_fill(nx, t->ties), *hdy = host_fill(ny, 0), *hout = host_fill(no, 0);
	float *want = run(ref, t, bwd, beta, hx, hdy, hout);
	float *one = run(cpu_at(1), t, bwd, beta, hx, hdy, hout);
	float *two = run(cpu_at(2), t, bwd, beta, hx, hdy, hout);
	const char *what = !bwd ? "pool_fwd" : beta != 0.0f ? "pool_bwd beta 1" : "pool_bwd beta 0";
	char buf[64];

	snprintf(buf, sizeof buf, "%s, 1 thread", what);
	compare(buf, t, one, want, no, t->avg ? TOL_AVG : -1);
	snprintf(buf, sizeof buf, "%s, 2 threads against 1", what);
	compare(buf, t, two, one, no, -1);
	free(hx); free(hdy); free(hout); free(want); free(one); free(two);
}

static void
test_pool_forward(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		check_op(&shapes[i], 0, 0.0f);
}

static void
test_pool_backward(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		check_op(&shapes[i], 1, 0.0f);
		check_op(&shapes[i], 1, 1.0f);
	}
}

/* One window of four equal maxima: dy goes to the first (row-major) and
 * nowhere else. */
static void
test_maxpool_ties(void **state)
{
	struct nn_pool p = { .n = 1, .ih = 2, .iw = 2, .c = 20, .oh = 1, .ow = 1, .kh = 2,
	                     .kw = 2, .sh = 2, .sw = 2, .x_ld = 20, .y_ld = 20 };
	float hx[80], hdy[20], *x, *dy, *dx, *got;
	struct nn_backend *be;

	(void)state;
	for (int i = 0; i < 80; i++)
		hx[i] = 1.0f;
	for (int j = 0; j < 20; j++)
		hdy[j] = (float)(j + 1);
	for (int t = 1; t <= 2; t++) {
		be = cpu_at(t);
		x = dev(be, hx, 80);
		dy = dev(be, hdy, 20);
		dx = dev(be, hx, 80);
		be->pool_bwd(be, &p, x, dy, dx, 0.0f);
		got = host(be, dx, 80);
		for (int i = 0; i < 80; i++)
			if (got[i] != (i < 20 ? hdy[i] : 0.0f))
				fail_msg("ties, %d threads: dx[%d] = %g, want %g", t, i, got[i],
				    i < 20 ? hdy[i] : 0.0f);
		free(got);
		be->free(be, x);
		be->free(be, dy);
		be->free(be, dx);
	}
}

int
main(void)
{
	struct nn_backend_opts o = { 0 };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_forward),
		cmocka_unit_test(test_pool_backward),
		cmocka_unit_test(test_maxpool_ties),
	};
	char err[256];
	int rc;

	rng_init(&rng, 7, 0, 0);
	if ((ref = nn_ref_open(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "test_nn_pool: ref backend: %s\n", err);
		return 1;
	}
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (cpu != NULL)
		cpu->close(cpu);
	ref->close(ref);
	return rc;
}
