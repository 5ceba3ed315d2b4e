/* multilabel.h — private to train/: the trainer's multi-label task
 * (nntrain --task multilabel) kept out of trainer.c.  K sigmoid outputs,
 * binary cross-entropy per target, masked: an unknown target (-1) weighs
 * 0 and the loss is the mean over the known entries of the batch (the
 * bce_logits op's per-element weights: w = known * n*k / known count).
 * Each returns 0, or -1 with t->err (mlt_setup, mlt_check_val: err). */
#ifndef RADPIPE_NN_MULTILABEL_H
#define RADPIPE_NN_MULTILABEL_H

#include <stddef.h>
#include "nn/train/trainer.h"

/* Decides the task from --task and the first batch fb (targets: multi-
 * label) before the model is built or loaded (t->info.ml, t->task). */
int mlt_setup(struct trainer *t, const struct feed *fb, char *err, size_t errlen);
/* After the model is built or loaded: it and the stream agree. */
int mlt_check_model(struct trainer *t, const struct feed *fb, char *err, size_t errlen);
/* Checks that the validation batches carry the model's targets. */
int mlt_check_val(struct trainer *t, char *err, size_t errlen);
/* The known (not -1) entries of fb's targets. */
int mlt_known(const struct feed *fb);
/* The masked loss's inputs for nk targets t (1, 0, -1): y (unknown -> 0)
 * and w (known: nk / known count; unknown: 0), so that bce_logits' mean
 * over nk elements is the mean over the known ones.  Returns the known
 * count (0: every weight 0, loss and gradient 0). */
size_t mlt_loss_inputs(const float *t, size_t nk, float *y, float *w);
/* Checks batch fb (frame index) and fills y (unknown -> 0) and w (n*k
 * each) for the masked loss; counts the known 1/0 entries per target. */
int mlt_batch_inputs(struct trainer *t, const struct feed *fb, uint64_t index, float *y, float *w);
/* The masked accuracy at 0.5 of n*k probabilities p against targets y
 * (NaN when none is known). */
double mlt_accuracy(const float *p, const float *y, size_t nk);
/* At an epoch's end (collective): the positives and negatives counted
 * by each rank since the last call summed over the ranks into t->info.ml
 * (a checkpoint written within an epoch by several ranks holds rank 0's
 * counts of that epoch only). */
void mlt_fold_counts(struct trainer *t);
/* Masked mean BCE (probabilities clipped to [1e-7, 1-1e-7], as Keras),
 * masked accuracy and the mean per-target AUC over targets with both
 * classes (NaN: none) of the model on the validation set. */
int mlt_evaluate(struct trainer *t, double *lossP, double *accP, double *aucP);
/* The mean over the k targets that have both classes of the AUC of n
 * scores p (row-major n x k) against targets y (1, 0; -1 ignored); NaN
 * when no target has both.  *usedP (may be NULL) gets how many had. */
double mlt_mean_auc(const float *p, const float *y, size_t n, int k, int *usedP);

#endif
