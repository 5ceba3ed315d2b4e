/* err.h — messages, exit codes and checked allocation.
 *
 * Every message goes to stderr as "prog: message".  Exit codes: 0 success,
 * 1 failure, 2 bad usage.  Allocation never returns NULL: it dies with a
 * message instead, and array sizes are checked for overflow.
 */
#ifndef RADPIPE_ERR_H
#define RADPIPE_ERR_H

#include <stddef.h>
#include <stdnoreturn.h>

extern const char *progname;    /* set by err_init / cli_parse */
extern int err_quiet;           /* 1: info() prints nothing */

/* Sets progname from argv[0] (its basename). */
void err_init(const char *argv0);
/* Prints "prog: message" and exits 1. */
noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "prog: message" and a hint to --help, exits 2. */
noreturn void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Ends the program after a failed write to name with errno e: when e is
 * EPIPE (the reader went away) quietly, killed by SIGPIPE as cat is (the
 * shell sees status 141); otherwise "prog: name: write error: ..." and 1. */
noreturn void die_write(const char *name, int e);
/* Dies with die_write("stdout", ...) if stdio output to stdout failed so
 * far or fails to flush; a pipe whose reader has gone counts as EPIPE. */
void stdout_check(void);
/* The end of every program's main: stdout_check, then closes stdout (fd 1,
 * whether stdio or a frame writer wrote it; frame_writer_close leaves it
 * open) and checks the close.  A full disk dies "prog: stdout: write
 * error: ..." with status 1; a reader that has gone, quietly by SIGPIPE. */
void stdout_finish(void);
/* Prints "prog: message" (a warning; always shown). */
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "prog: message" unless --quiet was given. */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* malloc that dies on failure; size 0 gives a valid unique pointer. */
void *xmalloc(size_t size);
/* calloc that dies on failure or on n*size overflow. */
void *xcalloc(size_t n, size_t size);
/* malloc of n*size bytes, dying on overflow or failure. */
void *xmallocarray(size_t n, size_t size);
/* realloc of n*size bytes, dying on overflow or failure. */
void *xreallocarray(void *p, size_t n, size_t size);
/* 64-byte aligned allocation of size bytes (free with free()); dies on failure. */
void *xaligned(size_t size);
/* strdup that dies on failure. */
char *xstrdup(const char *s);
/* n*size, or dies with "what: size overflow". */
size_t xmul(size_t n, size_t size, const char *what);

/* Allocates an array of n objects of type T (checked). */
#define XNEW(T, n) ((T *)xmallocarray((n), sizeof(T)))

#endif
