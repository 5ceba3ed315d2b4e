/* benchutil.c — what the cpu benchmarks share (benchutil.h). */
#include <stdlib.h>

#include "err.h"
#include "benchutil.h"

double
bench_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double
bench_now(void)
{
	return bench_clock(CLOCK_MONOTONIC);
}

float *
bench_rand_buf(struct nn_backend *be, struct rng *g, size_t n)
{
	float *h = XNEW(float, n), *d;
	size_t i;

	for (i = 0; i < n; i++)
		h[i] = (float)rng_range(g, -1, 1);
	if ((d = be->alloc(be, n * sizeof(float))) == NULL)
		die("out of memory (%zu floats)", n);
	be->upload(be, d, h, n * sizeof(float));
	free(h);
	return d;
}
