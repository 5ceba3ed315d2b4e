/* util.c — the CUDA backend's helpers that need no device of their own:
 * error recording, checking CUDA runtime calls, checked host allocation,
 * scratch slots and launch grids.  Everything else in the backend calls
 * into this file and it calls nothing of the backend; the kernel emulator
 * (tests/gpu/emu/run.sh) links it as it is, its CUDA runtime calls being
 * emulated.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_impl.h"

void
cu_fail(struct cu_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof st->err, fmt, ap);
	va_end(ap);
}

int
cu_capture_failure(struct cu_state *st)
{
	if (!st->capturing)
		return 0;
	st->capture_failed = 1;
	return 1;
}

void *
cu_nonnull(struct cu_state *st, void *p)
{
	if (p == NULL)
		cu_fail(st, "cuda: out of memory");
	return p;
}

int
cu_check_rt(struct cu_state *st, cudaError_t e, const char *call, const char *file, int line)
{
	if (e == cudaSuccess || cu_capture_failure(st))
		return 0;
	cu_fail(st, "cuda: %s:%d: %s: %s", file, line, call, cudaGetErrorString(e));
	return -1;
}

void *
cu_scratch(struct cu_state *st, enum cu_slot slot, size_t size)
{
	if (size <= st->slot_size[slot] && st->slot[slot])
		return st->slot[slot];
	if (st->gmode == CU_CAPTURE) {  /* no allocation while capturing: the warm-up grows */
		st->capture_failed = 1;
		return st->slot[slot];
	}
	st->mem_gen++;
	size = size < 256 ? 256 : size + size / 4;      /* grow with headroom */
	if (st->slot[slot]) {
		CUDA_CHECK(st, cudaStreamSynchronize(st->stream));  /* old buffer may be in use */
		CUDA_CHECK(st, cudaFree(st->slot[slot]));
	}
	st->slot[slot] = NULL;
	st->slot_size[slot] = 0;
	if (CUDA_CHECK(st, cudaMalloc(&st->slot[slot], size)) == 0)
		st->slot_size[slot] = size;
	return st->slot[slot];
}

void
cu_grid2d(const struct cu_state *st, long long m, int c, dim3 *grid, dim3 *block)
{
	long long gx = (c + 31) / 32, gy = (m + 7) / 8;
	long long want = (long long)st->sm_count * 32 / gx;

	if (want < 1)
		want = 1;
	if (gy > want)
		gy = want;
	if (gy > 65535)
		gy = 65535;
	if (gy < 1)
		gy = 1;
	block->x = 32, block->y = 8, block->z = 1;
	grid->x = (unsigned)gx, grid->y = (unsigned)gy, grid->z = 1;
}

unsigned
cu_grid1d(const struct cu_state *st, size_t n)
{
	size_t g = (n + 255) / 256, cap = (size_t)st->sm_count * 32;

	if (g > cap)
		g = cap;
	return g ? (unsigned)g : 1;
}
