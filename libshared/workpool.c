/* workpool.c — worker threads, a ring of jobs, results in submission
 * order (see workpool.h).
 *
 * Job k (k counts submissions from 0) lives in slot k % depth.  Three
 * counters under one mutex: head (the oldest job in flight), next (the
 * first job no worker has taken) and tail (the next to submit), with
 * head <= next <= tail <= head + depth.  A worker takes job `next`, runs
 * it without the lock and marks its slot done; workpool_next waits for
 * slot head.  Jobs take milliseconds (an image), so one lock is enough.
 */
#include "workpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct slot {
	void *job;
	int done;
};

struct workpool {
	workpool_fn *fn;
	void *ctx;
	int nthreads;           /* 0: inline */
	size_t depth;
	struct slot *ring;
	size_t head, next, tail;
	int stop;
	pthread_mutex_t mu;
	pthread_cond_t work;    /* a job was queued, or stop */
	pthread_cond_t done;    /* a job finished */
	pthread_t *threads;
	int started;
};

int
workpool_cpus(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n < 4096 ? n : 4096) : 1;
}

static void *
worker(void *arg)
{
	struct workpool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct slot *s;

		while (!p->stop && p->next == p->tail)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		s = &p->ring[p->next++ % p->depth];
		pthread_mutex_unlock(&p->mu);
		p->fn(p->ctx, s->job);
		pthread_mutex_lock(&p->mu);
		s->done = 1;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

void
workpool_stop(struct workpool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (; p->started > 0; p->started--)
		pthread_join(p->threads[p->started - 1], NULL);
}

/* Stops the started threads, then frees p. */
static void
pool_release(struct workpool *p)
{
	workpool_stop(p);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p->ring);
	free(p);
}

struct workpool *
workpool_new(int nthreads, size_t depth, workpool_fn *fn, void *ctx, char *err, size_t errlen)
{
	struct workpool *p = calloc(1, sizeof *p);
	int rc;

	if (nthreads <= 0)
		nthreads = workpool_cpus();
	if (depth == 0)
		depth = 2 * (size_t)nthreads;
	if (p == NULL || (p->ring = calloc(depth, sizeof *p->ring)) == NULL ||
	    (p->threads = calloc((size_t)nthreads, sizeof *p->threads)) == NULL) {
		if (p)
			free(p->ring);
		free(p);
		snprintf(err, errlen, "out of memory for a pool of %d threads", nthreads);
		return NULL;
	}
	p->fn = fn;
	p->ctx = ctx;
	p->depth = depth;
	p->nthreads = nthreads > 1 ? nthreads : 0;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (; p->started < p->nthreads; p->started++) {
		if ((rc = pthread_create(&p->threads[p->started], NULL, worker, p)) != 0) {
			snprintf(err, errlen, "cannot start worker thread %d of %d: %s",
			    p->started + 1, p->nthreads, strerror(rc));
			pool_release(p);
			return NULL;
		}
	}
	return p;
}

int
workpool_threads(const struct workpool *p)
{
	return p->nthreads ? p->nthreads : 1;
}

size_t
workpool_pending(const struct workpool *p)
{
	return p->tail - p->head;
}

int
workpool_full(const struct workpool *p)
{
	/* only the caller's thread moves tail and head */
	return p->tail - p->head >= p->depth;
}

void
workpool_submit(struct workpool *p, void *job)
{
	struct slot *s;

	if (workpool_full(p))
		abort();        /* a bug of the caller: see workpool.h */
	s = &p->ring[p->tail % p->depth];
	s->job = job;
	if (p->nthreads == 0) {
		p->fn(p->ctx, job);
		s->done = 1;
		p->tail++;
		p->next = p->tail;
		return;
	}
	pthread_mutex_lock(&p->mu);
	s->done = 0;
	p->tail++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void *
workpool_next(struct workpool *p)
{
	struct slot *s;
	void *job;

	if (p->head == p->tail)
		return NULL;
	s = &p->ring[p->head % p->depth];
	if (p->nthreads > 0) {
		pthread_mutex_lock(&p->mu);
		while (!s->done)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
	job = s->job;
	p->head++;
	return job;
}

void
workpool_free(struct workpool *p)
{
	if (p != NULL)
		pool_release(p);
}
