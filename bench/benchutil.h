/* benchutil.h — what the cpu benchmarks (bench_ops, bench_pool) share. */
#ifndef RADPIPE_BENCHUTIL_H
#define RADPIPE_BENCHUTIL_H

#include <stddef.h>
#include <time.h>

#include "nn/backend.h"
#include "rng.h"

/* Seconds on clock id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, ...). */
double bench_clock(clockid_t id);
/* Seconds on the monotonic clock. */
double bench_now(void);
/* n floats uniform in [-1, 1) from g, in new memory of be (dies when out of memory). */
float *bench_rand_buf(struct nn_backend *be, struct rng *g, size_t n);

#endif
