// dwconv.cu — depthwise convolution (depth multiplier 1) and zero padding
// on strided NHWC views, own fp32 kernels in every precision mode (a
// depthwise convolution does kh*kw multiply-adds per element it reads: it
// is bound by memory, and half copies would cost more than they save).
//
// Forward and backward-data are gathers (one thread per output element,
// 32 x 8 blocks as in ew.cu: threadIdx.x walks channels); the weight
// gradient sums x*dy over the pixels in double, in a fixed order: the
// pixels are cut into splits, a 32 x 8 block sums one split of one tap for
// 32 channels, and a second kernel adds the splits in order (as reduce.cu
// does), so results are bit-reproducible without atomics.
#include "cuda_impl.h"

#define DW_LOOP(m) \
	for (long long p = (long long)blockIdx.y * blockDim.y + threadIdx.y; p < (m); \
	     p += (long long)gridDim.y * blockDim.y)

// The geometry the kernels take by value.
struct dw_geom {
	int n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl, x_ld, y_ld;
};

static struct dw_geom
geom_of(const struct nn_conv *p)
{
	struct dw_geom g = { p->n, p->ih, p->iw, p->ic, p->oh, p->ow, p->kh, p->kw,
	                     p->sh, p->sw, p->pt, p->pl, p->x_ld, p->y_ld };
	return g;
}

__global__ void
k_dw_fwd(struct dw_geom g, const float *x, const float *w, const float *bias, float *y)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.oh * g.ow;

	if (ch >= g.c)
		return;
	DW_LOOP(m) {
		int ox = (int)(p % g.ow), oy = (int)(p / g.ow % g.oh), b = (int)(p / g.ow / g.oh);
		float s = bias ? bias[ch] : 0.0f;
		for (int ky = 0; ky < g.kh; ky++) {
			int iy = oy * g.sh - g.pt + ky;
			if (iy < 0 || iy >= g.ih)
				continue;
			for (int kx = 0; kx < g.kw; kx++) {
				int ix = ox * g.sw - g.pl + kx;
				if (ix < 0 || ix >= g.iw)
					continue;
				long long xo = ((long long)(b * g.ih + iy) * g.iw + ix) * g.x_ld;
				s = __fadd_rn(s, __fmul_rn(x[xo + ch], w[(ky * g.kw + kx) * g.c + ch]));
			}
		}
		y[p * g.y_ld + ch] = s;
	}
}

__global__ void
k_dw_bwd_data(struct dw_geom g, const float *dy, const float *w, float *dx, float beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.ih * g.iw;

	if (ch >= g.c)
		return;
	DW_LOOP(m) {
		int ix = (int)(p % g.iw), iy = (int)(p / g.iw % g.ih), b = (int)(p / g.iw / g.ih);
		float s = 0.0f;
		for (int ky = 0; ky < g.kh; ky++) {
			int t = iy + g.pt - ky, oy = t / g.sh;
			if (t < 0 || t % g.sh != 0 || oy >= g.oh)
				continue;
			for (int kx = 0; kx < g.kw; kx++) {
				int u = ix + g.pl - kx, ox = u / g.sw;
				if (u < 0 || u % g.sw != 0 || ox >= g.ow)
					continue;
				long long yo = ((long long)(b * g.oh + oy) * g.ow + ox) * g.y_ld;
				s = __fadd_rn(s, __fmul_rn(w[(ky * g.kw + kx) * g.c + ch], dy[yo + ch]));
			}
		}
		float *o = &dx[p * g.x_ld + ch];
		*o = beta != 0.0f ? beta * *o + s : s;
	}
}

// part[(split*taps + tap)*c + ch] = sum over the split's output pixels of
// x*dy at one tap (grid: x = tap*gx + channel block, y = split).
__global__ void
k_dw_bwd_w_partial(struct dw_geom g, int gx, long long rows, const float *x,
                   const float *dy, double *part)
{
	__shared__ double sa[8][33];
	int tx = threadIdx.x, ty = threadIdx.y, ch = (blockIdx.x % gx) * 32 + tx;
	int tap = blockIdx.x / gx, ky = tap / g.kw, kx = tap % g.kw, taps = g.kh * g.kw;
	long long m = (long long)g.n * g.oh * g.ow;
	long long r0 = (long long)blockIdx.y * rows, r1 = r0 + rows < m ? r0 + rows : m;
	double a = 0;

	if (ch < g.c) {
		for (long long r = r0 + ty; r < r1; r += 8) {
			int ox = (int)(r % g.ow), oy = (int)(r / g.ow % g.oh), b = (int)(r / g.ow / g.oh);
			int iy = oy * g.sh - g.pt + ky, ix = ox * g.sw - g.pl + kx;
			if (iy < 0 || iy >= g.ih || ix < 0 || ix >= g.iw)
				continue;
			long long xo = ((long long)(b * g.ih + iy) * g.iw + ix) * g.x_ld;
			a += (double)x[xo + ch] * dy[r * g.y_ld + ch];
		}
	}
	sa[ty][tx] = a;
	__syncthreads();
	if (ty != 0 || ch >= g.c)
		return;
	for (int i = 1; i < 8; i++)
		a += sa[i][tx];
	part[((long long)blockIdx.y * taps + tap) * g.c + ch] = a;
}

__global__ void
k_dw_bwd_w_sum(int nsplit, int n, const double *part, float *dw)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
		double s = 0;
		for (int k = 0; k < nsplit; k++)
			s += part[(long long)k * n + i];
		dw[i] = (float)s;
	}
}

extern "C" void
cu_dwconv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
              const float *w, const float *bias, float *y)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->n <= 0 || p->ic <= 0)
		return;
	cu_grid2d(st, (long long)p->n * p->oh * p->ow, p->ic, &g, &b);
	k_dw_fwd<<<g, b, 0, st->stream>>>(geom_of(p), x, w, bias, y);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_dwconv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
                   const float *w, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->n <= 0 || p->ic <= 0)
		return;
	cu_grid2d(st, (long long)p->n * p->ih * p->iw, p->ic, &g, &b);
	k_dw_bwd_data<<<g, b, 0, st->stream>>>(geom_of(p), dy, w, dx, beta);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_dwconv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                      const float *dy, float *dw, float *db)
{
	struct cu_state *st = cu_st(be);
	long long m = (long long)p->n * p->oh * p->ow, gx = (p->ic + 31) / 32, rows;
	int taps = p->kh * p->kw, nw = taps * p->ic;
	long long want = (long long)st->sm_count * 8 / (gx * taps), ns;
	double *part;

	CU_REPLAY_RETURN(st);
	if (m <= 0 || p->ic <= 0)
		return;
	if (db)
		cu_launch_chan_sum(st, m, p->ic, dy, p->y_ld, db);
	ns = want < 1 ? 1 : want > 64 ? 64 : want;
	rows = (m + ns - 1) / ns;
	rows = rows < 64 ? 64 : rows;
	ns = (m + rows - 1) / rows;
	part = (double *)cu_scratch(st, CU_RED, (size_t)ns * nw * sizeof *part);
	if (part == NULL)
		return;
	dim3 g((unsigned)(gx * taps), (unsigned)ns, 1), b(32, 8, 1);
	k_dw_bwd_w_partial<<<g, b, 0, st->stream>>>(geom_of(p), (int)gx, rows, x, dy, part);
	CUDA_LAUNCHED(st);
	k_dw_bwd_w_sum<<<cu_grid1d(st, (size_t)nw), 256, 0, st->stream>>>((int)ns, nw, part, dw);
	CUDA_LAUNCHED(st);
}

// ---- zero padding ----

struct pad_geom {
	int n, ih, iw, c, pt, pl, oh, ow, x_ld, y_ld;
};

static struct pad_geom
pad_of(const struct nn_padg *p)
{
	struct pad_geom g = { p->n, p->ih, p->iw, p->c, p->pt, p->pl,
	                      p->ih + p->pt + p->pb, p->iw + p->pl + p->pr, p->x_ld, p->y_ld };
	return g;
}

__global__ void
k_pad_fwd(struct pad_geom g, const float *x, float *y)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.oh * g.ow;

	if (ch >= g.c)
		return;
	DW_LOOP(m) {
		int ox = (int)(p % g.ow), oy = (int)(p / g.ow % g.oh), b = (int)(p / g.ow / g.oh);
		int iy = oy - g.pt, ix = ox - g.pl;
		int in = iy >= 0 && iy < g.ih && ix >= 0 && ix < g.iw;
		y[p * g.y_ld + ch] = in ? x[((long long)(b * g.ih + iy) * g.iw + ix) * g.x_ld + ch] : 0.0f;
	}
}

__global__ void
k_pad_bwd(struct pad_geom g, const float *dy, float *dx, float beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.ih * g.iw;

	if (ch >= g.c)
		return;
	DW_LOOP(m) {
		int ix = (int)(p % g.iw), iy = (int)(p / g.iw % g.ih), b = (int)(p / g.iw / g.ih);
		float v = dy[((long long)(b * g.oh + iy + g.pt) * g.ow + ix + g.pl) * g.y_ld + ch];
		float *o = &dx[p * g.x_ld + ch];
		*o = beta != 0.0f ? beta * *o + v : v;
	}
}

extern "C" void
cu_pad_fwd(struct nn_backend *be, const struct nn_padg *p, const float *x, float *y)
{
	struct cu_state *st = cu_st(be);
	struct pad_geom pg = pad_of(p);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->n <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, (long long)pg.n * pg.oh * pg.ow, p->c, &g, &b);
	k_pad_fwd<<<g, b, 0, st->stream>>>(pg, x, y);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_pad_bwd(struct nn_backend *be, const struct nn_padg *p, const float *dy, float *dx,
           float beta)
{
	struct cu_state *st = cu_st(be);
	dim3 g, b;

	CU_REPLAY_RETURN(st);
	if (p->n <= 0 || p->c <= 0)
		return;
	cu_grid2d(st, (long long)p->n * p->ih * p->iw, p->c, &g, &b);
	k_pad_bwd<<<g, b, 0, st->stream>>>(pad_of(p), dy, dx, beta);
	CUDA_LAUNCHED(st);
}
