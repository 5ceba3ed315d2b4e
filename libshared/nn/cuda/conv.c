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
 * read or written in place.  Kernels are transposed HWIO -> OHWI into a
 * scratch buffer at each call (cuDNN has no HWIO format); weight gradients
 * come back OHWI and are transposed into HWIO.
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

static void
nhwc_desc(cudnnTensorDescriptor_t d, int n, int h, int w, int c, int ld)
{
	CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(d, CUDNN_DATA_FLOAT, n, c, h, w,
	                                         h * w * ld, 1, w * ld, ld));
}

/* (Re)describes the plan, direct (strided, cuDNN padding) or staged. */
static void
describe(struct cu_state *st, struct cu_plan *pl, int staged)
{
	const struct nn_conv *p = &pl->key;

	pl->staged = staged;
	pl->ph = (p->oh - 1) * p->sh + p->kh;
	pl->pw = (p->ow - 1) * p->sw + p->kw;
	memset(pl->chosen, 0, sizeof pl->chosen);
	if (staged) {
		nhwc_desc(pl->xd, p->n, pl->ph, pl->pw, p->ic, p->ic);
		nhwc_desc(pl->yd, p->n, p->oh, p->ow, p->oc, p->oc);
	} else {
		nhwc_desc(pl->xd, p->n, p->ih, p->iw, p->ic, p->x_ld);
		nhwc_desc(pl->yd, p->n, p->oh, p->ow, p->oc, p->y_ld);
	}
	CUDNN_CHECK(cudnnSetFilter4dDescriptor(pl->wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC,
	                                       p->oc, p->ic, p->kh, p->kw));
	CUDNN_CHECK(cudnnSetConvolution2dDescriptor(pl->cd, staged ? 0 : p->pt, staged ? 0 : p->pl,
	                                            p->sh, p->sw, 1, 1, CUDNN_CROSS_CORRELATION,
	                                            CUDNN_DATA_FLOAT));
	CUDNN_CHECK(cudnnSetConvolutionMathType(pl->cd, st->precision == CU_TF32 ?
	                                        CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
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
	struct cu_plan *pl = calloc(1, sizeof *pl);

	if (!pl || (st->nplans == st->cap_plans &&
	            !(st->plans = realloc(st->plans, (st->cap_plans = st->cap_plans * 2 + 16) *
	                                  sizeof *st->plans)))) {
		fprintf(stderr, "radpipe: cuda: out of memory\n");
		exit(1);
	}
	pl->key = *p;
	CUDNN_CHECK(cudnnCreateTensorDescriptor(&pl->xd));
	CUDNN_CHECK(cudnnCreateTensorDescriptor(&pl->yd));
	CUDNN_CHECK(cudnnCreateFilterDescriptor(&pl->wd));
	CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&pl->cd));
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
	CUDNN_CHECK(cudnnSetConvolutionMathType(pl->cd, math));
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

static void
no_algo(const struct nn_conv *p, int dir)
{
	static const char *names[] = { "forward", "backward data", "backward filter" };

	fprintf(stderr, "radpipe: cuda: no cuDNN %s algorithm for conv %dx%dx%dx%d -> %dx%dx%d "
	        "k%dx%d s%dx%d (try a larger RADPIPE_CUDNN_WORKSPACE_MB)\n", names[dir],
	        p->n, p->ih, p->iw, p->ic, p->oh, p->ow, p->oc, p->kh, p->kw, p->sh, p->sw);
	exit(1);
}

/* Plan for p with an algorithm for dir; falls back to staged mode. */
static struct cu_plan *
plan_get(struct cu_state *st, const struct nn_conv *p, int dir)
{
	struct cu_plan *pl = NULL;

	for (int i = 0; i < st->nplans && !pl; i++)
		if (!memcmp(&st->plans[i]->key, p, sizeof *p))
			pl = st->plans[i];
	if (!pl)
		pl = plan_new(st, p);
	if (pl->chosen[dir] || choose_dir(st, pl, dir) == 0)
		return pl;
	if (!pl->staged) {
		describe(st, pl, 1);
		if (choose_dir(st, pl, dir) == 0)
			return pl;
	}
	no_algo(p, dir);
	return NULL;
}

/* Runs one direction; returns cuDNN's status (staged copies included). */
static cudnnStatus_t
run_fwd(struct cu_state *st, struct cu_plan *pl, const float *x, const float *wt, float *y)
{
	const struct nn_conv *p = &pl->key;
	const float *xin = x;
	float *yout = y;
	void *ws = pl->ws[FWD] ? cu_scratch(st, CU_WS, pl->ws[FWD]) : NULL;
	cudnnStatus_t s;

	if (pl->staged) {
		float *xp = cu_scratch(st, CU_XPACK, (size_t)p->n * pl->ph * pl->pw * p->ic * 4);
		cu_launch_pad(st, x, p->n, p->ih, p->iw, p->ic, p->x_ld, xp, pl->ph, pl->pw, p->pt, p->pl);
		xin = xp;
		yout = cu_scratch(st, CU_YPACK, (size_t)p->n * p->oh * p->ow * p->oc * 4);
	}
	CUDNN_CHECK(cudnnSetConvolutionMathType(pl->cd, pl->math[FWD]));
	s = cudnnConvolutionForward(st->dnn, &one, pl->xd, xin, pl->wd, wt, pl->cd,
	                            (cudnnConvolutionFwdAlgo_t)pl->algo[FWD], ws, pl->ws[FWD],
	                            &zero, pl->yd, yout);
	if (s == CUDNN_STATUS_SUCCESS && pl->staged)
		cu_launch_add(st, (long long)p->n * p->oh * p->ow, p->oc, yout, p->oc, y, p->y_ld, 0.0f);
	return s;
}

static cudnnStatus_t
run_bwd_data(struct cu_state *st, struct cu_plan *pl, const float *dy, const float *wt,
             float *dx, float beta)
{
	const struct nn_conv *p = &pl->key;
	void *ws = pl->ws[BWD_DATA] ? cu_scratch(st, CU_WS, pl->ws[BWD_DATA]) : NULL;
	const float *dyin = dy;
	float *dxout = dx;
	cudnnStatus_t s;

	if (pl->staged) {
		float *dyp = cu_scratch(st, CU_YPACK, (size_t)p->n * p->oh * p->ow * p->oc * 4);
		cu_launch_add(st, (long long)p->n * p->oh * p->ow, p->oc, dy, p->y_ld, dyp, p->oc, 0.0f);
		dyin = dyp;
		dxout = cu_scratch(st, CU_XPACK, (size_t)p->n * pl->ph * pl->pw * p->ic * 4);
	}
	CUDNN_CHECK(cudnnSetConvolutionMathType(pl->cd, pl->math[BWD_DATA]));
	s = cudnnConvolutionBackwardData(st->dnn, &one, pl->wd, wt, pl->yd, dyin, pl->cd,
	                                 (cudnnConvolutionBwdDataAlgo_t)pl->algo[BWD_DATA], ws,
	                                 pl->ws[BWD_DATA], pl->staged ? &zero : &beta, pl->xd, dxout);
	if (s == CUDNN_STATUS_SUCCESS && pl->staged)
		cu_launch_unpad_add(st, dxout, pl->ph, pl->pw, p->pt, p->pl, dx, p->n, p->ih, p->iw,
		                    p->ic, p->x_ld, beta);
	return s;
}

static cudnnStatus_t
run_bwd_filter(struct cu_state *st, struct cu_plan *pl, const float *x, const float *dy,
               float *dwt)
{
	const struct nn_conv *p = &pl->key;
	void *ws = pl->ws[BWD_FILTER] ? cu_scratch(st, CU_WS, pl->ws[BWD_FILTER]) : NULL;
	const float *xin = x, *dyin = dy;

	if (pl->staged) {
		float *xp = cu_scratch(st, CU_XPACK, (size_t)p->n * pl->ph * pl->pw * p->ic * 4);
		float *dyp = cu_scratch(st, CU_YPACK, (size_t)p->n * p->oh * p->ow * p->oc * 4);
		cu_launch_pad(st, x, p->n, p->ih, p->iw, p->ic, p->x_ld, xp, pl->ph, pl->pw, p->pt, p->pl);
		cu_launch_add(st, (long long)p->n * p->oh * p->ow, p->oc, dy, p->y_ld, dyp, p->oc, 0.0f);
		xin = xp;
		dyin = dyp;
	}
	CUDNN_CHECK(cudnnSetConvolutionMathType(pl->cd, pl->math[BWD_FILTER]));
	return cudnnConvolutionBackwardFilter(st->dnn, &one, pl->xd, xin, pl->yd, dyin, pl->cd,
	                                      (cudnnConvolutionBwdFilterAlgo_t)pl->algo[BWD_FILTER],
	                                      ws, pl->ws[BWD_FILTER], &zero, pl->wd, dwt);
}

/* A direct plan whose run failed: stage it and choose again. */
static void
restage(struct cu_state *st, struct cu_plan *pl, int dir)
{
	describe(st, pl, 1);
	if (choose_dir(st, pl, dir) < 0)
		no_algo(&pl->key, dir);
}

void
cu_conv_fwd(struct nn_backend *be, const struct nn_conv *p,
            const float *x, const float *w, const float *bias, float *y)
{
	struct cu_state *st = cu_st(be);
	struct cu_plan *pl = plan_get(st, p, FWD);
	float *wt = cu_scratch(st, CU_WT, (size_t)p->kh * p->kw * p->ic * p->oc * 4);
	cudnnStatus_t s;

	cu_launch_hwio_to_ohwi(st, w, wt, p->kh, p->kw, p->ic, p->oc);
	s = run_fwd(st, pl, x, wt, y);
	if (s != CUDNN_STATUS_SUCCESS && !pl->staged) {
		restage(st, pl, FWD);
		s = run_fwd(st, pl, x, wt, y);
	}
	CUDNN_CHECK(s);
	if (bias)
		cu_launch_bias(st, (long long)p->n * p->oh * p->ow, p->oc, bias, y, p->y_ld);
}

void
cu_conv_bwd_data(struct nn_backend *be, const struct nn_conv *p,
                 const float *dy, const float *w, float *dx, float beta)
{
	struct cu_state *st = cu_st(be);
	struct cu_plan *pl = plan_get(st, p, BWD_DATA);
	float *wt = cu_scratch(st, CU_WT, (size_t)p->kh * p->kw * p->ic * p->oc * 4);
	cudnnStatus_t s;

	cu_launch_hwio_to_ohwi(st, w, wt, p->kh, p->kw, p->ic, p->oc);
	s = run_bwd_data(st, pl, dy, wt, dx, beta);
	if (s != CUDNN_STATUS_SUCCESS && !pl->staged) {
		restage(st, pl, BWD_DATA);
		s = run_bwd_data(st, pl, dy, wt, dx, beta);
	}
	CUDNN_CHECK(s);
}

void
cu_conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p,
                    const float *x, const float *dy, float *dw, float *db)
{
	struct cu_state *st = cu_st(be);
	struct cu_plan *pl = plan_get(st, p, BWD_FILTER);
	float *dwt = cu_scratch(st, CU_WT, (size_t)p->kh * p->kw * p->ic * p->oc * 4);
	cudnnStatus_t s;

	s = run_bwd_filter(st, pl, x, dy, dwt);
	if (s != CUDNN_STATUS_SUCCESS && !pl->staged) {
		restage(st, pl, BWD_FILTER);
		s = run_bwd_filter(st, pl, x, dy, dwt);
	}
	CUDNN_CHECK(s);
	cu_launch_ohwi_to_hwio(st, dwt, dw, p->kh, p->kw, p->ic, p->oc);
	if (db)
		cu_launch_chan_sum(st, (long long)p->n * p->oh * p->ow, p->oc, dy, p->y_ld, db);
}
