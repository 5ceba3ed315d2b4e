/* test_nn_cpu.c — what the "cpu" backend (oneDNN) does beyond one op,
 * which test_nn_ops.c checks against ref for every backend: a batch cut
 * into chunks (blocked layout, RADPIPE_CPU_CHUNK_KB), the cached weight
 * reorders following parameter writes, and a failing oneDNN call reported
 * through be->error instead of ending the process.  Error = max|cpu -
 * ref| / max(1, max|ref|) over whole buffers; convolutions within 1e-4.
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
#include "nn/cpu/cpu_impl.h"

#define TOL_CONV 1e-4

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

/* b's cpu copy holds the bytes at before, else fails with "what: why". */
static void
check_bytes(const char *what, const struct buf *b, const float *before, const char *why)
{
	float *x = snap(b);

	if (memcmp(x, before, b->n * sizeof(float)) != 0)
		fail_msg("%s: %s", what, why);
	free(x);
}

static void
check_same(const char *what, const struct buf *b, const float *before)
{
	check_bytes(what, b, before, "not deterministic");
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

/* The convolution of case t. */
static struct nn_conv
conv_of(const struct conv_case *t)
{
	struct nn_conv p = { 0 };

	p.n = t->n; p.ih = t->ih; p.iw = t->iw; p.ic = t->ic; p.oc = t->oc;
	p.kh = t->kh; p.kw = t->kw; p.sh = p.sw = t->s;
	geom(t->ih, t->kh, t->s, t->same, &p.oh, &p.pt);
	geom(t->iw, t->kw, t->s, t->same, &p.ow, &p.pl);
	p.x_ld = t->ic + t->xpad;
	p.y_ld = t->oc + t->ypad;
	return p;
}

static void
conv_case(const struct conv_case *t)
{
	struct nn_conv p = conv_of(t);
	struct buf x, w, b, y, dy, dx, dw, db;
	size_t nx, ny;
	float *s1, *s2;
	float beta;

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

/* Reopens the cpu backend in precision prec (its environment variables
 * are read then). */
static void
reopen_prec(int prec)
{
	struct nn_backend_opts o = { .threads = 2, .deterministic = 1, .precision = prec };
	char err[256];

	cpu->close(cpu);
	cpu = nn_cpu_open(&o, err, sizeof err);
	assert_non_null(cpu);
}

static void
reopen(void)
{
	reopen_prec(NN_PREC_FP32);
}

/* conv_bwd on case t writes the bytes of conv_bwd_weights then
 * conv_bwd_data (beta 0 and 1, dx at its own pixel stride); returns how
 * many chunks took bwd-weights' copy of dy. */
static unsigned long
conv_bwd_case(const struct conv_case *t)
{
	struct nn_conv p = conv_of(t), d = p;
	size_t nx, ny, nw = (size_t)p.kh * p.kw * p.ic * p.oc;
	struct buf x, w, dy, dx, dw, db;
	unsigned long before = cpu_of(cpu)->dyshared;
	float *a[3], beta;

	d.x_ld = p.ic + 3;
	nx = (size_t)p.n * p.ih * p.iw * (p.x_ld > d.x_ld ? p.x_ld : d.x_ld);
	ny = (size_t)p.n * p.oh * p.ow * p.y_ld;
	x = rnd(nx); w = rnd(nw); dy = rnd(ny); dx = rnd(nx); dw = rnd(nw); db = rnd(p.oc);
	for (beta = 0.0f; beta <= 1.0f; beta += 1.0f) {
		cpu->upload(cpu, dx.c, dx.h, nx * sizeof(float));
		cpu->conv_bwd_weights(cpu, &p, x.c, dy.c, dw.c, t->bias ? db.c : NULL);
		cpu->conv_bwd_data(cpu, &d, dy.c, w.c, dx.c, beta);
		a[0] = snap(&dw); a[1] = snap(&db); a[2] = snap(&dx);
		cpu->upload(cpu, dx.c, dx.h, nx * sizeof(float));
		cpu->upload(cpu, dw.c, dw.h, nw * sizeof(float));
		cpu->conv_bwd(cpu, &p, x.c, dy.c, w.c, dw.c, t->bias ? db.c : NULL, dx.c,
		    d.x_ld, beta);
		check_bytes("conv_bwd dw", &dw, a[0], "not conv_bwd_weights' bytes");
		check_bytes("conv_bwd db", &db, a[1], "not conv_bwd_weights' bytes");
		check_bytes(beta != 0.0f ? "conv_bwd dx beta 1" : "conv_bwd dx beta 0", &dx, a[2],
		    "not conv_bwd_data's bytes");
		free(a[0]); free(a[1]); free(a[2]);
	}
	buf_free(&x); buf_free(&w); buf_free(&dy); buf_free(&dx); buf_free(&dw); buf_free(&db);
	return cpu_of(cpu)->dyshared - before;
}

/* conv_bwd (both backward convolutions, one copy of dy) against the two
 * ops: the same bytes in fp32 and bf16, blocked (where the copy is shared:
 * counted) and NHWC, one chunk and several (4 + 1: the shared copy is the
 * last chunk's). */
static void
test_conv_bwd_both(void **state)
{
	static const struct conv_case cs[] = {
		{ 5, 32, 32, 64, 64, 3, 3, 1, 1, 8, 16, 1 },    /* chunks under 1 MiB */
		{ 3, 19, 17, 32, 48, 3, 3, 2, 0, 0, 0, 0 },
		{ 2, 9, 9, 64, 32, 1, 1, 1, 1, 0, 8, 1 },
	};
	int prec, i;

	for (prec = NN_PREC_FP32; prec <= NN_PREC_BF16; prec += NN_PREC_BF16) {
		if (prec == NN_PREC_BF16 && dnnl_get_effective_cpu_isa() < dnnl_cpu_isa_avx512_core_bf16) {
			printf("  no bf16 kernels on this CPU: conv_bwd checked in fp32 only\n");
			break;
		}
		setenv("RADPIPE_CPU_LAYOUT", "blocked", 1);
		setenv("RADPIPE_CPU_CHUNK_KB", "1024", 1);
		reopen_prec(prec);
		for (i = 0; i < 3; i++)
			if (conv_bwd_case(&cs[i]) == 0)
				fail_msg("conv_bwd case %d (%s): dy was copied twice", i,
				    prec == NN_PREC_BF16 ? "bf16" : "fp32");
		setenv("RADPIPE_CPU_LAYOUT", "nhwc", 1);
		reopen_prec(prec);
		for (i = 0; i < 3; i++)
			conv_bwd_case(&cs[i]);
		unsetenv("RADPIPE_CPU_LAYOUT");
		unsetenv("RADPIPE_CPU_CHUNK_KB");
		reopen_prec(prec);
		for (i = 0; i < 3; i++)
			conv_bwd_case(&cs[i]);
	}
	reopen();
}

/* A batch cut into chunks (4 + 1 samples: a 256 KiB blocked copy per
 * sample against a 1 MiB cap; direct convolution): dw and db summed over
 * the chunks. */
static void
test_conv_chunks(void **state)
{
	static const struct conv_case big = { 5, 32, 32, 64, 64, 3, 3, 1, 1, 8, 16, 1 };

	setenv("RADPIPE_CPU_LAYOUT", "blocked", 1);
	setenv("RADPIPE_CPU_CHUNK_KB", "1024", 1);
	setenv("RADPIPE_CPU_WINOGRAD", "0", 1);
	reopen();
	conv_case(&big);
	unsetenv("RADPIPE_CPU_LAYOUT");
	unsetenv("RADPIPE_CPU_CHUNK_KB");
	unsetenv("RADPIPE_CPU_WINOGRAD");
	reopen();
}

/* Does every direction of p run oneDNN's Winograd kernel? */
static int
runs_wino(const struct nn_conv *p)
{
	char impl[256];
	const char *s = impl;
	int n = 0;

	nn_cpu_conv_impl(cpu, p, impl, sizeof impl);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("  %s\n", impl);
	while ((s = strstr(s, "wino")) != NULL) {
		n++;
		s++;
	}
	return n == 3;
}

/* Winograd F(4x4, 3x3) (3x3, stride 1, grids over 17x17): picked where
 * oneDNN has it (avx512_core), within TOL_CONV of ref forward, backward-
 * data (beta 0 and 1) and backward-weights, with same and valid padding,
 * strided views and a batch in chunks (its scratchpad counts against the
 * cap: 30 tiles x 36 x 48 channels, 203 KiB a sample, so one sample a
 * chunk under a 200 KiB cap); not on a 17x17 grid, nor with
 * RADPIPE_CPU_WINOGRAD=0. */
static void
test_conv_winograd(void **state)
{
	static const struct conv_case same = { 3, 24, 20, 16, 32, 3, 3, 1, 1, 8, 16, 1 };
	static const struct conv_case valid = { 2, 21, 23, 32, 16, 3, 3, 1, 0, 0, 0, 0 };
	static const struct conv_case small = { 2, 17, 17, 16, 16, 3, 3, 1, 1, 0, 0, 0 };
	struct nn_conv ps = conv_of(&same), pv = conv_of(&valid), pm = conv_of(&small);

	if (dnnl_get_effective_cpu_isa() < dnnl_cpu_isa_avx512_core) {
		printf("  oneDNN has no Winograd kernel below avx512_core: skipped\n");
		skip();
	}
	if (!runs_wino(&ps) || !runs_wino(&pv))
		fail_msg("a 3x3 stride-1 convolution on a 24x20 grid did not run Winograd");
	assert_false(runs_wino(&pm));
	conv_case(&same);
	conv_case(&valid);
	setenv("RADPIPE_CPU_CHUNK_KB", "200", 1);
	reopen();
	conv_case(&same);
	setenv("RADPIPE_CPU_WINOGRAD", "0", 1);
	reopen();
	assert_false(runs_wino(&ps));
	unsetenv("RADPIPE_CPU_CHUNK_KB");
	unsetenv("RADPIPE_CPU_WINOGRAD");
	reopen();
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

/* ---- errors ---- */

/* A failing oneDNN call is returned, not fatal: a convolution with a
 * negative output size records "cpu backend: FILE:LINE: CALL:
 * invalid_arguments" for be->error (the first failure is kept), the op
 * leaves y alone, and nothing is cached for the shape. */
static void
test_error(void **state)
{
	struct nn_backend_opts o = { .threads = 2 };
	char err[256], first[256];
	struct nn_backend *be = nn_cpu_open(&o, err, sizeof err);
	struct nn_conv p = { .n = 1, .ih = 4, .iw = 4, .ic = 2, .oh = -1, .ow = 4, .oc = 2,
	                     .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pt = 1, .pl = 1,
	                     .x_ld = 2, .y_ld = 2 };
	float x[32] = { 0 }, w[36] = { 0 }, y[32], y0[32];
	const char *e;

	assert_non_null(be);
	assert_null(nn_backend_error(be));
	for (int i = 0; i < 32; i++)
		y[i] = y0[i] = (float)i;
	be->conv_fwd(be, &p, x, w, NULL, y);
	e = nn_backend_error(be);
	assert_non_null(e);
	if (getenv("TEST_VERBOSE") != NULL)
		printf("  %s\n", e);
	assert_int_equal(strncmp(e, "cpu backend: ", 13), 0);
	assert_non_null(strstr(e, "invalid_arguments"));
	assert_memory_equal(y, y0, sizeof y);
	snprintf(first, sizeof first, "%s", e);
	be->conv_bwd_data(be, &p, y, w, x, 0);
	assert_string_equal(nn_backend_error(be), first);
	be->close(be);
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
		cmocka_unit_test(test_conv_chunks),
		cmocka_unit_test(test_conv_winograd),
		cmocka_unit_test(test_conv_bwd_both),
		cmocka_unit_test(test_conv_weights_update),
		cmocka_unit_test(test_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
