/* spill.c — unlinked temporary files for data kept out of memory. */
#include "spill.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPILL_BUF (64 * 1024)

const char *
spill_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

static int
fail(const struct spill *s, int e, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "temporary file in %s: %s (TMPDIR names the folder)",
		    s->dir ? s->dir : spill_dir(), e ? strerror(e) : "short read");
	return -1;
}

void
spill_init(struct spill *s)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

/* A file in dir that nobody else can name: O_TMPFILE where the file
 * system has it, else mkstemp and unlink. */
static int
open_unlinked(const char *dir)
{
	char *tmpl;
	int fd;

#ifdef O_TMPFILE
	if ((fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	tmpl = xmalloc(strlen(dir) + sizeof "/radpipe.XXXXXX");
	sprintf(tmpl, "%s/radpipe.XXXXXX", dir);
	if ((fd = mkstemp(tmpl)) >= 0 && unlink(tmpl) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		fd = -1;
	}
	free(tmpl);
	return fd;
}

int
spill_open(struct spill *s, char *err, size_t errlen)
{
	spill_init(s);
	s->dir = spill_dir();
	if ((s->fd = open_unlinked(s->dir)) < 0)
		return fail(s, errno, err, errlen);
	return 0;
}

static int
write_all(struct spill *s, uint64_t off, const void *p, size_t n, char *err, size_t errlen)
{
	const char *c = p;

	while (n > 0) {
		ssize_t k = pwrite(s->fd, c, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return fail(s, k < 0 ? errno : ENOSPC, err, errlen);
		c += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

int
spill_flush(struct spill *s, char *err, size_t errlen)
{
	if (s->len == 0)
		return 0;
	if (write_all(s, s->size - s->len, s->buf, s->len, err, errlen) < 0)
		return -1;
	s->len = 0;
	return 0;
}

int
spill_append(struct spill *s, const void *p, size_t n, uint64_t *offP, char *err, size_t errlen)
{
	if (offP)
		*offP = s->size;
	if (s->buf == NULL)
		s->buf = xmalloc(SPILL_BUF);
	if (s->len + n > SPILL_BUF && spill_flush(s, err, errlen) < 0)
		return -1;
	if (n > SPILL_BUF) {
		if (write_all(s, s->size, p, n, err, errlen) < 0)
			return -1;
	} else {
		memcpy(s->buf + s->len, p, n);
		s->len += n;
	}
	s->size += n;
	return 0;
}

int
spill_read(struct spill *s, uint64_t off, void *p, size_t n, char *err, size_t errlen)
{
	char *c = p;

	if (s->len > 0 && off + n > s->size - s->len && spill_flush(s, err, errlen) < 0)
		return -1;
	while (n > 0) {
		ssize_t k = pread(s->fd, c, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return fail(s, k < 0 ? errno : 0, err, errlen);
		c += k;
		off += (uint64_t)k;
		n -= (size_t)k;
	}
	return 0;
}

int
spill_write(struct spill *s, uint64_t off, const void *p, size_t n, char *err, size_t errlen)
{
	if (spill_flush(s, err, errlen) < 0 || write_all(s, off, p, n, err, errlen) < 0)
		return -1;
	if (off + n > s->size)
		s->size = off + n;
	return 0;
}

int
spill_resize(struct spill *s, uint64_t size, char *err, size_t errlen)
{
	if (spill_flush(s, err, errlen) < 0)
		return -1;
	/* a hole reads as zeros; a full disk shows when a write fills it
	 * (pwrite says ENOSPC: nothing is mapped) */
	if (ftruncate(s->fd, (off_t)size) != 0)
		return fail(s, errno, err, errlen);
	s->size = size;
	return 0;
}

void
spill_close(struct spill *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	spill_init(s);
}
