// dropout.cu — inverted dropout with the mask of backend.h: element i of
// draw `counter` keeps when rng_philox_uniform(seed, counter, i) >= rate.
// philox() below is libshared/rng.c's rng_philox, line for line, so the
// mask is bit-identical to the ref and cpu backends.
#include "cuda_impl.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

// Philox4x32-10: first output word only (all rng_philox_uniform uses).
__device__ static uint32_t
philox_word0(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1)
{
	for (int i = 0; i < 10; i++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		c0 = n0;
		c2 = n2;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	return c0;
}

// rng_philox_uniform(seed, counter, index), bit for bit.
__device__ static float
philox_uniform(uint64_t seed, uint64_t counter, uint64_t index)
{
	uint32_t w = philox_word0((uint32_t)index, (uint32_t)(index >> 32),
	                          (uint32_t)counter, (uint32_t)(counter >> 32),
	                          (uint32_t)seed, (uint32_t)(seed >> 32));
	return __fmul_rn((float)(w >> 8), 1.0f / 16777216.0f);
}

__global__ void
k_dropout_fwd(size_t n, float rate, float keep, uint64_t seed, uint64_t counter,
              const float *x, float *y, float *mask)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		float mk = philox_uniform(seed, counter, i) >= rate ? keep : 0.0f;
		mask[i] = mk;
		y[i] = __fmul_rn(x[i], mk);
	}
}

__global__ void
k_dropout_bwd(size_t n, const float *mask, const float *dy, float *dx, float beta)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		float v = __fmul_rn(dy[i], mask[i]);
		dx[i] = beta != 0.0f ? beta * dx[i] + v : v;
	}
}

extern "C" void
cu_dropout_fwd(struct nn_backend *be, size_t n, float rate, uint64_t seed,
               uint64_t counter, const float *x, float *y, float *mask)
{
	struct cu_state *st = cu_st(be);
	float keep = 1.0f / (1.0f - rate);      // as ref_ops.h computes it

	if (!n)
		return;
	k_dropout_fwd<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, rate, keep, seed, counter, x, y, mask);
	CUDA_LAUNCHED();
}

extern "C" void
cu_dropout_bwd(struct nn_backend *be, size_t n, const float *mask,
               const float *dy, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);

	if (!n)
		return;
	k_dropout_bwd<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, mask, dy, dx, beta);
	CUDA_LAUNCHED();
}
