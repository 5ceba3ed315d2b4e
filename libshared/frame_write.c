/* frame_write.c — writing frames through a large buffer, atomically for
 * files; every write error is fatal and reported. */
#include "frame_mp.h"
#include "err.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_BUF ((size_t)1 << 20)

struct frame_writer {
	int fd;
	int own_fd;
	char name[256];
	char *path, *tmp;        /* atomic writers */
	int err;                /* an atomic writer's first write error (errno), or 0 */
	size_t pipe_asked;      /* a pipe: the largest size asked of pipe_grow; 0: not a pipe */
	uint8_t *buf;
	size_t len;
	msgpack_packer pk;
};

static void
write_all(struct frame_writer *w, const void *p, size_t n)
{
	const uint8_t *b = p;

	if (w->err != 0)
		return;
	/* a pipe holds two writes of this size, so that the writer can go on
	 * with the next frame while the reader takes this one */
	if (w->pipe_asked > 0 && n > w->pipe_asked / 2) {
		w->pipe_asked = 2 * n;
		(void)pipe_grow(w->fd, 2 * n);
	}
	while (n > 0) {
		ssize_t k = write(w->fd, b, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && w->tmp != NULL) {  /* kept for frame_writer_commit */
			w->err = errno;
			return;
		}
		if (k < 0)
			die_write(w->name, errno);
		b += k;
		n -= (size_t)k;
	}
}

void
frame_flush(struct frame_writer *w)
{
	write_all(w, w->buf, w->len);
	w->len = 0;
}

static int
packer_write(void *data, const char *p, size_t n)
{
	struct frame_writer *w = data;

	if (w->len + n > WRITE_BUF) {
		frame_flush(w);
		if (n >= WRITE_BUF / 2) {
			write_all(w, p, n);
			return 0;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

struct frame_writer *
frame_writer_fd(int fd, const char *name)
{
	struct frame_writer *w = xcalloc(1, sizeof *w);

	w->fd = fd;
	snprintf(w->name, sizeof w->name, "%s", name);
	w->buf = xmalloc(WRITE_BUF);
	msgpack_packer_init(&w->pk, w, packer_write);
	if (pipe_grow(fd, (size_t)1 << 20) > 0)
		w->pipe_asked = (size_t)1 << 20;
	return w;
}

struct frame_writer *
frame_writer_open(const char *path)
{
	struct frame_writer *w;
	char *tmp;
	int fd;

	if (strcmp(path, "-") == 0)
		return frame_writer_fd(1, "stdout");
	if ((fd = file_temp_beside(path, "", &tmp)) < 0)
		return NULL;
	w = frame_writer_fd(fd, path);
	w->own_fd = 1;
	w->path = xstrdup(path);
	w->tmp = tmp;
	return w;
}

msgpack_packer *
frame_packer(struct frame_writer *w)
{
	return &w->pk;
}

void
frame_write_raw(struct frame_writer *w, const struct frame *f)
{
	packer_write(w, (const char *)f->raw, f->len);
}

void
frame_write_bytes(struct frame_writer *w, const void *p, size_t n)
{
	packer_write(w, p, n);
}

static void
writer_free(struct frame_writer *w)
{
	free(w->path);
	free(w->tmp);
	free(w->buf);
	free(w);
}

int
frame_writer_commit(struct frame_writer *w, char *err, size_t errlen)
{
	int e = 0;
	const char *what = "write error";

	if (w->tmp == NULL) {
		frame_writer_close(w);
		return 0;
	}
	frame_flush(w);
	if (w->err != 0)
		e = w->err;
	else if (fsync(w->fd) != 0)
		e = errno;
	if (close(w->fd) != 0 && e == 0)
		e = errno;
	if (e == 0 && rename(w->tmp, w->path) != 0)
		e = errno, what = "cannot rename into place";
	if (e != 0) {
		unlink(w->tmp);
		if (err != NULL)
			snprintf(err, errlen, "%s: %s: %s", w->path, what, strerror(e));
	}
	writer_free(w);
	return e != 0 ? -1 : 0;
}

void
frame_writer_close(struct frame_writer *w)
{
	if (w == NULL)
		return;
	if (w->tmp) {
		char err[600];
		if (frame_writer_commit(w, err, sizeof err) < 0)
			die("%s", err);
		return;
	}
	frame_flush(w);
	if (w->fd == 1) {
		/* stdout stays open: the program's stdout_finish closes it */
	} else if (w->own_fd && close(w->fd) != 0) {
		die("%s: %s", w->name, strerror(errno));
	}
	writer_free(w);
}

void
frame_writer_abort(struct frame_writer *w)
{
	if (w == NULL)
		return;
	if (w->tmp) {
		close(w->fd);
		unlink(w->tmp);
	}
	writer_free(w);
}

void fw_map(struct frame_writer *w, size_t n) { msgpack_pack_map(&w->pk, n); }

void
fw_str(struct frame_writer *w, const char *s)
{
	msgpack_pack_str_with_body(&w->pk, s, strlen(s));
}

void
fw_kv_str(struct frame_writer *w, const char *k, const char *v)
{
	fw_str(w, k);
	fw_str(w, v);
}

void
fw_kv_int(struct frame_writer *w, const char *k, int64_t v)
{
	fw_str(w, k);
	msgpack_pack_int64(&w->pk, v);
}

void
fw_kv_double(struct frame_writer *w, const char *k, double v)
{
	fw_str(w, k);
	msgpack_pack_double(&w->pk, v);
}

void
fw_kv_bool(struct frame_writer *w, const char *k, int v)
{
	fw_str(w, k);
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
}

void
fw_kv_tensor(struct frame_writer *w, const char *k, const struct tensor *t)
{
	fw_str(w, k);
	tensor_pack(&w->pk, t);
}

void
fw_kv_object(struct frame_writer *w, const char *k, const msgpack_object *v)
{
	fw_str(w, k);
	msgpack_pack_object(&w->pk, *v);
}
