// layout.cu — layout changes around cuDNN convolutions: conv kernels
// between radpipe's HWIO (Keras) and cuDNN's OHWI (KRSC, "NHWC filter"),
// and zero-padded dense copies of strided activations for the shapes that
// cuDNN's symmetric padding cannot express (see conv.c).
#include "cuda_impl.h"

#define FLAT_LOOP(n) \
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)gridDim.x * blockDim.x)

// o[oc][khw][ic] = w[khw][ic][oc]  (khw = kh*kw taps); i walks o.
__global__ void
k_hwio_to_ohwi(size_t n, int khw, int ic, int oc, const float *w, float *o)
{
	FLAT_LOOP(n) {
		size_t i_ = i % ic, t = i / ic % khw, o_ = i / ((size_t)ic * khw);
		o[i] = w[(t * ic + i_) * oc + o_];
	}
}

// w[khw][ic][oc] = o[oc][khw][ic]; i walks w.
__global__ void
k_ohwi_to_hwio(size_t n, int khw, int ic, int oc, const float *o, float *w)
{
	FLAT_LOOP(n) {
		size_t o_ = i % oc, i_ = i / oc % ic, t = i / ((size_t)oc * ic);
		w[i] = o[(o_ * khw + t) * ic + i_];
	}
}

extern "C" void
cu_launch_hwio_to_ohwi(struct cu_state *st, const float *w, float *o, int kh, int kw, int ic, int oc)
{
	size_t n = (size_t)kh * kw * ic * oc;

	k_hwio_to_ohwi<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, kh * kw, ic, oc, w, o);
	CUDA_LAUNCHED();
}

extern "C" void
cu_launch_ohwi_to_hwio(struct cu_state *st, const float *o, float *w, int kh, int kw, int ic, int oc)
{
	size_t n = (size_t)kh * kw * ic * oc;

	k_ohwi_to_hwio<<<cu_grid1d(st, n), 256, 0, st->stream>>>(n, kh * kw, ic, oc, o, w);
	CUDA_LAUNCHED();
}

struct pad_geo {
	int n, h, w, c, ld, ph, pw, pt, pl;
};

// xp (n, ph, pw, c) dense <- x shifted by (pt, pl); one thread per channel.
__global__ void
k_pad(pad_geo g, const float *x, float *xp)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.ph * g.pw;

	if (ch >= g.c)
		return;
	for (long long p = (long long)blockIdx.y * blockDim.y + threadIdx.y; p < m;
	     p += (long long)gridDim.y * blockDim.y) {
		int px = (int)(p % g.pw), py = (int)(p / g.pw % g.ph);
		long long b = p / ((long long)g.pw * g.ph);
		int iy = py - g.pt, ix = px - g.pl;
		float v = 0.0f;
		if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
			v = x[((b * g.h + iy) * g.w + ix) * g.ld + ch];
		xp[p * g.c + ch] = v;
	}
}

// x = beta*x + xp's (pt, pl)-shifted window (zero where xp does not reach).
__global__ void
k_unpad_add(pad_geo g, const float *xp, float *x, float beta)
{
	int ch = blockIdx.x * 32 + threadIdx.x;
	long long m = (long long)g.n * g.h * g.w;

	if (ch >= g.c)
		return;
	for (long long p = (long long)blockIdx.y * blockDim.y + threadIdx.y; p < m;
	     p += (long long)gridDim.y * blockDim.y) {
		int ix = (int)(p % g.w), iy = (int)(p / g.w % g.h);
		long long b = p / ((long long)g.w * g.h);
		int py = iy + g.pt, px = ix + g.pl;
		float v = 0.0f;
		if (py < g.ph && px < g.pw)
			v = xp[((b * g.ph + py) * g.pw + px) * g.c + ch];
		float *o = &x[p * g.ld + ch];
		*o = beta != 0.0f ? beta * *o + v : v;
	}
}

extern "C" void
cu_launch_pad(struct cu_state *st, const float *x, int n, int h, int w, int c, int ld,
              float *xp, int ph, int pw, int pt, int pl)
{
	pad_geo g = { n, h, w, c, ld, ph, pw, pt, pl };
	dim3 gr, bl;

	cu_grid2d(st, (long long)n * ph * pw, c, &gr, &bl);
	k_pad<<<gr, bl, 0, st->stream>>>(g, x, xp);
	CUDA_LAUNCHED();
}

extern "C" void
cu_launch_unpad_add(struct cu_state *st, const float *xp, int ph, int pw, int pt, int pl,
                    float *x, int n, int h, int w, int c, int ld, float beta)
{
	pad_geo g = { n, h, w, c, ld, ph, pw, pt, pl };
	dim3 gr, bl;

	cu_grid2d(st, (long long)n * h * w, c, &gr, &bl);
	k_unpad_add<<<gr, bl, 0, st->stream>>>(g, xp, x, beta);
	CUDA_LAUNCHED();
}
