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
#include <getopt.h>
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
#include "progress.h"

static const char usage[] =
"usage: nntrain [options] < batches > history\n"
"model:\n"
"  --arch NAME           inception_v3 (default) or small_cnn\n"
"  --weights FILE        start from a Keras .h5 (base layers matched by name)\n"
"                        or a radpipe model file (every parameter)\n"
"  --head U,D            hidden dense units and dropout (default 256,0.5;\n"
"                        0,0 for none)\n"
"  --num-classes K       1: sigmoid (default, binary); K >= 2: softmax\n"
"  --classes A,B,...     class names stored in the model (default: from data)\n"
"  --preprocess P        rescale (x/255, the paper) or inception (x/127.5-1)\n"
"training:\n"
"  --optimizer adam|sgd  (default adam)\n"
"  --lr R                learning rate (default 1e-4)\n"
"  --beta1 B --beta2 B --adam-eps E   Adam (0.9, 0.999, 1e-8 as Keras 2018)\n"
"  --momentum M --nesterov            SGD\n"
"  --l2 L                L2 penalty on kernels (default 0)\n"
"  --freeze-until LAYER  freeze every layer up to and including LAYER\n"
"  --freeze-base         freeze everything before the head\n"
"  --bn-frozen           batch norm uses moving statistics in training too\n"
"  --bn-unbiased         moving variance with the m/(m-1) correction\n"
"  --class-weight W0,W1  loss weight of each class\n"
"  --lr-step N,F         multiply the learning rate by F every N epochs\n"
"  --lr-plateau P,F      multiply it by F after P epochs without improvement\n"
"  --early-stop P        stop after P epochs without improvement\n"
"  --monitor M           val_loss (default), val_acc, loss or acc\n"
"  --seed S              initialisation and dropout seed (default 1)\n"
"validation and files:\n"
"  --val FILE            validation stream (samples or batches), never augmented\n"
"  --save FILE           the final model\n"
"  --checkpoint FILE     model + optimizer + position, after every epoch and\n"
"                        on SIGINT/SIGTERM\n"
"  --best FILE           the model of the best epoch by --monitor\n"
"  --resume FILE         continue from a checkpoint\n"
"  --max-steps N         stop after N optimizer steps (counted from the start\n"
"                        of training), saving the checkpoint\n"
"execution:\n"
"  --device D            cpu (default), ref, cuda or auto\n"
"  --threads N           CPU threads (default: all cores)\n"
"  --deterministic       only bit-reproducible algorithms (cuda)\n"
"  --precision P         fp32 (default), tf32, bf16 or fp16 conv/dense math\n"
"                        (all but fp32 need cuda; fp16 scales the loss)\n"
"  --cuda-graphs on|off  replay each step as a CUDA graph (default on)\n"
"  -q, --quiet           no progress on stderr\n";

static volatile int stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
parse_head(const char *s, struct nn_head *h)
{
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
parse_more(int ch, struct train_options *o)
{
	double a, b;

	switch (ch) {
	case 'O': o->optim.type = cli_choice(optarg, "--optimizer",
	              (const char *const[]){ "adam", "sgd", NULL }) == 0 ? NN_ADAM : NN_SGD; break;
	case 'l': o->optim.lr = (float)cli_double(optarg, "--lr", 0, 10); break;
	case '1': o->optim.beta1 = (float)cli_double(optarg, "--beta1", 0, 0.999999); break;
	case '2': o->optim.beta2 = (float)cli_double(optarg, "--beta2", 0, 0.999999999); break;
	case 'E': o->optim.eps = (float)cli_double(optarg, "--adam-eps", 0, 1); break;
	case 'M': o->optim.momentum = (float)cli_double(optarg, "--momentum", 0, 0.999999); break;
	case 'N': o->optim.nesterov = 1; break;
	case 'L': o->optim.l2 = (float)cli_double(optarg, "--l2", 0, 1); break;
	case 'F': o->freeze_until = optarg; break;
	case 'B': o->freeze_base = 1; break;
	case 'Z': o->bn_frozen = 1; break;
	case 'U': o->bn_unbiased = 1; break;
	case 'W': cli_pair(optarg, "--class-weight", &a, &b);
		if (a < 0 || b < 0)
			die_usage("--class-weight: weights must be >= 0");
		o->class_weight[0] = (float)a, o->class_weight[1] = (float)b, o->has_class_weight = 1;
		break;
	case 'S': parse_pair_int(optarg, "--lr-step", &o->lr_step_every, &o->lr_step_factor); break;
	case 'P': parse_pair_int(optarg, "--lr-plateau", &o->plateau_patience, &o->plateau_factor); break;
	case 'X': o->early_stop = (int)cli_int(optarg, "--early-stop", 1, 1000000); break;
	case 'm': o->monitor = cli_choice(optarg, "--monitor",
	              (const char *const[]){ "val_loss", "val_acc", "loss", "acc", NULL }); break;
	case 'r': o->seed = cli_u64(optarg, "--seed"); break;
	default: die_usage("unknown option");
	}
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

static void
parse_command_line(int argc, char **argv, struct train_options *o)
{
	static const struct option longopts[] = {
		{ "arch", 1, NULL, 'a' }, { "weights", 1, NULL, 'w' }, { "head", 1, NULL, 'h' },
		{ "num-classes", 1, NULL, 'k' }, { "classes", 1, NULL, 'C' },
		{ "preprocess", 1, NULL, 'p' }, { "optimizer", 1, NULL, 'O' }, { "lr", 1, NULL, 'l' },
		{ "beta1", 1, NULL, '1' }, { "beta2", 1, NULL, '2' }, { "adam-eps", 1, NULL, 'E' },
		{ "momentum", 1, NULL, 'M' }, { "nesterov", 0, NULL, 'N' }, { "l2", 1, NULL, 'L' },
		{ "freeze-until", 1, NULL, 'F' }, { "freeze-base", 0, NULL, 'B' },
		{ "bn-frozen", 0, NULL, 'Z' }, { "bn-unbiased", 0, NULL, 'U' },
		{ "class-weight", 1, NULL, 'W' }, { "lr-step", 1, NULL, 'S' },
		{ "lr-plateau", 1, NULL, 'P' }, { "early-stop", 1, NULL, 'X' },
		{ "monitor", 1, NULL, 'm' }, { "seed", 1, NULL, 'r' }, { "val", 1, NULL, 'v' },
		{ "save", 1, NULL, 's' }, { "checkpoint", 1, NULL, 'c' }, { "best", 1, NULL, 'b' },
		{ "resume", 1, NULL, 'R' }, { "device", 1, NULL, 'd' }, { "threads", 1, NULL, 't' },
		{ "deterministic", 0, NULL, 'D' }, { "max-steps", 1, NULL, 'x' },
		{ "precision", 1, NULL, 'e' }, { "cuda-graphs", 1, NULL, 'g' }, { NULL, 0, NULL, 0 }
	};
	int ch;

	trainer_defaults(o);
	while ((ch = cli_getopt(argc, argv, "", longopts)) != -1) {
		switch (ch) {
		case 'a': o->arch = optarg; break;
		case 'w': o->weights = optarg; break;
		case 'h': parse_head(optarg, &o->head); break;
		case 'k': o->head.classes = (int)cli_int(optarg, "--num-classes", 1, 100000); break;
		case 'C': o->classes = optarg; break;
		case 'p': o->preprocess = optarg;
			if (nn_preprocess_parse(optarg, &(float){ 0 }, &(float){ 0 }) < 0)
				die_usage("--preprocess: unknown '%s' (rescale, inception)", optarg);
			break;
		case 'v': o->val = optarg; break;
		case 's': o->save = optarg; break;
		case 'c': o->checkpoint = optarg; break;
		case 'b': o->best = optarg; break;
		case 'R': o->resume = optarg; break;
		case 'd': o->device = optarg; break;
		case 't': o->threads = (int)cli_int(optarg, "--threads", 0, 4096); break;
		case 'D': o->deterministic = 1; break;
		case 'x': o->max_steps = cli_int(optarg, "--max-steps", 1, (long long)1 << 50); break;
		case 'e': o->precision = cli_choice(optarg, "--precision",
		              (const char *const[]){ "fp32", "tf32", "bf16", "fp16", NULL }); break;
		case 'g': o->graphs = cli_choice(optarg, "--cuda-graphs",
		              (const char *const[]){ "off", "on", NULL }) ? 1 : -1; break;
		default: parse_more(ch, o);
		}
	}
	if (optind != argc)
		die_usage("unexpected argument '%s' (nntrain reads batches on stdin)", argv[optind]);
	if (o->resume && o->weights)
		die_usage("--resume and --weights: a checkpoint already holds the weights; give one");
	if (o->classes && !o->resume)
		check_classes(o->classes, o->head.classes == 1 ? 2 : o->head.classes);
	if (o->precision != NN_PREC_FP32 && (!strcmp(o->device, "cpu") || !strcmp(o->device, "ref")))
		die_usage("--precision %s: the %s backend computes in fp32 only (use --device cuda)",
		    nn_precision_name(o->precision), o->device);
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
	if ((s = frame_read(r, f)) < 0 && stop_signal)
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
		if (frame_is(f, "batch"))
			return 1;
		if (frame_is(f, "sample"))
			die("stdin: got sample frames: put 'batch N' before nntrain");
		if (frame_is(f, "epoch") && trainer_epoch_frame(t, f) < 0)
			die("%s", t->err);
	}
	return 0;
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

	cli_begin(&argc, argv, usage);
	parse_command_line(argc, argv, &o);
	o.quiet = err_quiet;
	r = frame_reader_fd(0, "stdin");
	w = frame_writer_fd(1, "stdout");
	trainer_init(&t, &o, w);
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
	return 0;
}
