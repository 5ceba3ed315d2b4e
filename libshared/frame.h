/* frame.h — reading and writing radpipe streams (radpipe-stream(5)).
 *
 * A stream is a sequence of frames; a frame is one msgpack map with a
 * string key "kind".  Readers enforce limits before allocating (frame size,
 * nesting depth, element counts that the remaining bytes cannot hold) and
 * tell a clean end of stream (0) from a truncated frame (-1).
 *
 * Ownership: a frame returned by frame_read points into the reader's
 * buffer and is valid until the next frame_read on the same reader.
 * Passing a frame through unchanged writes its original bytes.
 */
#ifndef RADPIPE_FRAME_H
#define RADPIPE_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "tensor.h"

#define FRAME_MAX_DEFAULT ((size_t)1 << 30)   /* 1 GiB; RADPIPE_MAX_FRAME overrides */
#define FRAME_MAX_DEPTH 32   /* nested maps and arrays, the root map and empty ones included: msgpack-c's limit */

struct frame {
	const uint8_t *raw;     /* the frame's bytes as read */
	size_t len;
	msgpack_object root;    /* the map */
	const char *kind;       /* not NUL-terminated: use frame_is */
	size_t kind_len;
	uint64_t index;         /* 0-based position in its stream */
};

struct frame_reader;
struct frame_writer;

/* --- reading --- */

/* Reader on fd; name is used in messages ("stdin", a path). */
struct frame_reader *frame_reader_fd(int fd, const char *name);
/* Reader on a file ("-" is stdin); NULL with errno set on failure. */
struct frame_reader *frame_reader_open(const char *path);
/* Makes a read interrupted by a signal (EINTR) while *flag is non-zero end
 * with error "interrupted" instead of being retried (install the handler
 * without SA_RESTART). */
void frame_reader_set_interrupt(struct frame_reader *r, volatile int *flag);
/* Sets the largest frame accepted, in bytes. */
void frame_reader_set_limit(struct frame_reader *r, size_t max);
/* Next frame: 1 got one, 0 clean end of stream, -1 error (see
 * frame_reader_error). */
int frame_read(struct frame_reader *r, struct frame *f);
/* Like frame_read, but dies with "name: frame N: reason" on error. */
int frame_next(struct frame_reader *r, struct frame *f);
/* The last error of r, one line. */
const char *frame_reader_error(const struct frame_reader *r);
/* The name given when r was opened. */
const char *frame_reader_name(const struct frame_reader *r);
/* Closes r (and its fd unless it is stdin). */
void frame_reader_close(struct frame_reader *r);

/* Checks that buf[0..len) starts with one complete, well-formed msgpack
 * value within the limits, without allocating.  Returns 1 and its size in
 * *size; 0 if more bytes are needed; -1 (reason in err) if malformed. */
int frame_scan(const uint8_t *buf, size_t len, size_t max, size_t *size, char *err, size_t errlen);
/* Parses one complete frame of len bytes (as frame_scan found it) into f
 * using zone z; checks it is a map with a string "kind".  Returns 0 or -1. */
int frame_parse(const uint8_t *buf, size_t len, msgpack_zone *z, struct frame *f,
                char *err, size_t errlen);

/* --- looking inside a frame --- */

/* 1 if f's kind is kind. */
int frame_is(const struct frame *f, const char *kind);
/* The value of key in map (a msgpack map), or NULL. */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);
/* The value of key in f, or NULL. */
const msgpack_object *frame_get(const struct frame *f, const char *key);
/* Integer value of key: 1 found, 0 absent, -1 wrong type. */
int mp_int(const msgpack_object *map, const char *key, int64_t *out);
/* Number (int or float) value of key: 1 found, 0 absent, -1 wrong type. */
int mp_num(const msgpack_object *map, const char *key, double *out);
/* String value of key copied into buf (truncated, NUL-terminated): 1, 0, -1. */
int mp_str(const msgpack_object *map, const char *key, char *buf, size_t len);
/* 1 if o is a string equal to s. */
int mp_str_eq(const msgpack_object *o, const char *s);
/* Newly allocated NUL-terminated copy of a string object (caller frees). */
char *mp_strdup(const msgpack_object *o);
/* Reads tensor key of f into t (a view), or dies with the reader's name,
 * the frame index and the reason.  Returns 0, or -1 if the key is absent. */
int frame_tensor(const struct frame_reader *r, const struct frame *f, const char *key,
                 struct tensor *t);

/* --- writing --- */

/* Writer on fd with a large buffer; name is used in messages. */
struct frame_writer *frame_writer_fd(int fd, const char *name);
/* Writer on path, written atomically: bytes go to a temporary file in the
 * same directory, renamed over path by frame_writer_close.  "-" is stdout.
 * NULL with errno set on failure. */
struct frame_writer *frame_writer_open(const char *path);
/* The packer that writes into w (for msgpack_pack_* calls). */
msgpack_packer *frame_packer(struct frame_writer *w);
/* Writes f's original bytes. */
void frame_write_raw(struct frame_writer *w, const struct frame *f);
/* Writes n bytes holding whole, already encoded frames. */
void frame_write_bytes(struct frame_writer *w, const void *p, size_t n);
/* Pushes buffered bytes to the fd; dies on a write error (full disk,
 * closed pipe). */
void frame_flush(struct frame_writer *w);
/* Flushes, fsyncs and renames an atomic file, closes; dies on any error.
 * A writer on stdout is flushed only: stdout_finish (err.h) closes it.
 * NULL is a no-op. */
void frame_writer_close(struct frame_writer *w);
/* Closes an atomic writer without renaming: the temporary file is removed
 * and path is left as it was. */
void frame_writer_abort(struct frame_writer *w);

/* Packing helpers: a map header, then keys and values. */
void fw_map(struct frame_writer *w, size_t n);
void fw_str(struct frame_writer *w, const char *s);
void fw_kv_str(struct frame_writer *w, const char *k, const char *v);
void fw_kv_int(struct frame_writer *w, const char *k, int64_t v);
void fw_kv_double(struct frame_writer *w, const char *k, double v);
void fw_kv_bool(struct frame_writer *w, const char *k, int v);
void fw_kv_tensor(struct frame_writer *w, const char *k, const struct tensor *t);
void fw_kv_object(struct frame_writer *w, const char *k, const msgpack_object *v);
/* Number of entries of map whose key is not in skip (NULL-terminated). */
size_t mp_count_except(const msgpack_object *map, const char *const *skip);
/* Packs the entries of map whose key is not in skip, in order. */
void fw_rest(struct frame_writer *w, const msgpack_object *map, const char *const *skip);

#endif
