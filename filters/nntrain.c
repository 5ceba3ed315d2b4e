/* nntrain — train a network on batch frames; one metrics frame per epoch.
 *
 * stdin: epoch and batch frames (from imgload | augment | batch).  stdout:
 * metrics frames only (every other incoming kind is consumed).  The model,
 * checkpoints and the best model are radpipe model streams written
 * atomically.  A run resumed from a checkpoint equals the uninterrupted
 * run: the upstream pipeline regenerates the same stream (fixed seeds) and
 * nntrain skips the batches the checkpoint has already seen.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "frame.h"
#include "nn/train/feed.h"
#include "nn/modelfile/modelio.h"
#include "nn/nn.h"
#include "nn/train/trainer.h"
#include "nn/dist/dist.h"
#include "progress.h"

static const char synopsis[] = "usage: nntrain [options] < batches > history\n";

static volatile int stop_signal;
static struct dist *ranks;      /* MPI ranks; aborted together on an error exit */
static struct trainer *live;    /* its background checkpoint is waited for at exit */

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
parse_head(void *p, const char *s)
{
	struct nn_head *h = p;
	double u, d;

	cli_pair(s, "--head", &u, &d);
	if (u < 0 || u > 1e6 || u != floor(u) || d < 0 || d >= 1)
		die_usage("--head: expected UNITS,DROPOUT with UNITS >= 0 and 0 <= DROPOUT < 1");
	h->dense_units = (int)u;
	h->dropout = (float)d;
}

static void
parse_pair_int(const char *s, const char *opt, int *n, float *f)
{
	double a, b;

	cli_pair(s, opt, &a, &b);
	if (a < 1 || a > 1e6 || a != floor(a) || b <= 0 || b > 1)
		die_usage("%s: expected N,F with N >= 1 and 0 < F <= 1", opt);
	*n = (int)a;
	*f = (float)b;
}

static void
set_lr_step(void *p, const char *s)
{
	struct train_options *o = p;

	parse_pair_int(s, "--lr-step", &o->lr_step_every, &o->lr_step_factor);
}

static void
set_lr_plateau(void *p, const char *s)
{
	struct train_options *o = p;

	parse_pair_int(s, "--lr-plateau", &o->plateau_patience, &o->plateau_factor);
}

static void
set_class_weight(void *p, const char *s)
{
	struct train_options *o = p;
	double a, b;

	cli_pair(s, "--class-weight", &a, &b);
	if (a < 0 || b < 0)
		die_usage("--class-weight: weights must be >= 0");
	o->class_weight[0] = (float)a, o->class_weight[1] = (float)b, o->has_class_weight = 1;
}

static void
set_optimizer(void *p, const char *s)
{
	*(enum nn_optim_type *)p = cli_choice(s, "--optimizer",
	    (const char *const[]){ "adam", "sgd", NULL }) == 0 ? NN_ADAM : NN_SGD;
}

static void
set_preprocess(void *p, const char *s)
{
	if (!nn_preprocess_known(s))
		die_usage("--preprocess: unknown '%s' (rescale, inception, tf, caffe, torch)", s);
	*(const char **)p = s;
}

static void
set_graphs(void *p, const char *s)
{
	*(int *)p = cli_choice(s, "--cuda-graphs", (const char *const[]){ "off", "on", NULL }) ? 1 : -1;
}

/* --classes must name each class of the head once, none empty. */
static void
check_classes(const char *list, int k)
{
	int n = 1;

	for (const char *s = list; *s; s++) {
		if (*s == ',' && (s == list || s[1] == ',' || s[1] == '\0'))
			die_usage("--classes: empty class name in '%s'", list);
		n += *s == ',';
	}
	if (*list == '\0' || n != k)
		die_usage("--classes: %d names for a head of %d classes (--num-classes)", *list ? n : 0, k);
}

/* The checks between options, after parsing. */
static void
check_options(const struct train_options *o)
{
	if (!nn_arch_known(o->arch))
		die_usage("--arch: unknown '%s' (inception_v3, resnet50, densenet121, mobilenet_v2, small_cnn)",
		    o->arch);
	if (o->resume && o->weights)
		die_usage("--resume and --weights: a checkpoint already holds the weights; give one");
	if (o->classes && !o->resume)
		check_classes(o->classes, o->head.classes == 1 ? 2 : o->head.classes);
	if ((o->task == TASK_BINARY && o->head.classes != 1) ||
	    (o->task == TASK_MULTICLASS && o->head.classes < 2))
		die_usage("--task %s: --num-classes must be %s", o->task == TASK_BINARY ? "binary" :
		    "multiclass", o->task == TASK_BINARY ? "1" : "at least 2");
	if (o->precision != NN_PREC_FP32 && !strcmp(o->device, "ref"))
		die_usage("--precision %s: the ref backend computes in fp32 only (use --device cuda)",
		    nn_precision_name(o->precision));
	if (o->precision != NN_PREC_FP32 && o->precision != NN_PREC_BF16 && !strcmp(o->device, "cpu"))
		die_usage("--precision %s: the cpu backend computes in fp32 or bf16 only (use --device cuda)",
		    nn_precision_name(o->precision));
}

static void
parse_command_line(int argc, char **argv, struct train_options *o)
{
	static const char *const monitors[] = { "val_loss", "val_acc", "loss", "acc", NULL };
	static const char *const tasks[] = { "auto", "binary", "multiclass", "multilabel", NULL };
	struct nn_optim *op = &o->optim;
	const struct cli_opt opts[] = {
		CLI_TEXT("model:"),
		CLI_STR("arch", 0, "NAME", "inception_v3 (default), resnet50, densenet121,\n"
		    "mobilenet_v2 or small_cnn", &o->arch),
		CLI_STR("weights", 0, "FILE", "start from a Keras .h5 (base layers matched by name)\n"
		    "or a radpipe model file (every parameter)", &o->weights),
		CLI_CALL("head", 0, "U,D", "hidden dense units and dropout (default 256,0.5;\n0,0 for none)",
		    parse_head, &o->head),
		CLI_INT("num-classes", 0, "K", "1: sigmoid (default, binary); K >= 2: softmax",
		    &o->head.classes, 1, 100000),
		CLI_OPT_CLASSES("from the data", &o->classes),
		CLI_CHOICE("task", 0, "T", "auto (default: multilabel when the batches carry\ntargets), binary, "
		    "multiclass or multilabel (K sigmoid\noutputs, the targets' masked cross-entropy)", &o->task, tasks),
		CLI_CALL("preprocess", 0, "P", "rescale (x/255, the paper), inception or tf\n"
		    "(x/127.5-1), caffe (BGR minus ImageNet means) or torch\n"
		    "((x/255-mean)/std); default: rescale for inception_v3,\n"
		    "the arch's own (Keras' preprocess_input) for the others",
		    set_preprocess, &o->preprocess),
		CLI_TEXT("training:"),
		CLI_CALL("optimizer", 0, "adam|sgd", "(default adam)", set_optimizer, &op->type),
		CLI_FLOAT("lr", 0, "R", "learning rate (default 1e-4)", &op->lr, 0, 10),
		CLI_FLOAT("beta1", 0, "B", "Adam beta1 (default 0.9, as Keras 2018)", &op->beta1, 0, 0.999999),
		CLI_FLOAT("beta2", 0, "B", "Adam beta2 (default 0.999)", &op->beta2, 0, 0.999999999),
		CLI_FLOAT("adam-eps", 0, "E", "Adam epsilon (default 1e-8, as Keras 2018)", &op->eps, 0, 1),
		CLI_FLOAT("momentum", 0, "M", "SGD momentum", &op->momentum, 0, 0.999999),
		CLI_FLAG("nesterov", 0, "SGD with Nesterov momentum", &op->nesterov),
		CLI_FLOAT("l2", 0, "L", "L2 penalty on kernels (default 0)", &op->l2, 0, 1),
		CLI_STR("freeze-until", 0, "LAYER", "freeze every layer up to and including LAYER", &o->freeze_until),
		CLI_FLAG("freeze-base", 0, "freeze everything before the head", &o->freeze_base),
		CLI_FLAG("bn-frozen", 0, "batch norm uses moving statistics in training too", &o->bn_frozen),
		CLI_FLAG("bn-unbiased", 0, "moving variance with the m/(m-1) correction", &o->bn_unbiased),
		CLI_CALL("class-weight", 0, "W0,W1", "loss weight of each class", set_class_weight, o),
		CLI_CALL("lr-step", 0, "N,F", "multiply the learning rate by F every N epochs", set_lr_step, o),
		CLI_CALL("lr-plateau", 0, "P,F", "multiply it by F after P epochs without improvement",
		    set_lr_plateau, o),
		CLI_INT("early-stop", 0, "P", "stop after P epochs without improvement", &o->early_stop, 1, 1000000),
		CLI_CHOICE("monitor", 0, "M", "val_loss (default), val_acc, loss or acc", &o->monitor, monitors),
		CLI_OPT_SEED("initialisation and dropout seed (default 1)", &o->seed),
		CLI_TEXT("validation and files:"),
		CLI_STR("val", 0, "FILE", "validation stream (samples or batches), never augmented", &o->val),
		CLI_STR("save", 0, "FILE", "the final model", &o->save),
		CLI_STR("checkpoint", 0, "FILE", "model + optimizer + position, after every epoch and\n"
		    "on SIGINT/SIGTERM", &o->checkpoint),
		CLI_STR("best", 0, "FILE", "the model of the best epoch by --monitor", &o->best),
		CLI_STR("resume", 0, "FILE", "continue from a checkpoint", &o->resume),
		CLI_LLONG("max-steps", 0, "N", "stop after N optimizer steps (counted from the start\n"
		    "of training), saving the checkpoint", &o->max_steps, 1, (double)((long long)1 << 50)),
		CLI_TEXT("execution:"),
		CLI_OPT_DEVICE(&o->device),
		CLI_OPT_THREADS(&o->threads),
		CLI_FLAG("deterministic", 0, "only bit-reproducible algorithms (cuda)", &o->deterministic),
		CLI_OPT_PRECISION(&o->precision),
		CLI_FLAG("timing", 0, "at the end, where the time went: wall and CPU seconds\n"
		    "per phase (setup, waiting on stdin, steps, validation,\n"
		    "model files) on stderr", &o->timing),
		CLI_CALL("cuda-graphs", 0, "on|off", "replay each step as a CUDA graph (default on)", set_graphs, &o->graphs),
		CLI_TEXT("scaling out (mpirun, srun; see nntrain(1)):"),
		CLI_FLAG("dist", 0, "data parallel over MPI even when not started by mpirun", &o->dist),
		CLI_FLAG("sync-bn", 0, "batch norm statistics over every rank (default: per rank)",
		    &o->sync_bn),
		CLI_FLOAT("bucket-mb", 0, "MB", "gradient all-reduce bucket, overlapped with backward\n"
		    "(default 25; 0: one all-reduce after backward)", &o->bucket_mb, 0, 1e6),
		CLI_END
	};
	int i;

	trainer_defaults(o);
	o->preprocess = NULL;
	i = cli_parse(argc, argv, synopsis, opts);
	if (o->preprocess == NULL)	/* the paper's for inception_v3 */
		o->preprocess = !strcmp(o->arch, "inception_v3") || !nn_arch_known(o->arch) ?
		    "rescale" : nn_arch_preprocess(o->arch);
	if (i != argc)
		die_usage("unexpected argument '%s' (nntrain reads batches on stdin)", argv[i]);
	check_options(o);
}

/* SIGINT/SIGTERM set stop_signal and interrupt a blocked read (no
 * SA_RESTART); the loop then saves a checkpoint and exits. */
static void
catch_signals(struct frame_reader *r)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	frame_reader_set_interrupt(r, &stop_signal);
}

static void
interrupted(struct trainer *t, const struct train_options *o)
{
	if (trainer_interrupted(t) < 0)
		die("%s", t->err);
	die("interrupted by signal %d%s%s", stop_signal,
	    o->checkpoint ? "; checkpoint saved to " : " (no --checkpoint: nothing saved)",
	    o->checkpoint ? o->checkpoint : "");
}

/* Tests: RADPIPE_TEST_SIGNAL_AFTER_STEP=N raises SIGTERM right after
 * optimizer step N, so that an interruption lands at an exact place of the
 * stream (an epoch boundary, after the last step). */
static void
test_signal_hook(struct trainer *t)
{
	static long long last = -1;
	const char *e = getenv("RADPIPE_TEST_SIGNAL_AFTER_STEP");
	long long step = nn_step_count(t->m);

	if (e != NULL && step != last && step == strtoll(e, NULL, 10))
		raise(SIGTERM);
	last = step;
}

/* frame_next that turns an interrupted read into a checkpoint. */
static int
next_frame(struct frame_reader *r, struct frame *f, struct trainer *t, const struct train_options *o)
{
	int s;

	if (stop_signal)
		interrupted(t, o);
	s = frame_read(r, f);
	tt_add(&t->tt, TT_WAIT);
	if (s < 0 && stop_signal)
		interrupted(t, o);
	if (s < 0)
		die("stdin: %s%s", frame_reader_error(r), t->o->checkpoint ?
		    " (the last checkpoint is intact)" : "");
	return s;
}

/* Reads frames until the first batch; returns 1 with it in f, 0 at end. */
static int
first_batch(struct frame_reader *r, struct frame *f, struct trainer *t)
{
	while (frame_next(r, f)) {
		tt_add(&t->tt, TT_WAIT);
		if (frame_is(f, "batch"))
			return 1;
		if (frame_is(f, "sample"))
			die("stdin: got sample frames: put 'batch N' before nntrain");
		if (frame_is(f, "epoch") && trainer_epoch_frame(t, f) < 0)
			die("%s", t->err);
	}
	return 0;
}

/* An exit with ranks still running (die on any rank) ends them all:
 * MPI_Abort, after the message is printed.  A clean end closes first. */
static void
abort_ranks(void)
{
	dist_abort(ranks, 1);
}

/* An exit after an error lets a checkpoint being written finish first. */
static void
wait_writer(void)
{
	if (live != NULL)
		trainer_sync(live);
}

/* MPI when launched on several ranks or --dist; rank 0 alone speaks. */
static void
open_ranks(struct train_options *o)
{
	char err[512];

	if ((ranks = dist_open(o->dist, err, sizeof err)) == NULL)
		die("%s", err);
	atexit(abort_ranks);
	if (dist_rank(ranks) != 0)
		err_quiet = o->quiet = 1;
}

int
main(int argc, char **argv)
{
	struct train_options o;
	struct trainer t;
	struct frame_reader *r;
	struct frame_writer *w;
	struct frame f;
	char err[512];

	parse_command_line(argc, argv, &o);
	o.quiet = err_quiet;
	open_ranks(&o);
	r = frame_reader_fd(0, "stdin");
	w = frame_writer_fd(1, "stdout");
	trainer_init(&t, &o, w, ranks);
	live = &t;
	atexit(wait_writer);
	if (!first_batch(r, &f, &t))
		die("stdin: no batch frames (expected imgload ... | batch N | nntrain)");
	if (trainer_setup(&t, &f, err, sizeof err) < 0)
		die("%s", err);
	catch_signals(r);
	do {
		if (stop_signal)
			interrupted(&t, &o);
		if (frame_is(&f, "epoch")) {
			if (trainer_epoch_frame(&t, &f) < 0)
				die("%s", t.err);
		} else if (frame_is(&f, "batch")) {
			if (trainer_batch(&t, &f) < 0)
				die("%s", t.err);
			test_signal_hook(&t);
		} else if (frame_is(&f, "sample"))
			die("stdin: frame %llu: a sample frame among batches: put 'batch N' before nntrain",
			    (unsigned long long)f.index);
	} while (next_frame(r, &f, &t, &o));
	if (trainer_finish(&t) < 0)
		die("%s", t.err);
	frame_writer_close(w);
	frame_reader_close(r);
	trainer_free(&t);
	live = NULL;
	tt_add(&t.tt, TT_OTHER);
	tt_report(&t.tt);
	dist_close(ranks);
	ranks = NULL;
	stdout_finish();
	return 0;
}
