/* bench_ops.c — GFLOP/s of the "cpu" backend's convolutions on the
 * distinct convolution shapes of InceptionV3 at 299x299, against the
 * machine's sgemm peak (OpenBLAS) or, in bf16, its bf16 matmul peak
 * (oneDNN), with the oneDNN implementation each shape gets.  Writes a markdown table (-o FILE) and prints it.
 *
 * usage: bench_ops [--quick] [--batch N]... [--threads N] [--time S]
 *                  [--precision fp32|bf16] [-o FILE]
 *   --quick     five shapes, batch 5, short timings (a smoke run)
 *   --precision the convolutions' math (bf16: oneDNN's bf16 kernels,
 *               where the CPU has them; %pk is then of the bf16 peak)
 *   --batch N   batch size (repeatable; default 5 and 32)
 *   --threads N threads for oneDNN and OpenBLAS (default: all cores)
 *   --time S    seconds per measurement (default 0.5)
 *
 * Columns: fwd, bwd-data, bwd-weights in GFLOP/s (2*MACs/s) with the
 * weights already in the primitive's layout; "step" is the three ops
 * after a parameter update (weights reordered again), i.e. what one
 * training step costs per layer.  "x n" is how often the shape occurs in
 * the network; the total estimates the convolution time of one training
 * step of the whole network.
 */
#include <cblas.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"
#include "rng.h"
#include "benchutil.h"

struct shape {
	int hw, ic, oc, kh, kw, s, same, count;
	const char *where;
};

static const struct shape shapes[] = {
	{ 299, 3, 32, 3, 3, 2, 0, 1, "stem" },
	{ 149, 32, 32, 3, 3, 1, 0, 1, "stem" },
	{ 147, 32, 64, 3, 3, 1, 1, 1, "stem" },
	{ 73, 64, 80, 1, 1, 1, 0, 1, "stem" },
	{ 73, 80, 192, 3, 3, 1, 0, 1, "stem" },
	{ 35, 192, 64, 1, 1, 1, 1, 2, "mixed0" },
	{ 35, 192, 48, 1, 1, 1, 1, 1, "mixed0" },
	{ 35, 192, 32, 1, 1, 1, 1, 1, "mixed0" },
	{ 35, 48, 64, 5, 5, 1, 1, 3, "mixed0-2" },
	{ 35, 64, 96, 3, 3, 1, 1, 4, "mixed0-3" },
	{ 35, 96, 96, 3, 3, 1, 1, 3, "mixed0-2" },
	{ 35, 256, 64, 1, 1, 1, 1, 3, "mixed1" },
	{ 35, 256, 48, 1, 1, 1, 1, 1, "mixed1" },
	{ 35, 288, 64, 1, 1, 1, 1, 4, "mixed2-3" },
	{ 35, 288, 48, 1, 1, 1, 1, 1, "mixed2" },
	{ 35, 288, 384, 3, 3, 2, 0, 1, "mixed3" },
	{ 35, 96, 96, 3, 3, 2, 0, 1, "mixed3" },
	{ 17, 768, 192, 1, 1, 1, 1, 12, "mixed4-8" },
	{ 17, 768, 128, 1, 1, 1, 1, 2, "mixed4" },
	{ 17, 768, 160, 1, 1, 1, 1, 4, "mixed5-6" },
	{ 17, 128, 128, 1, 7, 1, 1, 2, "mixed4" },
	{ 17, 128, 128, 7, 1, 1, 1, 2, "mixed4" },
	{ 17, 128, 192, 7, 1, 1, 1, 1, "mixed4" },
	{ 17, 128, 192, 1, 7, 1, 1, 1, "mixed4" },
	{ 17, 160, 160, 1, 7, 1, 1, 4, "mixed5-6" },
	{ 17, 160, 160, 7, 1, 1, 1, 4, "mixed5-6" },
	{ 17, 160, 192, 7, 1, 1, 1, 2, "mixed5-6" },
	{ 17, 160, 192, 1, 7, 1, 1, 2, "mixed5-6" },
	{ 17, 192, 192, 1, 7, 1, 1, 4, "mixed7-8" },
	{ 17, 192, 192, 7, 1, 1, 1, 4, "mixed7-8" },
	{ 17, 192, 320, 3, 3, 2, 0, 1, "mixed8" },
	{ 17, 192, 192, 3, 3, 2, 0, 1, "mixed8" },
	{ 8, 1280, 320, 1, 1, 1, 1, 1, "mixed9" },
	{ 8, 1280, 384, 1, 1, 1, 1, 1, "mixed9" },
	{ 8, 1280, 448, 1, 1, 1, 1, 1, "mixed9" },
	{ 8, 1280, 192, 1, 1, 1, 1, 1, "mixed9" },
	{ 8, 384, 384, 1, 3, 1, 1, 4, "mixed9-10" },
	{ 8, 384, 384, 3, 1, 1, 1, 4, "mixed9-10" },
	{ 8, 448, 384, 3, 3, 1, 1, 2, "mixed9-10" },
	{ 8, 2048, 320, 1, 1, 1, 1, 1, "mixed10" },
	{ 8, 2048, 384, 1, 1, 1, 1, 1, "mixed10" },
	{ 8, 2048, 448, 1, 1, 1, 1, 1, "mixed10" },
	{ 8, 2048, 192, 1, 1, 1, 1, 1, "mixed10" },
};

/* Shapes of the --quick run (indices into shapes). */
static const int quick[] = { 0, 2, 9, 20, 38 };

static struct rng rng;
static double budget = 0.5;


/* Best time per call of op (0 fwd, 1 bwd-data, 2 bwd-weights, 3 step). */
struct conv_bufs {
	struct nn_conv p;
	float *x, *w, *y, *dy, *dx, *dw, *tick;
};

static void
conv_op(struct nn_backend *be, struct conv_bufs *b, int op)
{
	if (op == 3)
		be->zero(be, b->tick, 64);     /* a parameter update */
	if (op == 0 || op == 3)
		be->conv_fwd(be, &b->p, b->x, b->w, NULL, b->y);
	if (op == 1 || op == 3)
		be->conv_bwd_data(be, &b->p, b->dy, b->w, b->dx, 0.0f);
	if (op == 2 || op == 3)
		be->conv_bwd_weights(be, &b->p, b->x, b->dy, b->dw, NULL);
}

static double
time_op(struct nn_backend *be, struct conv_bufs *b, int op)
{
	double t0, t, best = 1e30, start = bench_now();
	int reps = 0;

	conv_op(be, b, op);
	do {
		t0 = bench_now();
		conv_op(be, b, op);
		be->sync(be);
		t = bench_now() - t0;
		best = t < best ? t : best;
		reps++;
	} while (reps < 3 || (bench_now() - start < budget && reps < 1000));
	return best;
}

static void
conv_geom(const struct shape *s, int n, struct nn_conv *p)
{
	memset(p, 0, sizeof *p);
	p->n = n;
	p->ih = p->iw = s->hw;
	p->ic = s->ic;
	p->oc = s->oc;
	p->kh = s->kh;
	p->kw = s->kw;
	p->sh = p->sw = s->s;
	if (s->same) {
		nn_pad_same(s->hw, s->kh, s->s, &p->oh, &p->pt);
		nn_pad_same(s->hw, s->kw, s->s, &p->ow, &p->pl);
	} else {
		nn_pad_valid(s->hw, s->kh, s->s, &p->oh, &p->pt);
		nn_pad_valid(s->hw, s->kw, s->s, &p->ow, &p->pl);
	}
	p->x_ld = p->ic;
	p->y_ld = p->oc;
}

/* Measures one shape; appends its row to out; returns the step time. */
static double
bench_shape(struct nn_backend *be, const struct shape *s, int n, double peak, FILE *out)
{
	struct conv_bufs b;
	double flop, t[4];
	char impl[256], name[64];
	int op;

	conv_geom(s, n, &b.p);
	b.x = bench_rand_buf(be, &rng, (size_t)n * s->hw * s->hw * s->ic);
	b.dx = bench_rand_buf(be, &rng, (size_t)n * s->hw * s->hw * s->ic);
	b.w = bench_rand_buf(be, &rng, (size_t)s->kh * s->kw * s->ic * s->oc);
	b.dw = bench_rand_buf(be, &rng, (size_t)s->kh * s->kw * s->ic * s->oc);
	b.y = bench_rand_buf(be, &rng, (size_t)n * b.p.oh * b.p.ow * s->oc);
	b.dy = bench_rand_buf(be, &rng, (size_t)n * b.p.oh * b.p.ow * s->oc);
	b.tick = bench_rand_buf(be, &rng, 16);
	flop = 2.0 * n * b.p.oh * b.p.ow * s->oc * s->ic * s->kh * s->kw;
	for (op = 0; op < 4; op++)
		t[op] = time_op(be, &b, op);
	nn_cpu_conv_impl(be, &b.p, impl, sizeof impl);
	snprintf(name, sizeof name, "%dx%d s%d %s %d->%d @%d", s->kh, s->kw, s->s,
	    s->same ? "same" : "valid", s->ic, s->oc, s->hw);
	fprintf(out, "| %-28s | %2d | %3d | %6.1f | %6.1f | %6.1f | %5.0f%% | %6.2f | %s |\n",
	    name, n, s->count, flop / t[0] * 1e-9, flop / t[1] * 1e-9, flop / t[2] * 1e-9,
	    100.0 * flop * 3 / t[3] * 1e-9 / peak, t[3] * 1e3, impl);
	fflush(out);
	be->free(be, b.x); be->free(be, b.dx); be->free(be, b.w); be->free(be, b.dw);
	be->free(be, b.y); be->free(be, b.dy); be->free(be, b.tick);
	return t[3];
}

/* sgemm GFLOP/s on 2048^3, best of a few: OpenBLAS, and oneDNN's own
 * sgemm into *dnnl. */
static double
sgemm_peak(int threads, double *dnnl)
{
	int n = 2048, i;
	size_t nn = (size_t)n * n;
	float *a = XNEW(float, nn), *b = XNEW(float, nn), *c = XNEW(float, nn);
	double best = 1e30, bd = 1e30, t0;

	openblas_set_num_threads(threads);
	for (i = 0; i < (int)nn; i++) {
		a[i] = (float)rng_range(&rng, -1, 1);
		b[i] = (float)rng_range(&rng, -1, 1);
	}
	for (i = 0; i < 6; i++) {
		t0 = bench_now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
		    a, n, b, n, 0.0f, c, n);
		best = bench_now() - t0 < best ? bench_now() - t0 : best;
		t0 = bench_now();
		if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success)
			die("dnnl_sgemm failed");
		bd = bench_now() - t0 < bd ? bench_now() - t0 : bd;
	}
	*dnnl = 2.0 * n * n * n / bd * 1e-9;
	free(a); free(b); free(c);
	return 2.0 * n * n * n / best * 1e-9;
}

/* bf16 x bf16 -> f32 matmul GFLOP/s on 2048^3, best of a few (oneDNN's
 * matmul primitive: its bf16 peak here); 0 where oneDNN has no bf16
 * matmul on this CPU. */
static double
bf16_peak(void)
{
	dnnl_dims_t d = { 2048, 2048 };
	dnnl_memory_desc_t ma, mc;
	dnnl_matmul_desc_t md;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_t pr;
	dnnl_engine_t eng;
	dnnl_stream_t st;
	dnnl_memory_t a, b, c;
	dnnl_exec_arg_t args[3];
	double best = 1e30, t0, n = 2048;
	int i;

	if (dnnl_engine_create(&eng, dnnl_cpu, 0) != dnnl_success)
		return 0;
	dnnl_memory_desc_init_by_tag(&ma, 2, d, dnnl_bf16, dnnl_ab);
	dnnl_memory_desc_init_by_tag(&mc, 2, d, dnnl_f32, dnnl_ab);
	if (dnnl_matmul_desc_init(&md, &ma, &ma, NULL, &mc) != dnnl_success ||
	    dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL) != dnnl_success) {
		dnnl_engine_destroy(eng);
		return 0;
	}
	if (dnnl_primitive_create(&pr, pd) != dnnl_success ||
	    dnnl_stream_create(&st, eng, dnnl_stream_default_flags) != dnnl_success ||
	    dnnl_memory_create(&a, &ma, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
	    dnnl_memory_create(&b, &ma, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
	    dnnl_memory_create(&c, &mc, eng, DNNL_MEMORY_ALLOCATE) != dnnl_success)
		die("bf16 matmul: cannot set up");
	for (i = 0; i < 2; i++) {       /* bf16 ones: 0x3f80 */
		uint16_t *h;
		dnnl_memory_get_data_handle(i ? b : a, (void **)&h);
		for (size_t k = 0; k < 2048u * 2048u; k++)
			h[k] = 0x3f80;
	}
	args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, a };
	args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, b };
	args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DST, c };
	for (i = 0; i < 6; i++) {
		t0 = bench_now();
		if (dnnl_primitive_execute(pr, st, 3, args) != dnnl_success ||
		    dnnl_stream_wait(st) != dnnl_success)
			die("bf16 matmul failed");
		best = bench_now() - t0 < best ? bench_now() - t0 : best;
	}
	dnnl_memory_destroy(a); dnnl_memory_destroy(b); dnnl_memory_destroy(c);
	dnnl_primitive_destroy(pr); dnnl_primitive_desc_destroy(pd);
	dnnl_stream_destroy(st); dnnl_engine_destroy(eng);
	return 2.0 * n * n * n / best * 1e-9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_ops [--quick] [--batch N]... [--threads N] "
	    "[--time S] [--precision fp32|bf16] [-o FILE]\n");
	exit(2);
}

/* The machine's peaks, measured once at the start. */
struct peaks {
	double blas, dnnl, bf16;        /* GFLOP/s: sgemm (OpenBLAS, oneDNN), bf16 matmul */
	int use_bf16;                   /* --precision bf16: %pk of bf16 */
};

static void
header(FILE *out, int threads, const struct peaks *pk, int quick_run)
{
	const dnnl_version_t *v = dnnl_version();

	fprintf(out, "# cpu backend (oneDNN %d.%d.%d) %s convolutions, InceptionV3 shapes\n\n",
	    v->major, v->minor, v->patch, pk->use_bf16 ? "bf16" : "fp32");
	fprintf(out, "%d threads; sgemm 2048^3: OpenBLAS %.1f GFLOP/s%s, oneDNN %.1f GFLOP/s; "
	    "bf16 matmul 2048^3 (oneDNN): %.1f GFLOP/s%s%s.\n\n", threads, pk->blas,
	    pk->use_bf16 ? "" : " (the peak used below)", pk->dnnl, pk->bf16,
	    pk->use_bf16 ? " (the peak used below)" : "", quick_run ? "; --quick run" : "");
	fprintf(out, "GFLOP/s per op; \"step\" = fwd + bwd-data + bwd-weights after a "
	    "parameter update (weights reordered again), as %% of that peak and in ms.\n\n");
	fprintf(out, "| shape | n | x | fwd | bwd-d | bwd-w | step %%pk | step ms | "
	    "oneDNN impl (fwd \\| bwd-d \\| bwd-w) |\n");
	fprintf(out, "|---|---|---|---|---|---|---|---|---|\n");
}

int
main(int argc, char **argv)
{
	struct nn_backend_opts o = { 0 };
	struct nn_backend *be;
	const char *outpath = NULL;
	int batches[8], nb = 0, threads = 0, quick_run = 0, i, j, k;
	char err[256];
	struct peaks pk = { 0 };
	double total;
	FILE *out;

	err_init(argv[0]);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick_run = 1;
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc && nb < 8)
			batches[nb++] = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc)
			budget = atof(argv[++i]);
		else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc)
			pk.use_bf16 = strcmp(argv[++i], "bf16") == 0 ? 1 :
			    strcmp(argv[i], "fp32") == 0 ? 0 : (usage(), 0);
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			outpath = argv[++i];
		else
			usage();
	}
	if (nb == 0) {
		batches[nb++] = 5;
		if (!quick_run)
			batches[nb++] = 32;
	}
	if (quick_run && budget > 0.2)
		budget = 0.2;
	rng_init(&rng, 1, 0, 0);
	o.threads = threads;
	o.precision = pk.use_bf16 ? NN_PREC_BF16 : NN_PREC_FP32;
	if ((be = nn_cpu_open(&o, err, sizeof err)) == NULL)
		die("%s", err);
	threads = omp_get_max_threads();
	pk.blas = sgemm_peak(threads, &pk.dnnl);
	pk.bf16 = bf16_peak();
	if ((out = outpath ? fopen(outpath, "w") : stdout) == NULL)
		die("%s: cannot open", outpath);
	header(out, threads, &pk, quick_run);
	for (j = 0; j < nb; j++) {
		int ns = quick_run ? (int)(sizeof quick / sizeof quick[0]) :
		    (int)(sizeof shapes / sizeof shapes[0]);

		total = 0.0;
		for (k = 0; k < ns; k++) {
			const struct shape *s = &shapes[quick_run ? quick[k] : k];

			total += s->count * bench_shape(be, s, batches[j],
			    pk.use_bf16 ? pk.bf16 : pk.blas, out);
			if (out != stdout)
				fprintf(stderr, "batch %d: %d/%d\n", batches[j], k + 1, ns);
		}
		fprintf(out, "\nBatch %d: convolutions of one training step%s: %.0f ms "
		    "(%.1f images/s, convolutions only).\n\n", batches[j],
		    quick_run ? " (quick subset only)" : "", total * 1e3, batches[j] / total);
		if (j + 1 < nb)
			header(out, threads, &pk, quick_run);
	}
	be->close(be);
	if (out != stdout && fclose(out) != 0)
		die("%s: write error", outpath);
	if (outpath != NULL)
		fprintf(stderr, "wrote %s\n", outpath);
	return 0;
}
