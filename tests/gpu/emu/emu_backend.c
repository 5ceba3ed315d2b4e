/* emu_backend.c — nn_cuda_open for the kernel emulator
 * (tests/gpu/emu/run.sh): a table of the .cu files' ops over host memory,
 * with the backend's own util.c, graph.c and wcache.c; convolutions and
 * dense (cuDNN, cuBLAS: not emulated) come from the ref backend, run or
 * recorded into a graph like a kernel.  Linked by emu_test (the emulator's
 * own tests and test_nn_cuda.c's) and emu_ops (test_nn_ops.c). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "cuda_impl.h"

static struct nn_backend *G;    /* ref, for conv and dense */

/* util.c (errors, cu_nonnull, cu_scratch, grids) is linked as it is. */
void emu_run(void (*fn)(void *), const void *arg, size_t size);
extern int emu_graph_launches;

static void *
e_alloc(struct nn_backend *be, size_t s)
{
	((struct cu_state *)be->impl)->mem_gen++;
	return calloc(1, s ? s : 64);
}
static void
e_free(struct nn_backend *be, void *p)
{
	((struct cu_state *)be->impl)->mem_gen++;
	cu_wcache_touch(be->impl, p, 0);
	free(p);
}

/* As backend.c's upload and zero: staged in a graph step. */
static void
e_up(struct nn_backend *be, void *d, const void *s, size_t n)
{
	struct cu_state *st = be->impl;
	const void *h;

	cu_wcache_touch(st, d, n);
	h = cu_stage(st, s, n);
	if (st->gmode != CU_REPLAY)
		cudaMemcpyAsync(d, h ? h : s, n, cudaMemcpyHostToDevice, 0);
}
static void e_down(struct nn_backend *be, void *d, const void *s, size_t n) { memcpy(d, s, n); }
static void
e_zero(struct nn_backend *be, void *d, size_t n)
{
	if (((struct cu_state *)be->impl)->gmode != CU_REPLAY)
		cudaMemsetAsync(d, 0, n, 0);
}
static void e_sync(struct nn_backend *be) {}
static void e_close(struct nn_backend *be) {}

static void with_gemms(struct nn_backend *be);

struct nn_backend *
nn_cuda_open(const struct nn_backend_opts *o, char *err, size_t errlen)
{
	struct nn_backend *be = calloc(1, sizeof *be);
	struct cu_state *st = calloc(1, sizeof *st);
	st->sm_count = 2;
	st->precision = o->precision;
	be->impl = st;
	if (st->precision == NN_PREC_FP16)
		cu_amp_open(st);
	be->amp_stats = cu_amp_stats;
	be->nonfinite = cu_nonfinite;
	be->name = "emu";
	be->alloc = e_alloc; be->free = e_free; be->upload = e_up; be->download = e_down;
	be->zero = e_zero; be->sync = e_sync; be->close = e_close;
	be->input = cu_input;
	be->bn_fwd_train = cu_bn_fwd_train; be->bn_fwd_infer = cu_bn_fwd_infer;
	be->bn_bwd = cu_bn_bwd; be->bn_bwd_infer = cu_bn_bwd_infer;
	be->relu_fwd = cu_relu_fwd; be->relu_bwd = cu_relu_bwd; be->add = cu_add;
	be->pool_fwd = cu_pool_fwd; be->pool_bwd = cu_pool_bwd;
	be->gap_fwd = cu_gap_fwd; be->gap_bwd = cu_gap_bwd;
	be->dropout_fwd = cu_dropout_fwd; be->dropout_bwd = cu_dropout_bwd;
	be->bce_logits = cu_bce_logits; be->softmax_ce = cu_softmax_ce;
	be->adam = cu_adam; be->sgd = cu_sgd;
	be->dwconv_fwd = cu_dwconv_fwd; be->dwconv_bwd_data = cu_dwconv_bwd_data;
	be->dwconv_bwd_weights = cu_dwconv_bwd_weights;
	be->pad_fwd = cu_pad_fwd; be->pad_bwd = cu_pad_bwd; be->input_ch = cu_input_ch;
	st->graphs = o->graphs > 0;
	be->step_begin = cu_step_begin; be->step_end = cu_step_end;
	if (!G)
		G = nn_ref_open(o, err, errlen);
	with_gemms(be);
	return be;
}
/* conv and dense from the ref backend, run (or recorded) like a kernel */
struct gemm_call {
	int op;
	struct nn_conv c;
	struct nn_dense d;
	const float *a, *b, *bias;
	float *y, *y2, *y3, beta;
};

static void
gemm_run(void *arg)
{
	struct gemm_call *g = arg;

	switch (g->op) {
	case 0: G->conv_fwd(G, &g->c, g->a, g->b, g->bias, g->y); break;
	case 1: G->conv_bwd_data(G, &g->c, g->a, g->b, g->y, g->beta); break;
	case 2: G->conv_bwd_weights(G, &g->c, g->a, g->b, g->y, g->y2); break;
	case 3: G->dense_fwd(G, &g->d, g->a, g->b, g->bias, g->y); break;
	default: G->dense_bwd(G, &g->d, g->a, g->b, g->bias, g->y, g->y2, g->y3, g->beta);
	}
}

static void
gemm(struct nn_backend *be, struct gemm_call g)
{
	if (((struct cu_state *)be->impl)->gmode != CU_REPLAY)
		emu_run(gemm_run, &g, sizeof g);
}

static void
e_conv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x, const float *w,
           const float *bias, float *y)
{
	gemm(be, (struct gemm_call){ .op = 0, .c = *p, .a = x, .b = w, .bias = bias, .y = y });
}

static void
e_conv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
                const float *w, float *dx, float beta)
{
	gemm(be, (struct gemm_call){ .op = 1, .c = *p, .a = dy, .b = w, .y = dx, .beta = beta });
}

static void
e_conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                   const float *dy, float *dw, float *db)
{
	gemm(be, (struct gemm_call){ .op = 2, .c = *p, .a = x, .b = dy, .y = dw, .y2 = db });
}

static void
e_dense_fwd(struct nn_backend *be, const struct nn_dense *p, const float *x, const float *w,
            const float *b, float *y)
{
	gemm(be, (struct gemm_call){ .op = 3, .d = *p, .a = x, .b = w, .bias = b, .y = y });
}

static void
e_dense_bwd(struct nn_backend *be, const struct nn_dense *p, const float *x, const float *w,
            const float *dy, float *dx, float *dw, float *db, float beta)
{
	gemm(be, (struct gemm_call){ .op = 4, .d = *p, .a = x, .b = w, .bias = dy, .y = dx,
	                             .y2 = dw, .y3 = db, .beta = beta });
}

static void
with_gemms(struct nn_backend *be)
{
	be->conv_fwd = e_conv_fwd; be->conv_bwd_data = e_conv_bwd_data;
	be->conv_bwd_weights = e_conv_bwd_weights;
	be->dense_fwd = e_dense_fwd; be->dense_bwd = e_dense_bwd;
}

