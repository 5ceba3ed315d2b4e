/* modelio_impl.h — private to modelfile/: what saving (modelio.c) and
 * loading (modelload.c) a model file share: the tensor checksum of param
 * and moment frames, and the finite-value check. */
#ifndef RADPIPE_NN_MODELIO_IMPL_H
#define RADPIPE_NN_MODELIO_IMPL_H

#include <stddef.h>
#include "tensor.h"

/* The sha256 key of a param or moment frame into hex (radpipe-stream(5)). */
void mio_tensor_digest(const char *label, const struct tensor *t, char hex[65]);
/* The checksum label of moment which (0: m, 1: v) of parameter name: "m:name". */
void mio_moment_label(char *buf, size_t len, int which, const char *name);
/* 1 if the n floats at x (which may be unaligned) are all finite. */
int mio_all_finite(const void *x, size_t n);

#endif
