/* test_dist.c — the single-process side of data parallelism:
 *   - dist.c built without MPI (this file compiles it without RADPIPE_MPI)
 *     refuses --dist and a launch by mpirun/srun on several tasks, and
 *     runs alone otherwise;
 *   - the engine's gradient hook (nn_set_grad_hook) sees every updated
 *     layer's range once, in decreasing order, then done once per step;
 *   - --sync-bn's path (engine/syncbn.c) with a sum over one rank gives the
 *     plain step's parameters (ref, within 1e-5 relative);
 *   - nn_idle_step with zero gradients leaves plain SGD parameters as
 *     they were and counts the step.
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

#include "../../libshared/nn/dist/dist.c"
#include "rng.h"

enum { S = 16, N = 4, STEPS = 3 };
static const struct nn_head HEAD = { .dense_units = 8, .dropout = 0.5f, .classes = 1 };

static void
unset_launchers(void)
{
	unsetenv("OMPI_COMM_WORLD_SIZE");
	unsetenv("PMI_SIZE");
	unsetenv("SLURM_STEP_NUM_TASKS");
}

static void
test_without_mpi(void **state)
{
	static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS" };
	char err[256] = "";
	struct dist *d;

	unset_launchers();
	assert_int_equal(dist_built_with_mpi(), 0);
	assert_null(dist_open(1, err, sizeof err));
	assert_non_null(strstr(err, "--dist, but this radpipe was built without MPI"));
	for (int i = 0; i < 3; i++) {
		setenv(vars[i], "2", 1);
		err[0] = '\0';
		assert_null(dist_open(0, err, sizeof err));
		assert_non_null(strstr(err, "started by mpirun or srun as one of several tasks"));
		setenv(vars[i], "1", 1);
		assert_non_null(d = dist_open(0, err, sizeof err));
		assert_int_equal(dist_size(d), 1);
		assert_int_equal(dist_rank(d), 0);
		dist_close(d);
		unsetenv(vars[i]);
	}
	assert_non_null(d = dist_open(0, err, sizeof err));
	assert_int_equal(dist_step_begin(d, 5), 5);
	dist_close(d);
}

/* A model on ref after STEPS steps of random data; with hooks set up by
 * setup(m) when not NULL.  Returns the host parameters (caller frees). */
static float *
train(void (*setup)(struct nn_model *), int sgd, size_t *nP)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);
	struct nn_model *m = nn_small_cnn(S, S, 3, &HEAD);
	struct nn_optim o = { NN_ADAM, 1e-3f, 0.9f, 0.999f, 1e-7f, 0, 0, 0 };
	uint8_t x[N * S * S * 3];
	float y[N], loss, *out;
	struct rng r;

	if (sgd)
		o = (struct nn_optim){ .type = NN_SGD, .lr = 0.1f };
	assert_non_null(be);
	rng_init(&r, 3, 0, 0);
	nn_model_init_params(m, 1);
	nn_set_preprocess(m, 1 / 255.0f, 0);
	assert_int_equal(nn_model_plan(m, be, N), 0);
	nn_params_upload(m);
	if (setup)
		setup(m);
	for (int s = 0; s < STEPS; s++) {
		for (size_t i = 0; i < sizeof x; i++)
			x[i] = (uint8_t)rng_u32(&r);
		for (int i = 0; i < N; i++)
			y[i] = (float)(i & 1);
		assert_int_equal(nn_train_step(m, NN_IN_U8, x, N, y, NULL, &o, &loss, NULL), 0);
	}
	if (sgd) {      /* one idle step: zero gradients, plain SGD: no change */
		float *before;
		nn_params_download(m);
		before = malloc(nn_arena_size(m) * sizeof *before);
		memcpy(before, nn_params_host(m), nn_arena_size(m) * sizeof *before);
		assert_int_equal(nn_idle_step(m, &o), 0);
		assert_int_equal(nn_step_count(m), STEPS + 1);
		nn_params_download(m);
		assert_memory_equal(before, nn_params_host(m), nn_arena_size(m) * sizeof *before);
		free(before);
	}
	nn_params_download(m);
	*nP = nn_arena_size(m);
	out = malloc(*nP * sizeof *out);
	memcpy(out, nn_params_host(m), *nP * sizeof *out);
	nn_model_free(m);
	be->close(be);
	return out;
}

/* The gradient hook's calls, checked as they come. */
static size_t last_lo;
static int readies, dones, in_step;
static const struct nn_model *hooked_model;

static void
on_ready_t(void *ctx, float *g, size_t lo, size_t hi)
{
	assert_true(lo < hi);
	assert_true(hi <= last_lo);     /* decreasing, not overlapping */
	last_lo = lo;
	readies++;
	in_step = 1;
}

static void
on_done_t(void *ctx, float *g, size_t n)
{
	assert_int_equal(n, nn_arena_size(hooked_model));
	last_lo = n;
	dones++;
	in_step = 0;
}

static void
set_grad_hook(struct nn_model *m)
{
	struct nn_grad_hook h = { on_ready_t, on_done_t, NULL };

	hooked_model = m;
	last_lo = nn_arena_size(m);
	nn_set_grad_hook(m, &h);
}

static void
test_grad_hook(void **state)
{
	size_t n;
	int layers = 0;
	struct nn_model *m = nn_small_cnn(S, S, 3, &HEAD);

	for (int i = 0; i < nn_layer_count(m); i++)
		layers += nn_layer_at(m, i)->type == NN_CONV2D || nn_layer_at(m, i)->type == NN_DENSE ||
		          nn_layer_at(m, i)->type == NN_BATCHNORM;
	nn_model_free(m);
	readies = dones = 0;
	free(train(set_grad_hook, 1, &n));
	/* every conv, dense and BN layer each step; done also for the idle step */
	assert_int_equal(readies, STEPS * layers);
	assert_int_equal(dones, STEPS + 1);
}

static void
one_rank_sum(void *ctx, double *v, int n)
{
	(void)ctx, (void)v, (void)n;    /* the sum over one rank */
}

static void
set_bn_sync(struct nn_model *m)
{
	nn_set_bn_sync(m, one_rank_sum, NULL, 1.0);
}

static void
test_sync_bn_one_rank(void **state)
{
	size_t n, n2;
	float *a = train(NULL, 0, &n), *b = train(set_bn_sync, 0, &n2);
	double worst = 0, big = 0;

	assert_int_equal(n, n2);
	for (size_t i = 0; i < n; i++)
		big = fmax(big, fabs(a[i]));
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs(a[i] - b[i]) / big);
	printf("sync-bn on one rank against plain: %.3g relative to the largest parameter\n", worst);
	assert_true(worst <= 1e-5);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without_mpi),
		cmocka_unit_test(test_grad_hook),
		cmocka_unit_test(test_sync_bn_one_rank),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
