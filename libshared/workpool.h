/* workpool.h — a small pool of worker threads whose jobs come back in the
 * order they were submitted, so that a filter can do its work on N cores
 * and still write the same bytes as with one (imgload --jobs, augment
 * --jobs).
 *
 * The caller owns every job; the pool only holds the pointer from
 * workpool_submit until workpool_next hands it back.  At most `depth` jobs
 * are in flight (submitted, not yet handed back), which bounds memory.
 * The work function runs on a worker thread and must not touch what the
 * caller's thread changes meanwhile; it reports a failure inside the job
 * (the pool has no error of its own once started).  With one thread (or
 * fewer) there are no threads at all: workpool_submit runs the job
 * inline, on the caller's thread, and workpool_next hands it back.
 */
#ifndef RADPIPE_WORKPOOL_H
#define RADPIPE_WORKPOOL_H

#include <stddef.h>

struct workpool;

/* The work: runs on a worker thread (or inline), once per job. */
typedef void workpool_fn(void *ctx, void *job);

/* The CPUs this process may run on (sched_getaffinity; else the online
 * CPUs), at least 1. */
int workpool_cpus(void);
/* A pool of nthreads workers (<= 0: workpool_cpus()) running fn(ctx, job),
 * with at most depth jobs in flight (0: 2 * nthreads).  Returns NULL with
 * the reason in err when a thread cannot be started. */
struct workpool *workpool_new(int nthreads, size_t depth, workpool_fn *fn, void *ctx,
    char *err, size_t errlen);
/* The number of worker threads (1 when jobs run inline). */
int workpool_threads(const struct workpool *p);
/* The jobs in flight (submitted, not yet handed back). */
size_t workpool_pending(const struct workpool *p);
/* 1 when depth jobs are in flight: take one back before submitting. */
int workpool_full(const struct workpool *p);
/* Queues job (inline pools: runs it now).  The pool must not be full
 * (a bug: aborts). */
void workpool_submit(struct workpool *p, void *job);
/* Waits for the oldest job in flight to finish and returns it; NULL when
 * none is in flight. */
void *workpool_next(struct workpool *p);
/* Stops the workers and waits for them: jobs not yet started are not run,
 * running ones finish.  The jobs in flight stay in the pool (a program
 * about to exit on an error calls this, so that no work goes on while it
 * exits); then only workpool_free may be called. */
void workpool_stop(struct workpool *p);
/* Stops the workers as workpool_stop does, then frees p.  Jobs still in flight are not handed back (the
 * caller owns them).  NULL is a no-op. */
void workpool_free(struct workpool *p);

#endif
