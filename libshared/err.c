/* err.c — messages, exit codes, checked allocation. */
#include "err.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *progname = "radpipe";
int err_quiet;

void
err_init(const char *argv0)
{
	const char *s;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	s = strrchr(argv0, '/');
	progname = s ? s + 1 : argv0;
}

static void
vmsg(const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof buf, fmt, ap);
	fprintf(stderr, "%s: %s\n", progname, buf);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

void
die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: try '%s --help'\n", progname, progname);
	exit(2);
}

void
die_write(const char *name, int e)
{
	if (e == EPIPE) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(SIGPIPE);
	}
	die("%s: write error: %s", name, strerror(e));
}

/* 1 if fd is a pipe or socket whose reading end has been closed. */
static int
reader_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)) != 0;
}

void
stdout_check(void)
{
	int e;

	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	e = errno ? errno : EIO;
	if (e != EPIPE && reader_gone(1))
		e = EPIPE;
	die_write("stdout", e);
}

void
stdout_finish(void)
{
	stdout_check();
	if (fclose(stdout) != 0)
		die_write("stdout", errno);
}

void
warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
info(const char *fmt, ...)
{
	va_list ap;

	if (err_quiet)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int
err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

size_t
xmul(size_t n, size_t size, const char *what)
{
	if (size != 0 && n > SIZE_MAX / size)
		die("%s: size overflow (%zu x %zu)", what, n, size);
	return n * size;
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		die("out of memory (%zu bytes)", size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	xmul(n, size, "calloc");
	p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xmallocarray(size_t n, size_t size)
{
	return xmalloc(xmul(n, size, "array"));
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	size_t sz = xmul(n, size, "array");
	void *q = realloc(p, sz ? sz : 1);

	if (q == NULL)
		die("out of memory (%zu bytes)", sz);
	return q;
}

void *
xaligned(size_t size)
{
	void *p = NULL;
	size_t sz = (size + 63) & ~(size_t)63;

	if (sz < size || posix_memalign(&p, 64, sz ? sz : 64) != 0)
		die("out of memory (%zu bytes)", size);
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory");
	return p;
}
