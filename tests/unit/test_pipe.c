/* test_pipe.c — pipe_grow (libshared/fileio.c) and the frame writer's use
 * of it: a pipe grows to the next power of two of what is asked, at least
 * 1 MiB, at most /proc/sys/fs/pipe-max-size, and never shrinks; anything
 * that is not a pipe is left alone; a writer grows its pipe to hold two
 * of its writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "frame.h"

static size_t
max_size(void)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
	unsigned long v = 1 << 20;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 1 << 20;
		fclose(f);
	}
	return v;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void
test_grow(void **state)
{
	int p[2];
	size_t max = max_size(), got;

	assert_int_equal(pipe(p), 0);
	got = pipe_grow(p[1], 100);
	if (got < min_size(max, 1 << 20) && fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
		skip();         /* the user's pipe quota is spent (other programs) */
	assert_int_equal(got, min_size(max, 1 << 20));
	assert_int_equal((size_t)fcntl(p[1], F_GETPIPE_SZ), got);
	/* more than the maximum: the maximum */
	got = pipe_grow(p[1], 3 * max);
	assert_int_equal(got, max);
	/* never smaller again */
	assert_int_equal(pipe_grow(p[0], 10), got);
	assert_int_equal((size_t)fcntl(p[0], F_GETPIPE_SZ), got);
	close(p[0]);
	close(p[1]);
}

static void
test_not_a_pipe(void **state)
{
	char path[] = "/tmp/test_pipe.XXXXXX";
	int fd = mkstemp(path);
	int null = open("/dev/null", O_WRONLY);

	assert_true(fd >= 0);
	assert_true(null >= 0);
	assert_int_equal(pipe_grow(fd, 1 << 20), 0);
	assert_int_equal(pipe_grow(null, 1 << 20), 0);
	assert_int_equal(pipe_grow(-1, 1 << 20), 0);
	close(fd);
	close(null);
	unlink(path);
}

struct drain {
	int fd;
	size_t n;
};

static void *
drain(void *arg)
{
	struct drain *d = arg;
	char buf[65536];
	ssize_t k;

	while ((k = read(d->fd, buf, sizeof buf)) > 0)
		d->n += (size_t)k;
	return NULL;
}

/* A writer that writes a 3 MiB frame asks its pipe for 6 MiB (so gets
 * the maximum, or 1 MiB where that is the maximum). */
static void
test_writer(void **state)
{
	int p[2];
	pthread_t th;
	struct drain d;
	struct frame_writer *w;
	size_t n = 3 << 20, max = max_size();
	uint8_t *frame = calloc(1, n);

	assert_non_null(frame);
	assert_int_equal(pipe(p), 0);
	d = (struct drain){ p[0], 0 };
	assert_int_equal(pthread_create(&th, NULL, drain, &d), 0);
	w = frame_writer_fd(p[1], "pipe");
	assert_int_equal((size_t)fcntl(p[1], F_GETPIPE_SZ), min_size(max, 1 << 20));
	frame_write_bytes(w, frame, n);
	frame_flush(w);
	assert_int_equal((size_t)fcntl(p[1], F_GETPIPE_SZ),
	    max >= (1 << 20) ? min_size(max, (size_t)8 << 20) : max);
	frame_writer_close(w);
	close(p[1]);
	pthread_join(th, NULL);
	assert_int_equal(d.n, n);
	close(p[0]);
	free(frame);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_not_a_pipe),
		cmocka_unit_test(test_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
