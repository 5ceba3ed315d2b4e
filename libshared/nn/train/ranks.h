/* ranks.h — private to train/: the trainer's side of data parallelism
 * (dist.h) kept out of trainer.c.  Each returns 0, or -1 with t->err
 * (ranks_setup: err). */
#ifndef RADPIPE_NN_RANKS_H
#define RADPIPE_NN_RANKS_H

#include "nn/train/trainer.h"

/* Before the upload: parameters, moments and step count from rank 0;
 * checks that the options allow several ranks. */
int ranks_setup(struct trainer *t, char *err, size_t errlen);
/* Before the plan: --sync-bn's batch norm over the ranks (the plan is
 * made for it). */
void ranks_before_plan(struct trainer *t);
/* After the plan: the gradient all-reduce on the model (and the device
 * communicator: err). */
int ranks_attach(struct trainer *t, char *err, size_t errlen);
/* After a step: BN moving statistics from rank 0, the debug digest. */
int ranks_after_step(struct trainer *t);
/* At an epoch frame or the end: steps with weight 0 until every rank is
 * out of batches. */
int ranks_join(struct trainer *t);
/* 1 if some rank has an epoch in progress (collective). */
int ranks_any(struct trainer *t, int mine);
/* Sums the n doubles at v over the ranks. */
void ranks_sum(struct trainer *t, double *v, int n);
/* 1 on rank 0 (and a single process): the rank that writes. */
int ranks_lead(const struct trainer *t);
/* Rank 0's note of the all-reduce times, at the end. */
void ranks_report(struct trainer *t);

#endif
