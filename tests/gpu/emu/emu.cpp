// emu.cpp — the emulator: launches (a block at a time, a std::thread per
// CUDA thread) and the few CUDA runtime calls the .cu files and graph.c
// make, on host memory.  Stream capture records launches, copies, memsets
// and emu_run calls as closures; a graph launch runs them in order.
#include "emu.h"
#include <cstdlib>
#include <cstdio>
#include <memory>
thread_local uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
static std::barrier<> *bar;
void __syncthreads() { bar->arrive_and_wait(); }
typedef std::vector<std::function<void()>> ops;
static ops *rec;                // the capture in progress
int emu_graph_launches;

static void launch_now(dim3 g, dim3 b, std::function<void()> f);
void emu_launch(dim3 g, dim3 b, std::function<void()> f)
{
	if (rec)
		rec->push_back([=] { launch_now(g, b, f); });
	else
		launch_now(g, b, f);
}
static void run_or_record(std::function<void()> f)
{
	if (rec)
		rec->push_back(f);
	else
		f();
}
static void launch_now(dim3 g, dim3 b, std::function<void()> f)
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
cudaError_t cudaMemsetAsync(void *p, int v, size_t s, cudaStream_t st) { run_or_record([=] { memset(p, v, s); }); return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st) { run_or_record([=] { memcpy(d, s, n); }); return cudaSuccess; }
cudaError_t cudaStreamBeginCapture(cudaStream_t s, enum cudaStreamCaptureMode m) { rec = new ops; return cudaSuccess; }
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) { *g = (cudaGraph_t)rec; rec = NULL; return cudaSuccess; }
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long f) { *e = (cudaGraphExec_t)new ops(*(ops *)g); return cudaSuccess; }
cudaError_t cudaGraphDestroy(cudaGraph_t g) { delete (ops *)g; return cudaSuccess; }
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) { delete (ops *)e; return cudaSuccess; }
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) { emu_graph_launches++; for (auto &f : *(ops *)e) f(); return cudaSuccess; }
// fn(copy of arg), now or when the graph runs (host ops standing in for cuDNN/cuBLAS).
void emu_run(void (*fn)(void *), const void *arg, size_t size)
{
	auto a = std::make_shared<std::vector<char>>((const char *)arg, (const char *)arg + size);
	run_or_record([=] { fn(a->data()); });
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) { return cudaSuccess; }
}
