/* handles.c — the CUDA backend's library handles: cuDNN and cuBLAS opened
 * on the backend's stream (with the cuBLAS workspace and, in fp16, the
 * loss-scaling state), and the checks of their calls.  Below the op files
 * (conv.c, dense.c), above util.c; the kernel emulator does not link it
 * (it emulates no cuDNN or cuBLAS).
 */
#include <stdio.h>

#include "cuda_impl.h"

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

int
cu_check_dnn(struct cu_state *st, cudnnStatus_t s, const char *call, const char *file, int line)
{
	if (s == CUDNN_STATUS_SUCCESS || cu_capture_failure(st))
		return 0;
	cu_fail(st, "cuda: %s:%d: %s: %s", file, line, call, cudnnGetErrorString(s));
	return -1;
}

int
cu_check_blas(struct cu_state *st, cublasStatus_t s, const char *call, const char *file, int line)
{
	if (s == CUBLAS_STATUS_SUCCESS || cu_capture_failure(st))
		return 0;
	cu_fail(st, "cuda: %s:%d: %s: %s", file, line, call, cu_blas_string(s));
	return -1;
}

int
cu_open_libs(struct cu_state *st)
{
	size_t ws = (size_t)32 << 20;
	cudnnStatus_t ds;
	cublasStatus_t bs;

	if ((ds = cudnnCreate(&st->dnn)) != CUDNN_STATUS_SUCCESS) {
		cu_fail(st, "cuda: cudnnCreate: %s", cudnnGetErrorString(ds));
		return -1;
	}
	if ((bs = cublasCreate(&st->blas)) != CUBLAS_STATUS_SUCCESS) {
		cu_fail(st, "cuda: cublasCreate: %s", cu_blas_string(bs));
		return -1;
	}
	if (cudaMalloc(&st->blas_ws, ws) != cudaSuccess ||
	    (st->precision == NN_PREC_FP16 && cu_amp_open(st) < 0)) {
		cudaGetLastError();
		cu_fail(st, "cuda: device %d: out of memory", st->device);
		return -1;
	}
	if (CUDNN_CHECK(st, cudnnSetStream(st->dnn, st->stream)) < 0 ||
	    CUBLAS_CHECK(st, cublasSetStream(st->blas, st->stream)) < 0 ||
	    CUBLAS_CHECK(st, cublasSetWorkspace(st->blas, st->blas_ws, ws)) < 0 ||
	    CUBLAS_CHECK(st, cublasSetMathMode(st->blas, st->precision == CU_TF32 ?
	                 CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH)) < 0)
		return -1;
	return 0;
}
