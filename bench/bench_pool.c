/* bench_pool.c — milliseconds of the "cpu" backend's pooling (pool_fwd,
 * pool_bwd) on the pooling shapes of InceptionV3 at 299x299, with the
 * pixel strides and the beta the network uses (a max pool writing a
 * concat slice: y_ld > c; an average pool's gradient accumulating into its
 * block input: beta 1).  Prints a markdown table.
 *
 * usage: bench_pool [--batch N] [--threads N] [--time S]
 *   --batch N   batch size (default 5)
 *   --threads N threads (default: all cores)
 *   --time S    seconds per measurement (default 0.5)
 *
 * Each cell is the median time per call over the repetitions of S
 * seconds, wall and process CPU time (all threads; the better measure on
 * a loaded machine); "x n" is how often the shape occurs in the network, and the
 * totals are per image of one training step (forward once, backward once;
 * recomputation runs the forward pools of transient roots again).
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "nn/backend.h"
#include "rng.h"
#include "benchutil.h"

struct shape {
	int hw, c, k, s, same, avg, y_ld, beta, count;
	const char *where;
};

static const struct shape shapes[] = {
	{ 147, 64, 3, 2, 0, 0, 64, 0, 1, "stem max_pooling2d_1" },
	{ 71, 192, 3, 2, 0, 0, 192, 0, 1, "stem max_pooling2d_2" },
	{ 35, 192, 3, 1, 1, 1, 192, 1, 1, "mixed0 branch_pool" },
	{ 35, 256, 3, 1, 1, 1, 256, 1, 1, "mixed1 branch_pool" },
	{ 35, 288, 3, 1, 1, 1, 288, 1, 1, "mixed2 branch_pool" },
	{ 35, 288, 3, 2, 0, 0, 768, 1, 1, "mixed3 max pool" },
	{ 17, 768, 3, 1, 1, 1, 768, 1, 4, "mixed4-7 branch_pool" },
	{ 17, 768, 3, 2, 0, 0, 1280, 1, 1, "mixed8 max pool" },
	{ 8, 1280, 3, 1, 1, 1, 1280, 1, 1, "mixed9 branch_pool" },
	{ 8, 2048, 3, 1, 1, 1, 2048, 1, 1, "mixed10 branch_pool" },
};

#define MAXREPS 2000

static struct rng rng;
static double budget = 0.5;


static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct pool_bufs {
	struct nn_pool p;
	float *x, *y, *dy, *dx;
	float beta;
};

/* Median seconds per call of the forward (bwd 0) or backward (bwd 1):
 * wall in *wall, process CPU time in *cpu. */
static void
time_op(struct nn_backend *be, struct pool_bufs *b, int bwd, double *wall, double *cpu)
{
	static double t[MAXREPS], c[MAXREPS];
	double t0, c0, start = bench_now();
	int reps = 0;

	do {
		t0 = bench_now();
		c0 = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
		if (bwd)
			be->pool_bwd(be, &b->p, b->x, b->dy, b->dx, b->beta);
		else
			be->pool_fwd(be, &b->p, b->x, b->y);
		be->sync(be);
		c[reps] = bench_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
		t[reps++] = bench_now() - t0;
	} while (reps < 5 || (bench_now() - start < budget && reps < MAXREPS));
	qsort(t, reps, sizeof t[0], cmp_double);
	qsort(c, reps, sizeof c[0], cmp_double);
	*wall = t[reps / 2];
	*cpu = c[reps / 2];
}

/* Measures one shape, prints its row; adds its per-image ms to tot[4]
 * (wall fwd, bwd, CPU fwd, bwd). */
static void
bench_shape(struct nn_backend *be, const struct shape *s, int n, double *tot)
{
	struct pool_bufs b;
	double f, d, fc, dc;

	memset(&b, 0, sizeof b);
	b.p = (struct nn_pool){ .n = n, .ih = s->hw, .iw = s->hw, .c = s->c, .kh = s->k,
	                        .kw = s->k, .sh = s->s, .sw = s->s, .x_ld = s->c,
	                        .y_ld = s->y_ld, .avg = s->avg };
	if (s->same) {
		nn_pad_same(s->hw, s->k, s->s, &b.p.oh, &b.p.pt);
		nn_pad_same(s->hw, s->k, s->s, &b.p.ow, &b.p.pl);
	} else {
		nn_pad_valid(s->hw, s->k, s->s, &b.p.oh, &b.p.pt);
		nn_pad_valid(s->hw, s->k, s->s, &b.p.ow, &b.p.pl);
	}
	b.beta = (float)s->beta;
	b.x = bench_rand_buf(be, &rng, (size_t)n * s->hw * s->hw * s->c);
	b.dx = bench_rand_buf(be, &rng, (size_t)n * s->hw * s->hw * s->c);
	b.y = bench_rand_buf(be, &rng, (size_t)n * b.p.oh * b.p.ow * s->y_ld);
	b.dy = bench_rand_buf(be, &rng, (size_t)n * b.p.oh * b.p.ow * s->y_ld);
	time_op(be, &b, 0, &f, &fc);
	time_op(be, &b, 1, &d, &dc);
	printf("| %-22s | %s %dx%dx%d s%d | %4d | %d | %d | %7.3f | %7.3f | %7.3f | %7.3f |\n",
	    s->where, s->avg ? "avg" : "max", s->hw, s->hw, s->c, s->s, s->y_ld, s->beta,
	    s->count, f * 1e3, d * 1e3, fc * 1e3, dc * 1e3);
	fflush(stdout);
	tot[0] += s->count * f * 1e3 / n;
	tot[1] += s->count * d * 1e3 / n;
	tot[2] += s->count * fc * 1e3 / n;
	tot[3] += s->count * dc * 1e3 / n;
	be->free(be, b.x); be->free(be, b.dx); be->free(be, b.y); be->free(be, b.dy);
	if (nn_backend_error(be))
		die("%s", nn_backend_error(be));
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_pool [--batch N] [--threads N] [--time S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct nn_backend_opts o = { 0 };
	struct nn_backend *be;
	int n = 5, threads = 0, i;
	double tot[4] = { 0, 0, 0, 0 };
	char err[256];

	err_init(argv[0]);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc)
			budget = atof(argv[++i]);
		else
			usage();
	}
	if (n < 1 || threads < 0 || !(budget > 0))
		usage();
	rng_init(&rng, 1, 0, 0);
	o.threads = threads;
	if ((be = nn_cpu_open(&o, err, sizeof err)) == NULL)
		die("%s", err);
	printf("# cpu backend pooling, InceptionV3 shapes, batch %d, %d threads\n\n", n,
	    omp_get_max_threads());
	printf("| layer | shape | y_ld | beta | x | fwd ms | bwd ms | fwd CPU ms | bwd CPU ms |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < (int)(sizeof shapes / sizeof shapes[0]); i++)
		bench_shape(be, &shapes[i], n, tot);
	printf("\nPer image (x counted): fwd %.3f ms, bwd %.3f ms; CPU fwd %.3f ms, "
	    "bwd %.3f ms.\n", tot[0], tot[1], tot[2], tot[3]);
	be->close(be);
	if (fflush(stdout) != 0)
		die("write error");
	return 0;
}
