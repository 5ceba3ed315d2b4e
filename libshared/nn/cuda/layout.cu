// layout.cu — layout and type changes around cuDNN and cuBLAS: conv
// kernels between radpipe's HWIO (Keras) and cuDNN's OHWI (KRSC, "NHWC
// filter"), zero-padded dense copies of strided activations for the shapes
// that cuDNN's symmetric padding cannot express (see conv.c), and the same
// copies in bf16/fp16 for the mixed-precision GEMMs (rounded to nearest
// even; back to fp32 exactly).
#include "cuda_impl.h"
#include <cuda_fp16.h>
#include <cuda_bf16.h>

template <typename T> __device__ static inline T to_t(float v);
template <> __device__ inline float to_t<float>(float v) { return v; }
template <> __device__ inline __half to_t<__half>(float v) { return __float2half_rn(v); }
template <> __device__ inline __nv_bfloat16
to_t<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
__device__ static inline float to_f(float v) { return v; }
__device__ static inline float to_f(__half v) { return __half2float(v); }
__device__ static inline float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

#define FLAT_LOOP(n) \
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
	     i += (size_t)gridDim.x * blockDim.x)

// o[oc][khw][ic] = w[khw][ic][oc]  (khw = kh*kw taps); i walks o.
template <typename T>
__global__ void
k_hwio_to_ohwi(size_t n, int khw, int ic, int oc, const float *w, T *o)
{
	FLAT_LOOP(n) {
		size_t i_ = i % ic, t = i / ic % khw, o_ = i / ((size_t)ic * khw);
		o[i] = to_t<T>(w[(t * ic + i_) * oc + o_]);
	}
}

// w[khw][ic][oc] = o[oc][khw][ic]; i walks w.
template <typename T>
__global__ void
k_ohwi_to_hwio(size_t n, int khw, int ic, int oc, const T *o, float *w)
{
	FLAT_LOOP(n) {
		size_t o_ = i % oc, i_ = i / oc % ic, t = i / ((size_t)oc * ic);
		w[i] = to_f(o[(o_ * khw + t) * ic + i_]);
	}
}

// o[i] = w[i] in type T.
template <typename T>
__global__ void
k_cast(size_t n, const float *w, T *o)
{
	FLAT_LOOP(n)
		o[i] = to_t<T>(w[i]);
}

extern "C" void
cu_launch_hwio_to_ohwi(struct cu_state *st, const float *w, float *o, int kh, int kw, int ic, int oc)
{
	cu_launch_convert_w(st, CU_F32, w, o, kh, kw, ic, oc, 1);
}

extern "C" void
cu_launch_convert_w(struct cu_state *st, int dt, const float *w, void *o,
                    int kh, int kw, int ic, int oc, int ohwi)
{
	size_t n = (size_t)kh * kw * ic * oc;
	unsigned g = cu_grid1d(st, n);

	if (ohwi && dt == CU_F32)
		k_hwio_to_ohwi<float><<<g, 256, 0, st->stream>>>(n, kh * kw, ic, oc, w, (float *)o);
	else if (ohwi && dt == CU_F16)
		k_hwio_to_ohwi<__half><<<g, 256, 0, st->stream>>>(n, kh * kw, ic, oc, w, (__half *)o);
	else if (ohwi)
		k_hwio_to_ohwi<__nv_bfloat16><<<g, 256, 0, st->stream>>>(n, kh * kw, ic, oc, w, (__nv_bfloat16 *)o);
	else if (dt == CU_F32)
		k_cast<float><<<g, 256, 0, st->stream>>>(n, w, (float *)o);
	else if (dt == CU_F16)
		k_cast<__half><<<g, 256, 0, st->stream>>>(n, w, (__half *)o);
	else
		k_cast<__nv_bfloat16><<<g, 256, 0, st->stream>>>(n, w, (__nv_bfloat16 *)o);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_launch_ohwi_to_hwio(struct cu_state *st, const float *o, float *w, int kh, int kw, int ic, int oc)
{
	cu_launch_ohwi_to_hwio_t(st, CU_F32, o, w, kh, kw, ic, oc);
}

extern "C" void
cu_launch_ohwi_to_hwio_t(struct cu_state *st, int dt, const void *o, float *w,
                         int kh, int kw, int ic, int oc)
{
	size_t n = (size_t)kh * kw * ic * oc;
	unsigned g = cu_grid1d(st, n);

	if (dt == CU_F32)
		k_ohwi_to_hwio<float><<<g, 256, 0, st->stream>>>(n, kh * kw, ic, oc, (const float *)o, w);
	else if (dt == CU_F16)
		k_ohwi_to_hwio<__half><<<g, 256, 0, st->stream>>>(n, kh * kw, ic, oc, (const __half *)o, w);
	else
		k_ohwi_to_hwio<__nv_bfloat16><<<g, 256, 0, st->stream>>>(n, kh * kw, ic, oc,
		                                                          (const __nv_bfloat16 *)o, w);
	CUDA_LAUNCHED(st);
}

struct pad_geo {
	int n, h, w, c, ld, ph, pw, pt, pl;
};

// xp (n, ph, pw, c) dense <- x shifted by (pt, pl); one thread per channel.
template <typename T>
__global__ void
k_pad(pad_geo g, const float *x, T *xp)
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
		xp[p * g.c + ch] = to_t<T>(v);
	}
}

// x = beta*x + xp's (pt, pl)-shifted window (zero where xp does not reach).
template <typename T>
__global__ void
k_unpad_add(pad_geo g, const T *xp, float *x, float beta)
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
			v = to_f(xp[((b * g.ph + py) * g.pw + px) * g.c + ch]);
		float *o = &x[p * g.ld + ch];
		*o = beta != 0.0f ? beta * *o + v : v;
	}
}

extern "C" void
cu_launch_pad(struct cu_state *st, const float *x, int n, int h, int w, int c, int ld,
              float *xp, int ph, int pw, int pt, int pl)
{
	cu_launch_pack(st, CU_F32, x, n, h, w, c, ld, xp, ph, pw, pt, pl);
}

extern "C" void
cu_launch_pack(struct cu_state *st, int dt, const float *x, int n, int h, int w, int c,
               int ld, void *xp, int ph, int pw, int pt, int pl)
{
	pad_geo g = { n, h, w, c, ld, ph, pw, pt, pl };
	dim3 gr, bl;

	cu_grid2d(st, (long long)n * ph * pw, c, &gr, &bl);
	if (dt == CU_F32)
		k_pad<float><<<gr, bl, 0, st->stream>>>(g, x, (float *)xp);
	else if (dt == CU_F16)
		k_pad<__half><<<gr, bl, 0, st->stream>>>(g, x, (__half *)xp);
	else
		k_pad<__nv_bfloat16><<<gr, bl, 0, st->stream>>>(g, x, (__nv_bfloat16 *)xp);
	CUDA_LAUNCHED(st);
}

extern "C" void
cu_launch_unpad_add(struct cu_state *st, const float *xp, int ph, int pw, int pt, int pl,
                    float *x, int n, int h, int w, int c, int ld, float beta)
{
	cu_launch_unpack(st, CU_F32, xp, ph, pw, pt, pl, x, n, h, w, c, ld, beta);
}

extern "C" void
cu_launch_unpack(struct cu_state *st, int dt, const void *xp, int ph, int pw, int pt,
                 int pl, float *x, int n, int h, int w, int c, int ld, float beta)
{
	pad_geo g = { n, h, w, c, ld, ph, pw, pt, pl };
	dim3 gr, bl;

	cu_grid2d(st, (long long)n * h * w, c, &gr, &bl);
	if (dt == CU_F32)
		k_unpad_add<float><<<gr, bl, 0, st->stream>>>(g, (const float *)xp, x, beta);
	else if (dt == CU_F16)
		k_unpad_add<__half><<<gr, bl, 0, st->stream>>>(g, (const __half *)xp, x, beta);
	else
		k_unpad_add<__nv_bfloat16><<<gr, bl, 0, st->stream>>>(g, (const __nv_bfloat16 *)xp, x, beta);
	CUDA_LAUNCHED(st);
}
