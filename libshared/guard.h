/* guard.h — runs a third-party decoder (DCMTK's JPEG, JPEG-LS and RLE
 * codecs, OpenJPEG, libhdf5) in a child process with a time limit, so that
 * no input can hang or crash the program that reads it: a decoder that
 * loops forever is killed and its file refused, and with --skip-bad the
 * program goes on.  Used by dicom_codec.cc and nn/modelfile/h5keras.c; C and C++.
 */
#ifndef RADPIPE_GUARD_H
#define RADPIPE_GUARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The work run in the child: fills *outP (malloc'd, *lenP bytes) and
 * returns 0, or returns -1 with a reason in err. */
typedef int (*guard_fn)(void *arg, uint8_t **outP, size_t *lenP, char *err, size_t errlen);

/* Runs fn(arg) in a forked child, at most `seconds` of wall time and
 * max_bytes of result.  Returns 0 with the child's bytes in *outP (malloc'd,
 * the caller frees) and *lenP, or -1 with a reason in err: fn's own, or
 * that the decoder took too long (killed) or died of a signal. */
int guard_run(guard_fn fn, void *arg, double seconds, size_t max_bytes,
                    uint8_t **outP, size_t *lenP, char *err, size_t errlen);

/* Marks the calling thread as inside a library whose code guard_run's
 * children also run (DCMTK): guard_run forks only while no other thread is
 * between guard_lib_enter and guard_lib_leave, so that a child never
 * inherits one of that library's locks held by another thread (and hangs
 * on it).  Nests; a thread inside may call guard_run. */
void guard_lib_enter(void);

/* Ends the calling thread's innermost guard_lib_enter. */
void guard_lib_leave(void);

#ifdef __cplusplus
}
#endif

#endif
