/* err.h — messages, exit codes, checked allocation, and the error rule.
 *
 * Every message goes to stderr as "prog: message".  Exit codes: 0 success,
 * 1 failure, 2 bad usage.  Allocation never returns NULL: it dies with a
 * message instead, and array sizes are checked for overflow.
 *
 * The error rule: library code returns errors; only a program decides to
 * exit.
 *   - A libshared/ function (the engine in libshared/nn/ included) that can
 *     fail returns -1 (or NULL) and writes a one-line message, without the
 *     program name, into the caller's buffer: its last two parameters
 *     `char *err, size_t errlen` (NULL, 0 is allowed where the caller only
 *     needs the status).  An object that lives across many calls keeps its
 *     last message itself instead: struct nn_model (the engine's nn_fail
 *     writes it, nn_error reads it), struct trainer (t->err), struct
 *     gp_plot (p->err), struct frame_reader (frame_reader_error).  A
 *     second failure kind is a second negative value named in the contract
 *     (dataset_collect: -2 for bad usage).  Warnings go to stderr through
 *     warnx/info and the function goes on.
 *   - Only a program's main (or the static helpers in its filters/PROG.c)
 *     prints the message and exits, with die (1) or die_usage (2), so the
 *     message and status are the program's choice.
 *   - The only library functions that end the program, by contract ("dies"
 *     in their comment):
 *       die, die_usage, die_write, stdout_check, stdout_finish (here);
 *       the x* allocators, xmul and XNEW on out of memory or overflow;
 *       cli_* (cli.h): bad usage exits 2, --help and --version exit 0;
 *       tensor_alloc, tensor_alloc_hwc and frame_copy_new, as the x*
 *       allocators;
 *       frame_next and frame_tensor (frame.h): a bad frame ends the
 *       program (frame_read and fv_tensor return the error instead);
 *       a frame writer or stdout_check on a write error on stdout (EPIPE is
 *       a quiet SIGPIPE death, as in cat), and frame_writer_close on an
 *       atomic file (frame_writer_commit returns the error instead);
 *       the fb_* frame builder on its own misuse (a bug, as assert does);
 *     and the forked children of guard.c (a decoder) and of
 *     nn/train/checkpoint.c (nntrain's checkpoint writer), which end
 *     themselves with _exit.
 *     tests/cli/structure.bats lists, with nm, the library objects that
 *     call die, exit or _exit and fails on any other.
 * A program ends by stdout_finish (or frame_writer_close), which reports a
 * write error on stdout instead of exiting 0 after it.
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
/* The error rule's message: formats fmt into err (nothing when err is
 * NULL or errlen 0) and returns -1, so `return err_set(err, errlen, ...)`. */
int err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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
