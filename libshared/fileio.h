/* fileio.h — whole-file reads and atomic whole-file writes. */
#ifndef RADPIPE_FILEIO_H
#define RADPIPE_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads the whole file at path into a new buffer (*bufP, caller frees;
 * *lenP bytes).  Returns 0, or -1 with errno set. */
int file_read_all(const char *path, uint8_t **bufP, size_t *lenP);
/* Like file_read_all, but path is opened without blocking and read only
 * when it is a regular file (a FIFO, device or socket is refused at once).
 * Returns 0, or -1 with a one-line reason in err. */
int file_read_regular(const char *path, uint8_t **bufP, size_t *lenP, char *err, size_t errlen);
/* What kind of file mode (st_mode) is, for messages: "a FIFO", ... */
const char *file_kind(mode_t mode);
/* Writes n bytes to path atomically (temporary file in the same directory,
 * fsync, rename).  Returns 0, or -1 with a one-line reason in err,
 * leaving path as it was. */
int file_write_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen);
/* Creates a new empty file "<path>.tmp.XXXXXX<suffix>" in path's folder,
 * with the permissions the umask gives a new file (not mkstemp's 0600).
 * Returns its open fd and sets *tmpP (caller frees), or -1 with errno. */
int file_temp_beside(const char *path, const char *suffix, char **tmpP);
/* Creates directory path and its parents (like mkdir -p).  Returns 0, or
 * -1 with a one-line reason in err. */
int file_mkdirs(const char *path, char *err, size_t errlen);

/* Grows the buffer of pipe fd (F_SETPIPE_SZ) to hold want bytes: the next
 * power of two, at least 1 MiB, at most /proc/sys/fs/pipe-max-size; never
 * shrinks it.  Returns the pipe's size afterwards, or 0 when fd is not a
 * pipe; a refusal (no permission, the user's pipe quota) keeps the size
 * it had, silently. */
size_t pipe_grow(int fd, size_t want);

#endif
