// pool.cu — max/average pooling and global average pooling on strided
// NHWC views (own kernels, see README.md for why not cuDNN's).
//
// Semantics are those of ref_ops.h: a window is clipped to the input
// (TF 'same' may pad more at the bottom/right than at the top/left);
// average divides by the cells inside; max backward routes dy to the
// first maximum in row-major window order, recomputed from x.  Backward
// is a gather (each dx cell visits the windows that contain it), so it
// needs no atomics and is deterministic.
#include "cuda_impl.h"

#define EW_LOOP(m) \
	for (long long p = (long long)blockIdx.y * blockDim.y + threadIdx.y; p < (m); \
	     p += (long long)gridDim.y * blockDim.y)

struct pool_geo {
	int n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl, x_ld, y_ld, avg;
};

__device__ static void
window(const pool_geo &g, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
	int iy = oy * g.sh - g.pt, ix = ox * g.sw - g.pl;

	*y0 = iy < 0 ? 0 : iy;
	*x0 = ix < 0 ? 0 : ix;
	*y1 = iy + g.kh > g.ih ? g.ih : iy + g.kh;
	*x1 = ix + g.kw > g.iw ? g.iw : ix + g.kw;
}

__global__ void
k_pool_fwd(pool_geo g, const float *x, float *y)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.oh * g.ow;

	if (ch >= g.c)
		return;
	EW_LOOP(m) {
		int ox = (int)(p % g.ow), oy = (int)(p / g.ow % g.oh);
		long long img = p / ((long long)g.ow * g.oh) * g.ih * g.iw;
		int y0, y1, x0, x1;
		window(g, oy, ox, &y0, &y1, &x0, &x1);
		float acc = g.avg ? 0.0f : -INFINITY;
		for (int iy = y0; iy < y1; iy++)
			for (int ix = x0; ix < x1; ix++) {
				float v = x[(img + (long long)iy * g.iw + ix) * g.x_ld + ch];
				acc = g.avg ? acc + v : (v > acc ? v : acc);
			}
		if (g.avg)
			acc /= (float)((y1 - y0) * (x1 - x0));
		y[p * g.y_ld + ch] = acc;
	}
}

// Is (iy, ix) the first maximum of window (oy, ox)?
__device__ static bool
is_argmax(const pool_geo &g, const float *x, long long img, int ch, int oy, int ox,
          int iy, int ix)
{
	int y0, y1, x0, x1;
	window(g, oy, ox, &y0, &y1, &x0, &x1);
	long long best = img + (long long)y0 * g.iw + x0;
	float bv = x[best * g.x_ld + ch];
	for (int yy = y0; yy < y1; yy++)
		for (int xx = x0; xx < x1; xx++) {
			long long at = img + (long long)yy * g.iw + xx;
			float v = x[at * g.x_ld + ch];
			if (v > bv) {
				bv = v;
				best = at;
			}
		}
	return best == img + (long long)iy * g.iw + ix;
}

// One thread per (input pixel, channel): sums dy over the windows holding it.
__global__ void
k_pool_bwd(pool_geo g, const float *x, const float *dy, float *dx, float beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.ih * g.iw;

	if (ch >= g.c)
		return;
	EW_LOOP(m) {
		int ix = (int)(p % g.iw), iy = (int)(p / g.iw % g.ih);
		long long b = p / ((long long)g.iw * g.ih), img = b * g.ih * g.iw;
		// windows oy with oy*sh - pt <= iy <= oy*sh - pt + kh - 1
		int oy0 = iy + g.pt - g.kh + 1, ox0 = ix + g.pl - g.kw + 1;
		oy0 = oy0 <= 0 ? 0 : (oy0 + g.sh - 1) / g.sh;
		ox0 = ox0 <= 0 ? 0 : (ox0 + g.sw - 1) / g.sw;
		int oy1 = (iy + g.pt) / g.sh, ox1 = (ix + g.pl) / g.sw;
		oy1 = oy1 >= g.oh ? g.oh - 1 : oy1;
		ox1 = ox1 >= g.ow ? g.ow - 1 : ox1;
		float acc = 0.0f;
		for (int oy = oy0; oy <= oy1; oy++)
			for (int ox = ox0; ox <= ox1; ox++) {
				float d = dy[((b * g.oh + oy) * g.ow + ox) * g.y_ld + ch];
				if (g.avg) {
					int y0, y1, x0, x1;
					window(g, oy, ox, &y0, &y1, &x0, &x1);
					acc += d / (float)((y1 - y0) * (x1 - x0));
				} else if (is_argmax(g, x, img, ch, oy, ox, iy, ix)) {
					acc += d;
				}
			}
		float *o = &dx[p * g.x_ld + ch];
		*o = beta != 0.0f ? beta * *o + acc : acc;
	}
}

static pool_geo
geo(const struct nn_pool *p)
{
	pool_geo g = { p->n, p->ih, p->iw, p->c, p->oh, p->ow, p->kh, p->kw, p->sh, p->sw,
	               p->pt, p->pl, p->x_ld, p->y_ld, p->avg };
	return g;
}

extern "C" void
cu_pool_fwd(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y)
{
	struct cu_state *st = cu_st(be);
	long long m = (long long)p->n * p->oh * p->ow;
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, m, p->c, &g, &b);
	k_pool_fwd<<<g, b, 0, st->stream>>>(geo(p), x, y);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_pool_bwd(struct nn_backend *be, const struct nn_pool *p, const float *x,
            const float *dy, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);
	long long m = (long long)p->n * p->ih * p->iw;
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, m, p->c, &g, &b);
	k_pool_bwd<<<g, b, 0, st->stream>>>(geo(p), x, dy, dx, beta);
	CUDA_LAUNCHED(st);
}

// One thread per (sample, channel), summing its hw pixels in order.
__global__ void
k_gap_fwd(int n, int hw, int c, const float *x, int x_ld, float *y)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	EW_LOOP(n) {
		const float *xr = x + p * hw * x_ld + ch;
		float acc = 0.0f;
		for (int i = 0; i < hw; i++)
			acc += xr[(long long)i * x_ld];
		y[p * c + ch] = acc / (float)hw;
	}
}

__global__ void
k_gap_bwd(long long m, int hw, int c, const float *dy, float *dx, int x_ld, float beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;

	if (ch >= c)
		return;
	EW_LOOP(m) {
		float v = dy[p / hw * c + ch] / (float)hw;
		float *o = &dx[p * x_ld + ch];
		*o = beta != 0.0f ? beta * *o + v : v;
	}
}

extern "C" void
cu_gap_fwd(struct nn_backend *be, const struct nn_gap *p, const float *x, float *y)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->n <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, p->n, p->c, &g, &b);
	k_gap_fwd<<<g, b, 0, st->stream>>>(p->n, p->hw, p->c, x, p->x_ld, y);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_gap_bwd(struct nn_backend *be, const struct nn_gap *p, const float *dy, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);
	long long m = (long long)p->n * p->hw;
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (m <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, m, p->c, &g, &b);
	k_gap_bwd<<<g, b, 0, st->stream>>>(m, p->hw, p->c, dy, dx, p->x_ld, beta);
	CUDA_LAUNCHED(st);
}
