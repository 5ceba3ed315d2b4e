// input.cu — host samples (u8/u16/f32) to float activations.  The raw bytes
// travel (4x fewer than floats for u8): host -> pinned staging (memcpy) ->
// device staging (async copy) -> conversion kernel.  The pinned buffer is
// reused once the event recorded after its last copy has fired.  In a
// graph step the bytes go through the graph's pinned staging instead
// (graph.c), and the scale and offset through a scalar slot.  cu_input_ch:
// the same with a per-channel map (order, scale, offset).
#include <string.h>

#include "cuda_impl.h"

struct in_hp {
	float scale, offset;
};

template <typename T>
__global__ void
k_convert(size_t n, const T *src, struct in_hp hp, const struct in_hp *dhp, float *dst)
{
	if (dhp)
		hp = *dhp;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x)
		dst[i] = __fadd_rn(__fmul_rn((float)src[i], hp.scale), hp.offset);     // as ref: no FMA
}

// Pinned host buffer of at least size bytes, free to overwrite.
static void *
pinned(struct cu_state *st, size_t size)
{
	CUDA_CHECK(st, cudaEventSynchronize(st->pin_free));
	if (st->pin_size >= size && st->pin)
		return st->pin;
	if (st->pin)
		CUDA_CHECK(st, cudaFreeHost(st->pin));
	st->pin = NULL;
	st->pin_size = 0;
	size += size / 4;
	CUDA_CHECK(st, cudaMallocHost(&st->pin, size));
	st->pin_size = size;
	return st->pin;
}

// The device copy of n raw elements: through pin (eager) or through the
// graph's staging (capture, replay); NULL in replay.
static const void *
stage_in(struct cu_state *st, const void *src, size_t bytes)
{
	const void *h = cu_stage(st, src, bytes);
	void *dev;

	if (st->gmode == CU_REPLAY)
		return NULL;
	dev = cu_scratch(st, CU_STAGE, bytes);
	if (!h) {
		h = pinned(st, bytes);
		memcpy((void *)h, src, bytes);
	}
	CUDA_CHECK(st, cudaMemcpyAsync(dev, h, bytes, cudaMemcpyHostToDevice, st->stream));
	if (st->gmode == CU_EAGER)
		CUDA_CHECK(st, cudaEventRecord(st->pin_free, st->stream));
	return dev;
}

extern "C" void
cu_input(struct nn_backend *be, enum nn_dtype_in dt, const void *src,
         size_t n, float scale, float offset, float *dst)
{
	struct cu_state *st = cu_st(be);
	size_t es = dt == NN_IN_U8 ? 1 : dt == NN_IN_U16 ? 2 : 4;
	struct in_hp hp = { scale, offset };
	const struct in_hp *dhp;
	const void *dev;
	unsigned g = cu_grid1d(st, n);

	if (!n)
		return;
	dev = stage_in(st, src, n * es);
	dhp = (const struct in_hp *)cu_slot(st, &hp, sizeof hp);
	CU_REPLAY_RETURN(st);
	if (dt == NN_IN_U8)
		k_convert<<<g, 256, 0, st->stream>>>(n, (const uint8_t *)dev, hp, dhp, dst);
	else if (dt == NN_IN_U16)
		k_convert<<<g, 256, 0, st->stream>>>(n, (const uint16_t *)dev, hp, dhp, dst);
	else
		k_convert<<<g, 256, 0, st->stream>>>(n, (const float *)dev, hp, dhp, dst);
	CUDA_LAUNCHED(st);
}

// Per-channel input (caffe/torch preprocessing): dst[q*c + ch] =
// src[q*c + order[ch]]*scale[ch] + offset[ch]; the map travels by value and
// through a scalar slot, as cu_input's scale and offset do.
struct in_ch {
	int c, order[4];
	float scale[4], offset[4];
};

template <typename T>
__global__ void
k_convert_ch(size_t n, const T *src, struct in_ch hp, const struct in_ch *dhp, float *dst)
{
	if (dhp)
		hp = *dhp;
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x) {
		int ch = (int)(i % hp.c);
		float v = (float)src[i - ch + hp.order[ch]];
		dst[i] = __fadd_rn(__fmul_rn(v, hp.scale[ch]), hp.offset[ch]);  // as ref: no FMA
	}
}

extern "C" void
cu_input_ch(struct nn_backend *be, enum nn_dtype_in dt, const void *src, size_t npix,
            int c, const int *order, const float *scale, const float *offset, float *dst)
{
	struct cu_state *st = cu_st(be);
	size_t es = dt == NN_IN_U8 ? 1 : dt == NN_IN_U16 ? 2 : 4, n = npix * (size_t)c;
	struct in_ch hp;
	const struct in_ch *dhp;
	const void *dev;
	unsigned g = cu_grid1d(st, n);

	if (!n)
		return;
	if (c < 1 || c > 4) {
		cu_fail(st, "cuda: input_ch: %d channels (1 to 4)", c);
		return;
	}
	memset(&hp, 0, sizeof hp);
	hp.c = c;
	for (int k = 0; k < c; k++) {
		hp.order[k] = order ? order[k] : k;
		hp.scale[k] = scale[k];
		hp.offset[k] = offset[k];
	}
	dev = stage_in(st, src, n * es);
	dhp = (const struct in_ch *)cu_slot(st, &hp, sizeof hp);
	CU_REPLAY_RETURN(st);
	if (dt == NN_IN_U8)
		k_convert_ch<<<g, 256, 0, st->stream>>>(n, (const uint8_t *)dev, hp, dhp, dst);
	else if (dt == NN_IN_U16)
		k_convert_ch<<<g, 256, 0, st->stream>>>(n, (const uint16_t *)dev, hp, dhp, dst);
	else
		k_convert_ch<<<g, 256, 0, st->stream>>>(n, (const float *)dev, hp, dhp, dst);
	CUDA_LAUNCHED(st);
}
