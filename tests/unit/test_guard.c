/* test_guard.c — libshared/guard.c: a decoder run in a child process
 * with a time limit (a loop that never ends, a crash, an error, bytes
 * larger than a pipe), and forks that wait for the threads inside a
 * guarded library (guard_lib_enter) to leave it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"

static int
guard_spin(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	for (volatile unsigned i = 0;; i++)
		;
	return 0;
}

static int
guard_crash(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	raise(SIGSEGV);
	return 0;
}

static int
guard_fail(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	snprintf(err, errlen, "no good: %s", (const char *)arg);
	return -1;
}

static int
guard_bytes(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	*lenP = 300000;         /* more than a pipe holds */
	*outP = malloc(*lenP);
	for (size_t i = 0; i < *lenP; i++)
		(*outP)[i] = (uint8_t)(i * 7);
	return 0;
}

/* The decoder guard: a loop that never ends is stopped at the deadline, a
 * crash and an error are reported, bytes come back whole. */
static void
test_guard(void **state)
{
	uint8_t *b;
	size_t n;
	char err[256];

	assert_int_equal(guard_run(guard_spin, NULL, 1, 100, &b, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "ran for more than 1 s"));
	assert_int_equal(guard_run(guard_crash, NULL, 10, 100, &b, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "crashed (signal 11"));
	assert_int_equal(guard_run(guard_fail, "x", 10, 100, &b, &n, err, sizeof err), -1);
	assert_string_equal(err, "no good: x");
	assert_int_equal(guard_run(guard_bytes, NULL, 10, 100, &b, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "at most 100 expected"));
	assert_int_equal(guard_run(guard_bytes, NULL, 10, 300000, &b, &n, err, sizeof err), 0);
	assert_int_equal(n, 300000);
	for (size_t i = 0; i < n; i++)
		if (b[i] != (uint8_t)(i * 7))
			fail_msg("byte %zu", i);
	free(b);
}

/* A library's lock, as DCMTK's data dictionary lock: held by one thread
 * inside the library while another forks a decoder child that takes it. */
static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static sem_t lib_held;

static void *
lib_user(void *arg)
{
	guard_lib_enter();
	pthread_mutex_lock(&lib_mu);
	sem_post(&lib_held);
	usleep(200 * 1000);
	pthread_mutex_unlock(&lib_mu);
	guard_lib_leave();
	return NULL;
}

static int
guard_takes_lib(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	pthread_mutex_lock(&lib_mu);
	pthread_mutex_unlock(&lib_mu);
	*outP = malloc(2);
	memcpy(*outP, "ok", 2);
	*lenP = 2;
	return 0;
}

/* guard_run forks only while no other thread is inside the library
 * (guard_lib_enter): the child never inherits the library's lock held, so
 * it does not hang on it (without the wait it would, every time); a thread
 * inside the library, nested, may itself call guard_run. */
static void
test_guard_lib(void **state)
{
	pthread_t t;
	uint8_t *b;
	size_t n;
	char err[256];

	assert_int_equal(sem_init(&lib_held, 0, 0), 0);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(pthread_create(&t, NULL, lib_user, NULL), 0);
		sem_wait(&lib_held);
		if (round == 2) {
			guard_lib_enter();
			guard_lib_enter();
		}
		if (guard_run(guard_takes_lib, NULL, 3, 100, &b, &n, err, sizeof err) < 0)
			fail_msg("round %d: %s", round, err);
		assert_int_equal(n, 2);
		assert_memory_equal(b, "ok", 2);
		free(b);
		if (round == 2) {
			guard_lib_leave();
			guard_lib_leave();
		}
		pthread_join(t, NULL);
	}
	sem_destroy(&lib_held);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard),
		cmocka_unit_test(test_guard_lib),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
