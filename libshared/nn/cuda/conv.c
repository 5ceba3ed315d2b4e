/* conv.c — convolutions on cuDNN (forward, backward data, backward filter).
 *
 * A plan is cached per shape (struct nn_conv, strides included): tensor,
 * filter and convolution descriptors, and one algorithm per direction,
 * chosen the first time that direction runs, by cuDNN's heuristics
 * (cudnnGet*Algorithm_v7) or, with RADPIPE_CUDNN_FIND=1, by timing every
 * algorithm once (cudnnFind*).  The first algorithm in cuDNN's order is
 * taken that succeeds, fits the workspace cap, is deterministic when
 * opts->deterministic asks for it, and uses no TF32 in fp32 precision.
 *
 * Layouts: activations are described to cuDNN as NHWC with explicit
 * strides (cudnnSetTensor4dDescriptorEx), so a channel slice (ld > c) is
 * read or written in place.  Kernels are converted HWIO -> OHWI once per
 * parameter write (wcache.c; cuDNN has no HWIO format); weight gradients
 * come back OHWI and are transposed into HWIO.
 *
 * bf16/fp16: the plan is "packed": x and dy are cast into dense half
 * copies, the kernel comes from the cache in half, cuDNN accumulates in
 * fp32 (compute type float, tensor cores), and y, dx and dw come back
 * through half buffers into fp32, honouring beta.  A shape for which cuDNN
 * offers no half algorithm runs in fp32 (TF32 allowed).  With fp16 loss
 * scaling the weight gradients are checked for inf/NaN (amp.cu).
 *
 * Staged mode: cuDNN pads symmetrically, TF 'same' with an odd total puts
 * the extra cell at the bottom/right.  When cuDNN's output size differs
 * from ours, or cuDNN supports no algorithm for the strided views, the plan
 * is "staged": x is copied into a dense buffer with the padding written
 * out (pad 0 for cuDNN), y/dy go through dense buffers, and results are
 * copied (or accumulated) back.  InceptionV3 needs no staging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_impl.h"

enum { FWD, BWD_DATA, BWD_FILTER, NDIR };

struct cu_plan {
	struct nn_conv key;
	int staged;
	int packed;                     /* staged, or half: dense copies of x, y */
	int dt;                         /* enum cu_dtype of the cuDNN tensors */
	int f32;                        /* half precision found no algorithm: fp32 */
	int ph, pw;                     /* staged: padded input size */
	cudnnTensorDescriptor_t xd, yd;
	cudnnFilterDescriptor_t wd;
	cudnnConvolutionDescriptor_t cd;
	int chosen[NDIR];
	int algo[NDIR];
	cudnnMathType_t math[NDIR];
	size_t ws[NDIR];
};

static const float one = 1.0f, zero = 0.0f;

static cudnnDataType_t
dnn_type(int dt)
{
	return dt == CU_F16 ? CUDNN_DATA_HALF : dt == CU_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

static size_t
esize(const struct cu_plan *pl)
{
	return pl->dt == CU_F32 ? 4 : 2;
}

static void
nhwc_desc(struct cu_state *st, cudnnTensorDescriptor_t d, int dt, int n, int h, int w, int c, int ld)
{
	CUDNN_CHECK(st, cudnnSetTensor4dDescriptorEx(d, dnn_type(dt), n, c, h, w,
	                                         h * w * ld, 1, w * ld, ld));
}

/* (Re)describes the plan, direct (strided, cuDNN padding) or staged. */
static void
describe(struct cu_state *st, struct cu_plan *pl, int staged)
{
	const struct nn_conv *p = &pl->key;

	pl->staged = staged;
	pl->dt = pl->f32 ? CU_F32 : cu_gemm_dtype(st);
	pl->packed = staged || pl->dt != CU_F32;
	pl->ph = staged ? (p->oh - 1) * p->sh + p->kh : p->ih;
	pl->pw = staged ? (p->ow - 1) * p->sw + p->kw : p->iw;
	memset(pl->chosen, 0, sizeof pl->chosen);
	if (pl->packed) {
		nhwc_desc(st, pl->xd, pl->dt, p->n, pl->ph, pl->pw, p->ic, p->ic);
		nhwc_desc(st, pl->yd, pl->dt, p->n, p->oh, p->ow, p->oc, p->oc);
	} else {
		nhwc_desc(st, pl->xd, pl->dt, p->n, p->ih, p->iw, p->ic, p->x_ld);
		nhwc_desc(st, pl->yd, pl->dt, p->n, p->oh, p->ow, p->oc, p->y_ld);
	}
	CUDNN_CHECK(st, cudnnSetFilter4dDescriptor(pl->wd, dnn_type(pl->dt), CUDNN_TENSOR_NHWC,
	                                       p->oc, p->ic, p->kh, p->kw));
	CUDNN_CHECK(st, cudnnSetConvolution2dDescriptor(pl->cd, staged ? 0 : p->pt, staged ? 0 : p->pl,
	                                            p->sh, p->sw, 1, 1, CUDNN_CROSS_CORRELATION,
	                                            CUDNN_DATA_FLOAT));
	CUDNN_CHECK(st, cudnnSetConvolutionMathType(pl->cd, st->precision == CU_FP32 ?
	                                        CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));
}

/* 1 when cuDNN's symmetric padding gives our output size. */
static int
direct_ok(struct cu_plan *pl)
{
	const struct nn_conv *p = &pl->key;
	int n, c, h, w;

	if (cudnnGetConvolution2dForwardOutputDim(pl->cd, pl->xd, pl->wd, &n, &c, &h, &w) !=
	    CUDNN_STATUS_SUCCESS)
		return 0;
	return n == p->n && c == p->oc && h == p->oh && w == p->ow;
}

static struct cu_plan *
plan_new(struct cu_state *st, const struct nn_conv *p)
{
	struct cu_plan *pl = cu_nonnull(st, calloc(1, sizeof *pl));

	if (!pl)
		return NULL;
	if (st->nplans == st->cap_plans) {
		int cap = st->cap_plans * 2 + 16;
		struct cu_plan **pls = cu_nonnull(st, realloc(st->plans, cap * sizeof *pls));

		if (!pls) {
			free(pl);
			return NULL;
		}
		st->plans = pls;
		st->cap_plans = cap;
	}
	pl->key = *p;
	CUDNN_CHECK(st, cudnnCreateTensorDescriptor(&pl->xd));
	CUDNN_CHECK(st, cudnnCreateTensorDescriptor(&pl->yd));
	CUDNN_CHECK(st, cudnnCreateFilterDescriptor(&pl->wd));
	CUDNN_CHECK(st, cudnnCreateConvolutionDescriptor(&pl->cd));
	describe(st, pl, 0);
	if (!direct_ok(pl))
		describe(st, pl, 1);
	st->plans[st->nplans++] = pl;
	return pl;
}

void
cu_conv_free_plans(struct cu_state *st)
{
	for (int i = 0; i < st->nplans; i++) {
		struct cu_plan *pl = st->plans[i];
		cudnnDestroyTensorDescriptor(pl->xd);
		cudnnDestroyTensorDescriptor(pl->yd);
		cudnnDestroyFilterDescriptor(pl->wd);
		cudnnDestroyConvolutionDescriptor(pl->cd);
		free(pl);
	}
	free(st->plans);
	st->plans = NULL;
	st->nplans = st->cap_plans = 0;
}

/* Whether a candidate passes the backend's rules. */
static int
acceptable(const struct cu_state *st, cudnnStatus_t s, cudnnDeterminism_t det,
           cudnnMathType_t math, size_t mem)
{
	if (s != CUDNN_STATUS_SUCCESS || mem > st->ws_limit)
		return 0;
	if (st->deterministic && det != CUDNN_DETERMINISTIC)
		return 0;
	if (st->precision == CU_FP32 && math == CUDNN_TENSOR_OP_MATH)
		return 0;
	return 1;
}

/* Workspace algo needs in direction dir (cuDNN's own query, with the math
 * type the plan would run it in). */
static cudnnStatus_t
ws_size(struct cu_state *st, struct cu_plan *pl, int dir, int algo, cudnnMathType_t math,
        size_t *sizeP)
{
	CUDNN_CHECK(st, cudnnSetConvolutionMathType(pl->cd, math));
	if (dir == FWD)
		return cudnnGetConvolutionForwardWorkspaceSize(st->dnn, pl->xd, pl->wd, pl->cd, pl->yd,
		                                               (cudnnConvolutionFwdAlgo_t)algo, sizeP);
	if (dir == BWD_DATA)
		return cudnnGetConvolutionBackwardDataWorkspaceSize(st->dnn, pl->wd, pl->yd, pl->cd,
		                                                    pl->xd, (cudnnConvolutionBwdDataAlgo_t)algo, sizeP);
	return cudnnGetConvolutionBackwardFilterWorkspaceSize(st->dnn, pl->xd, pl->yd, pl->cd, pl->wd,
	                                                      (cudnnConvolutionBwdFilterAlgo_t)algo, sizeP);
}

/* One chooser per direction: cuDNN's perf structs differ only in type. */
#define CHOOSE_BODY(PERF, COUNT, FIND, GET, ...) do { \
	PERF perf[COUNT]; \
	int got = 0; \
	cudnnStatus_t s = st->find ? FIND(st->dnn, __VA_ARGS__, COUNT, &got, perf) \
	                           : GET(st->dnn, __VA_ARGS__, COUNT, &got, perf); \
	if (s != CUDNN_STATUS_SUCCESS) \
		return -1; \
	for (int i = 0; i < got; i++) { \
		cudnnMathType_t math = st->precision == CU_FP32 ? CUDNN_FMA_MATH : perf[i].mathType; \
		size_t need = 0; \
		if (!acceptable(st, perf[i].status, perf[i].determinism, perf[i].mathType, \
		                perf[i].memory) || \
		    ws_size(st, pl, dir, (int)perf[i].algo, math, &need) != CUDNN_STATUS_SUCCESS || \
		    need > st->ws_limit) \
			continue; \
		pl->algo[dir] = (int)perf[i].algo; \
		pl->math[dir] = math; \
		pl->ws[dir] = need > perf[i].memory ? need : perf[i].memory; \
		pl->chosen[dir] = 1; \
		return 0; \
	} \
	return -1; \
} while (0)

static int
choose_dir(struct cu_state *st, struct cu_plan *pl, int dir)
{
	if (dir == FWD)
		CHOOSE_BODY(cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
		            cudnnFindConvolutionForwardAlgorithm,
		            cudnnGetConvolutionForwardAlgorithm_v7, pl->xd, pl->wd, pl->cd, pl->yd);
	if (dir == BWD_DATA)
		CHOOSE_BODY(cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
		            cudnnFindConvolutionBackwardDataAlgorithm,
		            cudnnGetConvolutionBackwardDataAlgorithm_v7, pl->wd, pl->yd, pl->cd, pl->xd);
	CHOOSE_BODY(cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
	            cudnnFindConvolutionBackwardFilterAlgorithm,
	            cudnnGetConvolutionBackwardFilterAlgorithm_v7, pl->xd, pl->yd, pl->cd, pl->wd);
}

/* Records that cuDNN offers no algorithm for direction dir of p. */
static void
no_algo(struct cu_state *st, const struct nn_conv *p, int dir)
{
	static const char *names[] = { "forward", "backward data", "backward filter" };

	cu_fail(st, "cuda: no cuDNN %s algorithm for conv %dx%dx%dx%d -> %dx%dx%d "
	        "k%dx%d s%dx%d (try a larger RADPIPE_CUDNN_WORKSPACE_MB)", names[dir],
	        p->n, p->ih, p->iw, p->ic, p->oh, p->ow, p->oc, p->kh, p->kw, p->sh, p->sw);
}

/* Plan for p with an algorithm for dir; falls back to staged mode. */
static struct cu_plan *
plan_get(struct cu_state *st, const struct nn_conv *p, int dir)
{
	struct cu_plan *pl = NULL;

	for (int i = 0; i < st->nplans && !pl; i++)
		if (!memcmp(&st->plans[i]->key, p, sizeof *p))
			pl = st->plans[i];
	if (pl && pl->chosen[dir])
		return pl;
	if (st->gmode == CU_CAPTURE) {          /* the warm-up step chooses */
		st->capture_failed = 1;
		return NULL;
	}
	if (!pl && !(pl = plan_new(st, p)))
		return NULL;
	if (choose_dir(st, pl, dir) == 0)
		return pl;
	if (!pl->staged) {
		describe(st, pl, 1);
		if (choose_dir(st, pl, dir) == 0)
			return pl;
	}
	if (pl->dt != CU_F32) {         /* bf16/fp16 unsupported for this shape */
		pl->f32 = 1;
		describe(st, pl, 0);
		if (!direct_ok(pl))
			describe(st, pl, 1);
		if (choose_dir(st, pl, dir) == 0)
			return pl;
	}
	no_algo(st, p, dir);
	return NULL;
}

/* x (strided fp32) as the plan's packed input: type dt, dense, padded
 * when staged. */
static void *
pack_x(struct cu_state *st, struct cu_plan *pl, const float *x, int ld)
{
	const struct nn_conv *p = &pl->key;
	void *xp = cu_scratch(st, CU_XPACK, (size_t)p->n * pl->ph * pl->pw * p->ic * esize(pl));

	cu_launch_pack(st, pl->dt, x, p->n, p->ih, p->iw, p->ic, ld, xp, pl->ph, pl->pw,
	               pl->staged ? p->pt : 0, pl->staged ? p->pl : 0);
	return xp;
}

/* y or dy (strided fp32) as a dense copy of type dt. */
static void *
pack_y(struct cu_state *st, struct cu_plan *pl, const float *y)
{
	const struct nn_conv *p = &pl->key;
	void *yp = cu_scratch(st, CU_YPACK, (size_t)p->n * p->oh * p->ow * p->oc * esize(pl));

	cu_launch_pack(st, pl->dt, y, p->n, p->oh, p->ow, p->oc, p->y_ld, yp, p->oh, p->ow, 0, 0);
	return yp;
}

/* Runs one direction; returns cuDNN's status (packed copies included). */
static cudnnStatus_t
run_fwd(struct cu_state *st, struct cu_plan *pl, const float *x, const void *wt, float *y)
{
	const struct nn_conv *p = &pl->key;
	const void *xin = x;
	void *yout = y;
	void *ws = pl->ws[FWD] ? cu_scratch(st, CU_WS, pl->ws[FWD]) : NULL;
	cudnnStatus_t s;

	if (pl->packed) {
		xin = pack_x(st, pl, x, p->x_ld);
		yout = cu_scratch(st, CU_YPACK, (size_t)p->n * p->oh * p->ow * p->oc * esize(pl));
	}
	CUDNN_CHECK(st, cudnnSetConvolutionMathType(pl->cd, pl->math[FWD]));
	s = cudnnConvolutionForward(st->dnn, &one, pl->xd, xin, pl->wd, wt, pl->cd,
	                            (cudnnConvolutionFwdAlgo_t)pl->algo[FWD], ws, pl->ws[FWD],
	                            &zero, pl->yd, yout);
	if (s == CUDNN_STATUS_SUCCESS && pl->packed)
		cu_launch_unpack(st, pl->dt, yout, p->oh, p->ow, 0, 0, y, p->n, p->oh, p->ow, p->oc,
		                 p->y_ld, 0.0f);
	return s;
}

static cudnnStatus_t
run_bwd_data(struct cu_state *st, struct cu_plan *pl, const float *dy, const void *wt,
             float *dx, float beta)
{
	const struct nn_conv *p = &pl->key;
	void *ws = pl->ws[BWD_DATA] ? cu_scratch(st, CU_WS, pl->ws[BWD_DATA]) : NULL;
	const void *dyin = dy;
	void *dxout = dx;
	cudnnStatus_t s;

	if (pl->packed) {
		dyin = pack_y(st, pl, dy);
		dxout = cu_scratch(st, CU_XPACK, (size_t)p->n * pl->ph * pl->pw * p->ic * esize(pl));
	}
	CUDNN_CHECK(st, cudnnSetConvolutionMathType(pl->cd, pl->math[BWD_DATA]));
	s = cudnnConvolutionBackwardData(st->dnn, &one, pl->wd, wt, pl->yd, dyin, pl->cd,
	                                 (cudnnConvolutionBwdDataAlgo_t)pl->algo[BWD_DATA], ws,
	                                 pl->ws[BWD_DATA], pl->packed ? &zero : &beta, pl->xd, dxout);
	if (s == CUDNN_STATUS_SUCCESS && pl->packed)
		cu_launch_unpack(st, pl->dt, dxout, pl->ph, pl->pw, pl->staged ? p->pt : 0,
		                 pl->staged ? p->pl : 0, dx, p->n, p->ih, p->iw, p->ic, p->x_ld, beta);
	return s;
}

static cudnnStatus_t
run_bwd_filter(struct cu_state *st, struct cu_plan *pl, const float *x, const float *dy,
               void *dwt)
{
	const struct nn_conv *p = &pl->key;
	void *ws = pl->ws[BWD_FILTER] ? cu_scratch(st, CU_WS, pl->ws[BWD_FILTER]) : NULL;
	const void *xin = x, *dyin = dy;

	if (pl->packed) {
		xin = pack_x(st, pl, x, p->x_ld);
		dyin = pack_y(st, pl, dy);
	}
	CUDNN_CHECK(st, cudnnSetConvolutionMathType(pl->cd, pl->math[BWD_FILTER]));
	return cudnnConvolutionBackwardFilter(st->dnn, &one, pl->xd, xin, pl->yd, dyin, pl->cd,
	                                      (cudnnConvolutionBwdFilterAlgo_t)pl->algo[BWD_FILTER],
	                                      ws, pl->ws[BWD_FILTER], &zero, pl->wd, dwt);
}

/* A direct plan whose run failed: stage it and choose again.  Returns 0
 * to retry, -1 when the step is being captured (it will run eagerly). */
static int
restage(struct cu_state *st, struct cu_plan *pl, int dir)
{
	if (st->gmode == CU_CAPTURE || pl->staged) {
		st->capture_failed |= st->gmode == CU_CAPTURE;
		return -1;
	}
	describe(st, pl, 1);
	if (choose_dir(st, pl, dir) < 0) {
		no_algo(st, &pl->key, dir);
		return -1;
	}
	return 0;
}

void
cu_conv_fwd(struct nn_backend *be, const struct nn_conv *p,
            const float *x, const float *w, const float *bias, float *y)
{
	struct cu_state *st = cu_st(be);
	struct cu_plan *pl;
	const void *wt;
	cudnnStatus_t s;

	CU_REPLAY_RETURN(st);
	if (!(pl = plan_get(st, p, FWD)) ||
	    !(wt = cu_weights(st, pl->dt, w, p->kh, p->kw, p->ic, p->oc, 1)))
		return;
	s = run_fwd(st, pl, x, wt, y);
	if (s != CUDNN_STATUS_SUCCESS && restage(st, pl, FWD) == 0) {
		wt = cu_weights(st, pl->dt, w, p->kh, p->kw, p->ic, p->oc, 1);
		s = run_fwd(st, pl, x, wt, y);
	}
	CUDNN_CHECK(st, s);
	if (bias)
		cu_launch_bias(st, (long long)p->n * p->oh * p->ow, p->oc, bias, y, p->y_ld);
}

void
cu_conv_bwd_data(struct nn_backend *be, const struct nn_conv *p,
                 const float *dy, const float *w, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);
	struct cu_plan *pl;
	const void *wt;
	cudnnStatus_t s;

	CU_REPLAY_RETURN(st);
	if (!(pl = plan_get(st, p, BWD_DATA)) ||
	    !(wt = cu_weights(st, pl->dt, w, p->kh, p->kw, p->ic, p->oc, 1)))
		return;
	s = run_bwd_data(st, pl, dy, wt, dx, beta);
	if (s != CUDNN_STATUS_SUCCESS && restage(st, pl, BWD_DATA) == 0)
		s = run_bwd_data(st, pl, dy, wt, dx, beta);
	CUDNN_CHECK(st, s);
}

void
cu_conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p,
                    const float *x, const float *dy, float *dw, float *db)
{
	struct cu_state *st = cu_st(be);
	size_t nw = (size_t)p->kh * p->kw * p->ic * p->oc;
	struct cu_plan *pl;
	void *dwt;
	cudnnStatus_t s;

	CU_REPLAY_RETURN(st);
	if (!(pl = plan_get(st, p, BWD_FILTER)))
		return;
	dwt = cu_scratch(st, CU_WT, nw * esize(pl));
	s = run_bwd_filter(st, pl, x, dy, dwt);
	if (s != CUDNN_STATUS_SUCCESS && restage(st, pl, BWD_FILTER) == 0)
		s = run_bwd_filter(st, pl, x, dy, dwt);
	CUDNN_CHECK(st, s);
	cu_launch_ohwi_to_hwio_t(st, pl->dt, dwt, dw, p->kh, p->kw, p->ic, p->oc);
	if (db)
		cu_launch_chan_sum(st, (long long)p->n * p->oh * p->ow, p->oc, dy, p->y_ld, db);
	cu_launch_finite_check(st, dw, nw);
	cu_launch_finite_check(st, db, db ? (size_t)p->oc : 0);
}
