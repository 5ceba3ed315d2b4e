/* test_workpool.c — libshared/workpool.c: jobs come back in submission
 * order whatever order they finish in; a job's failure comes back with it,
 * at its place; at most depth jobs in flight and nthreads running; one
 * thread runs every job inline on the caller's thread; freeing a pool with
 * jobs in flight neither hangs nor runs the jobs not yet started. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workpool.h"

struct job {
	int i;
	long result;
	int failed;
	char err[64];
	pthread_t thread;
};

struct ctx {
	pthread_mutex_t mu;
	int running, max_running, ran;
	int fail_every;         /* 0: none */
	int slow_us;            /* per job, more for low indices (out of order) */
};

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void
work(void *vctx, void *vjob)
{
	struct ctx *c = vctx;
	struct job *j = vjob;

	pthread_mutex_lock(&c->mu);
	c->ran++;
	if (++c->running > c->max_running)
		c->max_running = c->running;
	pthread_mutex_unlock(&c->mu);
	/* early jobs of each group of 4 take longest: they finish last */
	if (c->slow_us)
		sleep_us((long)c->slow_us * (4 - j->i % 4));
	j->thread = pthread_self();
	j->result = (long)j->i * j->i + 7;
	if (c->fail_every && j->i % c->fail_every == c->fail_every - 1) {
		j->failed = 1;
		snprintf(j->err, sizeof j->err, "job %d failed", j->i);
	}
	pthread_mutex_lock(&c->mu);
	c->running--;
	pthread_mutex_unlock(&c->mu);
}

/* Runs n jobs through a pool of t threads and depth d; checks order and
 * results; returns the context for more checks. */
static void
run_jobs(struct ctx *c, int t, size_t d, int n)
{
	char err[128];
	struct workpool *p = workpool_new(t, d, work, c, err, sizeof err);
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	int want = 0, in_flight = 0, max_in_flight = 0;
	struct job *j;

	assert_non_null(p);
	assert_non_null(jobs);
	for (int i = 0; i < n; i++) {
		while (workpool_full(p)) {
			j = workpool_next(p);
			assert_non_null(j);
			assert_int_equal(j->i, want++);
			assert_int_equal(j->result, (long)j->i * j->i + 7);
			in_flight--;
		}
		jobs[i].i = i;
		workpool_submit(p, &jobs[i]);
		if (++in_flight > max_in_flight)
			max_in_flight = in_flight;
	}
	while ((j = workpool_next(p)) != NULL) {
		assert_int_equal(j->i, want++);
		assert_int_equal(j->result, (long)j->i * j->i + 7);
		if (c->fail_every)
			assert_int_equal(j->failed, j->i % c->fail_every == c->fail_every - 1);
	}
	assert_int_equal(want, n);
	assert_true(max_in_flight <= (int)(d ? d : 2 * (size_t)t));
	workpool_free(p);
	free(jobs);
}

static void
test_order(void **state)
{
	int threads[] = { 2, 3, 4, 8 };

	for (size_t k = 0; k < sizeof threads / sizeof threads[0]; k++) {
		struct ctx c = { .mu = PTHREAD_MUTEX_INITIALIZER, .slow_us = 300 };
		run_jobs(&c, threads[k], 0, 64);
		assert_int_equal(c.ran, 64);
		assert_true(c.max_running <= threads[k]);
	}
}

/* A failure comes back in its own job, at its place, and the others are
 * not disturbed. */
static void
test_errors_in_order(void **state)
{
	struct ctx c = { .mu = PTHREAD_MUTEX_INITIALIZER, .slow_us = 200, .fail_every = 5 };

	run_jobs(&c, 4, 3, 40);
	assert_int_equal(c.ran, 40);
}

/* One thread: no threads, the job runs during workpool_submit. */
static void
test_inline(void **state)
{
	struct ctx c = { .mu = PTHREAD_MUTEX_INITIALIZER };
	char err[128];
	struct workpool *p = workpool_new(1, 1, work, &c, err, sizeof err);
	struct job a = { .i = 3 }, b = { .i = 4 };

	assert_non_null(p);
	assert_int_equal(workpool_threads(p), 1);
	assert_null(workpool_next(p));
	workpool_submit(p, &a);
	assert_int_equal(a.result, 16);         /* ran already */
	assert_true(pthread_equal(a.thread, pthread_self()));
	assert_true(workpool_full(p));
	assert_ptr_equal(workpool_next(p), &a);
	workpool_submit(p, &b);
	assert_ptr_equal(workpool_next(p), &b);
	assert_null(workpool_next(p));
	workpool_free(p);
	run_jobs(&c, 1, 0, 10);
}

/* Freed with jobs queued: returns, and what had not started never runs. */
static void
test_free_in_flight(void **state)
{
	struct ctx c = { .mu = PTHREAD_MUTEX_INITIALIZER, .slow_us = 20000 };
	char err[128];
	struct workpool *p = workpool_new(2, 8, work, &c, err, sizeof err);
	struct job jobs[8] = { { 0 } };
	int ran;

	assert_non_null(p);
	for (int i = 0; i < 8; i++) {
		jobs[i].i = i;
		workpool_submit(p, &jobs[i]);
	}
	workpool_free(p);
	pthread_mutex_lock(&c.mu);
	ran = c.ran;
	pthread_mutex_unlock(&c.mu);
	assert_true(ran < 8);
	assert_int_equal(c.running, 0);
	/* stopped first (a program about to exit on an error): the same */
	c.ran = 0;
	p = workpool_new(2, 8, work, &c, err, sizeof err);
	assert_non_null(p);
	for (int i = 0; i < 8; i++)
		workpool_submit(p, &jobs[i]);
	workpool_stop(p);
	assert_true(c.ran < 8);
	assert_int_equal(c.running, 0);
	workpool_free(p);
}

static void
test_cpus(void **state)
{
	char err[128];
	struct workpool *p;
	struct ctx c = { .mu = PTHREAD_MUTEX_INITIALIZER };

	assert_true(workpool_cpus() >= 1);
	p = workpool_new(0, 0, work, &c, err, sizeof err);
	assert_non_null(p);
	assert_int_equal(workpool_threads(p), workpool_cpus());
	workpool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_errors_in_order),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_free_in_flight),
		cmocka_unit_test(test_cpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
