/* nn_impl.h — private to the graph engine (libshared/nn/engine/) and its
 * unit tests: the model and layer structures behind nn.h, and the calls
 * between engine files.
 *
 * Layering: each file calls only files below it (tests/lint/objcycles.py
 * checks that no object calls back up):
 *   step.c       whole steps between the backend's step hooks
 *   cam.c        Grad-CAM: the layer, nn_cam_grad (beside step.c)
 *   exec.c       loss, backward, nn_predict, optimiser, nn_layer_output
 *   recompute.c  rebuilding transient roots in backward
 *   forward.c    one layer's forward, nn_forward  (layer.h: op arguments)
 *   plan.c       views, liveness, the backend allocations
 *   graph.c      building, inspection, the host arena
 *   transfer.c   host<->backend moves, releasing the plan, nn_fail   prof.c  profile
 *
 * Memory plan (plan.c, nn_model_plan): every layer output is a *view*
 * (pointer + pixel stride ld) into one of a few backend allocations:
 *   p, g, m1, m2   parameters, their gradients, the two optimiser moments
 *                  (nn_arena_size floats each, same offsets);
 *   acts           activations: one region per "root" output; a concat
 *                  input and an in-place ReLU's input are views into their
 *                  consumer's region (no copies).  Kept roots first, then
 *                  the packed ones (recomputed BN+ReLU outputs in training,
 *                  every root in an inference plan) sharing memory by
 *                  forward liveness; dropout masks follow;
 *   grads          output gradients, planned separately (concat inputs are
 *                  views, ReLU is not in place; with the fused BN+ReLU
 *                  backward a BN's one input is a view of the BN's) and
 *                  packed by liveness:
 *                  two roots share memory when their backward lifetimes
 *                  do not overlap; a scratch area follows;
 *   aux            BN saved mean/invstd, labels, weights, loss, probs.
 */
#ifndef RADPIPE_NN_IMPL_H
#define RADPIPE_NN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/nn.h"

#define NN_ALIGN 16     /* floats: 64 bytes */

/* Private plan flag (nn_model_plan_cam): inference semantics, gradients
 * from layer m->cam up, no weight gradients used, no moments. */
#define NN_PLAN_CAM 0x100u

struct nn_lay {
	struct nn_layer pub;    /* what nn_layer_at returns */
	/* hyper-parameters */
	int kh, kw, sh, sw, pt, pl;     /* conv and pool geometry */
	int bias, scale, center;        /* conv/dense bias, BN gamma/beta */
	float eps, momentum, rate;      /* BN, dropout */
	float cap;                      /* relu: ceiling (0: none) */
	int pb, pr;                     /* zero padding: bottom, right (pt, pl above) */
	enum nn_act act;                /* dense */
	int p0, np;                     /* first parameter index, count */
	int ncons, last_cons;           /* consumers: count, highest index */
	/* plan */
	int owner, choff;       /* activation: owning consumer (-1: own) and channel offset */
	int gowner, gchoff;     /* gradient: same, concat views only */
	size_t aoff, goff;      /* own roots: offsets in acts / grads */
	size_t moff;            /* dropout: mask offset in acts */
	unsigned copy_in;       /* concat: bit j = input j is copied */
	float *y, *dy;          /* output and gradient views (backend) */
	int y_ld, dy_ld;
	float *mask;            /* dropout mask (n*h*w*c) */
	float *mean, *invstd;   /* BN saved batch statistics (c each) */
	int root;               /* the layer whose activation region holds this output */
	int alo, ahi;           /* own roots: forward lifetime [first write, last read] */
	int pk;                 /* own roots: in the liveness-packed part of acts */
	int tr;                 /* own roots: recomputed in backward (training plan) */
	int clob;               /* own roots: may be overwritten before the pass ends */
	int need;               /* backward: a recomputed root some reader needs */
	/* inference plans, BN folding (plan.c mark_fold, forward.c): a conv
	 * whose only reader is a BN runs with folded weights into the BN's
	 * output (and the in-place ReLU after it, when the backend fuses it);
	 * the folded kernel replaces the conv's in m->p, the folded bias the
	 * BN's moving mean (forward.c fold_params) */
	int fold;               /* conv: the BN folded into it, else 0 */
	int fold_relu;          /* conv: the ReLU after that BN is fused too */
	int folded;             /* BN or ReLU: done by the conv before it */
	/* backward state, recomputed each nn_backward */
	int up;                 /* some trainable weight at or above */
	int gset;               /* dy holds a gradient this pass */
};

struct nn_model {
	char name[64];
	char err[256];
	struct nn_lay *lay;
	int nlay, laycap;
	struct nn_param *par;
	char *pinit;            /* per param: 'g' glorot, '0' zeros, '1' ones */
	int npar, parcap;
	size_t arena;           /* elements, multiple of NN_ALIGN */
	float *host, *mhost[2]; /* host copies: params, moments */
	size_t hostcap, mcap;

	float scale, offset;    /* input preprocessing */
	int pre_ch;             /* 1: per channel (nn_set_preprocess_ch) */
	int pre_order[4];
	float pre_scale[4], pre_offset[4];
	uint64_t seed;
	int64_t t;              /* optimiser steps */
	int unbiased;
	float clip;

	/* plan */
	struct nn_backend *be;
	unsigned flags;         /* NN_PLAN_* */
	int cam;                /* NN_PLAN_CAM: the Grad-CAM layer */
	int recomputing;        /* forward ops are rebuilding a transient root */
	int max_batch, n, training;
	float *p, *g, *m1, *m2, *acts, *grads, *aux;
	int p_host;             /* p is host (a training plan on a host_mem
	                           backend: plan.c); never freed with the plan */
	size_t fold_size;       /* inference plans: floats of the largest folded
	                           conv (kernel, bias); 0: nothing folded */
	int fold_ok;            /* m->p holds the folding of the uploaded params */
	struct nn_grad_hook ghook; /* data parallelism (nn_set_grad_hook); zero: none */
	/* --sync-bn (syncbn.c): the sum over ranks, this rank's share of the
	 * step's images, scratch (host: sbx, sbd, sbf; backend: sbdev) */
	void (*bnsum)(void *ctx, double *v, int n);
	void *bnctx;
	double bnshare;
	float *sbx, *sbf, *sbdev;
	double *sbd;
	size_t sbx_n, sbdev_n;
	int bnfail;             /* a sync-bn forward failed this step (m->err) */
	int bnrelu_ok;          /* the plan allows the fused BN+ReLU backward
	                           (plan.c mark_bn_dx_views) */
	int bnrelu;             /* this backward uses be->bn_relu_bwd (exec.c) */
	size_t acts_size, grads_size, aux_size;
	float *scratch;         /* in grads: max n*units of a relu dense */
	float *labels, *weights, *loss, *prob;

	/* profiling (nn_profile_enable) */
	int prof;
	double prof_t, prof_s[NN_PROF_NKIND];
};

/* Is BN folding on (RADPIPE_FOLD unset or not "0")? (plan.c) */
int nn_fold_enabled(void);
/* Is the fused BN(+ReLU) backward on (RADPIPE_BN_RELU_BWD unset or not
 * "0")? (plan.c) */
int nn_bn_relu_bwd_enabled(void);
/* The ReLU layer that runs in place on BN layer i's output (its one
 * reader), or -1 (plan.c; after the views are planned). */
int nn_bn_relu_reader(const struct nn_model *m, int i);
/* Releases the backend memory of the plan, if any (transfer.c). */
void nn_plan_release(struct nn_model *m);
/* Writes the printf-style message into m->err; returns -1 (transfer.c). */
int nn_fail(struct nn_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Recomputes the output of transient root r (and, first, the transient
 * roots it is computed from when deep) from kept tensors (recompute.c). */
void nn_recompute_root(struct nn_model *m, int r, int deep);
/* Forward of layer i (forward.c); with m->recomputing, BN in batch mode
 * applies the saved statistics (bn_apply) and updates nothing. */
void nn_fwd_layer(struct nn_model *m, int i);
/* syncbn.c: BN forward (training) and backward with statistics over the
 * ranks (m->bnsum set); 0, or -1 (nn_fail). */
int nn_syncbn_fwd(struct nn_model *m, struct nn_lay *l, struct nn_lay *x);
int nn_syncbn_bwd(struct nn_model *m, struct nn_lay *l, struct nn_lay *x, float *dg, float *db,
                  int dx, float beta);
/* Is layer i a BN in batch mode whose output an in-place ReLU takes over
 * (recomputation then fuses the ReLU into bn_apply)? (forward.c) */
int nn_bn_fuses_relu(const struct nn_model *m, int i);
/* Backward: marks the transient roots that some reader needs (after the
 * up flags are set), and recomputes those whose last reader is layer i
 * (recompute.c). */
void nn_mark_need(struct nn_model *m);
void nn_recompute_at(struct nn_model *m, int i);
/* Fails (-1, with the reason) unless the output layer has a loss
 * (sigmoid with 1 unit, or softmax) (exec.c). */
int nn_output_check(struct nn_model *m);
/* nn_backward and nn_predict without reading results back (exec.c): the
 * ops only, so that a step's ops can be bracketed by the backend's step hooks. */
int nn_backward_ops(struct nn_model *m, const float *y, const float *w);
int nn_predict_ops(struct nn_model *m);
/* Grad-CAM plans: up = layer m->cam and every layer reading from it
 * (plan.c). */
void nn_cam_mark_up(struct nn_model *m);
/* Backward of the last (inference-mode) forward from the gradient already
 * in the output layer's dy down to layer `to`, whose dy then holds
 * d(sum of dy . output)/d(output of to); weight gradients are not
 * computed (dense's are written to the gradient arena and ignored);
 * needs a NN_PLAN_CAM plan for layer `to` (exec.c). */
int nn_backward_to(struct nn_model *m, int to);
/* Reads the last loss and probabilities back (each may be NULL) (exec.c). */
void nn_read_results(struct nn_model *m, float *loss, float *probs);
/* Profiling marks: start an op's clock; charge the time since to kind
 * (prof.c). */
void nn_prof_mark(struct nn_model *m);
void nn_prof_add(struct nn_model *m, int kind);

#endif
