// loss.cu — sigmoid binary cross-entropy (with Keras' probability clip) and
// softmax cross-entropy, from logits.  n is a batch, so one block does it:
// per-sample terms in double with the math of loss_math.h (shared with
// ref_ops.h), then a fixed-order tree sum (deterministic).  With fp16 loss
// scaling (amp.cu) thread 0 first settles the previous step and dz is
// multiplied by the scale.
#include "cuda_impl.h"
#include "nn/ref/loss_math.h"

#define LOSS_THREADS 256

RP_DEFINE_SOFTMAX_ROW(softmax_row, float)

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

// Settles the last step of loss scaling (see struct cu_amp); returns the
// scale of this step to every thread of the block (1 without amp).
__device__ static float
amp_settle(struct cu_amp *a)
{
	__shared__ float scale;

	if (!a)
		return 1.0f;
	if (threadIdx.x == 0) {
		if (a->consumed && a->flag) {
			a->scale *= 0.5f;
			a->skipped++;
			a->good = 0;
		} else if (a->consumed && ++a->good >= CU_AMP_GROWTH) {
			a->scale = a->scale * 2 <= CU_AMP_MAX ? a->scale * 2 : a->scale;
			a->good = 0;
		}
		a->flag = 0;
		a->consumed = 0;
		scale = a->scale;
	}
	__syncthreads();
	return scale;
}

__global__ void
k_bce(int n, const float *z, const float *y, const float *w, float clip,
      float *loss, float *dz, float *prob, struct cu_amp *amp)
{
	float scale = amp_settle(amp);
	double sum = 0;

	for (int i = threadIdx.x; i < n; i += LOSS_THREADS) {
		double wi = w ? w[i] : 1, p, g;
		sum += wi * rp_bce_term(z[i], y[i], clip, &p, &g);
		dz[i] = (float)(wi * g / n);
		if (amp)
			dz[i] *= scale;
		prob[i] = (float)p;
	}
	sum = block_sum(sum);
	if (threadIdx.x == 0)
		loss[0] = (float)(sum / n);
}

__global__ void
k_softmax_ce(int n, int k, const float *z, const float *label, const float *w,
             float *loss, float *dz, float *prob, struct cu_amp *amp)
{
	float scale = amp_settle(amp);
	double sum = 0;

	for (int i = threadIdx.x; i < n; i += LOSS_THREADS) {
		size_t o = (size_t)i * k;
		sum += softmax_row(k, z + o, (int)label[i], w ? w[i] : 1, n, prob + o, dz + o);
		for (int j = 0; amp && j < k; j++)
			dz[o + j] *= scale;
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

	CU_REPLAY_RETURN(st);
	if (n <= 0)
		return;
	k_bce<<<1, LOSS_THREADS, 0, st->stream>>>(n, z, y, w, clip, loss, dz, prob, st->amp);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_softmax_ce(struct nn_backend *be, int n, int k, const float *z, const float *label,
              const float *w, float *loss, float *dz, float *prob)
{
	struct cu_state *st = cu_st(be);

	CU_REPLAY_RETURN(st);
	if (n <= 0 || k <= 0)
		return;
	k_softmax_ce<<<1, LOSS_THREADS, 0, st->stream>>>(n, k, z, label, w, loss, dz, prob, st->amp);
	CUDA_LAUNCHED(st);
}
