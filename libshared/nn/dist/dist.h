/* dist.h — data-parallel training across processes (MPI), for nntrain.
 *
 * One nntrain per rank, each reading its own shard of batches.  Every
 * step the ranks agree on how many images they hold together
 * (dist_step_begin); the gradients are then averaged over those images
 * with MPI all-reduces in buckets posted while backward is still running
 * (the engine's gradient hook, nn_set_grad_hook), and waited for before
 * the optimiser step, so that the parameters stay bit-identical on every
 * rank.  A rank out of batches joins with weight 0 (dist_step_begin(d, 0),
 * then nn_idle_step) until every rank is out: no rank waits for ever.
 *
 * Built without MPI (no RADPIPE_MPI), dist_open gives a single process and
 * refuses --dist and a launch by mpirun/srun with more than one task.
 * Errors: dist_open returns NULL with the message in err; MPI's own errors
 * end every rank (MPI_ERRORS_ARE_FATAL); nothing else fails.
 */
#ifndef RADPIPE_NN_DIST_H
#define RADPIPE_NN_DIST_H

#include <stddef.h>
#include "nn/nn.h"

struct dist;

/* Time spent, in seconds, summed over the steps of this rank. */
struct dist_stats {
	long long steps;        /* steps with an all-reduce */
	double backward;        /* from the first bucket ready to done */
	double wait;            /* in done: waiting for the buckets */
	double reduce_bytes;    /* bytes all-reduced */
};

/* Starts MPI when force (--dist) or when the launcher's environment says
 * more than one task; otherwise (and for one task) a single process.
 * NULL with err when MPI is wanted but this build has none, or fails. */
struct dist *dist_open(int force, char *err, size_t errlen);
/* This process's rank (0 for a single process). */
int dist_rank(const struct dist *d);
/* The number of ranks (1 for a single process). */
int dist_size(const struct dist *d);
/* 1 when training data-parallel (MPI started: several ranks or --dist,
 * even on one rank); 0 for a plain single process. */
int dist_parallel(const struct dist *d);
/* 1 if this build has MPI. */
int dist_built_with_mpi(void);
/* The world size the launcher announces in the environment (Open MPI,
 * PMI, Slurm's srun), or 0 when none does. */
int dist_env_size(void);
/* Copies n bytes at buf from rank 0 to every rank. */
void dist_bcast(struct dist *d, void *buf, size_t n);
/* Sums the n doubles at v over the ranks, in place. */
void dist_sum(struct dist *d, double *v, int n);
/* Batch norm statistics of m over the ranks (--sync-bn: nn_set_bn_sync);
 * call it before m is planned (the plan is made for it). */
void dist_sync_bn(struct dist *d, struct nn_model *m);
/* Installs the gradient all-reduce on m (planned on be), buckets of
 * bucket_bytes (0: one all-reduce after backward, no overlap).  A backend
 * with its own allreduce (cuda: NCCL) gets its communicator, bootstrapped
 * over MPI, and reduces device memory; others are reduced by MPI on the
 * host arena.  0, or -1 with err (the communicator failed). */
int dist_attach(struct dist *d, struct nn_model *m, struct nn_backend *be,
                size_t bucket_bytes, char *err, size_t errlen);
/* Starts a step holding n images on this rank; returns the images of all
 * ranks together (0: every rank is out of batches: no step). */
long long dist_step_begin(struct dist *d, int n);
/* After a step: BN moving statistics (the parameters without gradients)
 * copied from rank 0, as PyTorch DDP's buffers. */
void dist_sync_buffers(struct dist *d, struct nn_model *m);

/* RADPIPE_DIST_CHECK=1: writes "rank R step S sha256 HEX" of the
 * parameters to stderr (tests compare the ranks); -1 if the download
 * fails (nn_error). */
int dist_check_digest(struct dist *d, struct nn_model *m);
/* The time spent so far. */
void dist_get_stats(const struct dist *d, struct dist_stats *s);
/* Ends every rank with status code (MPI_Abort); returns only for a single
 * process. */
void dist_abort(struct dist *d, int code);
/* Finalises MPI and frees d (NULL is allowed). */
void dist_close(struct dist *d);

#endif
