/* fileio.c — whole-file reads and atomic writes. */
#include "fileio.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads fd (opened on a file of size hint bytes, 0 if unknown) to its
 * end into a new buffer.  Returns 0, or -1 with errno set (ENOMEM when
 * the file does not fit in memory). */
static int
read_fd(int fd, off_t hint, uint8_t **bufP, size_t *lenP)
{
	size_t len = 0, cap = hint > 0 && (uint64_t)hint < SIZE_MAX / 2 ? (size_t)hint + 1 : 65536;
	uint8_t *buf = malloc(cap), *more;

	if (buf == NULL)
		return errno = ENOMEM, -1;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			if (cap > SIZE_MAX / 2 || (more = realloc(buf, 2 * cap)) == NULL) {
				free(buf);
				return errno = ENOMEM, -1;
			}
			buf = more;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufP = buf;
	*lenP = len;
	return 0;
}

int
file_read_all(const char *path, uint8_t **bufP, size_t *lenP)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc, e;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		errno = e;
		return -1;
	}
	rc = read_fd(fd, st.st_size, bufP, lenP);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

const char *
file_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

int
file_read_regular(const char *path, uint8_t **bufP, size_t *lenP, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file (%s)", file_kind(st.st_mode));
		close(fd);
		return -1;
	}
	/* O_NONBLOCK stays: it changes nothing for a plain file, and a
	 * "regular" file that would block (/proc/kmsg) fails instead (EAGAIN) */
	rc = read_fd(fd, st.st_size, bufP, lenP);
	if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		snprintf(err, errlen, "reading it would block (not a plain file)");
	else if (rc < 0)
		snprintf(err, errlen, "%s", strerror(errno));
	close(fd);
	return rc;
}

int
file_temp_beside(const char *path, const char *suffix, char **tmpP)
{
	size_t n = strlen(path) + strlen(suffix) + 16;
	char *tmp = xmalloc(n);
	mode_t um = umask(0);
	int fd;

	umask(um);
	snprintf(tmp, n, "%s.tmp.XXXXXX%s", path, suffix);
	if ((fd = mkstemps(tmp, (int)strlen(suffix))) < 0) {
		int e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	(void)fchmod(fd, 0666 & ~um);
	*tmpP = tmp;
	return fd;
}

int
file_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen)
{
	char *tmp;
	const uint8_t *p = data;
	int fd, e;

	if ((fd = file_temp_beside(path, "", &tmp)) < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", path,
		         strerror(errno));
		return -1;
	}
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			goto fail;
		p += k;
		n -= (size_t)k;
	}
	if (fsync(fd) != 0)
		goto fail;
	e = close(fd), fd = -1;
	if (e != 0 || rename(tmp, path) != 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	snprintf(err, errlen, "%s: write error: %s", path, strerror(e));
	return -1;
}

int
file_mkdirs(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST)
			goto fail;
		*s = '/';
	}
	if (mkdir(p, 0777) != 0 && errno != EEXIST)
		goto fail;
	free(p);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", p, strerror(errno));
	free(p);
	return -1;
}

/* /proc/sys/fs/pipe-max-size, or 1 MiB when it cannot be read. */
static size_t
pipe_max_size(void)
{
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	unsigned long v = 0;

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v >= 4096 && v <= INT_MAX ? (size_t)v : (size_t)1 << 20;
}

size_t
pipe_grow(int fd, size_t want)
{
	struct stat st;
	size_t max, target = (size_t)1 << 20;
	int cur;

	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || (cur = fcntl(fd, F_GETPIPE_SZ)) <= 0)
		return 0;
	if ((size_t)cur >= want && (size_t)cur >= target)
		return (size_t)cur;
	max = pipe_max_size();
	while (target < want && target < max)
		target *= 2;
	if (target > max)
		target = max;
	if ((size_t)cur >= target || fcntl(fd, F_SETPIPE_SZ, (int)target) < 0)
		return (size_t)cur;
	cur = fcntl(fd, F_GETPIPE_SZ);
	return cur > 0 ? (size_t)cur : target;
}
