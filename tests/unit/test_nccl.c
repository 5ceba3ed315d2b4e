/* test_nccl.c — the cuda backend's NCCL ops (backend.h comm_id, comm_init,
 * allreduce; libshared/nn/cuda/nccl.c) on one GPU as one rank, which runs
 * the same NCCL calls as many:
 *   - allreduce with a rank share of 0.5 gives 0.5*x exactly;
 *   - training steps whose every gradient bucket goes through allreduce
 *     (the engine's gradient hook, as libshared/nn/dist installs it) give
 *     the parameters of steps without it, bit for bit (deterministic).
 * Without a usable GPU, or with a backend built without NCCL, it prints
 * "SKIP: <reason>" and succeeds (tests/gpu/run.sh runs it on a GPU).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nn/nn.h"
#include "rng.h"

enum { S = 24, N = 4, STEPS = 4 };

static struct nn_backend *
open_comm(char *why, size_t len)
{
	struct nn_backend_opts o = { .deterministic = 1, .graphs = -1 };
	struct nn_backend *be = nn_cuda_open(&o, why, len);
	char id[256];
	size_t n = 0;

	if (be == NULL)
		return NULL;
	if (be->comm_id(be, id, &n) < 0 || be->comm_init(be, id, n, 0, 1) < 0) {
		snprintf(why, len, "%s", be->error(be));
		be->close(be);
		return NULL;
	}
	return be;
}

static void
test_allreduce_share(void **state)
{
	char why[512];
	struct nn_backend *be = open_comm(why, sizeof why);
	float x[1000], y[1000], *d;

	if (be == NULL) {
		printf("SKIP: %s\n", why);
		skip();
	}
	for (int i = 0; i < 1000; i++)
		x[i] = (float)(i - 500) * 0.37f;
	d = be->alloc(be, sizeof x);
	be->upload(be, d, x, sizeof x);
	be->allreduce(be, d, 1000, 0.5f);
	be->download(be, y, d, sizeof y);
	assert_null(be->error(be));
	for (int i = 0; i < 1000; i++)
		assert_true(y[i] == 0.5f * x[i]);
	be->free(be, d);
	be->close(be);
}

static struct nn_backend *hook_be;

static void
reduce_bucket(void *ctx, float *g, size_t lo, size_t hi)
{
	hook_be->allreduce(hook_be, g + lo, hi - lo, 1.0f);
}

/* Parameters after STEPS steps, with every layer's gradients all-reduced
 * (nccl = 1) or not. */
static float *
run(int nccl, size_t *nP)
{
	char why[512];
	struct nn_backend *be = open_comm(why, sizeof why);
	struct nn_head head = { .dense_units = 16, .dropout = 0, .classes = 1 };
	struct nn_model *m = nn_small_cnn(S, S, 3, &head);
	struct nn_optim adam = { NN_ADAM, 1e-3f, 0.9f, 0.999f, 1e-7f, 0, 0, 0 };
	struct nn_grad_hook h = { reduce_bucket, NULL, NULL };
	static uint8_t x[N * S * S * 3];
	float y[N], loss, *out;
	struct rng r;

	assert_non_null(be);
	hook_be = be;
	rng_init(&r, 7, 0, 0);
	nn_model_init_params(m, 3);
	nn_set_preprocess(m, 1 / 255.0f, 0);
	assert_int_equal(nn_model_plan(m, be, N), 0);
	nn_params_upload(m);
	if (nccl)
		nn_set_grad_hook(m, &h);
	for (int s = 0; s < STEPS; s++) {
		for (size_t i = 0; i < sizeof x; i++)
			x[i] = (uint8_t)rng_u32(&r);
		for (int i = 0; i < N; i++)
			y[i] = (float)(i & 1);
		assert_int_equal(nn_train_step(m, NN_IN_U8, x, N, y, NULL, &adam, &loss, NULL), 0);
	}
	nn_params_download(m);
	*nP = nn_arena_size(m);
	out = malloc(*nP * sizeof *out);
	memcpy(out, nn_params_host(m), *nP * sizeof *out);
	nn_model_free(m);
	be->close(be);
	return out;
}

static void
test_steps_through_nccl(void **state)
{
	char why[512];
	struct nn_backend *be = open_comm(why, sizeof why);
	size_t n1, n2;
	float *a, *b;

	if (be == NULL) {
		printf("SKIP: %s\n", why);
		skip();
	}
	be->close(be);
	a = run(0, &n1);
	b = run(1, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(a, b, n1 * sizeof *a);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allreduce_share),
		cmocka_unit_test(test_steps_through_nccl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
