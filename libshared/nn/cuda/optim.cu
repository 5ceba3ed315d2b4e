// optim.cu — Keras Adam and SGD (momentum, Nesterov) over flat parameter
// arrays, with L2 added to the gradient as ref_ops.h does (g + 2*l2*p).
// Hyper-parameters come by value, or from a graph's scalar slot (dhp, see
// graph.c) when the step is captured.  With fp16 loss scaling the kernels
// skip the update when the step overflowed and use g/scale otherwise.
#include "cuda_impl.h"

#define FLAT_LOOP(n) \
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)gridDim.x * blockDim.x)

struct adam_hp {
	float lr_t, b1, b2, eps, l2;
};

struct sgd_hp {
	float lr, mom, l2;
	int nesterov;
};

// The factor that unscales gradients, or 0 when the step is skipped;
// marks the step as consumed for the next loss (amp.cu).
__device__ static float
amp_unscale(struct cu_amp *a)
{
	if (!a)
		return 1.0f;
	if (blockIdx.x == 0 && threadIdx.x == 0)
		a->consumed = 1;
	return a->flag ? 0.0f : 1.0f / a->scale;
}

__global__ void
k_adam(size_t n, float *p, const float *g, float *m, float *v, struct adam_hp hp,
       const struct adam_hp *dhp, struct cu_amp *amp)
{
	float inv = amp_unscale(amp);

	if (dhp)
		hp = *dhp;
	if (inv == 0.0f)
		return;
	FLAT_LOOP(n) {
		float gi = (amp ? g[i] * inv : g[i]) + 2 * hp.l2 * p[i];
		float mi = hp.b1 * m[i] + (1 - hp.b1) * gi;
		float vi = hp.b2 * v[i] + (1 - hp.b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] -= hp.lr_t * mi / (sqrtf(vi) + hp.eps);
	}
}

__global__ void
k_sgd(size_t n, float *p, const float *g, float *v, struct sgd_hp hp,
      const struct sgd_hp *dhp, struct cu_amp *amp)
{
	float inv = amp_unscale(amp);

	if (dhp)
		hp = *dhp;
	if (inv == 0.0f)
		return;
	FLAT_LOOP(n) {
		float gi = (amp ? g[i] * inv : g[i]) + 2 * hp.l2 * p[i];
		float vi = hp.mom * v[i] - hp.lr * gi;
		v[i] = vi;
		p[i] += hp.nesterov ? hp.mom * vi - hp.lr * gi : vi;
	}
}

extern "C" void
cu_adam(struct nn_backend *be, size_t n, float *p, const float *g,
        float *m, float *v, float lr_t, float b1, float b2, float eps, float l2)
{
	struct cu_state *st = cu_st(be);
	struct adam_hp hp = { lr_t, b1, b2, eps, l2 };
	const struct adam_hp *dhp;

	st->wgen++;
	if (!n)
		return;
	dhp = (const struct adam_hp *)cu_slot(st, &hp, sizeof hp);
	CU_REPLAY_RETURN(st);
	k_adam<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, p, g, m, v, hp, dhp, st->amp);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_sgd(struct nn_backend *be, size_t n, float *p, const float *g,
       float *v, float lr, float mom, int nesterov, float l2)
{
	struct cu_state *st = cu_st(be);
	struct sgd_hp hp = { lr, mom, l2, nesterov };
	const struct sgd_hp *dhp;

	st->wgen++;
	if (!n)
		return;
	dhp = (const struct sgd_hp *)cu_slot(st, &hp, sizeof hp);
	CU_REPLAY_RETURN(st);
	k_sgd<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, p, g, v, hp, dhp, st->amp);
	CUDA_LAUNCHED(st);
}
