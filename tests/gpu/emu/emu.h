// emu.h — host emulation of the CUDA subset the cuda backend's kernels use
// (tests/gpu/emu/run.sh): thread/block indices, __syncthreads, launches.
#include <cuda_runtime.h>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <thread>
#include <barrier>
#include <vector>
#include <functional>
#include <tuple>
#include <cmath>
#include <cstring>
#include <cstdint>
#undef __global__
#undef __device__
#undef __shared__
#define __global__ static
#define __device__
#define __shared__ static
extern thread_local uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;
void __syncthreads();
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
void emu_launch(dim3 g, dim3 b, std::function<void()> f);
