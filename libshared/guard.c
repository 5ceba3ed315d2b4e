/* guard.c — a decoder in a child process with a time limit (see
 * guard.h).  The child writes a header { int32 status, uint64 length }
 * and then its bytes (or its error message) to a pipe and leaves with
 * _exit, so nothing of the parent (stdio buffers, atexit handlers) runs
 * twice.  The parent reads under a deadline and kills the child when it
 * passes.
 */
#include "guard.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct guard_hdr {
	int32_t status;         /* 0: bytes follow; -1: an error message follows */
	uint64_t len;
};

static int
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t k = write(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
child(guard_fn fn, void *arg, int fd)
{
	uint8_t *out = NULL;
	size_t len = 0;
	char err[512] = "";
	struct guard_hdr h;

	/* a crash ends the child, whatever handlers the parent set */
	static const int sigs[] = { SIGPIPE, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	h.status = fn(arg, &out, &len, err, sizeof err) < 0 ? -1 : 0;
	h.len = h.status < 0 ? strlen(err) : len;
	if (write_all(fd, &h, sizeof h) < 0 || write_all(fd, h.status < 0 ? (void *)err : out, h.len) < 0)
		_exit(2);
	_exit(0);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Reads n bytes from fd before the deadline: 0, -1 on end of data or an
 * error, -2 when the deadline passed. */
static int
read_until(int fd, void *p, size_t n, double deadline)
{
	uint8_t *b = p;

	while (n > 0) {
		double left = deadline - now();
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (left <= 0)
			return -2;
		int r = poll(&pf, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		ssize_t k = read(fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		b += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads the child's answer into *outP, *lenP or err.  Returns 0, -1, or -2
 * when the deadline passed. */
static int
read_answer(int fd, double deadline, size_t max_bytes, uint8_t **outP, size_t *lenP,
    char *err, size_t errlen)
{
	struct guard_hdr h;
	uint8_t *buf;
	int rc;

	if ((rc = read_until(fd, &h, sizeof h, deadline)) < 0)
		return rc;
	if (h.status < 0) {
		char msg[512];
		size_t n = h.len < sizeof msg - 1 ? (size_t)h.len : sizeof msg - 1;
		if ((rc = read_until(fd, msg, n, deadline)) < 0)
			return rc;
		msg[n] = '\0';
		snprintf(err, errlen, "%s", msg);
		return -3;
	}
	if (h.len > max_bytes) {
		snprintf(err, errlen, "decoder gave %llu bytes, at most %zu expected",
		    (unsigned long long)h.len, max_bytes);
		return -3;
	}
	buf = malloc(h.len ? (size_t)h.len : 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory for %llu decoded bytes", (unsigned long long)h.len);
		return -3;
	}
	if ((rc = read_until(fd, buf, (size_t)h.len, deadline)) < 0) {
		free(buf);
		return rc;
	}
	*outP = buf;
	*lenP = (size_t)h.len;
	return 0;
}

/* Taken for reading by the threads inside a guarded library
 * (guard_lib_enter) and for writing from pipe() to the parent's close of
 * the write end: a child is forked only while no other thread is inside the
 * library, so it inherits none of the library's locks held (DCMTK's data
 * dictionary lock, held while another thread created the dictionary, hung
 * one child in a few hundred runs of imgload --jobs 3); and a child that
 * another thread forks meanwhile (imgload --jobs decodes on several) does
 * not inherit this pipe's write end, or this child's crash would be seen
 * only when that other child ends.  Writers are preferred, so a stream of
 * readers cannot hold a fork off. */
static pthread_rwlock_t lib_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static __thread int lib_depth;

void
guard_lib_enter(void)
{
	if (lib_depth++ == 0)
		pthread_rwlock_rdlock(&lib_lock);
}

void
guard_lib_leave(void)
{
	if (--lib_depth == 0)
		pthread_rwlock_unlock(&lib_lock);
}

/* Takes lib_lock for the fork, letting go of the calling thread's own read
 * hold first (a writer waiting on its own reader would wait forever). */
static void
fork_lock(void)
{
	if (lib_depth > 0)
		pthread_rwlock_unlock(&lib_lock);
	pthread_rwlock_wrlock(&lib_lock);
}

/* Ends fork_lock, taking the calling thread's read hold back. */
static void
fork_unlock(void)
{
	pthread_rwlock_unlock(&lib_lock);
	if (lib_depth > 0)
		pthread_rwlock_rdlock(&lib_lock);
}

int
guard_run(guard_fn fn, void *arg, double seconds, size_t max_bytes,
    uint8_t **outP, size_t *lenP, char *err, size_t errlen)
{
	int fds[2], status = 0, rc;
	pid_t pid;

	*outP = NULL;
	*lenP = 0;
	fork_lock();
	if (pipe(fds) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		fork_unlock();
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		fork_unlock();
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fn, arg, fds[1]);
	}
	close(fds[1]);
	fork_unlock();
	rc = read_answer(fds[0], now() + seconds, max_bytes, outP, lenP, err, errlen);
	close(fds[0]);
	if (rc == -2 || rc == -3)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == -2) {
		snprintf(err, errlen, "the decoder ran for more than %.0f s (corrupt data?): stopped", seconds);
		return -1;
	}
	if (rc == -3)
		return -1;
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	free(*outP);
	*outP = NULL;
	if (WIFSIGNALED(status))
		snprintf(err, errlen, "the decoder crashed (signal %d: %s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(err, errlen, "the decoder failed (exit status %d)", WEXITSTATUS(status));
	return -1;
}
