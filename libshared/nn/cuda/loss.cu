// loss.cu — sigmoid binary cross-entropy (with Keras' probability clip) and
// softmax cross-entropy, from logits.  n is a batch, so one block does it:
// per-sample terms in double as ref_ops.h computes them, then a fixed-order
// tree sum (deterministic).
#include "cuda_impl.h"

#define LOSS_THREADS 256

// Sums v over the block into the returned value (thread 0 only).
__device__ static double
block_sum(double v)
{
	__shared__ double sh[LOSS_THREADS];

	sh[threadIdx.x] = v;
	__syncthreads();
	for (int s = LOSS_THREADS / 2; s > 0; s >>= 1) {
		if (threadIdx.x < s)
			sh[threadIdx.x] += sh[threadIdx.x + s];
		__syncthreads();
	}
	return sh[0];
}

__global__ void
k_bce(int n, const float *z, const float *y, const float *w, float clip,
      float *loss, float *dz, float *prob)
{
	double sum = 0;

	for (int i = threadIdx.x; i < n; i += LOSS_THREADS) {
		double zi = z[i], t = y[i], wi = w ? w[i] : 1;
		double p = 1 / (1 + exp(-zi));
		double g = p - t;
		if (clip > 0 && (p < clip || p > 1 - (double)clip)) {
			double pc = p < clip ? clip : 1 - (double)clip;
			zi = log(pc / (1 - pc));
			g = 0;
		}
		sum += wi * ((zi > 0 ? zi : 0) - zi * t + log1p(exp(-fabs(zi))));
		dz[i] = (float)(wi * g / n);
		prob[i] = (float)p;
	}
	sum = block_sum(sum);
	if (threadIdx.x == 0)
		loss[0] = (float)(sum / n);
}

__global__ void
k_softmax_ce(int n, int k, const float *z, const float *label, const float *w,
             float *loss, float *dz, float *prob)
{
	double sum = 0;

	for (int i = threadIdx.x; i < n; i += LOSS_THREADS) {
		const float *zr = z + (size_t)i * k;
		int c = (int)label[i];
		double wi = w ? w[i] : 1, mx = zr[0], se = 0;
		for (int j = 1; j < k; j++)
			mx = zr[j] > mx ? zr[j] : mx;
		for (int j = 0; j < k; j++)
			se += exp(zr[j] - mx);
		sum += wi * (log(se) + mx - (c >= 0 && c < k ? zr[c] : mx));
		for (int j = 0; j < k; j++) {
			double pj = exp(zr[j] - mx) / se;
			prob[(size_t)i * k + j] = (float)pj;
			dz[(size_t)i * k + j] = (float)(wi * (pj - (j == c)) / n);
		}
	}
	sum = block_sum(sum);
	if (threadIdx.x == 0)
		loss[0] = (float)(sum / n);
}

extern "C" void
cu_bce_logits(struct nn_backend *be, int n, const float *z, const float *y,
              const float *w, float clip, float *loss, float *dz, float *prob)
{
	struct cu_state *st = cu_st(be);

	if (n <= 0)
		return;
	k_bce<<<1, LOSS_THREADS, 0, st->stream>>>(n, z, y, w, clip, loss, dz, prob);
	CUDA_LAUNCHED();
}

extern "C" void
cu_softmax_ce(struct nn_backend *be, int n, int k, const float *z, const float *label,
              const float *w, float *loss, float *dz, float *prob)
{
	struct cu_state *st = cu_st(be);

	if (n <= 0 || k <= 0)
		return;
	k_softmax_ce<<<1, LOSS_THREADS, 0, st->stream>>>(n, k, z, label, w, loss, dz, prob);
	CUDA_LAUNCHED();
}
