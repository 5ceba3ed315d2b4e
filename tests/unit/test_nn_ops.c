/* test_nn_ops.c — every op of every backend that opens here, against the
 * "ref" backend (the specification), with a tolerance per op and
 * precision: the table rows[] below (op, shapes, tolerances, why).
 *
 * Backends: ref itself (exact: checks the harness and ref's determinism),
 * cpu in each activation layout its convolutions can pick
 * (RADPIPE_CPU_LAYOUT), cpu in bf16 where the CPU has AVX512_BF16 or AMX
 * (the cuda bf16 tolerances), and cuda in fp32, tf32, bf16 and fp16 when a
 * GPU is present; a backend that does not open is skipped with its reason
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

#include "nn_ops_cases.h"   /* shapes and runners */
#include "nn_ops_dw.h"      /* those of the ResNet/DenseNet/MobileNetV2 ops */

/* ---- the table ---- */

#define SHAPES(a) (a), sizeof (a)[0], sizeof (a) / sizeof (a)[0]
#define ALL(t) { t, t, t, t, t }
#define NOT_FP16(t) { t, t, t, t, NO }

/* Runs one op on one shape on R and X and checks its outputs within tol. */
typedef void (*run_fn)(const void *shape, double tol);

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
	{ "dwconv_fwd", run_dwconv_fwd, SHAPES(dw_shapes), ALL(1e-5), 0,
	  "depthwise: sums of up to 15 products per output, fp32 in every precision" },
	{ "dwconv_bwd_data", run_dwconv_bwd_data, SHAPES(dw_shapes), ALL(1e-5), 0,
	  "as dwconv_fwd, plus one add with beta 1" },
	{ "dwconv_bwd_weights", run_dwconv_bwd_weights, SHAPES(dw_shapes), ALL(1e-5), 0,
	  "sums over n*oh*ow pixels (up to 147) in another order" },
	{ "pad_fwd", run_pad_fwd, SHAPES(pad_shapes), ALL(0), 0, "a copy and zeros: exact" },
	{ "pad_bwd", run_pad_bwd, SHAPES(pad_shapes), ALL(1e-6), 0,
	  "a copy, or one add with beta 1" },
	{ "relu6_fwd", run_relu6_fwd, SHAPES(ew_shapes), ALL(0), 0,
	  "min(max(x, 0), 6) is exact, at 0 and 6 too" },
	{ "relu6_bwd", run_relu6_bwd, SHAPES(ew_shapes), ALL(1e-6), 0,
	  "0 at y == 0 and y == 6 (TF's Relu6Grad); one add with beta 1" },
	{ "input_ch", run_input_ch, SHAPES(flat_shapes), ALL(1e-6), 0,
	  "x[order[c]]*scale[c]+offset[c]: one rounding (an FMA may skip it)" },
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
	{ "cpu/bf16", "cpu", NN_PREC_BF16, P_BF16, "auto" },
	{ "cpu/bf16/nhwc", "cpu", NN_PREC_BF16, P_BF16, "nhwc" },
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
