/* modelio_impl.h — private to modelfile/: what saving (modelio.c) and
 * loading (modelload.c) a model file share: the tensor checksum of param
 * and moment frames, the finite-value check and the error setter. */
#ifndef RADPIPE_NN_MODELIO_IMPL_H
#define RADPIPE_NN_MODELIO_IMPL_H

#include <stddef.h>
#include "tensor.h"

/* Formats fmt into err (nothing when err is NULL or errlen 0). */
void mio_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The sha256 key of a param or moment frame into hex (radpipe-stream(5)). */
void mio_tensor_digest(const char *label, const struct tensor *t, char hex[65]);
/* The checksum label of moment which (0: m, 1: v) of parameter name: "m:name". */
void mio_moment_label(char *buf, size_t len, int which, const char *name);
/* 1 if the n floats at x (which may be unaligned) are all finite. */
int mio_all_finite(const void *x, size_t n);

#endif
