// amp.cu — dynamic loss scaling for fp16 (struct cu_amp, cuda_impl.h):
// the device state, the non-finite check on weight gradients, and the
// statistics query.  The loss ops (loss.cu) settle each step and scale dz;
// the optimisers (optim.cu) skip or unscale.  Everything lives on the
// device, so a captured graph carries it along with no host round trip.
#include "cuda_impl.h"

#define FLAT_LOOP(n) \
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)gridDim.x * blockDim.x)

// flag = 1 if some g[i] is inf or NaN (every writer stores 1).
__global__ void
k_finite_check(size_t n, const float *g, unsigned *flag)
{
	FLAT_LOOP(n)
		if (!(fabsf(g[i]) <= 3.402823466e38f))
			*flag = 1;
}

extern "C" int
cu_amp_open(struct cu_state *st)
{
	struct cu_amp a = { CU_AMP_INIT, 0, 0, 0, 0 };

	if (cudaMalloc((void **)&st->amp, sizeof a) != cudaSuccess) {
		cudaGetLastError();
		st->amp = NULL;
		return -1;
	}
	CUDA_CHECK(st, cudaMemcpyAsync(st->amp, &a, sizeof a, cudaMemcpyHostToDevice, st->stream));
	CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
	return 0;
}

extern "C" void
cu_launch_finite_check(struct cu_state *st, const float *g, size_t n)
{
	if (!st->amp || !g || !n)
		return;
	k_finite_check<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, g, &st->amp->flag);
	CUDA_LAUNCHED(st);
}

extern "C" int
cu_nonfinite(struct nn_backend *be, const float *x, size_t n)
{
	struct cu_state *st = cu_st(be);
	unsigned flag = 0;

	if (cu_no_graph(st, "nonfinite") < 0 || !x || !n)
		return 0;
	if (!st->nf_flag)
		CUDA_CHECK(st, cudaMalloc((void **)&st->nf_flag, sizeof *st->nf_flag));
	CUDA_CHECK(st, cudaMemsetAsync(st->nf_flag, 0, sizeof *st->nf_flag, st->stream));
	k_finite_check<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, x, st->nf_flag);
	CUDA_LAUNCHED(st);
	CUDA_CHECK(st, cudaMemcpyAsync(&flag, st->nf_flag, sizeof flag, cudaMemcpyDeviceToHost, st->stream));
	CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
	return flag != 0;
}

extern "C" void
cu_amp_stats(struct nn_backend *be, long long *skippedP, float *scaleP)
{
	struct cu_state *st = cu_st(be);
	struct cu_amp a = { 1.0f, 0, 0, 0, 0 };

	if (cu_no_graph(st, "amp_stats") == 0 && st->amp) {
		CUDA_CHECK(st, cudaMemcpyAsync(&a, st->amp, sizeof a, cudaMemcpyDeviceToHost, st->stream));
		CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
		if (a.consumed && a.flag) {     // the last step overflowed; not settled yet
			a.skipped++;
			a.scale *= 0.5f;
		}
	}
	if (skippedP)
		*skippedP = a.skipped;
	if (scaleP)
		*scaleP = a.scale;
}
