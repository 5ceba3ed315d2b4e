// emu.cpp — the emulator: launches (a block at a time, a std::thread per
// CUDA thread) and the few CUDA runtime calls the .cu files make, on host memory.
#include "emu.h"
#include <cstdlib>
#include <cstdio>
thread_local uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
static std::barrier<> *bar;
void __syncthreads() { bar->arrive_and_wait(); }
void emu_launch(dim3 g, dim3 b, std::function<void()> f)
{
	gridDim = g; blockDim = b;
	int nt = b.x * b.y * b.z;
	for (unsigned by = 0; by < g.y; by++)
	for (unsigned bx = 0; bx < g.x; bx++) {
		std::barrier<> br(nt);
		bar = &br;
		std::vector<std::thread> ts;
		for (unsigned ty = 0; ty < b.y; ty++)
		for (unsigned tx = 0; tx < b.x; tx++)
			ts.emplace_back([=, &f] { threadIdx = make_uint3(tx, ty, 0); blockIdx = make_uint3(bx, by, 0); f(); });
		for (auto &t : ts) t.join();
	}
}
extern "C" {
cudaError_t cudaGetLastError(void) { return cudaSuccess; }
const char *cudaGetErrorString(cudaError_t e) { return "emu"; }
cudaError_t cudaMalloc(void **p, size_t s) { *p = calloc(1, s); return cudaSuccess; }
cudaError_t cudaFree(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMallocHost(void **p, size_t s) { *p = malloc(s); return cudaSuccess; }
cudaError_t cudaFreeHost(void *p) { free(p); return cudaSuccess; }
cudaError_t cudaMemsetAsync(void *p, int v, size_t s, cudaStream_t st) { memset(p, v, s); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st) { memcpy(d, s, n); return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) { return cudaSuccess; }
}
