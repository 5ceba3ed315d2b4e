/* bench_inception.c — InceptionV3 (299x299, the paper's head), or another
 * architecture (--arch resnet50|densenet121|mobilenet_v2, --size), on the
 * "cpu" backend: inference and training-step throughput, peak RSS and
 * planned memory per configuration, and where the time goes (per op kind,
 * from the engine's profile hook, on two steps after the timed ones, which
 * run without it).  Each configuration runs in its own
 * child process so that ru_maxrss is that configuration's.
 *
 * usage: bench_inception [--arch NAME] [--size N] [--quick] [--threads N] [--time S] [--keep] [--precision P]
 *                        [--only infer|train:B] [--torch FILE]
 *                        [--before FILE | --before-bin BIN] [-t TSV] [-o FILE]
 *   --arch NAME  the network (default inception_v3); --size N its input
 *                (default 299)
 *   --quick      inference batch 5 and training batch 5 only, short timings
 *   --time S     seconds of timed steps per configuration (default 8; at
 *                least 2 steps after one warm-up step)
 *   --keep       training plans store every activation (NN_PLAN_KEEP)
 *   --precision P  fp32 (default) or bf16 conv/dense math (the backend's
 *                --precision; bf16 needs AVX512_BF16 or AMX)
 *   --only M:B   one configuration, e.g. train:5
 *   --torch FILE PyTorch results (bench_inception_torch.py) to compare with
 *   --before FILE an earlier run's TSV (-t) for a before/after column
 *   --before-bin BIN  run each configuration with BIN (an older build of
 *                this benchmark) right before this one: side by side
 *   -t TSV       also write the results as tab-separated lines
 *   -o FILE      write the markdown report there too
 */
#include <errno.h>
#include <malloc.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "nn/nn.h"
#include "rng.h"

static int HW = 299;
static const char *opt_arch = "inception_v3";
#define MAXCFG 8
#ifndef BENCH_BASELINE
#define NKIND NN_PROF_NKIND
#else
#define NKIND 1
#endif

struct cfg {
	int train, batch;
};

struct result {
	double ips, step_s, rss_mb, plan_mb;
	double cpu_s;           /* CPU seconds (user + system) per step: what a
	                           shared machine's load changes least */
	int steps;
	double prof[NKIND];     /* seconds per step per kind */
};

static const struct cfg full[] = {
	{ 0, 1 }, { 0, 5 }, { 0, 32 }, { 1, 5 }, { 1, 16 }, { 1, 32 },
};
static const struct cfg quick[] = { { 0, 5 }, { 1, 5 } };

static int opt_threads, opt_keep, opt_precision;
static double opt_time = 8;

static double
cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
	    (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* RADPIPE_RSS_TRACE set: "bench_inception: rss WHAT: VmRSS MB, VmHWM MB"
 * on stderr (the breakdown in bench/results/rss.md). */
static void
rss_mark(const char *what)
{
	char line[256];
	double rss = -1, hwm = -1;
	FILE *f;

	if (getenv("RADPIPE_RSS_TRACE") == NULL || (f = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		sscanf(line, "VmRSS: %lf", &rss);
		sscanf(line, "VmHWM: %lf", &hwm);
	}
	fclose(f);
	struct mallinfo2 mi = mallinfo2();
	fprintf(stderr, "bench_inception: rss %-12s %8.1f MB now, %8.1f MB peak; malloc: "
	    "%.1f MB mmapped, %.1f MB in use in arenas (%.1f MB held)\n", what, rss / 1024,
	    hwm / 1024, mi.hblkhd / 1048576.0, mi.uordblks / 1048576.0, mi.arena / 1048576.0);
}

/* The model, planned for c on backend be. */
static struct nn_model *
build(struct nn_backend *be, const struct cfg *c)
{
	struct nn_head head = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };
	struct nn_model *m = nn_arch_build(opt_arch, HW, HW, 3, &head);
	int rc;

	if (m == NULL)
		die("cannot build %s", opt_arch);
	nn_model_init_params(m, 1);
	nn_set_preprocess(m, 1 / 127.5f, -1);
	rss_mark("built");
#ifndef BENCH_BASELINE
	rc = nn_model_plan_flags(m, be, c->batch, c->train ?
	    (opt_keep ? NN_PLAN_KEEP : 0) : NN_PLAN_INFERENCE);
#else
	rc = nn_model_plan(m, be, c->batch);
#endif
	if (rc < 0)
		die("plan: %s", nn_error(m));
	rss_mark("planned");
	return m;
}

/* One step of configuration c on batch x (labels y). */
static void
step(struct nn_model *m, const struct cfg *c, const uint8_t *x, const float *y,
    float *probs)
{
	static const struct nn_optim adam = { .type = NN_ADAM, .lr = 1e-4f,
	    .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
	float loss;

	if (nn_forward(m, NN_IN_U8, x, c->batch, c->train) < 0)
		die("forward: %s", nn_error(m));
	if (!c->train) {
		if (nn_predict(m, probs) < 0)
			die("predict: %s", nn_error(m));
		return;
	}
	if (nn_backward(m, y, NULL, &loss, NULL) < 0 || nn_step(m, &adam) < 0)
		die("train: %s", nn_error(m));
}

#define PROF_STEPS 2

/* Runs configuration c in this process; fills r. */
static void
measure(const struct cfg *c, struct result *r)
{
	struct nn_backend_opts o = { .threads = opt_threads, .precision = opt_precision };
	size_t nx = (size_t)c->batch * HW * HW * 3;
	uint8_t *x = xmalloc(nx);
	float *y = XNEW(float, c->batch), *probs = XNEW(float, c->batch);
	struct nn_backend *be;
	struct nn_model *m;
	struct nn_mem mem;
	struct rusage ru;
	struct rng g;
	char err[256];
	double t0, t, c0;

	if ((be = nn_backend_open("cpu", &o, err, sizeof err)) == NULL)
		die("%s", err);
	rng_init(&g, 7, 0, 0);
	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)rng_range(&g, 0, 256);
	for (int i = 0; i < c->batch; i++)
		y[i] = (float)(i % 2);
	rss_mark("opened");
	m = build(be, c);
	nn_plan_memory(m, &mem);
	step(m, c, x, y, probs);
	rss_mark("first step");
	c0 = cpu_now();
	t0 = now();
	for (r->steps = 0; r->steps < 2 || now() - t0 < opt_time; r->steps++)
		step(m, c, x, y, probs);
	t = now() - t0;
	rss_mark("timed steps");
	r->cpu_s = (cpu_now() - c0) / r->steps;
	r->step_s = t / r->steps;
	r->ips = c->batch / r->step_s;
	r->plan_mb = (double)(mem.params + mem.acts + mem.grads + mem.aux) / 1048576;
#ifndef BENCH_BASELINE
	/* the profile after the timed steps, on two more: it syncs around
	 * each op and the engine then runs some fused ops apart (conv_bwd) */
	nn_profile_enable(m, 1);
	for (int i = 0; i < PROF_STEPS; i++)
		step(m, c, x, y, probs);
	for (int k = 0; k < NKIND; k++)
		r->prof[k] = nn_profile_times(m)[k] / PROF_STEPS;
#endif
	nn_model_free(m);
	be->close(be);
	getrusage(RUSAGE_SELF, &ru);
	r->rss_mb = ru.ru_maxrss / 1024.0;
	free(x), free(y), free(probs);
}

/* Runs c in a child process; 0 on success. */
static int
run_child(const struct cfg *c, struct result *r)
{
	int fd[2], st;
	pid_t pid;

	if (pipe(fd) < 0 || (pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		close(fd[0]);
		measure(c, r);
		if (write(fd[1], r, sizeof *r) != (ssize_t)sizeof *r)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	st = read(fd[0], r, sizeof *r) == (ssize_t)sizeof *r ? 0 : -1;
	close(fd[0]);
	waitpid(pid, NULL, 0);
	return st;
}

/* ---- report ---- */

/* Results of another run ("mode batch img/s rss_mb [plan_mb]" lines). */
struct other {
	int n;
	struct { int train, batch; double ips, rss; } v[32];
};

/* Appends the results in path to o. */
static void
read_other(const char *path, struct other *o)
{
	char line[256], mode[16];
	FILE *f;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return;
	while (o->n < 32 && fgets(line, sizeof line, f) != NULL) {
		int b;
		double ips, rss;
		if (sscanf(line, "%15s %d %lf %lf", mode, &b, &ips, &rss) != 4)
			continue;
		o->v[o->n].train = strcmp(mode, "train") == 0;
		o->v[o->n].batch = b;
		o->v[o->n].ips = ips;
		o->v[o->n].rss = rss;
		o->n++;
	}
	fclose(f);
}

/* The other run's img/s (and rss) for c, or 0. */
static double
other_ips(const struct other *o, const struct cfg *c, double *rss)
{
	for (int i = 0; i < o->n; i++)
		if (o->v[i].train == c->train && o->v[i].batch == c->batch) {
			*rss = o->v[i].rss;
			return o->v[i].ips;
		}
	*rss = 0;
	return 0;
}

static void
out(FILE *f, FILE *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (g != NULL) {
		va_start(ap, fmt);
		vfprintf(g, fmt, ap);
		va_end(ap);
	}
	(void)f;
}

static void
print_table(FILE *g, const struct cfg *c, const struct result *r, int n,
    const struct other *before, const struct other *torch)
{
	out(stdout, g, "| mode | batch | img/s | ms/step | CPU ms/step | peak RSS MB | planned MB "
	    "| before img/s | before RSS MB | speed-up | torch img/s | torch RSS MB | vs torch |\n"
	    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < n; i++) {
		double brss, trss, b = other_ips(before, &c[i], &brss);
		double t = other_ips(torch, &c[i], &trss);
		out(stdout, g, "| %s | %d | %.2f | %.0f | %.0f | %.0f | %.0f | ",
		    c[i].train ? "train" : "infer", c[i].batch, r[i].ips,
		    1e3 * r[i].step_s, 1e3 * r[i].cpu_s, r[i].rss_mb, r[i].plan_mb);
		if (b > 0)
			out(stdout, g, "%.2f | %.0f | %.2fx | ", b, brss, r[i].ips / b);
		else
			out(stdout, g, "- | - | - | ");
		if (t > 0)
			out(stdout, g, "%.2f | %.0f | %.2fx |\n", t, trss, r[i].ips / t);
		else
			out(stdout, g, "- | - | - |\n");
	}
}

#ifndef BENCH_BASELINE
/* Milliseconds per image per op kind, one column per configuration. */
static void
print_profile(FILE *g, const struct cfg *c, const struct result *r, int n)
{
	out(stdout, g, "\nTime per image by op kind (ms/img; engine profile, "
	    "RADPIPE_PROFILE hook, on %d steps after the timed ones: it syncs "
	    "around each op):\n\n| kind |", PROF_STEPS);
	for (int i = 0; i < n; i++)
		out(stdout, g, " %s %d |", c[i].train ? "train" : "infer", c[i].batch);
	out(stdout, g, "\n|---|");
	for (int i = 0; i < n; i++)
		out(stdout, g, "---|");
	out(stdout, g, "\n");
	for (int k = 0; k < NKIND; k++) {
		out(stdout, g, "| %s |", nn_profile_name(k));
		for (int i = 0; i < n; i++)
			out(stdout, g, " %.1f |", 1e3 * r[i].prof[k] / c[i].batch);
		out(stdout, g, "\n");
	}
	out(stdout, g, "| **sum / step** |");
	for (int i = 0; i < n; i++) {
		double s = 0;
		for (int k = 0; k < NKIND; k++)
			s += r[i].prof[k];
		out(stdout, g, " %.1f (of %.1f) |", 1e3 * s / c[i].batch,
		    1e3 * r[i].step_s / c[i].batch);
	}
	out(stdout, g, "\n");
}
#endif

static void
write_tsv(const char *path, const struct cfg *c, const struct result *r, int n)
{
	FILE *f;

	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	for (int i = 0; i < n; i++)
		fprintf(f, "%s\t%d\t%.3f\t%.0f\t%.0f\t%.3f\n", c[i].train ? "train" : "infer",
		    c[i].batch, r[i].ips, r[i].rss_mb, r[i].plan_mb, r[i].cpu_s);
	fclose(f);
}

/* Runs configuration c with the benchmark binary bin (an older build),
 * right before this build's run so that both see the same machine load;
 * appends its result to o. */
static void
run_before(const char *bin, const struct cfg *c, struct other *o)
{
	char cmd[1024], tmp[] = "/tmp/bench_inception_XXXXXX";
	int fd = mkstemp(tmp);

	if (fd < 0)
		die("mkstemp: %s", strerror(errno));
	close(fd);
	snprintf(cmd, sizeof cmd, "%s --only %s:%d --time %g%s -t %s >/dev/null 2>&1",
	    bin, c->train ? "train" : "infer", c->batch, opt_time, "", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: %s failed\n", bin);
	read_other(tmp, o);
	unlink(tmp);
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_inception [--arch NAME] [--size N] [--quick] [--threads N] [--time S] [--keep]\n"
	    "         [--precision fp32|bf16]\n"
	    "         [--only infer|train:B] [--torch FILE] [--before FILE | --before-bin BIN]\n"
	    "         [-t TSV] [-o FILE]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *ofile = NULL, *tsv = NULL, *tfile = NULL, *bfile = NULL, *bbin = NULL;
	const struct cfg *cs = full;
	struct cfg one;
	struct result r[MAXCFG];
	struct other before, torch;
	int n = sizeof full / sizeof full[0];
	FILE *g = NULL;
	char mode[16];

	err_init(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0) {
			cs = quick, n = 2, opt_time = 3;
		} else if (strcmp(a, "--keep") == 0) {
			opt_keep = 1;
		} else if (v == NULL) {
			usage();
		} else if (strcmp(a, "--arch") == 0) {
			opt_arch = v, i++;
		} else if (strcmp(a, "--size") == 0) {
			HW = atoi(v), i++;
		} else if (strcmp(a, "--threads") == 0) {
			opt_threads = atoi(v), i++;
		} else if (strcmp(a, "--precision") == 0) {
			if ((opt_precision = nn_precision_parse(v)) < 0)
				usage();
			i++;
		} else if (strcmp(a, "--time") == 0) {
			opt_time = atof(v), i++;
		} else if (strcmp(a, "--only") == 0) {
			if (sscanf(v, "%15[a-z]:%d", mode, &one.batch) != 2)
				usage();
			one.train = strcmp(mode, "train") == 0;
			cs = &one, n = 1, i++;
		} else if (strcmp(a, "--torch") == 0) {
			tfile = v, i++;
		} else if (strcmp(a, "--before-bin") == 0) {
			bbin = v, i++;
		} else if (strcmp(a, "--before") == 0) {
			bfile = v, i++;
		} else if (strcmp(a, "-t") == 0) {
			tsv = v, i++;
		} else if (strcmp(a, "-o") == 0) {
			ofile = v, i++;
		} else
			usage();
	}
	before.n = torch.n = 0;
	if (bbin == NULL)
		read_other(bfile, &before);
	read_other(tfile, &torch);
	for (int i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof r[i]);
		if (bbin != NULL)
			run_before(bbin, &cs[i], &before);
		if (run_child(&cs[i], &r[i]) < 0)
			die("%s %d: the child failed", cs[i].train ? "train" : "infer", cs[i].batch);
		fprintf(stderr, "%s %d: %.2f img/s, %.0f MB, %.3f CPU s/step\n",
		    cs[i].train ? "train" : "infer", cs[i].batch, r[i].ips, r[i].rss_mb, r[i].cpu_s);
	}
	if (ofile != NULL && (g = fopen(ofile, "w")) == NULL)
		die("%s: %s", ofile, strerror(errno));
	out(stdout, g, "# %s %dx%d on the cpu backend (oneDNN), %d threads\n\n",
	    strcmp(opt_arch, "inception_v3") == 0 ? "InceptionV3" : opt_arch, HW, HW,
	    opt_threads ? opt_threads : omp_get_num_procs());
	out(stdout, g, "Head 256/0.5/1, whole network trainable, Adam; a training step is "
	    "forward + backward + Adam.  One child process per row (peak RSS is that row's); "
	    "one warm-up step, then >= %.0f s of steps.%s%s\n\n", opt_time,
	    opt_keep ? "  Training plans keep every activation (--keep)." : "",
	    bbin ? "  \"before\" = the previous engine (--before-bin), run just "
	    "before each row under the same machine load." : "");
	print_table(g, cs, r, n, &before, &torch);
#ifndef BENCH_BASELINE
	print_profile(g, cs, r, n);
#endif
	if (g != NULL)
		fclose(g);
	write_tsv(tsv, cs, r, n);
	return 0;
}
