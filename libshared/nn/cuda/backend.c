/* backend.c — the "cuda" backend's top: its entry point, opening the
 * device, the memory ops and the ops table.  Nothing calls back into it:
 * the op files (conv.c, dense.c, *.cu) sit below it, the step hooks
 * (graph.c) and weight cache (wcache.c) below them, and the library
 * handles (handles.c) and device-free helpers (util.c) at the bottom.
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

/* --- memory --- */

static void *
cu_alloc(struct nn_backend *be, size_t size)
{
	void *p = NULL;

	if (cu_no_graph(cu_st(be), "alloc") < 0)
		return NULL;
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
	if (cu_no_graph(st, "free") < 0)
		return;
	st->mem_gen++;
	cu_wcache_touch(st, p, 0);
	CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
	CUDA_CHECK(st, cudaFree(p));
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
	CUDA_CHECK(st, cudaMemcpyAsync(dst, h ? h : src, size, cudaMemcpyHostToDevice, st->stream));
}

static void
cu_download(struct nn_backend *be, void *dst, const void *src, size_t size)
{
	struct cu_state *st = cu_st(be);

	if (cu_no_graph(st, "download") < 0)
		return;
	if (size)
		CUDA_CHECK(st, cudaMemcpyAsync(dst, src, size, cudaMemcpyDeviceToHost, st->stream));
	CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
}

static void
cu_zero(struct nn_backend *be, void *p, size_t size)
{
	struct cu_state *st = cu_st(be);

	CU_REPLAY_RETURN(st);
	cu_wcache_touch(st, p, size);
	if (size)
		CUDA_CHECK(st, cudaMemsetAsync(p, 0, size, st->stream));
}

static void
cu_sync(struct nn_backend *be)
{
	struct cu_state *st = cu_st(be);

	if (cu_no_graph(st, "sync") < 0)
		return;
	CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
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
		cu_nccl_free(st);
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
	if (cu_open_libs(st) < 0) {
		fail(err, errlen, "%s", st->err);
		return -1;
	}
	return 0;
}

static const char *
cu_error(struct nn_backend *be)
{
	struct cu_state *st = cu_st(be);

	return st->err[0] ? st->err : NULL;
}

/* The ops table (the pattern of backend.h: one designated initializer). */
static const struct nn_backend cu_table = {
	.name = "cuda",
	.alloc = cu_alloc, .free = cu_free, .upload = cu_upload,
	.download = cu_download, .zero = cu_zero, .sync = cu_sync,
	.close = cu_close, .error = cu_error,
	.input = cu_input,
	.conv_fwd = cu_conv_fwd, .conv_bwd_data = cu_conv_bwd_data,
	.conv_bwd_weights = cu_conv_bwd_weights,
	.bn_fwd_train = cu_bn_fwd_train, .bn_fwd_infer = cu_bn_fwd_infer,
	.bn_bwd = cu_bn_bwd, .bn_bwd_infer = cu_bn_bwd_infer,
	.relu_fwd = cu_relu_fwd, .relu_bwd = cu_relu_bwd, .add = cu_add,
	.pool_fwd = cu_pool_fwd, .pool_bwd = cu_pool_bwd,
	.gap_fwd = cu_gap_fwd, .gap_bwd = cu_gap_bwd,
	.dense_fwd = cu_dense_fwd, .dense_bwd = cu_dense_bwd,
	.dropout_fwd = cu_dropout_fwd, .dropout_bwd = cu_dropout_bwd,
	.bce_logits = cu_bce_logits, .softmax_ce = cu_softmax_ce,
	.adam = cu_adam, .sgd = cu_sgd,
	.dwconv_fwd = cu_dwconv_fwd, .dwconv_bwd_data = cu_dwconv_bwd_data,
	.dwconv_bwd_weights = cu_dwconv_bwd_weights, .pad_fwd = cu_pad_fwd,
	.pad_bwd = cu_pad_bwd, .input_ch = cu_input_ch,
	.step_begin = cu_step_begin, .step_end = cu_step_end,
	.nonfinite = cu_nonfinite, .amp_stats = cu_amp_stats,
	.comm_id = cu_comm_id, .comm_init = cu_comm_init, .allreduce = cu_allreduce,
};

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
	*be = cu_table;
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
	return be;
}
