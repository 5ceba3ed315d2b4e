/* nn.h — the network engine: a static graph of named layers (Keras names),
 * its parameters in one arena, training and inference on a backend.
 *
 * Ownership rule: the model owns everything it allocates (layers, names,
 * parameter arenas, activations); nn_model_free releases all of it.
 * Pointers returned by accessors stay valid until the model is freed or
 * re-planned.  Functions returning int return 0 (or an index >= 0) on
 * success and -1 on failure, with the reason in nn_error(m) (err.h's
 * error rule: nothing here exits).
 *
 * Life of a model: nn_model_new -> builder calls (layers in topological
 * order; each returns the new layer's index) -> nn_model_init_params
 * (host values: Keras initialisers) or load values into nn_params_host ->
 * nn_model_plan(backend, batch) -> nn_forward / nn_backward / nn_step ...
 */
#ifndef RADPIPE_NN_H
#define RADPIPE_NN_H

#include <stddef.h>
#include <stdint.h>
#include "nn/backend.h"

enum nn_padding { NN_VALID, NN_SAME };
enum nn_act { NN_ACT_NONE, NN_ACT_RELU, NN_ACT_SIGMOID, NN_ACT_SOFTMAX };

enum nn_layer_type {
	NN_INPUT, NN_CONV2D, NN_BATCHNORM, NN_RELU, NN_MAXPOOL, NN_AVGPOOL,
	NN_CONCAT, NN_GAP, NN_DENSE, NN_DROPOUT,
	NN_ZEROPAD, NN_ADD, NN_DWCONV
};

/* One named parameter tensor inside the arena. */
struct nn_param {
	char name[96];          /* Keras weight name, e.g. "conv2d_1/kernel:0" */
	int layer;              /* owning layer index */
	int rank;
	int shape[4];           /* Keras shape (kernel HWIO, dense (in,out), vectors (c)) */
	size_t size;            /* element count */
	size_t offset;          /* element offset in the arena (64-byte aligned) */
	int trainable;          /* 0 for BN moving statistics */
	int decay;              /* 1 where L2 applies (kernels) */
};

/* A layer as the graph sees it (read-only for callers). */
struct nn_layer {
	enum nn_layer_type type;
	char name[64];
	int nin, in[8];         /* input layer indices */
	int h, w, c;            /* output shape per sample (dense/gap: h = w = 1) */
	int trainable;          /* weights updated by nn_step */
	int frozen_bn;          /* batchnorm: use moving statistics even in training */
};

struct nn_model;

/* --- building ------------------------------------------------------- */

/* New model whose input layer (named name, e.g. "input_1") is h x w x c. */
struct nn_model *nn_model_new(const char *name, int h, int w, int c);
/* Frees the model and all it owns (NULL is a no-op). */
void nn_model_free(struct nn_model *m);
/* The last error message of m (never NULL). */
const char *nn_error(const struct nn_model *m);

/* Conv2D: filters kh x kw, stride sh x sw, 'same'/'valid'; bias optional. */
int nn_conv2d(struct nn_model *m, const char *name, int in, int filters,
              int kh, int kw, int sh, int sw, enum nn_padding pad, int use_bias);
/* BatchNormalization over channels; scale/center as Keras. */
int nn_batchnorm(struct nn_model *m, const char *name, int in, float eps,
                 float momentum, int scale, int center);
/* Activation('relu'). */
int nn_relu(struct nn_model *m, const char *name, int in);
/* ReLU with a ceiling (Keras ReLU(max_value), ReLU6: 6); max_value 0:
 * plain ReLU (nn_relu(m, name, in) is nn_relu_max(m, name, in, 0)). */
int nn_relu_max(struct nn_model *m, const char *name, int in, float max_value);
/* ZeroPadding2D(((pt, pb), (pl, pr))). */
int nn_zeropad(struct nn_model *m, const char *name, int in, int pt, int pb, int pl, int pr);
/* Add: elementwise sum of nin >= 2 layers of one shape, as Keras' Add. */
int nn_add(struct nn_model *m, const char *name, const int *in, int nin);
/* DepthwiseConv2D, depth multiplier 1: parameters depthwise_kernel (kh,
 * kw, c, 1) as Keras stores it, then bias (c) if use_bias; stride,
 * 'same'/'valid'. */
int nn_dwconv2d(struct nn_model *m, const char *name, int in, int kh, int kw,
                int sh, int sw, enum nn_padding pad, int use_bias);
/* MaxPooling2D / AveragePooling2D. */
int nn_maxpool(struct nn_model *m, const char *name, int in, int kh, int kw,
               int sh, int sw, enum nn_padding pad);
int nn_avgpool(struct nn_model *m, const char *name, int in, int kh, int kw,
               int sh, int sw, enum nn_padding pad);
/* Concatenate along channels, in the order given; no copies at run time. */
int nn_concat(struct nn_model *m, const char *name, const int *in, int nin);
/* GlobalAveragePooling2D. */
int nn_gap(struct nn_model *m, const char *name, int in);
/* Dense with an activation; sigmoid/softmax only on the last layer (the
 * loss takes its logits). */
int nn_dense(struct nn_model *m, const char *name, int in, int units,
             int use_bias, enum nn_act act);
/* Dropout (inverted), active only in training. */
int nn_dropout(struct nn_model *m, const char *name, int in, float rate);

/* --- inspection ------------------------------------------------------ */

int nn_layer_count(const struct nn_model *m);
const struct nn_layer *nn_layer_at(const struct nn_model *m, int i);
/* Index of the layer called name, or -1. */
int nn_layer_find(const struct nn_model *m, const char *name);
int nn_param_count(const struct nn_model *m);
const struct nn_param *nn_param_at(const struct nn_model *m, int i);
/* Index of the parameter called name, or -1. */
int nn_param_find(const struct nn_model *m, const char *name);
/* Total elements of the arena (params, and likewise grads and moments). */
size_t nn_arena_size(const struct nn_model *m);
/* Number of outputs per sample of the last layer (1 for binary). */
int nn_output_size(const struct nn_model *m);
/* Activation of the last layer. */
enum nn_act nn_output_act(const struct nn_model *m);

/* --- parameters on the host ----------------------------------------- */

/* The host copy of the parameter arena (nn_arena_size floats); allocated at
 * the first layer with weights and owned by m.  After writing it, call
 * nn_params_upload; before reading it after training, nn_params_download. */
float *nn_params_host(struct nn_model *m);
/* Keras initialisers from seed: glorot_uniform kernels, zero biases/betas,
 * ones gammas and moving variances, zero moving means. */
void nn_model_init_params(struct nn_model *m, uint64_t seed);
/* Copies host params to the backend (no-op before nn_model_plan). */
void nn_params_upload(struct nn_model *m);
/* Copies backend params to the host copy; -1 (nn_error) when the backend
 * recorded a failure (backend.h), the host copy then not to be trusted.
 * A no-op for an inference plan (it changes no parameter). */
int nn_params_download(struct nn_model *m);

/* --- execution ------------------------------------------------------- */

/* Binds the model to a backend and plans memory for batches of up to
 * max_batch: parameter/gradient/moment arenas (one allocation each) and
 * activations, allocated once and reused for every step. */
int nn_model_plan(struct nn_model *m, struct nn_backend *be, int max_batch);

/* Plan flags (nn_model_plan_flags).  Default (0): a training plan that
 * keeps conv outputs and BN statistics but recomputes BN+ReLU outputs and
 * pools of kept tensors in backward when the backend has bn_apply.
 * NN_PLAN_KEEP: every activation is stored (no recomputation).
 * NN_PLAN_INFERENCE: forward only: no gradients or moments, activations
 * packed by forward liveness; nn_backward and nn_step fail, and
 * nn_layer_output fails for outputs overwritten later in the pass.  Each
 * conv whose only reader is a BN runs with the BN folded into its weights
 * and bias (and the ReLU after it fused where the backend can), unless
 * RADPIPE_FOLD=0; nn_layer_output then fails for such a conv's output. */
enum { NN_PLAN_KEEP = 1, NN_PLAN_INFERENCE = 2 };
/* nn_model_plan with flags; nn_model_plan(m, be, b) is flags 0. */
int nn_model_plan_flags(struct nn_model *m, struct nn_backend *be, int max_batch,
                        unsigned flags);

/* Backend bytes held by the plan (all 0 before nn_model_plan): params =
 * parameters, gradients and both moments (an inference plan folds BNs
 * into the parameters in place: one copy); acts = activations and dropout
 * masks; grads = activation gradients (packed by liveness); aux = BN batch
 * statistics, labels, loss, probabilities. */
struct nn_mem {
	size_t params, acts, grads, aux;
};
void nn_plan_memory(const struct nn_model *m, struct nn_mem *memP);

/* Input preprocessing applied on the way in: x*scale + offset (every
 * channel). */
void nn_set_preprocess(struct nn_model *m, float scale, float offset);
/* Per-channel input preprocessing: channel ch of the network input is
 * x[order[ch]]*scale[ch] + offset[ch] (order NULL: identity); c must be
 * the input's channel count (<= 4) and order a permutation; -1 (nn_error)
 * otherwise.  nn_set_preprocess(m, s, o) returns to one s, o for all. */
int nn_set_preprocess_ch(struct nn_model *m, int c, const int *order,
                         const float *scale, const float *offset);

/* Forward pass of n samples; x is host memory, n*h*w*c elements of dt.
 * training = 1: batch statistics in BN, dropout on (refused, -1, on an
 * inference plan). */
int nn_forward(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n, int training);

/* After nn_forward: loss of the last forward, gradients of every
 * trainable parameter.  y: n labels (binary: 0/1; softmax: class index;
 * a sigmoid output of k > 1 units, multi-label: n*k 0/1 targets, row-major),
 * w: as many weights as y, or NULL (the loss is sum w*l / count of y).  *loss gets the batch mean loss; probs (if
 * not NULL) gets n*nn_output_size probabilities. */
int nn_backward(struct nn_model *m, const float *y, const float *w, float *loss, float *probs);

/* After nn_forward with training = 0: n*nn_output_size probabilities. */
int nn_predict(struct nn_model *m, float *probs);

/* Copies the output of layer `layer` for the last forward pass into host
 * memory (n*h*w*c floats, NHWC); used by tests and feature export. */
int nn_layer_output(struct nn_model *m, int layer, float *out);

enum nn_optim_type { NN_ADAM, NN_SGD };
struct nn_optim {
	enum nn_optim_type type;
	float lr;
	float beta1, beta2, eps;     /* Adam (Keras: 0.9, 0.999, 1e-8 in 2018, 1e-7 now) */
	float momentum;              /* SGD */
	int nesterov;
	float l2;                    /* L2 on kernels (decay = 1 params) */
};
/* Applies one optimiser step with the gradients of the last nn_backward;
 * increments the step counter t (Adam: lr_t = lr*sqrt(1-b2^t)/(1-b1^t)). */
int nn_step(struct nn_model *m, const struct nn_optim *o);
/* Step counter (number of nn_step calls, or the value restored). */
int64_t nn_step_count(const struct nn_model *m);
void nn_set_step_count(struct nn_model *m, int64_t t);
/* Host access to the optimiser moments (Adam m and v; SGD uses m only) for
 * checkpoints: download fills them from the backend (-1, nn_error, when the
 * backend recorded a failure), upload sends them back. */
float *nn_moments_host(struct nn_model *m, int which /* 0: m, 1: v */);
int nn_moments_download(struct nn_model *m);
void nn_moments_upload(struct nn_model *m);

/* 1 if a parameter of the planned model (its backend copy) is NaN or
 * infinite, else 0 (also when the backend lacks the nonfinite op); one
 * pass over the parameters on the backend, then a wait.  Call between
 * steps. */
int nn_params_nonfinite(struct nn_model *m);
/* --- data parallelism (libshared/nn/dist) ------------------------------ */

/* Called by nn_train_step: ready(ctx, g, lo, hi) as soon as backward has
 * written a layer's weight gradients, elements [lo, hi) of the backend
 * gradient arena g (ranges arrive in decreasing order); done(ctx, g, n)
 * after backward, before the optimiser step (n: arena elements).  The
 * hook may change the gradients in place (all-reduce them). */
struct nn_grad_hook {
	void (*ready)(void *ctx, float *g, size_t lo, size_t hi);
	void (*done)(void *ctx, float *g, size_t n);
	void *ctx;
};
/* Installs h (NULL: none) for the following training steps. */
void nn_set_grad_hook(struct nn_model *m, const struct nn_grad_hook *h);
/* The planned backend arena: 0 parameters, 1 gradients (NULL before a
 * plan); host memory on ref and cpu, device memory on cuda. */
float *nn_backend_arena(struct nn_model *m, int which);
/* A step without a batch (a rank out of data joins its peers): zero
 * gradients, the hook's done, the optimiser step.  0, or -1 (nn_error). */
int nn_idle_step(struct nn_model *m, const struct nn_optim *o);

/* --sync-bn: batch norm in training takes its statistics over every rank,
 * sum(ctx, v, n) summing n doubles over the ranks in place (NULL: per
 * rank); share: this rank's images / all ranks' images of the step (its
 * gradients' weight in the all-reduce).  syncbn.c says how.  Set it
 * before nn_model_plan: a plan made without it may share BN gradients
 * (the fused BN+ReLU backward), and its steps then fail. */
void nn_set_bn_sync(struct nn_model *m, void (*sum)(void *ctx, double *v, int n), void *ctx,
                    double share);
/* Sets the share of the coming step (nn_set_bn_sync). */
void nn_set_bn_share(struct nn_model *m, double share);

/* One training step: nn_forward (training), nn_backward and nn_step in
 * one call, with loss and probs (each may be NULL) read back after the
 * step's last op.  Same results as the three calls; a backend with step
 * hooks (cuda) may run it as a replayed CUDA graph. */
int nn_train_step(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n,
                  const float *y, const float *w, const struct nn_optim *o,
                  float *loss, float *probs);
/* nn_forward (inference) and nn_predict in one call, likewise. */
int nn_infer(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n, float *probs);
/* Loss scaling (cuda fp16): optimiser steps skipped so far for inf/NaN
 * gradients and the current scale (0 and 1 elsewhere); waits for the backend. */
void nn_amp_stats(const struct nn_model *m, long long *skippedP, float *scaleP);

/* Sets layer i's trainable flag (weights still get no gradient if 0). */
void nn_set_trainable(struct nn_model *m, int layer, int trainable);
/* Batchnorm layers: 1 = always use moving statistics (frozen BN). */
void nn_set_frozen_bn(struct nn_model *m, int layer, int frozen);
/* Dropout seed (counter-based; the step count is the counter). */
void nn_set_seed(struct nn_model *m, uint64_t seed);
/* BN moving-variance correction (see struct nn_bn.unbiased). */
void nn_set_bn_unbiased(struct nn_model *m, int unbiased);
/* Keras' probability clipping in binary cross-entropy (0 disables). */
void nn_set_bce_clip(struct nn_model *m, float clip);

/* --- Grad-CAM (engine/cam.c, engine/plan.c; the map: libshared/cam.h) --
 * The score S is a logit, before the output activation: sigmoid output:
 * S = z (class 1, the positive class) or -z (class 0); softmax: S = z_k
 * for class k.  A is the CAM layer's output (n x h x w x c, NHWC). */

/* The default Grad-CAM layer: the input of the first global average
 * pooling (InceptionV3: mixed10; small_cnn: activation_5), or -1. */
int nn_cam_default_layer(struct nn_model *m);
/* 0 if Grad-CAM can use layer: it exists, comes before the global
 * pooling (has spatial extent) and the output depends on it; else -1. */
int nn_cam_check(struct nn_model *m, int layer);
/* Index of the layer called name (NULL: the default) if nn_cam_check
 * accepts it, else -1 with the reason ("no layer called ..."). */
int nn_cam_layer(struct nn_model *m, const char *name);
/* Plans m for nn_cam_grad on `layer`, batches up to max_batch: parameters
 * and one gradient arena (no moments), activations below the layer
 * packed by forward liveness, from it up kept; gradients only from it
 * up.  nn_forward, nn_predict and nn_infer work on it; nn_backward and
 * nn_step fail. */
int nn_model_plan_cam(struct nn_model *m, struct nn_backend *be, int max_batch,
                      int layer);
/* Grad-CAM inputs for n images x (as nn_forward): an inference forward,
 * then backward seeded with dS/dlogits (no loss, no weight updates).
 * cls: sigmoid 1 or 0 (-1 = 1); softmax 0..k-1 (-1 = each image's most
 * probable class).  Fills act = A and grad = dS/dA (n*h*w*c floats each;
 * either may be NULL) and probs (n*nn_output_size, may be NULL). */
int nn_cam_grad(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n,
                int cls, float *act, float *grad, float *probs);

/* --- profiling (engine/prof.c) --------------------------------------- */

enum nn_prof_kind {
	NN_PROF_INPUT, NN_PROF_CONV_FWD, NN_PROF_CONV_BWD_DATA, NN_PROF_CONV_BWD_W,
	NN_PROF_BN_FWD, NN_PROF_BN_BWD, NN_PROF_RECOMPUTE, NN_PROF_RELU_FWD,
	NN_PROF_RELU_BWD, NN_PROF_POOL_FWD, NN_PROF_POOL_BWD, NN_PROF_CONCAT,
	NN_PROF_GAP, NN_PROF_DENSE, NN_PROF_DROPOUT, NN_PROF_LOSS, NN_PROF_OPTIM,
	NN_PROF_DWCONV_FWD, NN_PROF_DWCONV_BWD, NN_PROF_PAD, NN_PROF_ADD,
	NN_PROF_NKIND
};
/* Per-op-kind wall time: on (1) waits for the backend (be->sync) around
 * every op and accumulates seconds per kind; resets the counters.  Off by
 * default; env RADPIPE_PROFILE=1 turns it on at nn_model_new. */
void nn_profile_enable(struct nn_model *m, int on);
/* The NN_PROF_NKIND accumulated times in seconds (zeros when off). */
const double *nn_profile_times(const struct nn_model *m);
/* Short name of a kind ("conv_fwd", ...). */
const char *nn_profile_name(int kind);

/* --- architectures (models/models.c, models/inception_v3.c) ----------- */

struct nn_head {
	int dense_units;        /* 256 in the paper; 0: no hidden layer */
	float dropout;          /* 0.5 in the paper */
	int classes;            /* 1: sigmoid output; >= 2: softmax */
	int multilabel;         /* 1: classes independent sigmoid outputs (--task multilabel) */
};

/* Keras InceptionV3(include_top=False) for h x w x 3 input, followed by the
 * head (GAP -> Dense units relu -> Dropout -> Dense classes). */
struct nn_model *nn_inception_v3(int h, int w, const struct nn_head *head);
/* A small CNN for fast tests: conv/BN/relu/pool blocks + the head. */
struct nn_model *nn_small_cnn(int h, int w, int c, const struct nn_head *head);
/* Keras ResNet50 / DenseNet121 / MobileNetV2 (alpha 1) with
 * include_top=False, Keras' layer names and order, for h x w x 3 input
 * (h, w >= 32), followed by the head (models/resnet50.c, densenet121.c,
 * mobilenet_v2.c); NULL when the input is too small or the head bad. */
struct nn_model *nn_resnet50(int h, int w, const struct nn_head *head);
struct nn_model *nn_densenet121(int h, int w, const struct nn_head *head);
struct nn_model *nn_mobilenet_v2(int h, int w, const struct nn_head *head);
/* Builds an architecture by name (one of nn_arch_names()). */
struct nn_model *nn_arch_build(const char *arch, int h, int w, int c, const struct nn_head *head);
/* The architecture names, NULL-terminated: inception_v3, resnet50,
 * densenet121, mobilenet_v2, small_cnn. */
const char *const *nn_arch_names(void);
/* 1 if arch is one of nn_arch_names(), else 0. */
int nn_arch_known(const char *arch);
/* The input preprocessing an architecture's ImageNet weights expect
 * ("inception" for inception_v3 and mobilenet_v2's Keras "tf", "caffe"
 * for resnet50, "torch" for densenet121, "rescale" for small_cnn); NULL
 * for an unknown arch. */
const char *nn_arch_preprocess(const char *arch);

#endif
