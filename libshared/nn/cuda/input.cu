// input.cu — host samples (u8/u16/f32) to float activations.  The raw bytes
// travel (4x fewer than floats for u8): host -> pinned staging (memcpy) ->
// device staging (async copy) -> conversion kernel.  The pinned buffer is
// reused once the event recorded after its last copy has fired.
#include <string.h>

#include "cuda_impl.h"

template <typename T>
__global__ void
k_convert(size_t n, const T *src, float scale, float offset, float *dst)
{
	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
	     i += (size_t)gridDim.x * blockDim.x)
		dst[i] = __fadd_rn(__fmul_rn((float)src[i], scale), offset);   // as ref: v*scale + offset, no FMA
}

// Pinned host buffer of at least size bytes, free to overwrite.
static void *
pinned(struct cu_state *st, size_t size)
{
	CUDA_CHECK(cudaEventSynchronize(st->pin_free));
	if (st->pin_size >= size && st->pin)
		return st->pin;
	if (st->pin)
		CUDA_CHECK(cudaFreeHost(st->pin));
	st->pin = NULL;
	st->pin_size = 0;
	size += size / 4;
	CUDA_CHECK(cudaMallocHost(&st->pin, size));
	st->pin_size = size;
	return st->pin;
}

extern "C" void
cu_input(struct nn_backend *be, enum nn_dtype_in dt, const void *src,
         size_t n, float scale, float offset, float *dst)
{
	struct cu_state *st = cu_st(be);
	size_t es = dt == NN_IN_U8 ? 1 : dt == NN_IN_U16 ? 2 : 4, bytes = n * es;
	void *pin, *dev;
	unsigned g = cu_grid1d(st, n);

	if (!n)
		return;
	pin = pinned(st, bytes);
	dev = cu_scratch(st, CU_STAGE, bytes);
	memcpy(pin, src, bytes);
	CUDA_CHECK(cudaMemcpyAsync(dev, pin, bytes, cudaMemcpyHostToDevice, st->stream));
	CUDA_CHECK(cudaEventRecord(st->pin_free, st->stream));
	if (dt == NN_IN_U8)
		k_convert<<<g, 256, 0, st->stream>>>(n, (const uint8_t *)dev, scale, offset, dst);
	else if (dt == NN_IN_U16)
		k_convert<<<g, 256, 0, st->stream>>>(n, (const uint16_t *)dev, scale, offset, dst);
	else
		k_convert<<<g, 256, 0, st->stream>>>(n, (const float *)dev, scale, offset, dst);
	CUDA_LAUNCHED();
}
