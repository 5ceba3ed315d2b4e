/* backend.c — the "cuda" backend's entry point, state, memory and table.
 *
 * Loaded by cuda_loader.c through radpipe_cuda_entry, the only exported
 * symbol of libradpipe_cuda.so.  Options read here (environment, for the
 * benchmark and experiments; struct nn_backend_opts wins where it says):
 *   RADPIPE_CUDA_PRECISION=fp32|tf32|bf16|fp16   conv and dense math, when
 *                                      opts->precision is fp32 (mixed = tf32)
 *   RADPIPE_CUDA_GRAPHS=0|1            step hooks capture CUDA graphs (default
 *                                      1), when opts->graphs is 0
 *   RADPIPE_CUDNN_FIND=1               time every conv algorithm once per shape
 *   RADPIPE_CUDNN_WORKSPACE_MB=N       cap on a conv algorithm's workspace
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_impl.h"

#define EXPORT __attribute__((visibility("default")))

int cu_capturing, cu_capture_failed;

/* While capturing, a failure is recorded and the step later runs eagerly. */
static int
capture_failure(void)
{
	if (!cu_capturing)
		return 0;
	cu_capture_failed = 1;
	return 1;
}

void *
cu_nonnull(void *p)
{
	if (p == NULL) {
		fprintf(stderr, "radpipe: cuda: out of memory\n");
		exit(1);
	}
	return p;
}

void
cu_check_rt(cudaError_t e, const char *call, const char *file, int line)
{
	if (e == cudaSuccess || capture_failure())
		return;
	fprintf(stderr, "radpipe: cuda: %s:%d: %s: %s\n", file, line, call, cudaGetErrorString(e));
	exit(1);
}

void
cu_check_dnn(cudnnStatus_t s, const char *call, const char *file, int line)
{
	if (s == CUDNN_STATUS_SUCCESS || capture_failure())
		return;
	fprintf(stderr, "radpipe: cuda: %s:%d: %s: %s\n", file, line, call, cudnnGetErrorString(s));
	exit(1);
}

const char *
cu_blas_string(cublasStatus_t s)
{
	switch (s) {
	case CUBLAS_STATUS_SUCCESS: return "success";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
	case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed";
	case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
	case CUBLAS_STATUS_ARCH_MISMATCH: return "architecture mismatch";
	case CUBLAS_STATUS_MAPPING_ERROR: return "mapping error";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
	case CUBLAS_STATUS_INTERNAL_ERROR: return "internal error";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
	default: return "unknown cuBLAS status";
	}
}

void
cu_check_blas(cublasStatus_t s, const char *call, const char *file, int line)
{
	if (s == CUBLAS_STATUS_SUCCESS || capture_failure())
		return;
	fprintf(stderr, "radpipe: cuda: %s:%d: %s: %s\n", file, line, call, cu_blas_string(s));
	exit(1);
}

void *
cu_scratch(struct cu_state *st, enum cu_slot slot, size_t size)
{
	if (size <= st->slot_size[slot] && st->slot[slot])
		return st->slot[slot];
	if (st->gmode == CU_CAPTURE) {  /* no allocation while capturing: the warm-up grows */
		cu_capture_failed = 1;
		return st->slot[slot];
	}
	st->mem_gen++;
	size = size < 256 ? 256 : size + size / 4;      /* grow with headroom */
	if (st->slot[slot]) {
		CUDA_CHECK(cudaStreamSynchronize(st->stream));  /* old buffer may be in use */
		CUDA_CHECK(cudaFree(st->slot[slot]));
	}
	st->slot[slot] = NULL;
	st->slot_size[slot] = 0;
	CUDA_CHECK(cudaMalloc(&st->slot[slot], size));
	st->slot_size[slot] = size;
	return st->slot[slot];
}

/* --- memory --- */

static void *
cu_alloc(struct nn_backend *be, size_t size)
{
	void *p = NULL;

	cu_no_graph(cu_st(be), "alloc");
	cu_st(be)->mem_gen++;
	if (cudaMalloc(&p, size ? size : 64) != cudaSuccess) {
		cudaGetLastError();     /* allocation failures are not sticky */
		return NULL;
	}
	return p;
}

static void
cu_free(struct nn_backend *be, void *p)
{
	struct cu_state *st = cu_st(be);

	if (!p)
		return;
	cu_no_graph(st, "free");
	st->mem_gen++;
	cu_wcache_touch(st, p, 0);
	CUDA_CHECK(cudaStreamSynchronize(st->stream));
	CUDA_CHECK(cudaFree(p));
}

/* From pageable memory cudaMemcpyAsync returns once src has been staged,
 * so the caller may reuse src at once.  In a graph step the bytes go
 * through pinned staging (graph.c). */
static void
cu_upload(struct nn_backend *be, void *dst, const void *src, size_t size)
{
	struct cu_state *st = cu_st(be);
	const void *h;

	if (!size)
		return;
	cu_wcache_touch(st, dst, size);
	h = cu_stage(st, src, size);
	if (st->gmode == CU_REPLAY)
		return;
	CUDA_CHECK(cudaMemcpyAsync(dst, h ? h : src, size, cudaMemcpyHostToDevice, st->stream));
}

static void
cu_download(struct nn_backend *be, void *dst, const void *src, size_t size)
{
	struct cu_state *st = cu_st(be);

	cu_no_graph(st, "download");
	if (size)
		CUDA_CHECK(cudaMemcpyAsync(dst, src, size, cudaMemcpyDeviceToHost, st->stream));
	CUDA_CHECK(cudaStreamSynchronize(st->stream));
}

static void
cu_zero(struct nn_backend *be, void *p, size_t size)
{
	struct cu_state *st = cu_st(be);

	CU_REPLAY_RETURN(st);
	cu_wcache_touch(st, p, size);
	if (size)
		CUDA_CHECK(cudaMemsetAsync(p, 0, size, st->stream));
}

static void
cu_sync(struct nn_backend *be)
{
	cu_no_graph(cu_st(be), "sync");
	CUDA_CHECK(cudaStreamSynchronize(cu_st(be)->stream));
}

static void
cu_close(struct nn_backend *be)
{
	struct cu_state *st;

	if (!be)
		return;
	st = cu_st(be);
	if (st) {
		if (st->stream)
			cudaStreamSynchronize(st->stream);
		cu_graph_free(st);
		cu_wcache_free(st);
		cudaFree(st->amp);
		cudaFree(st->nf_flag);
		cudaFree(st->blas_ws);
		if (st->step_done)
			cudaEventDestroy(st->step_done);
		cu_conv_free_plans(st);
		for (int i = 0; i < CU_NSLOT; i++)
			cudaFree(st->slot[i]);
		if (st->pin)
			cudaFreeHost(st->pin);
		if (st->pin_free)
			cudaEventDestroy(st->pin_free);
		if (st->blas)
			cublasDestroy(st->blas);
		if (st->dnn)
			cudnnDestroy(st->dnn);
		if (st->stream)
			cudaStreamDestroy(st->stream);
		free(st);
	}
	free(be);
}

/* --- opening --- */

static void
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
read_env(struct cu_state *st, const struct nn_backend_opts *o)
{
	const char *s;

	st->deterministic = o ? o->deterministic : 0;
	st->precision = o ? o->precision : 0;
	s = getenv("RADPIPE_CUDA_PRECISION");
	if (st->precision == NN_PREC_FP32 && s && !strcmp(s, "mixed"))
		st->precision = NN_PREC_TF32;
	else if (st->precision == NN_PREC_FP32 && s)
		st->precision = !strcmp(s, "tf32") ? NN_PREC_TF32 : !strcmp(s, "bf16") ? NN_PREC_BF16 :
		                !strcmp(s, "fp16") ? NN_PREC_FP16 : NN_PREC_FP32;
	s = getenv("RADPIPE_CUDA_GRAPHS");
	st->graphs = o && o->graphs ? o->graphs > 0 : !(s && *s == '0');
	s = getenv("RADPIPE_CUDNN_FIND");
	st->find = s && *s == '1';
	st->ws_limit = (size_t)1 << 30;
	s = getenv("RADPIPE_CUDNN_WORKSPACE_MB");
	if (s && atol(s) > 0)
		st->ws_limit = (size_t)atol(s) << 20;
}

/* cuDNN and cuBLAS handles on the stream, the cuBLAS workspace (so that
 * a captured GEMM allocates nothing) and the loss-scaling state; returns
 * 0, or -1 with err set. */
static int
open_libs(struct cu_state *st, char *err, size_t errlen)
{
	size_t ws = (size_t)32 << 20;
	cudnnStatus_t ds;
	cublasStatus_t bs;

	if ((ds = cudnnCreate(&st->dnn)) != CUDNN_STATUS_SUCCESS) {
		fail(err, errlen, "cuda: cudnnCreate: %s", cudnnGetErrorString(ds));
		return -1;
	}
	if ((bs = cublasCreate(&st->blas)) != CUBLAS_STATUS_SUCCESS) {
		fail(err, errlen, "cuda: cublasCreate: %s", cu_blas_string(bs));
		return -1;
	}
	if (cudaMalloc(&st->blas_ws, ws) != cudaSuccess ||
	    (st->precision == NN_PREC_FP16 && cu_amp_open(st) < 0)) {
		cudaGetLastError();
		fail(err, errlen, "cuda: device %d: out of memory", st->device);
		return -1;
	}
	CUDNN_CHECK(cudnnSetStream(st->dnn, st->stream));
	CUBLAS_CHECK(cublasSetStream(st->blas, st->stream));
	CUBLAS_CHECK(cublasSetWorkspace(st->blas, st->blas_ws, ws));
	CUBLAS_CHECK(cublasSetMathMode(st->blas, st->precision == CU_TF32 ?
	                               CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
	return 0;
}

/* Device selection and library handles; returns 0, or -1 with err set. */
static int
open_device(struct cu_state *st, char *err, size_t errlen)
{
	int count = 0;
	cudaError_t e = cudaGetDeviceCount(&count);

	if (e != cudaSuccess) {
		fail(err, errlen, "cuda: no CUDA device found (cudaGetDeviceCount: %s)", cudaGetErrorString(e));
		return -1;
	}
	if (count == 0 || st->device < 0 || st->device >= count) {
		fail(err, errlen, "cuda: no CUDA device %d (%d found)", st->device, count);
		return -1;
	}
	if ((e = cudaSetDevice(st->device)) != cudaSuccess ||
	    (e = cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking)) != cudaSuccess ||
	    (e = cudaEventCreateWithFlags(&st->pin_free, cudaEventDisableTiming)) != cudaSuccess ||
	    (e = cudaEventCreateWithFlags(&st->step_done, cudaEventDisableTiming)) != cudaSuccess ||
	    (e = cudaDeviceGetAttribute(&st->sm_count, cudaDevAttrMultiProcessorCount, st->device)) != cudaSuccess) {
		fail(err, errlen, "cuda: device %d: %s", st->device, cudaGetErrorString(e));
		return -1;
	}
	if (cudnnGetVersion() / 10000 != CUDNN_MAJOR) {
		fail(err, errlen, "cuda: cuDNN %zu found, built against %d.x", cudnnGetVersion(), CUDNN_MAJOR);
		return -1;
	}
	return open_libs(st, err, errlen);
}

static void
fill_table(struct nn_backend *be)
{
	be->name = "cuda";
	be->alloc = cu_alloc; be->free = cu_free;
	be->upload = cu_upload; be->download = cu_download;
	be->zero = cu_zero; be->sync = cu_sync; be->close = cu_close;
	be->input = cu_input;
	be->conv_fwd = cu_conv_fwd;
	be->conv_bwd_data = cu_conv_bwd_data;
	be->conv_bwd_weights = cu_conv_bwd_weights;
	be->bn_fwd_train = cu_bn_fwd_train; be->bn_fwd_infer = cu_bn_fwd_infer;
	be->bn_bwd = cu_bn_bwd; be->bn_bwd_infer = cu_bn_bwd_infer;
	be->relu_fwd = cu_relu_fwd; be->relu_bwd = cu_relu_bwd; be->add = cu_add;
	be->pool_fwd = cu_pool_fwd; be->pool_bwd = cu_pool_bwd;
	be->gap_fwd = cu_gap_fwd; be->gap_bwd = cu_gap_bwd;
	be->dense_fwd = cu_dense_fwd; be->dense_bwd = cu_dense_bwd;
	be->dropout_fwd = cu_dropout_fwd; be->dropout_bwd = cu_dropout_bwd;
	be->bce_logits = cu_bce_logits; be->softmax_ce = cu_softmax_ce;
	be->adam = cu_adam; be->sgd = cu_sgd;
	be->step_begin = cu_step_begin; be->step_end = cu_step_end;
	be->amp_stats = cu_amp_stats;
	be->nonfinite = cu_nonfinite;
}

/* The shared object's entry point: checks that the loader and this object
 * agree on the ABI, then opens device o->device.  Returns NULL with a
 * one-line reason in err when that cannot be done. */
EXPORT struct nn_backend *
radpipe_cuda_entry(int abi, size_t table_size, size_t opts_size,
                   const struct nn_backend_opts *o, char *err, size_t errlen)
{
	struct nn_backend *be;
	struct cu_state *st;

	if (abi != RADPIPE_CUDA_ABI || table_size != sizeof(struct nn_backend) ||
	    opts_size != sizeof(struct nn_backend_opts)) {
		fail(err, errlen, "cuda: libradpipe_cuda.so does not match this radpipe (rebuild it)");
		return NULL;
	}
	be = calloc(1, sizeof *be);
	st = calloc(1, sizeof *st);
	if (!be || !st) {
		free(be);
		free(st);
		fail(err, errlen, "cuda: out of memory");
		return NULL;
	}
	be->impl = st;
	st->device = o ? o->device : 0;
	read_env(st, o);
	if (st->precision < NN_PREC_FP32 || st->precision > NN_PREC_FP16) {
		fail(err, errlen, "cuda: unknown precision %d", st->precision);
		cu_close(be);
		return NULL;
	}
	if (open_device(st, err, errlen) < 0) {
		cu_close(be);
		return NULL;
	}
	fill_table(be);
	return be;
}
