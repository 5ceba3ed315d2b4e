/* checkpoint.h — private to train/: the trainer's model files (--save,
 * --checkpoint, --best), kept out of trainer.c.  Each returns 0, or -1
 * with t->err. */
#ifndef RADPIPE_NN_CHECKPOINT_H
#define RADPIPE_NN_CHECKPOINT_H

#include "nn/train/trainer.h"

/* Restores the position, accumulators and schedules of the checkpoint
 * being resumed (t->info.train_state), if any. */
void tr_restore_state(struct trainer *t);
/* Fails if a parameter (with_moments: or a moment) is NaN/Inf, the
 * message ending with when; downloads them to the host copies first. */
int tr_check_params(struct trainer *t, int with_moments, const char *when);
/* Saves the model to path atomically (rank 0 only); with_state adds the
 * optimizer and the position (epoch, batch) to resume from. */
int tr_save(struct trainer *t, const char *path, int with_state, int epoch, int batch);
/* The checkpoint at the start of epoch (batch 0) written to path by a
 * forked child while the caller goes on (see checkpoint.c); in place
 * where that is not possible (MPI ranks, RADPIPE_CHECKPOINT_SYNC=1, no
 * fork).  Waits for the previous background write first. */
int tr_save_background(struct trainer *t, const char *path, int epoch);
/* Waits for the background write, if any; -1 (t->err) if it failed. */
int tr_join(struct trainer *t);

#endif
