/* emu_test.c — tests of the CUDA backend on the host-emulated kernels
 * (tests/gpu/emu/run.sh; the ops themselves are checked against ref by
 * test_nn_ops.c, run there as emu_ops): the layout, reduction and cast
 * helpers that cuDNN and cuBLAS calls use, the finite checks, the weight
 * cache, errors recorded instead of exits, fp16 loss scaling and CUDA
 * graphs (test_nn_cuda.c's: the emulator records captured work and
 * replays it at cudaGraphLaunch, so a small CNN trains with graphs on
 * and off).  nn_cuda_open is emu_backend.c's. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "cuda_impl.h"

extern int emu_graph_launches;

#define GR_S 8          /* test_graphs, small: a CUDA thread is a std::thread here */
#define GR_N 2
#define GR_STEPS 4
#define main orig_main
#include "../../unit/test_nn_cuda.c"
#undef main

/* graph.c for real: training steps and inferences of a small CNN, replayed
 * from recorded graphs, equal the eager ones bit for bit (test_graphs of
 * test_nn_cuda.c), and graphs were launched. */
static void
test_graph_steps(void **state)
{
	int before = emu_graph_launches;

	test_graphs(state);
	assert_true(emu_graph_launches - before >= 2 * (GR_STEPS - 1));
}

/* conv layout helpers vs plain loops */
static void
test_layout(void **state)
{
	struct cu_state *st = C->impl;
	int kh = 3, kw = 2, ic = 5, oc = 7, n = kh * kw * ic * oc;
	float *w = malloc(n * 4), *o = malloc(n * 4), *w2 = malloc(n * 4);
	for (int i = 0; i < n; i++) w[i] = i;
	cu_launch_hwio_to_ohwi(st, w, o, kh, kw, ic, oc);
	for (int y = 0; y < kh; y++) for (int x = 0; x < kw; x++) for (int i = 0; i < ic; i++) for (int k = 0; k < oc; k++)
		assert_true(o[((k * kh + y) * kw + x) * ic + i] == w[((y * kw + x) * ic + i) * oc + k]);
	cu_launch_ohwi_to_hwio(st, o, w2, kh, kw, ic, oc);
	assert_memory_equal(w, w2, n * 4);
	/* pad then unpad_add with beta 0 gives x back (interior) */
	int N = 2, H = 5, W = 4, Cc = 3, ld = 6, ph = 7, pw = 6, pt = 1, pl = 2;
	float *x = calloc(N * H * W * ld, 4), *xp = calloc(N * ph * pw * Cc, 4), *x2 = calloc(N * H * W * ld, 4);
	for (int i = 0; i < N * H * W * ld; i++) x[i] = i % ld < Cc ? i + 1 : 0;
	cu_launch_pad(st, x, N, H, W, Cc, ld, xp, ph, pw, pt, pl);
	for (int b = 0; b < N; b++) for (int y = 0; y < ph; y++) for (int xx = 0; xx < pw; xx++) for (int c = 0; c < Cc; c++) {
		int iy = y - pt, ix = xx - pl;
		float want = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[((b * H + iy) * W + ix) * ld + c] : 0;
		assert_true(xp[((b * ph + y) * pw + xx) * Cc + c] == want);
	}
	cu_launch_unpad_add(st, xp, ph, pw, pt, pl, x2, N, H, W, Cc, ld, 0);
	for (int i = 0; i < N * H * W * ld; i++) {
		int p = i / ld, c = i % ld, ix = p % W, iy = p / W % H;
		float want = c < Cc && iy + pt < ph && ix + pl < pw ? x[i] : 0;
		assert_true(x2[i] == want);
	}
	/* chan sum */
	float *s = malloc(Cc * 4);
	cu_launch_chan_sum(st, N * H * W, Cc, x, ld, s);
	for (int c = 0; c < Cc; c++) { double a = 0; for (int p = 0; p < N * H * W; p++) a += x[p * ld + c]; assert_true(fabs(a - s[c]) < 1e-3); }
}

/* fp32 -> half -> fp32 copies (pack/unpack, weight conversion): exact on
 * values both types hold, within half an ulp otherwise; padding is zero;
 * beta accumulates. */
static void
half_roundtrip(int dt, double ulp)
{
	struct cu_state *st = C->impl;
	int n = 2, h = 5, w = 4, c = 3, ld = 6, ph = 7, pw = 6, pt = 1, pl = 2;
	size_t nx = (size_t)n * h * w * ld;
	float *x = calloc(nx, 4), *x2 = calloc(nx, 4), *x3 = calloc(nx, 4);
	uint16_t *xp = calloc((size_t)n * ph * pw * c, 2);

	for (size_t i = 0; i < nx; i++)
		x[i] = i % ld < (size_t)c ? (float)rng_range(&rg, -4, 4) : 0;
	cu_launch_pack(st, dt, x, n, h, w, c, ld, xp, ph, pw, pt, pl);
	cu_launch_unpack(st, dt, xp, ph, pw, pt, pl, x2, n, h, w, c, ld, 0);
	for (size_t i = 0; i < nx; i++)
		assert_true(fabs(x2[i] - x[i]) <= ulp * fabs(x[i]));
	for (size_t i = 0; i < nx; i++)
		x[i] = (float)(int)(x[i] * 4) / 4;        /* exact in both */
	cu_launch_pack(st, dt, x, n, h, w, c, ld, xp, ph, pw, pt, pl);
	memcpy(x3, x, nx * 4);
	cu_launch_unpack(st, dt, xp, ph, pw, pt, pl, x3, n, h, w, c, ld, 1);
	for (size_t i = 0; i < nx; i++)
		assert_true(x3[i] == 2 * x[i]);
	/* a conv kernel HWIO -> OHWI half -> HWIO fp32 */
	int kh = 3, kw = 2, ic = 5, oc = 7, nw = kh * kw * ic * oc;
	float *k = malloc(nw * 4), *k2 = malloc(nw * 4);
	uint16_t *o = malloc(nw * 2);
	for (int i = 0; i < nw; i++)
		k[i] = (float)(i % 61 - 30) / 8;
	cu_launch_convert_w(st, dt, k, o, kh, kw, ic, oc, 1);
	cu_launch_ohwi_to_hwio_t(st, dt, o, k2, kh, kw, ic, oc);
	assert_memory_equal(k, k2, nw * 4);
	free(x); free(x2); free(x3); free(xp); free(k); free(k2); free(o);
}

static void
test_casts(void **state)
{
	half_roundtrip(CU_F16, 1.0 / 2048);
	half_roundtrip(CU_BF16, 1.0 / 256);
}

/* The finite check sets the flag on inf or NaN only. */
static void
test_finite(void **state)
{
	struct cu_state st = { .sm_count = 2 };
	float g[300];

	cu_amp_open(&st);
	for (int i = 0; i < 300; i++)
		g[i] = (float)i * 1e30f;
	cu_launch_finite_check(&st, g, 300);
	assert_int_equal(st.amp->flag, 0);
	g[177] = NAN;
	cu_launch_finite_check(&st, g, 300);
	assert_int_equal(st.amp->flag, 1);
	st.amp->flag = 0;
	g[177] = -INFINITY;
	cu_launch_finite_check(&st, g, 300);
	assert_int_equal(st.amp->flag, 1);
	free(st.amp);
}

/* The nonfinite op: 1 on inf or NaN anywhere in the range, else 0, and
 * the flag starts clean on every call. */
static void
test_nonfinite(void **state)
{
	struct cu_state st = { .sm_count = 2 };
	struct nn_backend be = { .impl = &st };
	float g[1000];

	for (int i = 0; i < 1000; i++)
		g[i] = (float)(i - 500) * 3e35f;
	assert_int_equal(cu_nonfinite(&be, g, 1000), 0);
	g[999] = NAN;
	assert_int_equal(cu_nonfinite(&be, g, 1000), 1);
	assert_int_equal(cu_nonfinite(&be, g, 999), 0);
	g[0] = INFINITY;
	assert_int_equal(cu_nonfinite(&be, g, 999), 1);
	assert_int_equal(cu_nonfinite(&be, g + 1, 998), 0);
	free(st.nf_flag);
}

/* The weight cache converts once per write generation: a write it is not
 * told about is not seen; adam, upload and free are; a capture converts
 * once per step, whatever the generation, and leaves the copy stale. */
static void
test_wcache(void **state)
{
	struct nn_backend_opts o = { .precision = NN_PREC_FP32 };
	char err[64];
	struct nn_backend *be = nn_cuda_open(&o, err, sizeof err);
	struct cu_state *st = be->impl;
	float w[2 * 3 * 4] = { 0 }, g[24] = { 0 }, m[24] = { 0 }, v[24] = { 0 };
	const float *c;

#define W(i) (c = cu_weights(st, CU_F32, w, 1, 2, 3, 4, 0), c[i])
	w[5] = 1;
	assert_true(W(5) == 1);
	w[5] = 2;                       /* behind the cache's back */
	assert_true(W(5) == 1);
	be->adam(be, 24, w, g, m, v, 0, 0.9f, 0.999f, 1e-7f, 0);     /* bumps the generation */
	assert_true(W(5) == 2);
	w[5] = 3;
	be->upload(be, w + 4, w + 4, 8);        /* overlaps: stale */
	assert_true(W(5) == 3);
	w[5] = 4;
	be->upload(be, g, g, 4);                /* another tensor */
	assert_true(W(5) == 3);
	st->gmode = CU_CAPTURE;
	st->cap_id++;
	assert_true(W(5) == 4);                 /* converted in the capture */
	w[5] = 5;
	assert_true(W(5) == 4);                 /* once per captured step */
	st->gmode = CU_EAGER;
	assert_true(W(5) == 5);                 /* stale after a capture */
	assert_int_equal(st->nwc, 1);
	assert_true(cu_weights(st, CU_F32, w, 2, 1, 3, 4, 1) != c);    /* OHWI: its own copy */
	assert_int_equal(st->nwc, 2);
#undef W
	cu_wcache_free(st);
}

/* Failures are recorded for be->error, the first one kept, and never end
 * the process (util.c, graph.c): what used to exit(1). */
static void
test_errors(void **state)
{
	struct cu_state st = { .sm_count = 2 };

	assert_int_equal(cu_no_graph(&st, "sync"), 0);
	assert_string_equal(st.err, "");
	st.gmode = CU_CAPTURE;
	assert_int_equal(cu_no_graph(&st, "sync"), -1);
	assert_string_equal(st.err, "cuda: sync inside a graph step");
	assert_null(cu_nonnull(&st, NULL));             /* the first failure stays */
	assert_string_equal(st.err, "cuda: sync inside a graph step");
	st.err[0] = '\0';
	st.gmode = CU_EAGER;
	assert_null(cu_nonnull(&st, NULL));
	assert_string_equal(st.err, "cuda: out of memory");
	st.err[0] = '\0';
	st.capturing = 1;                               /* in a capture: only flagged */
	assert_int_equal(cu_check_rt(&st, cudaErrorInvalidValue, "x", "f.c", 1), 0);
	assert_int_equal(st.capture_failed, 1);
	assert_string_equal(st.err, "");
	st.capturing = 0;
	assert_int_equal(cu_check_rt(&st, cudaErrorInvalidValue, "call()", "f.c", 7), -1);
	assert_string_equal(st.err, "cuda: f.c:7: call(): emu");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_casts),
		cmocka_unit_test(test_finite),
		cmocka_unit_test(test_nonfinite),
		cmocka_unit_test(test_wcache),
		cmocka_unit_test(test_graph_steps),
		cmocka_unit_test(test_amp),
		cmocka_unit_test(test_errors),
	};
	struct nn_backend_opts o = { 0 };
	char err[256];
	C = nn_cuda_open(&o, err, sizeof err);
	R = nn_ref_open(&o, err, sizeof err);
	rng_init(&rg, 42, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
