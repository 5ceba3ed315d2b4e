/* test_nn_mem.c — how many copies of the weights a model holds (issue 19,
 * bench/results/rss.md): the host arena is resident once, an inference
 * plan folds BNs into its one backend copy and gives a folded conv's
 * output no memory, a training plan on the cpu backend uses the host copy
 * as its parameters and caches no reordered weights.  Bounds are derived
 * from the model's own parameter bytes; peak RSS is /proc/self/status
 * VmHWM, reset before each measurement (clear_refs 5).
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
#include "nn/cpu/cpu_impl.h"
#include "nn/engine/nn_impl.h"

#define S 75            /* InceptionV3's smallest input: 85 MB of weights */

/* Under AddressSanitizer resident memory is its allocator's (quarantine,
 * redzones, shadow), not the program's: the RSS bounds are left out there;
 * the counted sizes (plan, copies, slots) are checked in every build. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_BOUNDS 0
#else
#define RSS_BOUNDS 1
#endif
#define BATCH 2

static const struct nn_head HEAD = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };

/* VmRSS (hwm = 0) or VmHWM (hwm = 1) in bytes. */
static double
vm(int hwm)
{
	char line[256];
	double kb = -1, v;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, hwm ? "VmHWM: %lf" : "VmRSS: %lf", &v) == 1)
			kb = v;
	fclose(f);
	assert_true(kb >= 0);
	return kb * 1024;
}

/* Peak RSS from here on (Linux 4.0 and later). */
static void
hwm_reset(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f != NULL) {
		fputs("5", f);
		fclose(f);
	}
}

static struct nn_backend *
cpu_open(void)
{
	struct nn_backend_opts o = { .threads = 2 };
	char err[256];
	struct nn_backend *be = nn_backend_open("cpu", &o, err, sizeof err);

	if (be == NULL)
		fail_msg("%s", err);
	return be;
}

static struct nn_model *
inception(void)
{
	struct nn_model *m = nn_arch_build("inception_v3", S, S, 3, &HEAD);

	assert_non_null(m);
	nn_model_init_params(m, 1);
	return m;
}

/* The host arena is resident once: building and initialising the model
 * adds its bytes and little more (a memset of the doubled capacity made
 * it 1.5 times that). */
static void
test_host_arena(void **state)
{
	double r0 = vm(0), r1, arena;
	struct nn_model *m = inception();

	r1 = vm(0);
	arena = (double)nn_arena_size(m) * sizeof(float);
	printf("  arena %.1f MB, resident after building %.1f MB\n", arena / 1048576,
	    (r1 - r0) / 1048576);
	nn_model_free(m);
	if (!RSS_BOUNDS) {
		printf("  RSS bound not checked under AddressSanitizer\n");
		return;
	}
	assert_true(r1 - r0 < 1.1 * arena);
}

/* Inference: one backend copy of the parameters (BNs folded in place),
 * one reordered copy in the cpu backend, folded convs' outputs given no
 * memory (less than RADPIPE_FOLD=0 plans), the probabilities those of
 * the unfolded plan; peak RSS over the plan and steps within host +
 * backend + reordered copies + the plan's activations + 48 MB. */
static void
test_inference(void **state)
{
	struct nn_backend *be = cpu_open();
	struct nn_model *m = inception();
	double arena = (double)nn_arena_size(m) * sizeof(float), r0, peak;
	size_t nx = (size_t)BATCH * S * S * 3, acts0;
	uint8_t *x = malloc(nx);
	float p0[BATCH], p1[BATCH];
	struct nn_mem mem;

	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)(i * 7919 % 251);
	setenv("RADPIPE_FOLD", "0", 1);
	assert_int_equal(nn_model_plan_flags(m, be, BATCH, NN_PLAN_INFERENCE), 0);
	unsetenv("RADPIPE_FOLD");
	assert_int_equal(nn_infer(m, NN_IN_U8, x, BATCH, p0), 0);
	acts0 = m->acts_size;
	nn_plan_release(m);
	be->close(be);
	be = cpu_open();
	r0 = vm(0);
	hwm_reset();
	assert_int_equal(nn_model_plan_flags(m, be, BATCH, NN_PLAN_INFERENCE), 0);
	for (int k = 0; k < 2; k++)
		assert_int_equal(nn_infer(m, NN_IN_U8, x, BATCH, p1), 0);
	peak = vm(1) - r0;
	nn_plan_memory(m, &mem);
	printf("  inference: params %.1f MB (arena %.1f), activations %.1f MB (%.1f "
	    "unfolded), reordered copies %.1f MB, peak RSS +%.1f MB\n",
	    mem.params / 1048576.0, arena / 1048576, m->acts_size * 4 / 1048576.0,
	    acts0 * 4 / 1048576.0, cpu_of(be)->wcpeak / 1048576.0, peak / 1048576);
	assert_true(mem.params == nn_arena_size(m) * sizeof(float));
	assert_true(m->fold_size * sizeof(float) < arena / 10);
	assert_true(m->acts_size < acts0);
	assert_true(cpu_of(be)->wcpeak < 1.05 * arena);
	if (RSS_BOUNDS)
		assert_true(peak < 2.05 * arena + m->acts_size * 4.0 + 48 * 1048576.0);
	for (int i = 0; i < BATCH; i++)
		assert_true(p0[i] - p1[i] < 1e-5f && p1[i] - p0[i] < 1e-5f);
	nn_model_free(m);
	be->close(be);
	free(x);
}

/* Training on the cpu backend: the host arena is the parameters, no
 * reordered copy per kernel is kept (one shared buffer of the largest),
 * and nn_params_download leaves the values adam wrote in the host copy. */
static void
test_training(void **state)
{
	static const struct nn_optim adam = { .type = NN_ADAM, .lr = 1e-4f, .beta1 = 0.9f,
	    .beta2 = 0.999f, .eps = 1e-8f };
	struct nn_backend *be = cpu_open();
	struct nn_model *m = inception();
	double arena = (double)nn_arena_size(m) * sizeof(float);
	size_t nx = (size_t)BATCH * S * S * 3, most = 0;
	uint8_t *x = malloc(nx);
	float y[BATCH] = { 0, 1 }, probs[BATCH], loss, before;
	const struct nn_param *k;

	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)(i * 7919 % 251);
	assert_int_equal(nn_model_plan(m, be, BATCH), 0);
	assert_ptr_equal(m->p, nn_params_host(m));
	k = nn_param_at(m, 0);
	before = nn_params_host(m)[k->offset];
	for (int s = 0; s < 2; s++)
		assert_int_equal(nn_train_step(m, NN_IN_U8, x, BATCH, y, NULL, &adam, &loss,
		    probs), 0);
	assert_int_equal(nn_params_download(m), 0);
	assert_true(nn_params_host(m)[k->offset] != before);
	for (int i = 0; i < nn_param_count(m); i++)
		if (nn_param_at(m, i)->size > most)
			most = nn_param_at(m, i)->size;
	printf("  training: cached copies at most %.1f KB, the shared slot %.1f MB "
	    "(largest kernel %.1f MB, arena %.1f MB)\n", cpu_of(be)->wcpeak / 1024.0,
	    cpu_of(be)->bufsize[CPU_WT_SLOT] / 1048576.0, most * 4 / 1048576.0, arena / 1048576);
	/* only the stem conv, run before the first training op, is cached */
	assert_true(cpu_of(be)->wcpeak < 64 * 1024);
	assert_true(cpu_of(be)->bufsize[CPU_WT_SLOT] < 2 * most * sizeof(float) + 65536);
	nn_model_free(m);
	be->close(be);
	free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_arena),
		cmocka_unit_test(test_inference),
		cmocka_unit_test(test_training),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
