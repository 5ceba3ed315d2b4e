/* backend.h — the ops table that every network backend implements.
 *
 * Backends: "ref" (plain C loops, the specification and test oracle),
 * "cpu" (oneDNN), "cuda" (cuDNN + cuBLAS, loaded from a shared object only
 * when asked for).  Layer code (graph.c) calls only this table and never
 * contains #ifdef or backend types.
 *
 * Memory rule: every float pointer given to an op is backend memory that
 * came from be->alloc (host memory for ref and cpu, device memory for cuda).
 * Host code reaches backend memory only through upload/download.  Ops may
 * run asynchronously and in order on one queue; be->sync waits for them.
 *
 * Layout rule: activations are NHWC float32.  Consecutive pixels of an
 * activation are `ld` floats apart (ld >= channels), so a layer reads or
 * writes a channel slice of a wider buffer: that is how Concatenate costs
 * no copy (each branch writes at its channel offset, ld = total channels).
 * Conv kernels are HWIO (kh, kw, in, out), as Keras stores them; dense
 * kernels are (in, out) row-major, as Keras stores them.
 *
 * Accumulation rule: an op that writes a gradient wrt its input (dx) takes
 * `beta`: dx = beta*dx + new (beta is 0 or 1).  That is how a tensor read
 * by several layers sums its gradients.  Weight gradients are overwritten.
 *
 * Loss scaling (cuda, fp16): the loss ops write S*dz, so every gradient of
 * the backward pass is S times the true one; the optimisers divide by S.
 *
 * Error rule: ops return nothing and never exit.  An op that fails (a
 * library call, a device or host allocation inside the backend) records
 * the first failure as a one-line message ("cpu backend: ...", "cuda:
 * ...") that be->error returns; from then on the backend's results are
 * undefined (ops may do nothing) and the caller must not trust them.  The
 * engine checks be->error after each step (and its own transfers) and
 * fails with the message through nn_fail; the program's main exits.
 *
 * Backend pattern (ref.c, cpu/cpu.c, cuda/backend.c): each backend is a
 * folder whose files call only downward: helpers (state, errors, memory,
 * library handles) at the bottom, op files above them, and one top file
 * that opens the backend and holds its table, one designated initializer
 *     static const struct nn_backend cpu_table = { .name = "cpu",
 *             .alloc = cpu_alloc, ..., .conv_fwd = cpu_conv_fwd, ... };
 * copied into the struct it returns (*be = cpu_table; be->impl = state).
 * Optional entries (see the end of the struct) are left out, not set to
 * NULL by hand.  Nothing calls back into the top file.
 */
#ifndef RADPIPE_NN_BACKEND_H
#define RADPIPE_NN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* Convolution: x (n, ih, iw, ic) -> y (n, oh, ow, oc), stride sh/sw,
 * dilation 1, groups 1.  Padding: pt/pl cells on top/left; the bottom/right
 * padding is whatever the output size implies (TF 'same' puts the odd cell
 * at the bottom/right).  Cells outside the input read as zero. */
struct nn_conv {
	int n, ih, iw, ic, oh, ow, oc;
	int kh, kw, sh, sw;
	int pt, pl;
	int x_ld, y_ld;         /* pixel strides of x/dx and y/dy */
};

/* Batch normalisation over m = n*h*w pixels of c channels. */
struct nn_bn {
	int m, c;
	int x_ld, y_ld;         /* pixel strides of x/dx and y/dy */
	float eps;              /* Keras: 1e-3 */
	float momentum;         /* moving = momentum*moving + (1-momentum)*batch */
	int unbiased;           /* 1: moving variance gets the m/(m-1) sample
	                           correction (Keras >= 2.1.3); 0: biased */
};

/* Pooling: x (n, ih, iw, c) -> y (n, oh, ow, c).  Average pooling divides by
 * the number of cells inside the input (padding excluded, as TF does). */
struct nn_pool {
	int n, ih, iw, c, oh, ow;
	int kh, kw, sh, sw, pt, pl;
	int x_ld, y_ld;
	int avg;                /* 0 max, 1 average */
};

/* Elementwise op over m pixels of c channels (strided views).  cap:
 * relu's ceiling (Keras ReLU(max_value), ReLU6: 6); 0 none.  Positional
 * initializers that stop at y_ld leave it 0. */
struct nn_ew {
	int m, c;
	int x_ld, y_ld;
	float cap;
};

/* Zero padding (Keras ZeroPadding2D): x (n, ih, iw, c) -> y (n, ih+pt+pb,
 * iw+pl+pr, c) with a border of zeros. */
struct nn_padg {
	int n, ih, iw, c;
	int pt, pb, pl, pr;
	int x_ld, y_ld;         /* pixel strides of x/dx and y/dy */
};

/* Dense: x (n, in) -> y (n, out), contiguous rows. */
struct nn_dense {
	int n, in, out;
};

/* Global average pooling: x (n, hw pixels, c; pixel stride x_ld) -> y (n, c). */
struct nn_gap {
	int n, hw, c, x_ld;
};

enum nn_dtype_in { NN_IN_U8, NN_IN_U16, NN_IN_F32 };

/* Math of convolutions and dense layers (cuda: all four; cpu: fp32, and
 * bf16 where the CPU has AVX512_BF16 or AMX, else it does not open; ref:
 * fp32).  Activations, BN, pooling, losses, optimisers and the parameters
 * stay fp32 in every mode ("master weights").
 *   FP32  fp32 FMA math (matches ref closely)
 *   TF32  TF32 tensor-core math, fp32 operands
 *   BF16  bf16 copies of weights and inputs, fp32 accumulation
 *   FP16  fp16 copies, fp32 accumulation, dynamic loss scaling */
enum nn_precision { NN_PREC_FP32, NN_PREC_TF32, NN_PREC_BF16, NN_PREC_FP16 };

struct nn_backend_opts {
	int threads;            /* 0: the backend's default (all cores) */
	int deterministic;      /* 1: only bit-reproducible algorithms */
	int device;             /* device index (cuda) */
	int precision;          /* enum nn_precision; cuda also reads
	                           RADPIPE_CUDA_PRECISION when this is FP32 */
	int graphs;             /* cuda: step hooks capture CUDA graphs; 0: the
	                           default (RADPIPE_CUDA_GRAPHS, else on), 1 on,
	                           -1 off */
};

struct nn_backend {
	const char *name;       /* "ref", "cpu", "cuda" */
	void *impl;             /* backend-private state */
	/* Optional, 0 unless set: alloc returns plain host memory and upload
	 * with dst == src only marks the range written (cpu).  A training
	 * plan then uses the model's host parameter copy as its backend
	 * parameters (one copy, engine/plan.c). */
	int host_mem;

	/* --- memory --- */
	/* Returns size bytes of backend memory aligned to 64, or NULL. */
	void *(*alloc)(struct nn_backend *be, size_t size);
	/* Frees memory from alloc (NULL is a no-op). */
	void (*free)(struct nn_backend *be, void *p);
	/* Copies size bytes host -> backend. */
	void (*upload)(struct nn_backend *be, void *dst, const void *src, size_t size);
	/* Copies size bytes backend -> host (waits for pending ops first). */
	void (*download)(struct nn_backend *be, void *dst, const void *src, size_t size);
	/* Sets size bytes of backend memory to zero. */
	void (*zero)(struct nn_backend *be, void *p, size_t size);
	/* Waits until every queued op has finished. */
	void (*sync)(struct nn_backend *be);
	/* Releases the backend and everything it cached. */
	void (*close)(struct nn_backend *be);
	/* The first failure of an op since open (one line, see the error
	 * rule above), or NULL.  Optional: a backend whose ops cannot fail
	 * (ref) leaves it out; nn_backend_error handles both. */
	const char *(*error)(struct nn_backend *be);

	/* --- input --- */
	/* dst[i] = src[i]*scale + offset for n host elements of type dt. */
	void (*input)(struct nn_backend *be, enum nn_dtype_in dt, const void *src,
	              size_t n, float scale, float offset, float *dst);

	/* --- convolution --- */
	/* y = conv(x, w) (+ bias[oc] if bias != NULL). */
	void (*conv_fwd)(struct nn_backend *be, const struct nn_conv *p,
	                 const float *x, const float *w, const float *bias, float *y);
	/* Optional (NULL: the engine runs relu_fwd after conv_fwd): y =
	 * max(conv(x, w) + bias, 0), the ReLU fused (inference plans, BN
	 * folded into w and bias: engine/forward.c). */
	void (*conv_fwd_relu)(struct nn_backend *be, const struct nn_conv *p,
	                      const float *x, const float *w, const float *bias, float *y);
	/* dx = beta*dx + conv_transpose(dy, w). */
	void (*conv_bwd_data)(struct nn_backend *be, const struct nn_conv *p,
	                      const float *dy, const float *w, float *dx, float beta);
	/* dw = dL/dw; db = sum of dy over n,h,w (db may be NULL). */
	void (*conv_bwd_weights)(struct nn_backend *be, const struct nn_conv *p,
	                         const float *x, const float *dy, float *dw, float *db);

	/* --- batch normalisation (gamma/beta may be NULL: scale=False/center=False) --- */
	/* Training mode: batch statistics; writes y, saves mean[c] and
	 * invstd[c] = 1/sqrt(var+eps) for bn_bwd, updates run_mean/run_var. */
	void (*bn_fwd_train)(struct nn_backend *be, const struct nn_bn *p,
	                     const float *x, const float *gamma, const float *beta,
	                     float *y, float *mean, float *invstd,
	                     float *run_mean, float *run_var);
	/* Inference mode: y = (x - run_mean)/sqrt(run_var+eps)*gamma + beta. */
	void (*bn_fwd_infer)(struct nn_backend *be, const struct nn_bn *p,
	                     const float *x, const float *gamma, const float *beta,
	                     const float *run_mean, const float *run_var, float *y);
	/* Backward of training mode: dx = beta_acc*dx + ...; dgamma, dbeta
	 * overwritten (each may be NULL). */
	void (*bn_bwd)(struct nn_backend *be, const struct nn_bn *p,
	               const float *x, const float *dy, const float *gamma,
	               const float *mean, const float *invstd,
	               float *dx, float *dgamma, float *dbeta, float beta_acc);
	/* Backward of inference mode (frozen BN): dx = beta_acc*dx + dy*gamma*rstd. */
	void (*bn_bwd_infer)(struct nn_backend *be, const struct nn_bn *p,
	                     const float *dy, const float *gamma, const float *run_var,
	                     float *dx, float beta_acc);

	/* --- elementwise --- */
	/* y = max(x, 0), then min(y, cap) when p->cap > 0; y may equal x. */
	void (*relu_fwd)(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y);
	/* dx = beta*dx + (y > 0 [and y < cap when cap > 0] ? dy : 0), y being
	 * relu's output (TF's Relu6Grad); y and dy have pixel stride y_ld,
	 * dx x_ld. */
	void (*relu_bwd)(struct nn_backend *be, const struct nn_ew *p,
	                 const float *y, const float *dy, float *dx, float beta);
	/* y = beta*y + x (copy or accumulate a strided view; x at x_ld, y at y_ld). */
	void (*add)(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y, float beta);

	/* --- pooling --- */
	/* y = pool(x). */
	void (*pool_fwd)(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y);
	/* dx = beta*dx + pool_backward(dy); max pooling routes to the first
	 * maximum in window order (row-major), recomputed from x. */
	void (*pool_bwd)(struct nn_backend *be, const struct nn_pool *p, const float *x,
	                 const float *dy, float *dx, float beta);
	/* y[n][c] = mean over pixels of x. */
	void (*gap_fwd)(struct nn_backend *be, const struct nn_gap *p, const float *x, float *y);
	/* dx = beta*dx + dy/hw broadcast over pixels. */
	void (*gap_bwd)(struct nn_backend *be, const struct nn_gap *p, const float *dy, float *dx, float beta);

	/* --- dense --- */
	/* y = x w (+ b). */
	void (*dense_fwd)(struct nn_backend *be, const struct nn_dense *p,
	                  const float *x, const float *w, const float *b, float *y);
	/* dx = beta*dx + dy w^T (dx may be NULL); dw = x^T dy; db = column sums of dy (may be NULL). */
	void (*dense_bwd)(struct nn_backend *be, const struct nn_dense *p,
	                  const float *x, const float *w, const float *dy,
	                  float *dx, float *dw, float *db, float beta);

	/* --- dropout (inverted), from the counter-based generator --- */
	/* mask[i] = u(seed, counter, i) >= rate ? 1/(1-rate) : 0, where u is
	 * rng_philox_uniform (libshared/rng.h); y = x*mask.  n elements. */
	void (*dropout_fwd)(struct nn_backend *be, size_t n, float rate, uint64_t seed,
	                    uint64_t counter, const float *x, float *y, float *mask);
	/* dx = beta*dx + dy*mask. */
	void (*dropout_bwd)(struct nn_backend *be, size_t n, const float *mask,
	                    const float *dy, float *dx, float beta);

	/* --- losses: z are logits; w per-sample weights (NULL: 1) --- */
	/* Sigmoid + binary cross-entropy, mean over n: loss[0] = mean_i w_i*l_i;
	 * dz = d loss/dz; prob = sigmoid(z).  clip > 0 reproduces Keras: the
	 * probability is clipped to [clip, 1-clip] before the log (gradient 0
	 * where clipped).  loss, dz, prob are backend memory. */
	void (*bce_logits)(struct nn_backend *be, int n, const float *z, const float *y,
	                   const float *w, float clip, float *loss, float *dz, float *prob);
	/* Softmax + categorical cross-entropy over k classes, mean over n:
	 * label[i] holds the class index as a float. */
	void (*softmax_ce)(struct nn_backend *be, int n, int k, const float *z, const float *label,
	                   const float *w, float *loss, float *dz, float *prob);

	/* --- optimisers over n parameters (l2 adds 2*l2*p to the gradient) --- */
	/* Keras Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
	 * p -= lr_t * m / (sqrt(v) + eps), lr_t computed by the caller. */
	void (*adam)(struct nn_backend *be, size_t n, float *p, const float *g,
	             float *m, float *v, float lr_t, float b1, float b2, float eps, float l2);
	/* SGD with momentum: v = mom*v - lr*g; p += v (nesterov: p += mom*v - lr*g). */
	void (*sgd)(struct nn_backend *be, size_t n, float *p, const float *g,
	            float *v, float lr, float mom, int nesterov, float l2);

	/* --- depthwise convolution, zero padding, per-channel input --- */
	/* Depthwise convolution, depth multiplier 1: x (n, ih, iw, c) -> y
	 * (n, oh, ow, c), w (kh, kw, c) (Keras' (kh, kw, c, 1)); struct
	 * nn_conv with ic == oc == c.  y = dwconv(x, w) (+ bias[c]). */
	void (*dwconv_fwd)(struct nn_backend *be, const struct nn_conv *p,
	                   const float *x, const float *w, const float *bias, float *y);
	/* dx = beta*dx + dwconv_transpose(dy, w). */
	void (*dwconv_bwd_data)(struct nn_backend *be, const struct nn_conv *p,
	                        const float *dy, const float *w, float *dx, float beta);
	/* dw = dL/dw; db = sum of dy over n,h,w (db may be NULL). */
	void (*dwconv_bwd_weights)(struct nn_backend *be, const struct nn_conv *p,
	                           const float *x, const float *dy, float *dw, float *db);
	/* y = x with a border of zeros (struct nn_padg). */
	void (*pad_fwd)(struct nn_backend *be, const struct nn_padg *p, const float *x, float *y);
	/* dx = beta*dx + the interior of dy. */
	void (*pad_bwd)(struct nn_backend *be, const struct nn_padg *p, const float *dy,
	                float *dx, float beta);
	/* Input with a per-channel affine map and channel order: for npix
	 * host pixels of c channels of type dt, dst[p*c + ch] =
	 * src[p*c + order[ch]]*scale[ch] + offset[ch]; order, scale, offset
	 * are host arrays of c entries (c <= 4). */
	void (*input_ch)(struct nn_backend *be, enum nn_dtype_in dt, const void *src,
	                 size_t npix, int c, const int *order, const float *scale,
	                 const float *offset, float *dst);

	/* --- optional (NULL: not offered; the engine does without) --- */
	/* y = (x - mean)*invstd*gamma + beta, then max(., 0) if relu: exactly
	 * the y that bn_fwd_train wrote when it saved mean and invstd (the
	 * engine recomputes BN+ReLU outputs in backward with it). */
	void (*bn_apply)(struct nn_backend *be, const struct nn_bn *p,
	                 const float *x, const float *gamma, const float *beta,
	                 const float *mean, const float *invstd, float *y, int relu);
	/* bn_fwd_train, then max(y, 0): the same bytes as bn_fwd_train followed
	 * by relu_fwd in place (the engine calls it where a training BN's one
	 * reader is a ReLU in place on it, and skips the ReLU). */
	void (*bn_fwd_train_relu)(struct nn_backend *be, const struct nn_bn *p,
	                          const float *x, const float *gamma, const float *beta,
	                          float *y, float *mean, float *invstd,
	                          float *run_mean, float *run_var);
	/* Both backward convolutions of one layer: exactly what
	 * conv_bwd_weights(p, x, dy, dw, db) and then conv_bwd_data(p with
	 * x_ld = dx_ld, dy, w, dx, beta) write (cpu: dy is copied into the
	 * primitives' layout once for the two). */
	void (*conv_bwd)(struct nn_backend *be, const struct nn_conv *p, const float *x,
	                 const float *dy, const float *w, float *dw, float *db,
	                 float *dx, int dx_ld, float beta);
	/* Training-mode BN backward with the ReLU after it folded in (the
	 * engine calls it instead of relu_bwd + bn_bwd where a batch-mode BN's
	 * one reader is a ReLU in place on it, and instead of bn_bwd with
	 * relu 0; engine/exec.c; a training plan then makes the BN input's
	 * gradient a view of the BN's: engine/plan.c).  g = dy where the ReLU passed it, its mask
	 * recomputed from x bit for bit as bn_apply computes y (relu 1: y > 0,
	 * and y < cap when cap > 0: TF's Relu6Grad; relu 0: g = dy), then as
	 * bn_bwd on g: dx = beta_acc*dx + gamma*invstd*(g - mean(g) -
	 * xhat*mean(g*xhat)), dgamma = sum g*xhat, dbeta = sum g; dx, dgamma,
	 * dbeta may each be NULL (not written).  x and dx have pixel stride
	 * x_ld, dy (the ReLU's output gradient) y_ld. */
	void (*bn_relu_bwd)(struct nn_backend *be, const struct nn_bn *p,
	                    const float *x, const float *dy, const float *gamma,
	                    const float *beta, const float *mean, const float *invstd,
	                    float *dx, float *dgamma, float *dbeta, float beta_acc,
	                    int relu, float cap);

	/* Data parallelism on the device (cuda: NCCL; NULL: the caller reduces
	 * host memory itself, libshared/nn/dist).  comm_id writes a new
	 * communicator id (at most 256 bytes) to id and its size to *len, on
	 * one rank; comm_init joins communicator id as rank of size; each
	 * returns 0, or -1 with be->error.  allreduce: p[0..n) = the sum over
	 * the ranks of scale_r * p_r, queued after the ops before it. */
	int (*comm_id)(struct nn_backend *be, void *id, size_t *len);
	int (*comm_init)(struct nn_backend *be, const void *id, size_t len, int rank, int size);
	void (*allreduce)(struct nn_backend *be, float *p, size_t n, float scale);

	/* Step hooks: the engine calls step_begin before the first op of a
	 * step (a training step, or an inference forward and its outputs) and
	 * step_end after its last op, before reading results.  key names the
	 * op sequence: two steps with one key issue the same ops on the same
	 * memory, differing only in host scalars and uploaded bytes.  No
	 * alloc, free, download or sync between the two.  step_end returns 0
	 * when the step ran, 1 when its ops were recorded but not run (the
	 * engine then runs the step again without the hooks); abort = 1 ends a
	 * step that failed half-way. */
	void (*step_begin)(struct nn_backend *be, uint64_t key);
	int (*step_end)(struct nn_backend *be, int abort);
	/* 1 if one of the n floats at x (backend memory) is NaN or infinite,
	 * else 0; waits for pending ops.  Never between the step hooks.  The
	 * trainer checks the parameters with it after every step. */
	int (*nonfinite)(struct nn_backend *be, const float *x, size_t n);
	/* Loss scaling (fp16): steps skipped for non-finite gradients so far and
	 * the scale the next step uses (waits for pending ops). */
	void (*amp_stats)(struct nn_backend *be, long long *skippedP, float *scaleP);
};

/* Opens backend "ref", "cpu", "cuda" or "auto" (cuda when a GPU can be
 * used, else cpu).  Returns NULL and writes a one-line reason into err
 * when the backend cannot be had (not built, no device, no library). */
struct nn_backend *nn_backend_open(const char *name, const struct nn_backend_opts *o,
                                   char *err, size_t errlen);

/* be->error(be) when the backend offers it, else NULL: the first failure
 * of one of be's ops, or NULL when none failed. */
const char *nn_backend_error(struct nn_backend *be);

/* Constructors, one per backend file; each returns NULL with a reason in err. */
struct nn_backend *nn_ref_open(const struct nn_backend_opts *o, char *err, size_t errlen);
struct nn_backend *nn_cpu_open(const struct nn_backend_opts *o, char *err, size_t errlen);
struct nn_backend *nn_cuda_open(const struct nn_backend_opts *o, char *err, size_t errlen);

/* The precision called s ("fp32", "tf32", "bf16", "fp16"), or -1. */
int nn_precision_parse(const char *s);
/* The name of precision p ("fp32", ...). */
const char *nn_precision_name(int p);
/* 0 if the backend called device can compute in precision p (ref: fp32
 * only; cpu: fp32 or bf16; others: all), else -1 with the reason, for a
 * --precision option, in err. */
int nn_precision_check(const char *device, int p, char *err, size_t errlen);

/* TF 'same'/'valid' geometry: output size and leading padding for one axis. */
void nn_pad_same(int in, int k, int s, int *out, int *pad_before);
void nn_pad_valid(int in, int k, int s, int *out, int *pad_before);

#endif
