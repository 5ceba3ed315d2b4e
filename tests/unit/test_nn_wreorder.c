/* test_nn_wreorder.c — the cpu backend's own weight reorders
 * (cpu_wreorder.c) against oneDNN's reorder primitive, byte for byte: for
 * every weights layout the backend picks for the convolutions of
 * InceptionV3, ResNet50, DenseNet121 and MobileNetV2 at batch 1 and 5, in
 * fp32 and (where the CPU has AVX512_BF16) bf16, forward, backward data
 * and backward weights, on data with negative zeros, bf16 rounding ties,
 * denormals, values that round to Inf, Inf and NaN; each layout through
 * the backend's path (an AVX-512 kernel, or oneDNN's reorder where it has
 * none) and, where cpu_wreorder.c describes it, through the plain-C one.
 * Layouts the kernels do not take must keep oneDNN's reorder, and so must
 * every layout under RADPIPE_CPU_FAST_REORDER=0; bf16 layouts are also
 * checked with the padding the models lack (odd ic, oc and ic not
 * multiples of 16).
 *
 * RADPIPE_WRE_BENCH=1: also times, per InceptionV3 training step at batch
 * 5 (each convolution's forward, backward-data and backward-weights
 * reorder once), oneDNN's reorders against cpu_wreorder.c's, one thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include <cmocka.h>

#include "err.h"
#include "rng.h"
#include "nn/nn.h"
#include "nn/backend.h"
#include "nn/engine/nn_impl.h"
#include "nn/cpu/cpu_impl.h"

static struct rng rng;

/* One random float of the awkward kinds (see the top), as bits. */
static uint32_t
awkward(void)
{
	uint32_t r = rng_u32(&rng), hi = rng_u32(&rng) & 0xffff0000u;

	switch (rng_below(&rng, 12)) {
	case 0: return 0x80000000u;                             /* -0 */
	case 1: return 0;
	case 2: return hi | 0x8000u;                            /* tie */
	case 3: return (hi & 0x807f0000u) | (r & 0xffffu);      /* denormal */
	case 4: return (r & 0x80000000u) | 0x7f800000u;         /* Inf */
	case 5: return (r & 0x80000000u) | 0x7f800000u | (r & 0x7fffffu) | 1u; /* NaN */
	case 6: return (r & 0x80000000u) | 0x7f800001u;         /* NaN, low bits */
	case 7: return (r & 0x80000000u) | 0x7f7f8000u | (r & 0x7fffu); /* -> Inf? */
	case 8: return hi | 0x7fffu;
	default:
		{
			float f = (float)rng_range(&rng, -2.0, 2.0);

			memcpy(&r, &f, sizeof r);
			return r;
		}
	}
}

static void
fill(void *p, size_t bytes)
{
	uint32_t *u = p;

	for (size_t k = 0; k < bytes / 4; k++)
		u[k] = awkward();
}

/* The oneDNN tag-like name of md ("ABcd8b16a2b:bf16"). */
static void
md_name(const dnnl_memory_desc_t *md, char *buf, size_t len)
{
	const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
	int n = 0;

	n += snprintf(buf + n, len - n, "st=%ld,%ld,%ld,%ld:", (long)b->strides[0],
	    (long)b->strides[1], (long)b->strides[2], (long)b->strides[3]);
	for (int k = 0; k < b->inner_nblks; k++)
		n += snprintf(buf + n, len - n, "%ld%c", (long)b->inner_blks[k],
		    (char)('a' + b->inner_idxs[k]));
	snprintf(buf + n, len - n, ":%s", md->data_type == dnnl_bf16 ? "bf16" : "f32");
}

/* The convolution of layer l of m at batch n (dense NHWC). */
static struct nn_conv
conv_of(const struct nn_model *m, const struct nn_lay *l, int n)
{
	const struct nn_lay *x = &m->lay[l->pub.in[0]];

	return (struct nn_conv){
		.n = n, .ih = x->pub.h, .iw = x->pub.w, .ic = x->pub.c,
		.oh = l->pub.h, .ow = l->pub.w, .oc = l->pub.c,
		.kh = l->kh, .kw = l->kw, .sh = l->sh, .sw = l->sw,
		.pt = l->pt, .pl = l->pl, .x_ld = x->pub.c, .y_ld = l->pub.c,
	};
}

static struct nn_model *
model(const char *arch, int size)
{
	struct nn_head head = { .dense_units = 0, .dropout = 0, .classes = 1 };
	struct nn_model *m = nn_arch_build(arch, size, size, 3, &head);

	assert_non_null(m);
	return m;
}

/* The convolutions of arch at batch n into the cache of be. */
static void
make_entries(struct nn_backend *be, const char *arch, int size, int n)
{
	struct nn_model *m = model(arch, size);
	char impl[256];

	for (int k = 0; k < m->nlay; k++) {
		struct nn_conv p;

		if (m->lay[k].pub.type != NN_CONV2D)
			continue;
		p = conv_of(m, &m->lay[k], n);
		nn_cpu_conv_impl(be, &p, impl, sizeof impl);
	}
	nn_model_free(m);
	assert_null(nn_backend_error(be));
}

/* Bytes of the HWIO kernel of e. */
static size_t
hwio_bytes(const struct cpu_entry *e)
{
	return (size_t)e->key.v[3] * e->key.v[6] * e->key.v[7] * e->key.v[8] * sizeof(float);
}

/* e's reorder by oneDNN, by cpu_wre_run (AVX-512 where it plans so) and,
 * where cpu_wreorder.c describes the layout, by its plain-C kernel: the
 * same bytes?  (Destinations start as different garbage, so padding must
 * be written.) */
static void
check_entry(struct cpu *c, struct cpu_entry *e, const char *what)
{
	int back = e->key.op == CPU_CONV_BWD_WEIGHTS;
	size_t nin = back ? e->wsize : hwio_bytes(e), nout = back ? hwio_bytes(e) : e->wsize;
	char *in = xaligned(nin), *ref = xaligned(nout), *got = xaligned(nout);
	void *ptr[2] = { in, ref };
	struct cpu_wplan d;
	char name[128];

	md_name(&e->wmd, name, sizeof name);
	fill(in, nin);
	memset(ref, 0xab, nout);
	memset(got, 0xcd, nout);
	cpu_run(c, &e->wre, ptr);
	ptr[1] = got;
	e->wp.kind = CPU_WRE_UNDECIDED;
	cpu_wre_run(c, e, ptr);
	assert_string_equal(c->err, "");
	if (memcmp(ref, got, nout) != 0)
		fail_msg("%s %s (op %d, %dx%dx%dx%d, ours %d): differs from oneDNN", what, name,
		    e->key.op, e->key.v[6], e->key.v[3], e->key.v[7], e->key.v[8],
		    e->wp.kind == CPU_WRE_FAST);
	if (cpu_wre_plan_md(&d, &e->wmd, back, e->key.v[6], e->key.v[3], e->key.v[7],
	    e->key.v[8])) {
		d.simd = 0;
		memset(got, 0xcd, nout);
		cpu_wre_exec(&d, in, got);
		if (memcmp(ref, got, nout) != 0)
			fail_msg("%s %s (op %d, %dx%dx%dx%d): the C kernel differs from oneDNN",
			    what, name, e->key.op, e->key.v[6], e->key.v[3], e->key.v[7],
			    e->key.v[8]);
	}
	free(in);
	free(ref);
	free(got);
}

/* Every weights reorder in the cache of be, checked; prints what ran how. */
static void
check_cache(struct nn_backend *be, const char *what)
{
	struct cpu *c = cpu_of(be);
	int nfast = 0, none = 0;
	char name[128];

	for (int b = 0; b < CPU_NBUCKET; b++)
		for (struct cpu_entry *e = c->tab[b]; e != NULL; e = e->next) {
			if (e->wre.prim == NULL)
				continue;
			check_entry(c, e, what);
			if (e->wp.kind != CPU_WRE_FAST) {
				md_name(&e->wmd, name, sizeof name);
				if (getenv("TEST_VERBOSE") != NULL)
					printf("  %s: oneDNN keeps op %d %s\n", what,
					    e->key.op, name);
				none++;
			} else {
				nfast++;
				md_name(&e->wmd, name, sizeof name);
				if (getenv("TEST_VERBOSE") != NULL)
					printf("  %s: ours op %d %dx%dx%dx%d %s\n", what,
					    e->key.op, e->key.v[6], e->key.v[3], e->key.v[7],
					    e->key.v[8], name);
			}
		}
	printf("  %s: %d weight reorders ours, %d oneDNN's (all %d checked)\n", what, nfast,
	    none, nfast + none);
	assert_true(nfast > 0);
}

static struct nn_backend *
open_cpu(int prec, char *err, size_t errlen)
{
	struct nn_backend_opts o = { .threads = 2, .precision = prec };

	return nn_cpu_open(&o, err, errlen);
}

static void
check_models(int prec)
{
	static const struct { const char *arch; int size; } a[] = {
		{ "inception_v3", 299 }, { "resnet50", 224 }, { "densenet121", 224 },
		{ "mobilenet_v2", 224 },
	};
	char err[256], what[64];

	for (size_t k = 0; k < sizeof a / sizeof a[0]; k++) {
		struct nn_backend *be = open_cpu(prec, err, sizeof err);

		assert_non_null(be);
		make_entries(be, a[k].arch, a[k].size, 1);
		make_entries(be, a[k].arch, a[k].size, 5);
		snprintf(what, sizeof what, "%s %s", a[k].arch, nn_precision_name(prec));
		check_cache(be, what);
		be->close(be);
	}
}

static void
test_models_fp32(void **state)
{
	check_models(NN_PREC_FP32);
}

static void
test_models_bf16(void **state)
{
	char err[256];
	struct nn_backend *be = open_cpu(NN_PREC_BF16, err, sizeof err);

	if (be == NULL) {
		printf("  bf16 skipped: %s\n", err);
		skip();
	}
	be->close(be);
	check_models(NN_PREC_BF16);
}

/* A forward entry of an oc x ic x 3 x 3 kernel with weights layout tag
 * of type dt and oneDNN's reorder hwio -> that layout. */
static void
fake_entry(struct cpu *c, struct cpu_entry *e, dnnl_format_tag_t tag, dnnl_data_type_t dt,
    int oc, int ic)
{
	dnnl_dims_t wd = { oc, ic, 3, 3 };
	dnnl_memory_desc_t hwio;
	dnnl_primitive_desc_t pd;

	memset(e, 0, sizeof *e);
	e->key.op = CPU_CONV_FWD;
	e->key.v[3] = ic;
	e->key.v[6] = oc;
	e->key.v[7] = 3;
	e->key.v[8] = 3;
	assert_int_equal(dnnl_memory_desc_init_by_tag(&hwio, 4, wd, dnnl_f32, dnnl_hwio), 0);
	assert_int_equal(dnnl_memory_desc_init_by_tag(&e->wmd, 4, wd, dt, tag), 0);
	e->wsize = dnnl_memory_desc_get_size(&e->wmd);
	assert_int_equal(dnnl_reorder_primitive_desc_create(&pd, &hwio, c->eng, &e->wmd,
	    c->eng, NULL), 0);
	cpu_exe_init(c, &e->wre, pd);
	cpu_exe_arg(c, &e->wre, DNNL_ARG_FROM, &hwio);
	cpu_exe_arg(c, &e->wre, DNNL_ARG_TO, &e->wmd);
	dnnl_primitive_desc_destroy(pd);
}

static void
test_fallback(void **state)
{
	char err[256];
	struct nn_backend *be = open_cpu(NN_PREC_FP32, err, sizeof err);
	struct cpu *c;
	struct cpu_entry e;

	assert_non_null(be);
	c = cpu_of(be);
	/* blocks over ic and kh: not taken, oneDNN's reorder runs */
	fake_entry(c, &e, dnnl_aBCd16b16c, dnnl_f32, 24, 20);
	check_entry(c, &e, "fallback aBCd16b16c");
	assert_int_equal(e.wp.kind, CPU_WRE_ONEDNN);
	cpu_exe_free(&e.wre);
	/* taken (16b16a with padding: oc 24, ic 20), and the switch off */
	fake_entry(c, &e, dnnl_ABcd16b16a, dnnl_f32, 24, 20);
	check_entry(c, &e, "taken ABcd16b16a");
	assert_int_equal(e.wp.kind, CPU_WRE_FAST);
	setenv("RADPIPE_CPU_FAST_REORDER", "0", 1);
	check_entry(c, &e, "switched off");
	unsetenv("RADPIPE_CPU_FAST_REORDER");
	assert_int_equal(e.wp.kind, CPU_WRE_ONEDNN);
	cpu_exe_free(&e.wre);
	be->close(be);
}

/* bf16 padding the models do not have: odd ic (a pair with one row past
 * ic), oc and ic not multiples of 16. */
static void
test_bf16_padding(void **state)
{
	static const dnnl_format_tag_t tag[] = { dnnl_ABcd8b16a2b, dnnl_ABcd8a16b2a,
	                                         dnnl_BAcd8a16b2a };
	static const int dims[][2] = { { 24, 19 }, { 17, 33 }, { 32, 1 } };
	char err[256];
	struct nn_backend *be = open_cpu(NN_PREC_BF16, err, sizeof err);
	struct cpu_entry e;

	if (be == NULL) {
		printf("  bf16 skipped: %s\n", err);
		skip();
	}
	for (size_t t = 0; t < sizeof tag / sizeof tag[0]; t++)
		for (size_t k = 0; k < sizeof dims / sizeof dims[0]; k++) {
			fake_entry(cpu_of(be), &e, tag[t], dnnl_bf16, dims[k][0], dims[k][1]);
			check_entry(cpu_of(be), &e, "bf16 padding");
			assert_int_equal(e.wp.kind, CPU_WRE_FAST);
			cpu_exe_free(&e.wre);
		}
	be->close(be);
}

/* Seconds of CPU time (this process). */
static double
cpu_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* The benchmark's step: per convolution layer of the model, its three
 * entries (forward, backward data, backward weights), with the layer's
 * own HWIO kernel and gradient (cold, as the parameter and gradient
 * arenas are in a step) and one shared buffer for the blocked side (warm,
 * as the backend's scratch slot is); forward in layer order, then
 * backward in reverse. */
struct bench {
	int n;
	struct cpu_entry **e;
	char **hwio;
	char *blk;
};

/* Adds the entries of op for layer p (kernel w, gradient dw). */
static void
bench_add(struct bench *b, struct cpu *c, const struct nn_conv *p, int op, char **w, char **dw,
    size_t *most)
{
	int v[] = { p->n, p->ih, p->iw, p->ic, p->oh, p->ow, p->oc, p->kh, p->kw, p->sh, p->sw,
	            p->pt, p->pl };

	for (int h = 0; h < CPU_NBUCKET; h++)
		for (struct cpu_entry *e = c->tab[h]; e != NULL; e = e->next) {
			if (e->wre.prim == NULL || e->key.op != op ||
			    memcmp(e->key.v, v, sizeof v) != 0)
				continue;
			if (*w == NULL) {
				*w = xaligned(hwio_bytes(e));
				*dw = xaligned(hwio_bytes(e));
				fill(*w, hwio_bytes(e));
				fill(*dw, hwio_bytes(e));
			}
			*most = e->wsize > *most ? e->wsize : *most;
			b->e[b->n] = e;
			b->hwio[b->n++] = op == CPU_CONV_BWD_WEIGHTS ? *dw : *w;
		}
}

static void
bench_init(struct bench *b, struct cpu *c, const struct nn_model *m)
{
	size_t most = 0;
	char **w = XNEW(char *, m->nlay), **dw = XNEW(char *, m->nlay);

	memset(b, 0, sizeof *b);
	b->e = XNEW(struct cpu_entry *, 3 * m->nlay);
	b->hwio = XNEW(char *, 3 * m->nlay);
	for (int pass = 0; pass < 2; pass++)
		for (int j = 0; j < m->nlay; j++) {
			int k = pass == 0 ? j : m->nlay - 1 - j;
			struct nn_conv p;

			w[k] = pass == 0 ? NULL : w[k];
			if (m->lay[k].pub.type != NN_CONV2D)
				continue;
			p = conv_of(m, &m->lay[k], 5);
			if (pass == 0) {
				bench_add(b, c, &p, CPU_CONV_FWD, &w[k], &dw[k], &most);
				continue;
			}
			bench_add(b, c, &p, CPU_CONV_BWD_WEIGHTS, &w[k], &dw[k], &most);
			bench_add(b, c, &p, CPU_CONV_BWD_DATA, &w[k], &dw[k], &most);
		}
	b->blk = xaligned(most);
	fill(b->blk, most);
	free(w);
	free(dw);
}

/* Milliseconds (CPU time) of one step's weights reorders, oneDNN's (fast
 * 0) or ours; in part[op - 1] those of op (CPU_CONV_FWD, ...). */
static double
bench_step(struct cpu *c, struct bench *b, int fast, double *part)
{
	double sum = 0.0;

	for (int k = 0; k < b->n; k++) {
		struct cpu_entry *e = b->e[k];
		int back = e->key.op == CPU_CONV_BWD_WEIGHTS;
		void *ptr[2] = { back ? b->blk : b->hwio[k], back ? b->hwio[k] : b->blk };
		double t0, t;

		if (fast)
			cpu_wre_plan(e);
		else
			e->wp.kind = CPU_WRE_ONEDNN;
		t0 = cpu_seconds();
		cpu_wre_run(c, e, ptr);
		t = (cpu_seconds() - t0) * 1e3;
		part[e->key.op - 1] += t;
		sum += t;
	}
	return sum;
}

static void
bench_free(struct bench *b)
{
	/* each buffer once: the kernels and gradients of the forward entries'
	 * layers, found again by the backward entries */
	for (int k = 0; k < b->n; k++) {
		int seen = 0;

		for (int j = 0; j < k && !seen; j++)
			seen = b->hwio[j] == b->hwio[k];
		if (!seen)
			free(b->hwio[k]);
	}
	free(b->hwio);
	free(b->e);
	free(b->blk);
}

static void
test_bench(void **state)
{
	char err[256];

	if (getenv("RADPIPE_WRE_BENCH") == NULL)
		skip();
	for (int prec = NN_PREC_FP32; prec <= NN_PREC_BF16; prec += NN_PREC_BF16) {
		struct nn_backend_opts o = { .threads = 1, .precision = prec };
		struct nn_backend *be = nn_cpu_open(&o, err, sizeof err);
		struct nn_model *m = model("inception_v3", 299);
		struct bench b;

		if (be == NULL) {
			printf("  bench %s skipped: %s\n", nn_precision_name(prec), err);
			nn_model_free(m);
			continue;
		}
		make_entries(be, "inception_v3", 299, 5);
		bench_init(&b, cpu_of(be), m);
		for (int r = 0; r < 6; r++) {
			double pa[3] = { 0, 0, 0 }, pb[3] = { 0, 0, 0 };
			double x = bench_step(cpu_of(be), &b, 0, pa);
			double y = bench_step(cpu_of(be), &b, 1, pb);

			printf("  bench %s round %d: %d weights reorders per step: oneDNN %.1f ms "
			    "(fwd %.1f, bwd-data %.1f, bwd-weights %.1f), cpu_wreorder %.1f ms "
			    "(%.1f, %.1f, %.1f); CPU time, 1 thread\n", nn_precision_name(prec), r,
			    b.n, x, pa[0], pa[1], pa[2], y, pb[0], pb[1], pb[2]);
		}
		bench_free(&b);
		nn_model_free(m);
		be->close(be);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_bf16_padding),
		cmocka_unit_test(test_models_fp32),
		cmocka_unit_test(test_models_bf16),
		cmocka_unit_test(test_bench),
	};

	rng_init(&rng, 2026, 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
