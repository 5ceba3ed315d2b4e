// optim.cu — Keras Adam and SGD (momentum, Nesterov) over flat parameter
// arrays, with L2 added to the gradient as ref_ops.h does (g + 2*l2*p).
#include "cuda_impl.h"

#define FLAT_LOOP(n) \
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)gridDim.x * blockDim.x)

__global__ void
k_adam(size_t n, float *p, const float *g, float *m, float *v, float lr_t,
       float b1, float b2, float eps, float l2)
{
	FLAT_LOOP(n) {
		float gi = g[i] + 2 * l2 * p[i];
		float mi = b1 * m[i] + (1 - b1) * gi;
		float vi = b2 * v[i] + (1 - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] -= lr_t * mi / (sqrtf(vi) + eps);
	}
}

__global__ void
k_sgd(size_t n, float *p, const float *g, float *v, float lr, float mom,
      int nesterov, float l2)
{
	FLAT_LOOP(n) {
		float gi = g[i] + 2 * l2 * p[i];
		float vi = mom * v[i] - lr * gi;
		v[i] = vi;
		p[i] += nesterov ? mom * vi - lr * gi : vi;
	}
}

extern "C" void
cu_adam(struct nn_backend *be, size_t n, float *p, const float *g,
        float *m, float *v, float lr_t, float b1, float b2, float eps, float l2)
{
	struct cu_state *st = cu_st(be);

	if (!n)
		return;
	k_adam<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, p, g, m, v, lr_t, b1, b2, eps, l2);
	CUDA_LAUNCHED();
}

extern "C" void
cu_sgd(struct nn_backend *be, size_t n, float *p, const float *g,
       float *v, float lr, float mom, int nesterov, float l2)
{
	struct cu_state *st = cu_st(be);

	if (!n)
		return;
	k_sgd<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, p, g, v, lr, mom, nesterov, l2);
	CUDA_LAUNCHED();
}
