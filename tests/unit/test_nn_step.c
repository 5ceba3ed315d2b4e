/* test_nn_step.c — whole steps (step.c) on backends without step hooks:
 * nn_train_step equals nn_forward + nn_backward + nn_step and nn_infer
 * equals nn_forward + nn_predict, bit for bit (ref); the step hooks are
 * called once around each step; precision names, the fp32-only rule of
 * ref, and cpu's fp32 and bf16 (refused on CPUs without bf16 kernels).
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

#include "rng.h"
#include "nn/nn.h"

enum { S = 16, N = 4, STEPS = 3 };

static const struct nn_head HEAD = { .dense_units = 8, .dropout = 0.5f, .classes = 1 };

/* Hooks that count (the ops run as usual). */
static int begins, ends;

static void
fake_begin(struct nn_backend *be, uint64_t key)
{
	begins++;
}

static int
fake_end(struct nn_backend *be, int abort)
{
	ends++;
	return 0;
}

/* Params and probabilities after STEPS steps, by whole steps (whole = 1)
 * or by the separate calls. */
static float *
run(int whole, int hooks, float *probs, size_t *sizeP)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);
	struct nn_model *m = nn_small_cnn(S, S, 3, &HEAD);
	struct nn_optim o = { NN_ADAM, 1e-3f, 0.9f, 0.999f, 1e-7f, 0, 0, 1e-4f };
	uint8_t x[N * S * S * 3];
	float y[N], loss, *out;
	struct rng r;

	assert_non_null(be);
	if (hooks) {
		be->step_begin = fake_begin;
		be->step_end = fake_end;
	}
	rng_init(&r, 3, 0, 0);
	nn_model_init_params(m, 1);
	nn_set_preprocess(m, 1 / 255.0f, 0);
	assert_int_equal(nn_model_plan(m, be, N), 0);
	nn_params_upload(m);
	for (int s = 0; s < STEPS; s++) {
		for (size_t i = 0; i < sizeof x; i++)
			x[i] = (uint8_t)rng_u32(&r);
		for (int i = 0; i < N; i++)
			y[i] = (float)(i & 1);
		if (whole) {
			assert_int_equal(nn_train_step(m, NN_IN_U8, x, N, y, NULL, &o, &loss, NULL), 0);
			assert_int_equal(nn_infer(m, NN_IN_U8, x, N, probs + s * N), 0);
		} else {
			assert_int_equal(nn_forward(m, NN_IN_U8, x, N, 1), 0);
			assert_int_equal(nn_backward(m, y, NULL, &loss, NULL), 0);
			assert_int_equal(nn_step(m, &o), 0);
			assert_int_equal(nn_forward(m, NN_IN_U8, x, N, 0), 0);
			assert_int_equal(nn_predict(m, probs + s * N), 0);
		}
	}
	assert_int_equal(nn_step_count(m), STEPS);
	nn_params_download(m);
	*sizeP = nn_arena_size(m);
	out = malloc(*sizeP * sizeof *out);
	memcpy(out, nn_params_host(m), *sizeP * sizeof *out);
	nn_model_free(m);
	be->close(be);
	return out;
}

static void
test_whole_steps(void **state)
{
	float pa[STEPS * N], pb[STEPS * N], pc[STEPS * N];
	size_t na, nb, nc;
	float *a = run(0, 0, pa, &na), *b = run(1, 0, pb, &nb), *c;

	assert_true(na == nb);
	assert_memory_equal(a, b, na * sizeof *a);
	assert_memory_equal(pa, pb, sizeof pa);
	begins = ends = 0;
	c = run(1, 1, pc, &nc);
	assert_int_equal(begins, 2 * STEPS);    /* a training step and an inference each */
	assert_int_equal(ends, 2 * STEPS);
	assert_memory_equal(a, c, na * sizeof *a);
	assert_memory_equal(pa, pc, sizeof pa);
	free(a);
	free(b);
	free(c);
}

static void
test_errors(void **state)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);
	struct nn_model *m = nn_small_cnn(S, S, 3, &HEAD);
	struct nn_optim o = { NN_ADAM, 1e-3f, 0.9f, 0.999f, 1e-7f, 0, 0, 0 };
	uint8_t x[N * S * S * 3] = { 0 };
	float y[N] = { 0 }, p[N];

	assert_int_equal(nn_train_step(m, NN_IN_U8, x, N, y, NULL, &o, NULL, NULL), -1);
	nn_model_init_params(m, 1);
	assert_int_equal(nn_model_plan(m, be, N), 0);
	assert_int_equal(nn_train_step(m, NN_IN_U8, x, N + 1, y, NULL, &o, NULL, NULL), -1);
	assert_int_equal(nn_train_step(m, NN_IN_U8, x, N, NULL, NULL, &o, NULL, NULL), -1);
	assert_int_equal(nn_infer(m, NN_IN_U8, x, 0, p), -1);
	assert_int_equal(nn_step_count(m), 0);
	nn_model_free(m);
	be->close(be);
}

/* nn_params_nonfinite on ref and cpu: one NaN or Inf anywhere in the
 * parameters (first, last) is seen on the backend copy; 0 when finite
 * and when the model is not planned. */
static void
test_params_nonfinite(void **state)
{
	static const char *const names[] = { "ref", "cpu" };
	struct nn_backend_opts bo = { .threads = 1 };
	char err[256];

	for (int b = 0; b < 2; b++) {
		struct nn_backend *be = nn_backend_open(names[b], &bo, err, sizeof err);
		struct nn_model *m = nn_small_cnn(S, S, 3, &HEAD);
		const struct nn_param *last;
		float *h, keep;

		assert_non_null(be);
		nn_model_init_params(m, 1);
		assert_int_equal(nn_params_nonfinite(m), 0);
		assert_int_equal(nn_model_plan(m, be, N), 0);
		assert_int_equal(nn_params_nonfinite(m), 0);
		h = nn_params_host(m);
		last = nn_param_at(m, nn_param_count(m) - 1);
		keep = h[last->offset + last->size - 1];
		h[last->offset + last->size - 1] = NAN;
		nn_params_upload(m);
		assert_int_equal(nn_params_nonfinite(m), 1);
		h[last->offset + last->size - 1] = keep;
		nn_params_upload(m);
		assert_int_equal(nn_params_nonfinite(m), 0);
		h[0] = -INFINITY;
		nn_params_upload(m);
		assert_int_equal(nn_params_nonfinite(m), 1);
		nn_model_free(m);
		be->close(be);
	}
}

static void
test_precision(void **state)
{
	struct nn_backend_opts o = { .precision = NN_PREC_BF16 };
	char err[256];

	assert_int_equal(nn_precision_parse("fp32"), NN_PREC_FP32);
	assert_int_equal(nn_precision_parse("tf32"), NN_PREC_TF32);
	assert_int_equal(nn_precision_parse("bf16"), NN_PREC_BF16);
	assert_int_equal(nn_precision_parse("fp16"), NN_PREC_FP16);
	assert_int_equal(nn_precision_parse("fp64"), -1);
	assert_string_equal(nn_precision_name(NN_PREC_FP16), "fp16");
	assert_null(nn_backend_open("ref", &o, err, sizeof err));
	assert_non_null(strstr(err, "fp32 only"));
	o.precision = NN_PREC_FP16;
	assert_null(nn_backend_open("cpu", &o, err, sizeof err));
	assert_non_null(strstr(err, "fp32 and bf16 only"));
	/* bf16 on cpu: opens where oneDNN has bf16 kernels, else says so */
	o.precision = NN_PREC_BF16;
	setenv("RADPIPE_CPU_NO_BF16", "1", 1);
	assert_null(nn_backend_open("cpu", &o, err, sizeof err));
	assert_non_null(strstr(err, "needs a CPU with AVX512_BF16 or AMX"));
	unsetenv("RADPIPE_CPU_NO_BF16");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_steps),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_params_nonfinite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
