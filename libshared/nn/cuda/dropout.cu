// dropout.cu — inverted dropout with the mask of backend.h: element i of
// draw `counter` keeps when rng_philox_uniform(seed, counter, i) >= rate.
// The draw is rp_philox_uniform of libshared/philox.h, the code rng.c
// runs, so the mask is bit-identical to the ref and cpu backends.  The
// counter changes every step: in a captured step it comes from a graph
// slot (graph.c).
#include "cuda_impl.h"
#include "philox.h"

struct drop_hp {
	uint64_t seed, counter;
};

__global__ void
k_dropout_fwd(size_t n, float rate, float keep, struct drop_hp hp, const struct drop_hp *dhp,
              const float *x, float *y, float *mask)
{
	if (dhp)
		hp = *dhp;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		float mk = rp_philox_uniform(hp.seed, hp.counter, i) >= rate ? keep : 0.0f;
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
	struct drop_hp hp = { seed, counter };
	const struct drop_hp *dhp;

	if (!n)
		return;
	dhp = (const struct drop_hp *)cu_slot(st, &hp, sizeof hp);
	CU_REPLAY_RETURN(st);
	k_dropout_fwd<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, rate, keep, hp, dhp, x, y, mask);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_dropout_bwd(struct nn_backend *be, size_t n, const float *mask,
               const float *dy, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);

	CU_REPLAY_RETURN(st);
	if (!n)
		return;
	k_dropout_bwd<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, mask, dy, dx, beta);
	CUDA_LAUNCHED(st);
}
