// ew.cu — elementwise ops on strided NHWC views: add/copy, relu (with a
// ceiling: ReLU6), bias.
//
// Layout of every (channel, pixel) kernel here and in the other files:
// 32 x 8 blocks, threadIdx.x walks channels (so a warp reads 128
// consecutive bytes of one pixel), blockIdx.y strides over pixels.  A
// thread keeps one channel for its whole life, so per-channel values are
// loaded once.  Pixel offsets are 64-bit (p * ld may pass 2^31).
#include "cuda_impl.h"

#define EW_LOOP(m) \
	for (long long p = (long long)blockIdx.y * blockDim.y + threadIdx.y; p < (m); \
	     p += (long long)gridDim.y * blockDim.y)

__global__ void
k_add(long long m, int c, const float *x, int x_ld, float *y, int y_ld, float beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	EW_LOOP(m) {
		float v = x[p * x_ld + ch];
		float *o = &y[p * y_ld + ch];
		*o = beta != 0.0f ? beta * *o + v : v;
	}
}

extern "C" void
cu_launch_add(struct cu_state *st, long long m, int c, const float *x, int x_ld,
              float *y, int y_ld, float beta)
{
	dim3 g, b;

	if (m <= 0 || c <= 0)
		return;
	cu_grid2d(st, m, c, &g, &b);
	k_add<<<g, b, 0, st->stream>>>(m, c, x, x_ld, y, y_ld, beta);
	CUDA_LAUNCHED(st);
}

__global__ void
k_bias(long long m, int c, const float *bias, float *y, int y_ld)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	float b = bias[ch];
	EW_LOOP(m)
		y[p * y_ld + ch] += b;
}

extern "C" void
cu_launch_bias(struct cu_state *st, long long m, int c, const float *b, float *y, int y_ld)
{
	dim3 g, bl;

	if (m <= 0 || c <= 0)
		return;
	cu_grid2d(st, m, c, &g, &bl);
	k_bias<<<g, bl, 0, st->stream>>>(m, c, b, y, y_ld);
	CUDA_LAUNCHED(st);
}

// cap > 0: ReLU with a ceiling (ReLU6).
__global__ void
k_relu_fwd(long long m, int c, const float *x, int x_ld, float *y, int y_ld, float cap)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	EW_LOOP(m) {
		float v = fmaxf(x[p * x_ld + ch], 0.0f);
		y[p * y_ld + ch] = cap > 0.0f ? fminf(v, cap) : v;
	}
}

// dy and dx share x_ld (the gradient of relu's input); y and dy share y_ld
// (relu's output and its gradient).
__global__ void
k_relu_bwd(long long m, int c, const float *y, const float *dy, int y_ld,
           float *dx, int x_ld, float beta, float cap)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	EW_LOOP(m) {
		float a = y[p * y_ld + ch];
		float g = a > 0.0f && (cap <= 0.0f || a < cap) ? dy[p * y_ld + ch] : 0.0f;
		float *o = &dx[p * x_ld + ch];
		*o = beta != 0.0f ? beta * *o + g : g;
	}
}

extern "C" void
cu_relu_fwd(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, p->m, p->c, &g, &b);
	k_relu_fwd<<<g, b, 0, st->stream>>>(p->m, p->c, x, p->x_ld, y, p->y_ld, p->cap);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_relu_bwd(struct nn_backend *be, const struct nn_ew *p,
            const float *y, const float *dy, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, p->m, p->c, &g, &b);
	k_relu_bwd<<<g, b, 0, st->stream>>>(p->m, p->c, y, dy, p->y_ld, dx, p->x_ld, beta,
	                                    p->cap);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_add(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y, float beta)
{
	CU_REPLAY_RETURN(cu_st(be));
	cu_launch_add(cu_st(be), p->m, p->c, x, p->x_ld, y, p->y_ld, beta);
}
