/* frame.h — reading and writing radpipe streams (radpipe-stream(5)).
 *
 * A stream is a sequence of frames; a frame is one msgpack map with a
 * string key "kind".  Readers enforce limits before allocating (frame size,
 * nesting depth, element counts that the remaining bytes cannot hold) and
 * tell a clean end of stream (0) from a truncated frame (-1).
 *
 * This is the only way programs touch the stream: values inside a frame
 * are read through the opaque struct fval and its fv_* accessors, frames
 * are built with struct fb, which counts its own keys.  The msgpack level
 * stays inside libshared (frame_mp.h).
 *
 * Ownership: a frame returned by frame_read, and every struct fval reached
 * from it, points into the reader's buffer and is valid until the next
 * frame_read on the same reader.  Passing a frame through unchanged writes
 * its original bytes.
 */
#ifndef RADPIPE_FRAME_H
#define RADPIPE_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "tensor.h"

#define FRAME_MAX_DEFAULT ((size_t)1 << 30)   /* 1 GiB; RADPIPE_MAX_FRAME overrides */
#define FRAME_MAX_DEPTH 32   /* nested maps and arrays, the root map and empty ones included: msgpack-c's limit */

/* A value inside a frame (a map, array, string, number...); opaque. */
struct fval;

enum fval_type { FV_NIL, FV_BOOL, FV_INT, FV_FLOAT, FV_STR, FV_BIN, FV_EXT, FV_ARRAY, FV_MAP };

struct frame {
	const uint8_t *raw;     /* the frame's bytes as read */
	size_t len;
	const struct fval *root;        /* the map */
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

/* A frame in memory of its own: its bytes and their parse, for work done
 * after the reader has moved on (on another thread: augment --jobs). */
struct frame_copy;
/* Copies frame f (index included); dies when out of memory. */
struct frame_copy *frame_copy_new(const struct frame *f);
/* The copied frame, valid until frame_copy_free. */
const struct frame *frame_copy_frame(const struct frame_copy *c);
/* Frees c; NULL is a no-op. */
void frame_copy_free(struct frame_copy *c);

/* --- looking inside a frame --- */

/* 1 if f's kind is kind. */
int frame_is(const struct frame *f, const char *kind);
/* The value of key in f, or NULL. */
const struct fval *frame_get(const struct frame *f, const char *key);
/* Integer value of key of f: 1 found, 0 absent, -1 wrong type. */
int frame_int(const struct frame *f, const char *key, int64_t *out);
/* Number (int or float) value of key of f: 1 found, 0 absent, -1 wrong type. */
int frame_num(const struct frame *f, const char *key, double *out);
/* String value of key of f copied into buf (truncated, NUL-terminated):
 * 1 found, 0 absent, -1 wrong type. */
int frame_str(const struct frame *f, const char *key, char *buf, size_t len);
/* Reads tensor key of f into t (a view), or dies with the reader's name,
 * the frame index and the reason.  Returns 0, or -1 if the key is absent. */
int frame_tensor(const struct frame_reader *r, const struct frame *f, const char *key,
                 struct tensor *t);

/* --- values (struct fval); every accessor takes NULL as an absent value --- */

/* The type of v (FV_NIL for NULL). */
enum fval_type fv_type(const struct fval *v);
/* The value of key in map v, or NULL (also when v is not a map). */
const struct fval *fv_get(const struct fval *v, const char *key);
/* Integer value of key of map v: 1 found, 0 absent, -1 wrong type. */
int fv_int(const struct fval *v, const char *key, int64_t *out);
/* Number (int or float) value of key of map v: 1 found, 0 absent, -1 wrong type. */
int fv_num(const struct fval *v, const char *key, double *out);
/* String value of key of map v copied into buf (truncated,
 * NUL-terminated): 1 found, 0 absent, -1 wrong type. */
int fv_str(const struct fval *v, const char *key, char *buf, size_t len);
/* v as an integer: 0, or -1 if it is not one (or out of int64_t range). */
int fv_to_int(const struct fval *v, int64_t *out);
/* v as an unsigned integer: 0, or -1 if it is not a non-negative one. */
int fv_to_uint(const struct fval *v, uint64_t *out);
/* v as a number (int or float): 0, or -1 if it is not one. */
int fv_to_num(const struct fval *v, double *out);
/* v as a number, NaN if it is not one. */
double fv_number(const struct fval *v);
/* v as a boolean: 0, or -1 if it is not one. */
int fv_to_bool(const struct fval *v, int *out);
/* The bytes of string v (not NUL-terminated) and their count in *len;
 * NULL if v is not a string. */
const char *fv_strp(const struct fval *v, size_t *len);
/* The bytes of bin v and their count in *len; NULL if v is not a bin. */
const void *fv_bin(const struct fval *v, size_t *len);
/* The bytes of ext value v, its type in *type and length in *len; NULL if
 * v is not an ext. */
const void *fv_ext(const struct fval *v, int *type, size_t *len);
/* Newly allocated NUL-terminated copy of string v ("" if v is not a
 * string); the caller frees it. */
char *fv_strdup(const struct fval *v);
/* 1 if v is a string equal to s. */
int fv_str_eq(const struct fval *v, const char *s);
/* Elements of array v, entries of map v; 0 for anything else. */
size_t fv_len(const struct fval *v);
/* Element i of array v; NULL if v is not an array or i is out of range. */
const struct fval *fv_at(const struct fval *v, size_t i);
/* Key and value of entry i of map v; NULL if v is not a map or i is out of range. */
const struct fval *fv_key_at(const struct fval *v, size_t i);
const struct fval *fv_val_at(const struct fval *v, size_t i);
/* Decodes the tensor map v into t (a view into the frame): 0, or -1 with a
 * one-line reason in err (see tensor.h for the checks). */
int fv_tensor(const struct fval *v, struct tensor *t, char *err, size_t errlen);

/* --- building frames --- */

/* Encoded whole frames in memory; data is the caller's to free(). */
struct fbytes {
	uint8_t *data;
	size_t len, cap;
};

/* A frame under construction: a map (or array) whose entries are counted as
 * they are added, with nested maps and arrays.  Every fb_* adder takes the
 * key k of the entry in a map, and NULL for an element of an array.
 * Integers take msgpack's smallest encoding, numbers are float64, tensors
 * as radpipe-stream(5) says. */
struct fb;

/* A new builder whose root is an empty map (fb_begin) or array
 * (fb_begin_array); dies when out of memory. */
struct fb *fb_begin(void);
struct fb *fb_begin_array(void);
/* Adds k: string v (NUL-terminated), or the n bytes at v. */
void fb_str(struct fb *b, const char *k, const char *v);
void fb_strn(struct fb *b, const char *k, const char *v, size_t n);
/* Adds k: integer v. */
void fb_int(struct fb *b, const char *k, int64_t v);
/* Adds k: unsigned integer v. */
void fb_uint(struct fb *b, const char *k, uint64_t v);
/* Adds k: v as a float64. */
void fb_num(struct fb *b, const char *k, double v);
/* Adds k: true or false (v != 0). */
void fb_bool(struct fb *b, const char *k, int v);
/* Adds k: nil. */
void fb_nil(struct fb *b, const char *k);
/* Adds k: tensor t. */
void fb_tensor(struct fb *b, const char *k, const struct tensor *t);
/* Adds k: [v0, ..., vn-1] as float64s. */
void fb_nums(struct fb *b, const char *k, const double *v, size_t n);
/* Adds k: [v0, ..., vn-1] as integers. */
void fb_ints(struct fb *b, const char *k, const int64_t *v, size_t n);
/* Adds k: [v0, ..., vn-1] as strings. */
void fb_strs(struct fb *b, const char *k, char *const *v, size_t n);
/* Adds k: a copy of v, a value read from another frame. */
void fb_value(struct fb *b, const char *k, const struct fval *v);
/* Opens a nested map or array under k; entries go into it until fb_close. */
void fb_map(struct fb *b, const char *k);
void fb_array(struct fb *b, const char *k);
/* Closes the innermost open nested map or array. */
void fb_close(struct fb *b);
/* Adds k: the value built so far in child (closed), and empties child. */
void fb_put(struct fb *b, const char *k, struct fb *child);
/* Empties b (its root stays a map or an array), to build again. */
void fb_reset(struct fb *b);
/* Called by fb_copy for each entry of its keys: adds that entry to b
 * (usually under key k, with a new value; adding nothing drops it). */
typedef void fb_entry_fn(struct fb *b, const char *k, const struct fval *v, void *ctx);
/* Copies every entry of map v, in order, except those whose key is in keys
 * (NULL-terminated; may be NULL): for these, fn (if not NULL) adds the
 * entry in its place. */
void fb_copy(struct fb *b, const struct fval *v, const char *const *keys, fb_entry_fn *fn,
             void *ctx);
/* Copies every entry of map v, in order, except those whose key is in skip. */
void fb_rest(struct fb *b, const struct fval *v, const char *const *skip);
/* Writes the finished frame to w, and frees b. */
void fb_write(struct fb *b, struct frame_writer *w);
/* Appends the finished frame to out, and frees b. */
void fb_end(struct fb *b, struct fbytes *out);
/* Frees b without writing it. */
void fb_free(struct fb *b);

/* --- writing --- */

/* Writer on fd with a large buffer; name is used in messages. */
struct frame_writer *frame_writer_fd(int fd, const char *name);
/* Writer on path, written atomically: bytes go to a temporary file in the
 * same directory, renamed over path by frame_writer_close.  "-" is stdout.
 * NULL with errno set on failure. */
struct frame_writer *frame_writer_open(const char *path);
/* Writes f's original bytes. */
void frame_write_raw(struct frame_writer *w, const struct frame *f);
/* Writes n bytes holding whole, already encoded frames. */
void frame_write_bytes(struct frame_writer *w, const void *p, size_t n);
/* Pushes buffered bytes to the fd; dies on a write error (full disk,
 * closed pipe). */
void frame_flush(struct frame_writer *w);
/* Flushes, fsyncs and renames an atomic file, closes; dies on any error
 * (a program's convenience: frame_writer_commit returns the error).  A
 * writer on stdout is flushed only: stdout_finish (err.h) closes it.  NULL
 * is a no-op. */
void frame_writer_close(struct frame_writer *w);
/* For an atomic writer (frame_writer_open): flushes, fsyncs, renames into
 * place and frees w.  A write error on the way (full disk) was kept, not
 * fatal: returns -1 with "path: reason" in err, the temporary file removed
 * and path left as it was; 0 on success.  Other writers: frame_writer_close. */
int frame_writer_commit(struct frame_writer *w, char *err, size_t errlen);
/* Closes an atomic writer without renaming: the temporary file is removed
 * and path is left as it was. */
void frame_writer_abort(struct frame_writer *w);

#endif
