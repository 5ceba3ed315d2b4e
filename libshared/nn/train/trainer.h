/* trainer.h — the training loop behind nntrain: epochs, validation,
 * schedules, early stopping, checkpoints and exact resumption.
 *
 * Ownership: a trainer owns its backend, model, validation set and buffers;
 * trainer_free releases them.  Options are the caller's and must outlive it.
 * Errors (err.h): the functions below return -1 with a one-line message in
 * t->err (trainer_setup: in the caller's err); none exits.
 */
#ifndef RADPIPE_NN_TRAINER_H
#define RADPIPE_NN_TRAINER_H

#include <stdint.h>
#include "frame.h"
#include "nn/train/feed.h"
#include "nn/train/timing.h"
#include "nn/modelfile/modelio.h"
#include "nn/dist/dist.h"
#include "nn/nn.h"
#include "progress.h"

enum monitor { MON_VAL_LOSS, MON_VAL_ACC, MON_LOSS, MON_ACC };
/* --task: auto (multilabel when the stream has targets, else binary or
 * multiclass by --num-classes), or one of them. */
enum task { TASK_AUTO, TASK_BINARY, TASK_MULTICLASS, TASK_MULTILABEL };

struct train_options {
	const char *arch, *weights, *classes, *preprocess;
	struct nn_head head;
	struct nn_optim optim;
	const char *freeze_until;
	int freeze_base, bn_frozen, bn_unbiased;
	float class_weight[2];
	int has_class_weight;
	int lr_step_every;
	float lr_step_factor;
	int plateau_patience;
	float plateau_factor;
	int early_stop;
	int monitor;            /* enum monitor */
	uint64_t seed;
	const char *val, *save, *checkpoint, *best, *resume;
	const char *device;
	int threads, deterministic, quiet;
	int precision;          /* enum nn_precision (--precision) */
	int graphs;             /* struct nn_backend_opts.graphs (--cuda-graphs) */
	long long max_steps;     /* stop (with a checkpoint) after this many steps */
	int dist;               /* --dist: data parallel even when not launched by mpirun */
	int sync_bn;            /* --sync-bn: batch statistics over the ranks */
	float bucket_mb;        /* --bucket-mb: all-reduce bucket (0: after backward) */
	int task;               /* enum task (--task) */
	int timing;             /* --timing: per-phase times on stderr at the end */
};

struct trainer {
	const struct train_options *o;
	struct frame_writer *out;
	struct dist *dist;              /* the ranks (the caller's); NULL: one process */
	struct nn_backend *be;
	struct nn_model *m;
	struct nn_model_info info;
	struct feed_set val;
	int bs, h, w, c, k;             /* planned batch, input shape, outputs */
	float *probs, *wts;             /* bs*k each */
	float *ty;                      /* multi-label: bs*k targets of the loss */
	double val_auc;                 /* multi-label: the last validation's mean AUC */
	long long *mlbase;              /* multi-label: 2k counts as of the last sum over ranks */
	char **names;                   /* class names seen, by label */
	int nnames;
	/* the epoch in progress */
	int epoch, epochs, batch_in_epoch, steps, active;
	double loss_sum, acc_sum, seconds;
	long seen;
	double t0;
	/* resumption: skip what the checkpoint has done */
	int skip_epoch, skip_batches;
	/* schedules and early stopping */
	float lr;
	double best;
	int bad_epochs, plateau_bad, stopped;
	int halted;             /* --max-steps reached */
	long long amp_skipped;  /* fp16 steps skipped, as of the last epoch's end */
	struct progress prog;
	struct tt_timing tt;            /* --timing (the caller charges the waits) */
	int bg_pid, bg_fd;              /* the checkpoint's background writer (0: none) */
	const char *bg_path;            /* and its file */
	char err[4608];         /* the last error's message */
};

/* Fills o with the paper's defaults (InceptionV3, head 256/0.5/1, rescale,
 * Adam 1e-4 with Keras 2018 epsilon 1e-8, seed 1, monitor val_loss, cpu). */
void trainer_defaults(struct train_options *o);
/* Prepares t (no model yet); metrics frames will go to out (rank 0 only);
 * d: the ranks (dist.h, the caller's; NULL: one process). */
void trainer_init(struct trainer *t, const struct train_options *o, struct frame_writer *out,
                  struct dist *d);
/* Opens the backend, builds or loads the model for the shape of the first
 * batch frame f, loads the validation set.  0, or -1 with err. */
int trainer_setup(struct trainer *t, const struct frame *first, char *err, size_t errlen);
/* An epoch frame: ends the epoch in progress, starts the next.  0, or -1
 * (t->err) when validation, a check or a save fails. */
int trainer_epoch_frame(struct trainer *t, const struct frame *f);
/* One training step on a batch frame (or a skip when resuming).  0, or -1
 * (t->err) on bad input, divergence or a failed save. */
int trainer_batch(struct trainer *t, const struct frame *f);
/* End of stream: ends the last epoch, writes --save.  0, or -1 (t->err). */
int trainer_finish(struct trainer *t);
/* Saves the checkpoint of the current position (on a signal).  0, or -1
 * (t->err). */
int trainer_interrupted(struct trainer *t);
/* Waits for a checkpoint being written in the background (at exit after
 * an error too).  0, or -1 (t->err) if its write failed. */
int trainer_sync(struct trainer *t);
/* Releases everything t owns (after waiting as trainer_sync does). */
void trainer_free(struct trainer *t);

#endif
