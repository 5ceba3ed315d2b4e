/* bench_cuda.c — InceptionV3 (299x299x3, the paper's head) images/s on a
 * backend: training steps (forward, backward, Adam) and inference, at
 * several batch sizes and in each precision asked for.  Writes a markdown
 * table (-o FILE) and prints it.  Exits 0 with "SKIP: reason" when the
 * backend cannot be opened (no GPU).
 *
 * Steps go through nn_train_step / nn_infer, so on cuda they replay CUDA
 * graphs; the smallest training and inference batches are measured again
 * with graphs off, to show what the graphs save.
 *
 * usage: bench_cuda [--backend NAME] [--precision P]... [--train N]...
 *                   [--infer N]... [--time S] [--deterministic] [--no-graph-rows]
 *                   [-o FILE]
 *   --backend NAME     cuda (default), cpu, ref
 *   --precision P      fp32, tf32, bf16, fp16 (repeatable; default all four;
 *                      cpu and ref: fp32 only)
 *   --train N          training batch sizes (repeatable; default 5 32 128)
 *   --infer N          inference batch sizes (repeatable; default 1 32 256)
 *   --time S           seconds measured per row, after 3 warm-up steps
 *                      (eager, capture, first replay; default 2)
 *   --deterministic    deterministic cuDNN algorithms only
 *   --no-graph-rows    skip the graphs-off rows
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn.h"
#include "rng.h"

#define MAXN 8

struct opts {
	const char *backend, *out;
	int prec[4], nprec;
	int graph_rows;
	int train[MAXN], ntrain, infer[MAXN], ninfer;
	double time;
	int deterministic;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_cuda [--backend NAME] [--precision fp32|tf32|bf16|fp16]...\n"
	        "                  [--train N]... [--infer N]... [--time S] [--deterministic]\n"
	        "                  [--no-graph-rows] [-o FILE]\n");
	exit(2);
}

static int
posint(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0 || v > 4096)
		usage();
	return (int)v;
}

static void
parse(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .backend = "cuda", .time = 2, .graph_rows = 1 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--deterministic")) { o->deterministic = 1; continue; }
		if (!strcmp(a, "--no-graph-rows")) { o->graph_rows = 0; continue; }
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--backend")) o->backend = v;
		else if (!strcmp(a, "-o")) o->out = v;
		else if (!strcmp(a, "--time")) o->time = atof(v);
		else if (!strcmp(a, "--train") && o->ntrain < MAXN) o->train[o->ntrain++] = posint(v);
		else if (!strcmp(a, "--infer") && o->ninfer < MAXN) o->infer[o->ninfer++] = posint(v);
		else if (!strcmp(a, "--precision") && o->nprec < 4 && nn_precision_parse(v) >= 0)
			o->prec[o->nprec++] = nn_precision_parse(v);
		else usage();
	}
	if (!o->ntrain && !o->ninfer) {
		int t[] = { 5, 32, 128 }, f[] = { 1, 32, 256 };
		memcpy(o->train, t, sizeof t); o->ntrain = 3;
		memcpy(o->infer, f, sizeof f); o->ninfer = 3;
	}
	if (!o->nprec) {
		for (int p = 0; p < 4; p++)
			o->prec[p] = p;
		o->nprec = strcmp(o->backend, "cuda") ? 1 : 4;
	}
}

/* One row: images/s of `batch` (training or inference); -1 on failure. */
static double
measure(struct nn_backend *be, int batch, int training, double secs, char *err, size_t len)
{
	struct nn_head head = { .dense_units = 256, .dropout = 0.5f, .classes = 1 };
	struct nn_model *m = nn_inception_v3(299, 299, &head);
	struct nn_optim adam = { NN_ADAM, 1e-4f, 0.9f, 0.999f, 1e-7f, 0, 0, 0 };
	size_t nx = (size_t)batch * 299 * 299 * 3;
	uint8_t *x = malloc(nx);
	float *y = malloc(batch * sizeof *y), *prob = malloc(batch * sizeof *prob), loss;
	struct rng r;
	double t0 = 0, rate = -1;
	int it = 0;

	rng_init(&r, 1, 0, 0);
	for (size_t i = 0; i < nx; i++)
		x[i] = (uint8_t)rng_u32(&r);
	for (int i = 0; i < batch; i++)
		y[i] = (float)(i & 1);
	if (!m || !x || !y || !prob) {
		snprintf(err, len, "model: %s", m ? "out of memory" : "cannot build inception_v3");
		goto out;
	}
	nn_model_init_params(m, 1);
	nn_set_preprocess(m, 1 / 127.5f, -1);
	if (nn_model_plan(m, be, batch) < 0) {
		snprintf(err, len, "plan: %s", nn_error(m));
		goto out;
	}
	for (;;) {
		if (it == 3)
			t0 = now();     /* warm-up: algorithms, allocations, graph capture */
		if (training ? nn_train_step(m, NN_IN_U8, x, batch, y, NULL, &adam, &loss, prob) < 0
		             : nn_infer(m, NN_IN_U8, x, batch, prob) < 0) {
			snprintf(err, len, "%s", nn_error(m));
			goto out;
		}
		it++;
		if (it >= 6 && now() - t0 >= secs)
			break;
	}
	rate = (double)(it - 3) * batch / (now() - t0);
out:
	nn_model_free(m);
	free(x);
	free(y);
	free(prob);
	return rate;
}

static void
emit(FILE *f, const char *line)
{
	fputs(line, stdout);
	if (f)
		fputs(line, f);
	fflush(stdout);
}

/* The rows of one backend (a precision, graphs on or off). */
static int
rows(struct nn_backend *be, const struct opts *o, int prec, int graphs, FILE *f)
{
	char line[640], err[256];
	int rc = 0;

	for (int t = 0; t < 2; t++)
		for (int i = 0; i < (t ? o->ninfer : o->ntrain); i++) {
			int b = t ? o->infer[i] : o->train[i];
			double r;
			if (!graphs && i > 0)
				break;          /* graphs off: the smallest batch only */
			r = measure(be, b, !t, o->time, err, sizeof err);
			rc |= r < 0;
			if (r < 0)
				snprintf(line, sizeof line, "| %s | %s | %s | %d | failed: %s |\n",
				         nn_precision_name(prec), graphs ? "on" : "off",
				         t ? "infer" : "train", b, err);
			else
				snprintf(line, sizeof line, "| %s | %s | %s | %d | %.1f |\n",
				         nn_precision_name(prec), graphs ? "on" : "off",
				         t ? "infer" : "train", b, r);
			emit(f, line);
		}
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o;
	FILE *f = NULL;
	char line[640], err[256];
	int rc = 0;

	parse(argc, argv, &o);
	if (o.out && !(f = fopen(o.out, "w"))) {
		perror(o.out);
		return 1;
	}
	snprintf(line, sizeof line, "# InceptionV3 299x299x3 on backend %s%s\n\n"
	         "| precision | graphs | mode | batch | images/s |\n|---|---|---|---|---|\n",
	         o.backend, o.deterministic ? " (deterministic)" : "");
	emit(f, line);
	for (int p = 0; p < o.nprec; p++)
		for (int g = 1; g >= (o.graph_rows ? 0 : 1); g--) {
			struct nn_backend_opts bo = { .deterministic = o.deterministic,
			                              .precision = o.prec[p], .graphs = g ? 1 : -1 };
			struct nn_backend *be = nn_backend_open(o.backend, &bo, err, sizeof err);
			if (!be) {
				snprintf(line, sizeof line, "SKIP: %s\n", err);
				emit(f, line);
				goto done;
			}
			rc |= rows(be, &o, o.prec[p], g, f);
			be->close(be);
		}
done:
	if (f && fclose(f) != 0) {
		perror(o.out);
		rc = 1;
	}
	return rc;
}
