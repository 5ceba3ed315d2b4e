/* test_nn_graph.c — the graph engine on the ref backend: the small CNN's
 * structure and parameters, memory planning (concat without copies, ReLU
 * in place, gradients packed by liveness, no allocation while training),
 * gradients through the whole graph, training to a low loss,
 * reproducibility and freezing; recomputation in backward (bit-exact
 * against stored activations) and inference-only plans.
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

#include "rng.h"
#include "nn/nn.h"
#include "nn/engine/nn_impl.h"

enum { S = 16, NTRAIN = 64, BATCH = 16 };

static const struct nn_head HEAD = { .dense_units = 8, .dropout = 0.5f, .classes = 1 };

static struct nn_backend *
ref(void)
{
	char err[256];
	struct nn_backend *be = nn_ref_open(NULL, err, sizeof err);

	assert_non_null(be);
	return be;
}

/* Synthetic separable data: class 1 has a bright Gaussian blob (sigma 2)
 * at a random place on dark noise, class 0 only the noise. */
static void
make_data(uint8_t *x, float *y, int n, uint64_t seed)
{
	struct rng r;

	rng_init(&r, seed, 7, 0);
	for (int i = 0; i < n; i++) {
		double cy = rng_range(&r, 4, 12), cx = rng_range(&r, 4, 12);
		y[i] = (float)(i % 2);
		for (int p = 0; p < S * S; p++) {
			double dy = p / S - cy, dx = p % S - cx;
			double v = rng_range(&r, 0, 40);
			if (y[i] == 1)
				v += 180 * exp(-(dy * dy + dx * dx) / 8);
			x[(size_t)i * S * S + p] = (uint8_t)(v > 255 ? 255 : v);
		}
	}
}

static struct nn_model *
small(struct nn_backend *be, const struct nn_head *h, uint64_t seed)
{
	struct nn_model *m = nn_small_cnn(S, S, 1, h);

	assert_non_null(m);
	nn_model_init_params(m, seed);
	nn_set_preprocess(m, 1 / 255.0f, 0);
	nn_set_seed(m, seed);
	if (be)
		assert_int_equal(nn_model_plan(m, be, BATCH), 0);
	return m;
}

static const struct nn_optim ADAM = { .type = NN_ADAM, .lr = 0.01f, .beta1 = 0.9f,
                                      .beta2 = 0.999f, .eps = 1e-7f };

/* One epoch over the data in batches; returns the mean batch loss. */
static double
epoch(struct nn_model *m, const uint8_t *x, const float *y, int n)
{
	double sum = 0;
	float loss;

	for (int b = 0; b < n / BATCH; b++) {
		assert_int_equal(nn_forward(m, NN_IN_U8, x + (size_t)b * BATCH * S * S, BATCH, 1), 0);
		assert_int_equal(nn_backward(m, y + b * BATCH, NULL, &loss, NULL), 0);
		assert_int_equal(nn_step(m, &ADAM), 0);
		sum += loss;
	}
	return sum / (n / BATCH);
}

/* ---- structure ---- */

static void
test_structure(void **state)
{
	struct nn_model *m = small(NULL, &HEAD, 1);
	size_t total = 0, aligned = 0;
	static const char *const names[] = {
		"conv2d_1/kernel:0", "batch_normalization_1/beta:0",
		"batch_normalization_1/moving_mean:0", "batch_normalization_1/moving_variance:0",
	};

	assert_int_equal(nn_layer_count(m), 23);
	assert_int_equal(nn_param_count(m), 26);
	for (int i = 0; i < 4; i++)
		assert_string_equal(nn_param_at(m, i)->name, names[i]);
	int g = nn_param_find(m, "batch_normalization_5/gamma:0");
	assert_true(g > 0);
	assert_string_equal(nn_param_at(m, g + 1)->name, "batch_normalization_5/beta:0");
	assert_string_equal(nn_param_at(m, g + 2)->name, "batch_normalization_5/moving_mean:0");
	assert_string_equal(nn_param_at(m, g - 1)->name, "conv2d_5/bias:0");
	assert_true(nn_param_find(m, "dense_2/bias:0") == nn_param_count(m) - 1);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		int moving = strstr(p->name, "moving_") != NULL;
		assert_int_equal(p->offset % 16, 0);
		assert_int_equal(p->offset, aligned);
		assert_int_equal(p->trainable, !moving);
		assert_int_equal(p->decay, strstr(p->name, "kernel") != NULL);
		total += p->size;
		aligned += (p->size + 15) / 16 * 16;
	}
	assert_int_equal(total, 3933);  /* counted by hand, see the layer list */
	assert_int_equal(nn_arena_size(m), aligned);
	const struct nn_layer *cat = nn_layer_at(m, nn_layer_find(m, "concatenate_1"));
	assert_true(cat->h == 8 && cat->w == 8 && cat->c == 20 && cat->nin == 3);
	const struct nn_layer *c5 = nn_layer_at(m, nn_layer_find(m, "conv2d_5"));
	assert_true(c5->h == 3 && c5->w == 3 && c5->c == 16);       /* 3x3/2 valid of 8 */
	assert_int_equal(nn_output_size(m), 1);
	assert_int_equal(nn_output_act(m), NN_ACT_SIGMOID);
	nn_model_free(m);
	struct nn_head h2 = { .dense_units = 0, .dropout = 0, .classes = 3 };
	m = nn_arch_build("small_cnn", 9, 7, 3, &h2);
	assert_non_null(m);
	assert_int_equal(nn_output_act(m), NN_ACT_SOFTMAX);
	assert_int_equal(nn_layer_count(m), 21);
	nn_model_free(m);
	assert_null(nn_arch_build("lenet", 16, 16, 1, &HEAD));
	assert_null(nn_small_cnn(5, 16, 1, &HEAD));
}

static void
test_errors(void **state)
{
	struct nn_model *m = nn_model_new("input_1", 8, 8, 2);
	int c;

	assert_true(nn_conv2d(m, "conv2d_1", 0, 4, 3, 3, 1, 1, NN_VALID, 0) == 1);
	assert_int_equal(nn_conv2d(m, "conv2d_1", 0, 4, 3, 3, 1, 1, NN_VALID, 0), -1);
	assert_non_null(strstr(nn_error(m), "duplicate"));
	assert_int_equal(nn_relu(m, "r", 7), -1);
	assert_int_equal(nn_conv2d(m, "big", 1, 4, 9, 9, 1, 1, NN_VALID, 0), -1);
	assert_int_equal(nn_dropout(m, "d", 1, 1.0f), -1);
	int in[2] = { 0, 1 };
	assert_int_equal(nn_concat(m, "cat", in, 2), -1);   /* 8x8 with 6x6 */
	c = nn_gap(m, "gap", 1);
	assert_true(c > 0);
	assert_true(nn_dense(m, "dense_1", c, 1, 1, NN_ACT_SIGMOID) > 0);
	assert_int_equal(nn_layer_count(m), 4);     /* failed calls added nothing */
	struct nn_backend *be = ref();
	assert_int_equal(nn_model_plan(m, be, 2), 0);
	assert_int_equal(nn_relu(m, "late", 1), -1);
	assert_int_equal(nn_forward(m, NN_IN_F32, (float[256]){ 0 }, 3, 0), -1);
	nn_model_free(m);
	be->close(be);
}

/* Glorot bounds, Keras fans, the other initialisers, reproducibility. */
static void
test_init(void **state)
{
	struct nn_model *m = small(NULL, &HEAD, 7);
	const struct nn_param *k5 = nn_param_at(m, nn_param_find(m, "conv2d_5/kernel:0"));
	const float *h = nn_params_host(m);
	double lim = sqrt(6.0 / (9 * 20 + 9 * 16)), s2 = 0;

	for (size_t i = 0; i < k5->size; i++) {
		assert_true(fabs(h[k5->offset + i]) <= lim);
		s2 += (double)h[k5->offset + i] * h[k5->offset + i];
	}
	/* uniform(-lim, lim) has sd lim/sqrt(3); 2880 draws: within 5% */
	assert_true(fabs(sqrt(s2 / k5->size) / (lim / sqrt(3)) - 1) < 0.05);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		float want = strstr(p->name, "gamma") || strstr(p->name, "variance") ? 1 : 0;
		for (size_t k = 0; !p->decay && k < p->size; k++)
			assert_true(h[p->offset + k] == want);
	}
	struct nn_model *a = small(NULL, &HEAD, 7), *b = small(NULL, &HEAD, 8);
	size_t n = nn_arena_size(m) * sizeof(float);
	assert_memory_equal(nn_params_host(a), h, n);
	assert_memory_not_equal(nn_params_host(b), h, n);
	nn_model_free(m), nn_model_free(a), nn_model_free(b);
}

/* ---- memory plan ---- */

static int nallocs;
static void *(*real_alloc)(struct nn_backend *, size_t);

static void *
count_alloc(struct nn_backend *be, size_t size)
{
	nallocs++;
	return real_alloc(be, size);
}

static void
test_plan(void **state)
{
	struct nn_backend *be = ref();
	struct nn_model *m = small(be, &HEAD, 3);
	const struct nn_lay *cat = &m->lay[nn_layer_find(m, "concatenate_1")];
	static const char *const branch[] = { "activation_2", "activation_3", "activation_4" };
	int off[] = { 0, 8, 16 };

	/* concat: each branch writes its channel slice; nothing is copied */
	assert_int_equal(cat->copy_in, 0);
	for (int j = 0; j < 3; j++) {
		const struct nn_lay *b = &m->lay[nn_layer_find(m, branch[j])];
		assert_ptr_equal(b->y, cat->y + off[j]);
		assert_int_equal(b->y_ld, 20);
		assert_ptr_equal(b->dy, cat->dy + off[j]);
	}
	/* ReLU in place over its BN; BN keeps the conv output it needs */
	const struct nn_lay *bn2 = &m->lay[nn_layer_find(m, "batch_normalization_2")];
	const struct nn_lay *cv2 = &m->lay[nn_layer_find(m, "conv2d_2")];
	assert_ptr_equal(bn2->y, cat->y);
	assert_true(cv2->y != bn2->y);
	/* gradients packed by liveness: far below one region per layer */
	struct nn_mem mem;
	size_t naive = 0;
	nn_plan_memory(m, &mem);
	for (int i = 0; i < nn_layer_count(m); i++) {
		const struct nn_layer *l = nn_layer_at(m, i);
		naive += (size_t)BATCH * l->h * l->w * l->c * sizeof(float);
	}
	fprintf(stderr, "small cnn, batch %d: params %zu, acts %zu, grads %zu "
	        "(one region per layer: %zu) bytes\n", BATCH, mem.params, mem.acts,
	        mem.grads, naive);
	assert_true(mem.grads < naive / 3);
	assert_true(mem.acts < naive);
	/* training allocates nothing */
	uint8_t x[BATCH * S * S];
	float y[BATCH];
	make_data(x, y, BATCH, 5);
	real_alloc = be->alloc;
	be->alloc = count_alloc;
	nallocs = 0;
	for (int i = 0; i < 3; i++)
		epoch(m, x, y, BATCH);
	assert_int_equal(nallocs, 0);
	be->alloc = real_alloc;
	nn_model_free(m);
	be->close(be);
}

/* The concat output, read back, is its branches side by side. */
static void
test_concat_values(void **state)
{
	struct nn_backend *be = ref();
	struct nn_model *m = small(be, &HEAD, 3);
	uint8_t x[4 * S * S];
	float y[4], *cat = malloc(4 * 64 * 20 * sizeof *cat), *b = malloc(4 * 64 * 8 * sizeof *b);
	static const char *const branch[] = { "activation_2", "activation_3", "activation_4" };
	int off[] = { 0, 8, 16 }, ch[] = { 8, 8, 4 };

	make_data(x, y, 4, 9);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, 4, 1), 0);
	assert_int_equal(nn_layer_output(m, nn_layer_find(m, "concatenate_1"), cat), 0);
	for (int j = 0; j < 3; j++) {
		assert_int_equal(nn_layer_output(m, nn_layer_find(m, branch[j]), b), 0);
		for (int p = 0; p < 4 * 64; p++)
			assert_memory_equal(cat + p * 20 + off[j], b + p * ch[j], ch[j] * sizeof *b);
	}
	free(cat), free(b);
	nn_model_free(m);
	be->close(be);
}

/* ---- gradients through the graph ---- */

static double
loss_at(struct nn_model *m, const uint8_t *x, const float *y, int n)
{
	float loss;

	nn_params_upload(m);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, n, 1), 0);
	assert_int_equal(nn_backward(m, y, NULL, &loss, NULL), 0);
	return loss;
}

/* nn_backward vs central differences of the float loss, at the element of
 * largest gradient of every trainable tensor, softmax head: h = 5e-4,
 * |error| < 3% of |g| + 2e-4 (float loss noise ~1e-7/h; measured: below
 * 0.8%, conv2d_5/bias ~1e-8 as it must be before a BN). */
static void
test_graph_grad(void **state)
{
	struct nn_backend *be = ref();
	struct nn_head h = { .dense_units = 8, .dropout = 0.25f, .classes = 3 };
	struct nn_model *m = small(be, &h, 11);
	uint8_t x[8 * S * S];
	float y[8], *g = malloc(nn_arena_size(m) * sizeof *g), *p = nn_params_host(m);
	const float eps = 5e-4f;

	make_data(x, y, 8, 4);
	for (int i = 0; i < 8; i++)
		y[i] = (float)(i % 3);
	loss_at(m, x, y, 8);
	be->download(be, g, m->g, nn_arena_size(m) * sizeof *g);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *q = nn_param_at(m, i);
		size_t k = q->offset;
		if (!q->trainable)
			continue;
		for (size_t j = q->offset; j < q->offset + q->size; j++)
			if (fabsf(g[j]) > fabsf(g[k]))
				k = j;
		float s = p[k];
		p[k] = s + eps;
		double lp = loss_at(m, x, y, 8);
		p[k] = s - eps;
		double lm = loss_at(m, x, y, 8);
		p[k] = s;
		double fd = (lp - lm) / (2 * eps);
		if (fabs(fd - g[k]) > 0.03 * fabs(g[k]) + 2e-4)
			fprintf(stderr, "%s: backward %.6g, differences %.6g\n", q->name, g[k], fd);
		assert_true(fabs(fd - g[k]) <= 0.03 * fabs(g[k]) + 2e-4);
	}
	free(g);
	nn_model_free(m);
	be->close(be);
}

/* ---- training ---- */

/* Trains until the epoch loss is below 0.05 (at most 100 epochs of 4
 * steps); returns the number of epochs; params left in the host copy. */
static int
train(struct nn_model *m, const uint8_t *x, const float *y)
{
	int e;
	double loss = 1;

	for (e = 1; e <= 100 && loss >= 0.05; e++)
		loss = epoch(m, x, y, NTRAIN);
	fprintf(stderr, "small cnn: epoch loss %.4f after %d epochs\n", loss, e - 1);
	nn_params_download(m);
	return loss < 0.05 ? e - 1 : -1;
}

static void
test_train(void **state)
{
	struct nn_backend *be = ref();
	uint8_t *x = malloc(NTRAIN * S * S), *xt = malloc(BATCH * S * S);
	float y[NTRAIN], yt[BATCH], prob[BATCH];
	struct nn_model *a = small(be, &HEAD, 21), *b = small(be, &HEAD, 21);
	int correct = 0;

	make_data(x, y, NTRAIN, 1);
	make_data(xt, yt, BATCH, 2);
	int ea = train(a, x, y);
	assert_true(ea > 0);
	assert_int_equal(train(b, x, y), ea);
	/* same seed, same data: bit-identical parameters */
	assert_memory_equal(nn_params_host(a), nn_params_host(b), nn_arena_size(a) * sizeof(float));
	assert_int_equal(nn_step_count(a), ea * (NTRAIN / BATCH));
	/* held-out images, inference mode (moving statistics, no dropout) */
	assert_int_equal(nn_forward(a, NN_IN_U8, xt, BATCH, 0), 0);
	assert_int_equal(nn_predict(a, prob), 0);
	for (int i = 0; i < BATCH; i++)
		correct += (prob[i] > 0.5f) == (yt[i] == 1);
	fprintf(stderr, "small cnn: %d/%d held-out images right\n", correct, BATCH);
	assert_true(correct >= BATCH - 1);
	free(x), free(xt);
	nn_model_free(a), nn_model_free(b);
	be->close(be);
}

/* ---- freezing ---- */

static int nbwd_data, nbwd_weights, nbn_bwd;
static struct nn_backend saved;

static void
cnt_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
             const float *w, float *dx, float beta)
{
	nbwd_data++;
	saved.conv_bwd_data(be, p, dy, w, dx, beta);
}

static void
cnt_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                const float *dy, float *dw, float *db)
{
	nbwd_weights++;
	saved.conv_bwd_weights(be, p, x, dy, dw, db);
}

static void
cnt_bn_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x,
           const float *dy, const float *gamma, const float *mean,
           const float *invstd, float *dx, float *dgamma, float *dbeta, float b)
{
	nbn_bwd++;
	saved.bn_bwd(be, p, x, dy, gamma, mean, invstd, dx, dgamma, dbeta, b);
}

/* Trains one epoch with layers [1, upto] frozen; checks which parameters
 * moved and how many backward ops ran per step. */
static void
freeze_case(const char *upto, int frozen_bn, int want_data, int want_weights, int want_bn)
{
	struct nn_backend *be = ref();
	struct nn_model *m = small(be, &HEAD, 5);
	int last = nn_layer_find(m, upto);
	size_t n = nn_arena_size(m);
	float *before = malloc(n * sizeof *before);
	uint8_t x[NTRAIN * S * S];
	float y[NTRAIN];

	for (int i = 1; i <= last; i++) {
		nn_set_trainable(m, i, 0);
		nn_set_frozen_bn(m, i, frozen_bn);
	}
	memcpy(before, nn_params_host(m), n * sizeof *before);
	saved = *be;
	be->conv_bwd_data = cnt_bwd_data;
	be->conv_bwd_weights = cnt_bwd_weights;
	be->bn_bwd = cnt_bn_bwd;
	nbwd_data = nbwd_weights = nbn_bwd = 0;
	make_data(x, y, NTRAIN, 3);
	epoch(m, x, y, NTRAIN);
	nn_params_download(m);
	const float *after = nn_params_host(m);
	for (int i = 0; i < nn_param_count(m); i++) {
		const struct nn_param *p = nn_param_at(m, i);
		int same = memcmp(before + p->offset, after + p->offset, p->size * sizeof *after) == 0;
		int moving = !p->trainable, frozen = p->layer <= last;
		/* moving statistics move in batch mode, even in frozen layers
		 * (Keras 2.0); frozen BN keeps them */
		int want_same = moving ? frozen && frozen_bn : frozen;
		if (same != want_same)
			fprintf(stderr, "%s: %s\n", p->name, same ? "unchanged" : "changed");
		assert_int_equal(same, want_same);
	}
	int steps = NTRAIN / BATCH;
	assert_int_equal(nbwd_data, want_data * steps);
	assert_int_equal(nbwd_weights, want_weights * steps);
	assert_int_equal(nbn_bwd, want_bn * steps);
	free(before);
	nn_model_free(m);
	be->close(be);
}

static void
test_freeze(void **state)
{
	freeze_case("input_1", 0, 4, 5, 5);             /* nothing frozen */
	freeze_case("concatenate_1", 0, 0, 1, 1);       /* only conv2d_5 block + head */
	freeze_case("activation_5", 0, 0, 0, 0);        /* only the head */
	freeze_case("activation_5", 1, 0, 0, 0);        /* and BN frozen */
	freeze_case("batch_normalization_1", 0, 1, 4, 4);      /* conv2d_5 still needs dx */
}

/* Re-planning (new batch size) keeps trained parameters and moments. */
static void
test_replan(void **state)
{
	struct nn_backend *be = ref();
	struct nn_model *m = small(be, &HEAD, 6);
	uint8_t x[NTRAIN * S * S];
	float y[NTRAIN];
	size_t n = nn_arena_size(m) * sizeof(float);

	make_data(x, y, NTRAIN, 3);
	epoch(m, x, y, NTRAIN);
	nn_params_download(m);
	nn_moments_download(m);
	float *p = malloc(n), *v = malloc(n);
	memcpy(p, nn_params_host(m), n);
	memcpy(v, nn_moments_host(m, 1), n);
	assert_int_equal(nn_model_plan(m, be, 2 * BATCH), 0);
	assert_memory_equal(nn_params_host(m), p, n);
	nn_moments_download(m);
	assert_memory_equal(nn_moments_host(m, 1), v, n);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, 2 * BATCH, 1), 0);
	free(p), free(v);
	nn_model_free(m);
	be->close(be);
}

/* ---- recomputation and inference plans ---- */

/* Two training steps of the small CNN on backend be planned with flags;
 * the gradients of the second backward into g, params after into p. */
static void
run_plan(struct nn_backend *be, unsigned flags, float *g, float *p, float *loss,
         struct nn_mem *mem)
{
	struct nn_model *m = small(NULL, &HEAD, 21);
	uint8_t x[BATCH * S * S];
	float y[BATCH];

	make_data(x, y, BATCH, 8);
	assert_int_equal(nn_model_plan_flags(m, be, BATCH, flags), 0);
	nn_plan_memory(m, mem);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(nn_forward(m, NN_IN_U8, x, BATCH, 1), 0);
		assert_int_equal(nn_backward(m, y, NULL, loss, NULL), 0);
		if (k == 0)
			assert_int_equal(nn_step(m, &ADAM), 0);
	}
	be->download(be, g, m->g, nn_arena_size(m) * sizeof *g);
	assert_int_equal(nn_step(m, &ADAM), 0);
	nn_params_download(m);
	memcpy(p, nn_params_host(m), nn_arena_size(m) * sizeof *p);
	nn_model_free(m);
}

/* Recomputing BN+ReLU outputs (and pools, concats) in backward gives the
 * stored-activation path's gradients bit for bit, with less memory; on
 * ref and, when built, cpu. */
static void
test_recompute(void **state)
{
	static const char *const names[] = { "ref", "cpu" };
	struct nn_model *m = small(NULL, &HEAD, 21);
	size_t n = nn_arena_size(m);
	float *g0 = calloc(n, 4), *g1 = calloc(n, 4), *p0 = calloc(n, 4), *p1 = calloc(n, 4);
	float l0, l1;
	struct nn_mem m0, m1;
	char err[256];

	nn_model_free(m);
	for (int b = 0; b < 2; b++) {
		struct nn_backend *be = nn_backend_open(names[b], NULL, err, sizeof err);
		if (be == NULL)
			continue;
		run_plan(be, NN_PLAN_KEEP, g0, p0, &l0, &m0);
		run_plan(be, 0, g1, p1, &l1, &m1);
		fprintf(stderr, "%s: activations kept %zu, recomputed %zu bytes\n",
		        names[b], m0.acts, m1.acts);
		assert_true(m1.acts < m0.acts);
		assert_memory_equal(&l0, &l1, sizeof l0);
		assert_memory_equal(g0, g1, n * sizeof *g0);
		assert_memory_equal(p0, p1, n * sizeof *p0);
		be->close(be);
	}
	free(g0), free(g1), free(p0), free(p1);
}

/* An inference plan: the training plan's inference outputs, less memory,
 * no backward; outputs overwritten later in the pass are refused. */
static void
test_inference_plan(void **state)
{
	struct nn_backend *be = ref();
	struct nn_model *m = small(be, &HEAD, 4);
	uint8_t x[BATCH * S * S];
	float y[BATCH], p0[BATCH], p1[BATCH], *out = malloc(BATCH * S * S * 8 * 4);
	struct nn_mem mt, mi;
	int last = nn_layer_count(m) - 1;

	make_data(x, y, BATCH, 2);
	nn_plan_memory(m, &mt);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, BATCH, 0), 0);
	assert_int_equal(nn_predict(m, p0), 0);
	assert_int_equal(nn_model_plan_flags(m, be, BATCH, NN_PLAN_INFERENCE), 0);
	nn_plan_memory(m, &mi);
	/* params: one copy of the parameters, the BN-folded conv weights
	 * written over them (plan.c mark_fold; issue 19: a second copy of
	 * every kernel before) */
	assert_true(mi.acts < mt.acts && mi.grads < mt.grads / 10 && mi.params * 4 == mt.params);
	assert_int_equal(nn_forward(m, NN_IN_U8, x, BATCH, 0), 0);
	assert_int_equal(nn_predict(m, p1), 0);
	assert_memory_equal(p0, p1, sizeof p0);
	assert_int_equal(nn_layer_output(m, last, out), 0);
	assert_int_equal(nn_layer_output(m, nn_layer_find(m, "conv2d_1"), out), -1);
	assert_int_equal(nn_backward(m, y, NULL, NULL, NULL), -1);
	assert_int_equal(nn_step(m, &ADAM), -1);
	/* and back to training */
	assert_int_equal(nn_model_plan(m, be, BATCH), 0);
	epoch(m, x, y, BATCH);
	free(out);
	nn_model_free(m);
	be->close(be);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_concat_values),
		cmocka_unit_test(test_graph_grad),
		cmocka_unit_test(test_train),
		cmocka_unit_test(test_freeze),
		cmocka_unit_test(test_replan),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_inference_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
