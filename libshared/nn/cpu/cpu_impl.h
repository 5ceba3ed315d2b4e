/* cpu_impl.h — private to the "cpu" backend (cpu*.c): oneDNN state, the
 * primitive cache, scratch buffers and the plain-C helpers they share.
 *
 * Layout: oneDNN's fast kernels (jit, jit_1x1, bnorm_jit) accept dense
 * NHWC or their own blocked layouts only; a strided activation (ld >
 * channels) makes oneDNN fall back to its slow "ref:any" kernels.  So
 * batch norm runs on dense NHWC, a strided view being packed into (or
 * unpacked from) a scratch buffer at the edge by cpu_pack / cpu_unpack.
 * Pooling runs oneDNN only for average pooling forward on dense x and y;
 * the rest are plain loops on the strided views (cpu_pool.c).  Convolutions run on dense NHWC or, where that is faster,
 * on oneDNN's blocked layout (nChw8c on AVX2, 1.1-4x faster for spatial
 * kernels in oneDNN 2.6); oneDNN reorders copy between the caller's
 * strided NHWC and the primitive's layout (adding, for dx with beta 1).
 * RADPIPE_CPU_LAYOUT=nhwc|blocked|auto chooses (see conv_blocked).
 *
 * BN backward in training (bn_relu_bwd, cpu_bnbwd.c): plain loops instead
 * of oneDNN, reading the strided x and dy in place, with the ReLU (or
 * ReLU6) after the BN folded in: the engine skips the ReLU's relu_bwd and
 * passes the ReLU's gradient; the mask (y > 0 [and y < cap]) is
 * recomputed from x with cpu_bn_apply's float expression, so it is the
 * forward's bit for bit.  Two passes (per-channel sums in double over
 * fixed per-thread slices, added in order; then dx) instead of relu_bwd's
 * one, the packing, oneDNN's two and the unpacking; dx is not written
 * when the BN's input needs no gradient.  The row loops are compiled for
 * AVX-512, AVX2 and the baseline and picked at run time (the same bits:
 * no FMA, and the order of every sum is fixed; cpu_bnbwd.o is built with
 * -fno-trapping-math so that the masked sums vectorise).  cpu_bn_bwd
 * (oneDNN) stays for the ops table's bn_bwd (sync-BN, and
 * RADPIPE_BN_RELU_BWD=0, which makes the engine use relu_bwd + bn_bwd);
 * it may be called in place (dx == dy: engine/plan.c), which it runs
 * through scratch.
 *
 * Winograd: fp32 3x3 stride-1 convolutions on grids over 17x17 run
 * oneDNN's Winograd F(4x4,3x3) kernels where it has them (avx512_core),
 * else direct ones (conv_wino, conv_pd); their scratchpad (the transformed
 * tiles) counts against the batch chunk (conv_chunk).
 * RADPIPE_CPU_WINOGRAD=0 turns them off.
 *
 * Weights: convolutions let oneDNN pick its weights layout; a reordered
 * copy of each kernel is cached per (pointer, layout) and refreshed when
 * the backend's write generation moves on.  Once the backend trains
 * (c->training, sticky: set by the ops only a training step runs:
 * bn_fwd_train, bn_apply, conv_bwd_weights, adam, sgd) the cached copies
 * are freed and each use reorders into one shared buffer instead (c->wt,
 * in scratch slot CPU_WT_SLOT): the parameters change every step, so
 * every copy was made once per step anyway, and a copy per kernel and
 * layout (forward, backward data) was 2 x 83 MB for InceptionV3
 * (bench/results/rss.md).  c->wt remembers its (pointer, layout,
 * generation), so the chunks of one convolution reorder once.  The
 * generation is bumped by
 * the ops that write parameters: upload and zero when they touch a kernel
 * with a cached copy, free, adam and sgd (graph code changes weights only
 * through those; add and input write activations, and the labels upload
 * between forward and backward leaves the copies valid).
 *
 * Fast weight reorders (cpu_wreorder.c): the weights reorders above
 * (HWIO fp32 -> the primitive's blocked fp32 or bf16 layout for forward
 * and backward data, and the blocked fp32 weight gradient -> HWIO) run
 * hand-written kernels instead of oneDNN 2.6's reorder primitive: 30
 * instead of 65 ms of a bf16 training step of InceptionV3 (batch 5, one
 * thread, about 1.2 s), 27 instead of 41 ms of an fp32 one (1.7 s); see
 * libshared/nn/README.md.  At its first reorder an entry reads wmd's blocking
 * descriptor (cpu_wre_plan, into e->wp): inner blocks over oc and ic
 * only, at most two per dimension, no offset or compensation, and an
 * AVX-512 kernel for its blocks (16b16a, 16a16b fp32; 8b16a2b, 8a16b2a
 * bf16 with AVX512_BF16: what oneDNN picks on AVX-512), tiled over (kh,
 * kw, oc block, ic block), OpenMP over tiles; every other layout (and a
 * CPU without AVX-512) keeps oneDNN's reorder (cpu_wreorder.c's plain-C
 * kernels, its specification, are slower than oneDNN's).  The results
 * are byte for byte oneDNN's (padding zeros; bf16 rounded as
 * vcvtneps2bf16 rounds: nearest even, denormals to signed zero, NaN
 * quietened): tests/unit/test_nn_wreorder.c.  RADPIPE_CPU_FAST_REORDER=0
 * keeps oneDNN's.
 *
 * bf16 (NN_PREC_BF16, only where oneDNN's effective ISA has AVX512_BF16
 * or AMX): convolutions run oneDNN's bf16 kernels on bf16 copies of their
 * inputs (x; dy for backward) and weights, accumulating in fp32 and
 * writing fp32 (y, dx, dw, db).  The input copies are made by the edge
 * reorders (fp32 strided NHWC -> bf16 in the primitive's layout), the
 * weight copies once per write generation like the blocked fp32 ones;
 * activations in memory stay fp32 (conv_bwd makes one bf16 copy of dy
 * for both backward primitives).  Dense layers round x, w and dy to
 * bf16 (to nearest even) into scratch and multiply with sgemm: the same
 * products, exact in fp32, and fp32 sums.
 */
#ifndef RADPIPE_NN_CPU_IMPL_H
#define RADPIPE_NN_CPU_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <oneapi/dnnl/dnnl.h>

#include "nn/backend.h"

/* Records file, line and oneDNN's status string in c's error when call
 * fails (cpu_check); evaluates to 0, or -1 on failure. */
#define DNNL_CHECK(c, call) cpu_check((c), (call), #call, __FILE__, __LINE__)

/* A plain loop's function built for AVX-512, AVX2 and the baseline, the
 * widest the CPU runs picked when the program starts (GCC's
 * target_clones): the same IEEE operations on wider vectors (C11 mode
 * contracts no FMA), so the same bits on every CPU; the baseline alone
 * (SSE2) left the optimisers' double sqrt and divide, and the BN sums in
 * double, compute-bound (Adam on InceptionV3's 24M parameters: 46 ms ->
 * 22 ms a step, one thread). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif

enum cpu_op {
	CPU_CONV_FWD = 1, CPU_CONV_BWD_DATA, CPU_CONV_BWD_WEIGHTS,
	CPU_BN_TRAIN, CPU_BN_INFER, CPU_BN_BWD,
	CPU_POOL_FWD, CPU_POOL_BWD
};

/* What identifies a primitive: the op and its shape (zero-filled, hashed
 * byte by byte). */
struct cpu_key {
	int op;
	int v[19];
};

#define CPU_MAXARGS 10

/* A primitive with its argument list; arg memories get their data handle
 * set at each execution. */
struct cpu_exe {
	dnnl_primitive_t prim;
	int nargs;
	dnnl_exec_arg_t args[CPU_MAXARGS];
};

/* Activation arguments of a convolution that may need a reorder between
 * the caller's (strided NHWC) layout and the primitive's: the input(s)
 * (x or dy; dy of bwd-weights) and the output (y or dx). */
enum { CPU_IO_IN0, CPU_IO_IN1, CPU_IO_OUT, CPU_NIO };

/* How an entry's weights reorder runs (cpu_wreorder.c, see "Fast weight
 * reorders" above): undecided until its first use, oneDNN's primitive, or
 * a kernel of cpu_wreorder.c. */
enum cpu_wre_kind { CPU_WRE_UNDECIDED, CPU_WRE_ONEDNN, CPU_WRE_FAST };
/* The inner blocks a CPU_WRE_FAST plan runs with AVX-512 (16 x 16, oneDNN
 * tags): 16b16a, 16a16b, 8b16a2b, 8a16b2a; CPU_WPAT_C: plain C. */
enum cpu_wpat { CPU_WPAT_C, CPU_WPAT_IO, CPU_WPAT_OI, CPU_WPAT_IO2, CPU_WPAT_OI2 };

/* A weights reorder between HWIO fp32 {o, i, kh, kw} and a blocked layout
 * (elements; dimension 0 is oc, 1 ic).  Element (o, i, h, w) of the
 * blocked side is at (o / blk[0]) * st[0] + (i / blk[1]) * st[1] +
 * h * st[2] + w * st[3] + in-block offset, where index x of dimension k
 * in its block adds (x / split[k]) * hi[k] + (x % split[k]) * lo[k]. */
struct cpu_wplan {
	int kind;               /* enum cpu_wre_kind */
	int back;               /* 1: blocked -> HWIO (weight gradient) */
	int bf16;               /* blocked side bf16 (forward only), else fp32 */
	int pat;                /* enum cpu_wpat */
	int simd;               /* 1: this CPU runs pat's AVX-512 kernel */
	int o, i, kh, kw;
	int blk[2], split[2];
	long hi[2], lo[2];
	long st[4];
	long blksize;           /* elements of one block */
	int nt;                 /* non-temporal stores (cpu_wre_exec sets it) */
};

/* One cached entry: the op's primitive and, for convolutions, the weights
 * reorder (hwio -> wmd for fwd/bwd-data, wmd -> hwio for bwd-weights) and
 * the activation reorders. */
struct cpu_entry {
	struct cpu_key key;
	struct cpu_exe main;
	struct cpu_exe wre;         /* prim NULL when the weights are plain hwio */
	struct cpu_exe io[CPU_NIO]; /* prim NULL: the caller's pointer is used */
	size_t iosize[CPU_NIO];     /* bytes of the primitive-layout copy */
	dnnl_memory_desc_t wmd;     /* weights layout the primitive wants */
	size_t wsize;               /* bytes of wmd */
	struct cpu_wplan wp;        /* how wre runs (cpu_wreorder.c) */
	char impl[64];              /* oneDNN implementation name */
	struct cpu_entry *next;
};

/* A reordered copy of the weights at w in layout md. */
struct cpu_wcopy {
	const float *w;
	size_t wbytes;          /* bytes of the HWIO kernel at w */
	dnnl_memory_desc_t md;
	float *buf;
	unsigned long gen;
	struct cpu_wcopy *next;
};

/* The one weight copy of a training backend (see "Weights" above): it
 * lives in scratch slot CPU_WT_SLOT, which bwd-weights' dw copy and BN's
 * sums use between convolutions (cpu_buf on that slot forgets it). */
struct cpu_wtmp {
	const float *w;         /* NULL: holds nothing */
	size_t wbytes;          /* bytes of the HWIO kernel at w */
	dnnl_memory_desc_t md;
	unsigned long gen;
};
#define CPU_WT_SLOT 2

/* Activation layout inside convolutions: the caller's NHWC, oneDNN's
 * blocked choice (nChw8c on AVX2) with reorders at the edges, or blocked
 * where it pays (see cpu_conv.c). */
enum cpu_layout { CPU_LAYOUT_NHWC, CPU_LAYOUT_BLOCKED, CPU_LAYOUT_AUTO };

#define CPU_NBUCKET 256
#define CPU_NBUF 4

struct cpu {
	dnnl_engine_t eng;
	dnnl_stream_t strm;
	int threads;
	int layout;                     /* enum cpu_layout */
	int bf16;                       /* --precision bf16: see "bf16" above */
	int wino;                       /* Winograd 3x3 convolutions (see top) */
	size_t chunk;                   /* bytes a blocked conv copy may take */
	unsigned long gen;              /* write generation (see top) */
	struct cpu_entry *tab[CPU_NBUCKET];
	struct cpu_wcopy *wcopies;
	size_t wcbytes, wcpeak;         /* bytes of the weight copies: now, most */
	int training;                   /* see "Weights" above */
	struct cpu_wtmp wt;
	void *pad;                      /* shared oneDNN scratchpad */
	size_t padsize;
	unsigned long dyshared;         /* dy copies conv_bwd shared (tests) */
	void *buf[CPU_NBUF];            /* scratch activations */
	size_t bufsize[CPU_NBUF];
	char err[256];                  /* the first failure ("": none) */
};

/* Files, each calling only those below it:
 *   cpu.c       opening, memory ops, the ops table (nn_cpu_open)
 *   cpu_conv.c  convolutions      cpu_norm.c  batch norm
 *   cpu_bnbwd.c the fused BN(+ReLU) training backward (plain loops)
 *   cpu_pool.c  pooling (oneDNN average forward on dense views, else
 *               plain loops)
 *   cpu_wreorder.c  the convolutions' weight reorders (below cpu_conv.c)
 *   cpu_dw.c    depthwise conv, zero padding, per-channel input, ReLU6
 *   cpu_misc.c  plain loops (elementwise, dense, losses, optimisers,
 *               pack/unpack)
 *   cpu_core.c  errors, the primitive cache, execution, scratch
 *
 * Errors: a failing oneDNN call is recorded once in c->err (the first
 * failure wins) and the op returns; later ops do nothing where they would
 * need what failed.  The engine reads the message through be->error. */

/* --- cpu_core.c: errors, cache, execution --- */
/* Records the printf-style message as c's error unless one is recorded. */
void cpu_fail(struct cpu *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 once an error is recorded, else 0. */
int cpu_failed(const struct cpu *c);
/* 0 if s is dnnl_success; else records "cpu backend: file:line: call:
 * status" (cpu_fail) and returns -1. */
int cpu_check(struct cpu *c, dnnl_status_t s, const char *call, const char *file, int line);
/* The backend's state. */
struct cpu *cpu_of(struct nn_backend *be);
/* The cached entry for key, or NULL (fill it with cpu_insert). */
struct cpu_entry *cpu_lookup(struct cpu *c, const struct cpu_key *key);
/* Inserts the filled entry e into the cache (c owns it from then on). */
void cpu_insert(struct cpu *c, struct cpu_entry *e);
/* Frees an entry that is not in the cache (or, from cpu_close, one that is). */
void cpu_entry_free(struct cpu_entry *e);
/* The end of building entry e from pd and a: destroys them; then e
 * inserted into the cache and returned, or, when an error is recorded,
 * freed and NULL (a failed entry is never cached). */
struct cpu_entry *cpu_entry_finish(struct cpu *c, struct cpu_entry *e, dnnl_primitive_desc_t pd,
                                   dnnl_primitive_attr_t a);
/* NULL, after destroying a and freeing e, an entry whose primitive could
 * not be made (the failure is recorded). */
struct cpu_entry *cpu_entry_abandon(struct cpu *c, struct cpu_entry *e, dnnl_primitive_attr_t a);
/* Creates x's primitive from pd (taking pd's scratchpad into account). */
void cpu_exe_init(struct cpu *c, struct cpu_exe *x, const_dnnl_primitive_desc_t pd);
/* Adds argument arg of descriptor md to x (memory created without data). */
void cpu_exe_arg(struct cpu *c, struct cpu_exe *x, int arg, const dnnl_memory_desc_t *md);
/* Runs x with the data pointers ptr[i] for its arguments, in the order
 * they were added (the scratchpad is supplied here); nothing once failed. */
void cpu_run(struct cpu *c, struct cpu_exe *x, void *const *ptr);
/* Releases x's primitive and argument memories. */
void cpu_exe_free(struct cpu_exe *x);
/* The primitive descriptor of op descriptor d (dnnl_primitive_desc_create),
 * or NULL once c has failed (d may then be uninitialised: not read). */
dnnl_primitive_desc_t cpu_pd(struct cpu *c, const void *d, const_dnnl_primitive_attr_t a,
                             const_dnnl_primitive_desc_t hint);
/* Attributes with a user-managed scratchpad (destroy after use). */
dnnl_primitive_attr_t cpu_attr(struct cpu *c);
/* Scratch of at least size bytes: p (of *sizeP bytes) itself, or fresh
 * pages in its place (contents lost, *sizeP updated).  Scratch is mapped
 * pages, not malloc's: grown buffers go back to the system instead of
 * leaving holes in malloc's heap (27 MB of InceptionV3's bf16 training
 * step: bench/results/rss.md). */
void *cpu_scratch_grow(void *p, size_t *sizeP, size_t size);
/* Frees scratch from cpu_scratch_grow (NULL: nothing). */
void cpu_scratch_free(void *p);
/* Scratch buffer i of at least size bytes (grown, contents lost; slot
 * CPU_WT_SLOT then no longer holds c->wt's weights). */
float *cpu_buf(struct cpu *c, int i, size_t size);
/* Dense NHWC descriptor {n, ch, h, w}. */
void cpu_md_nhwc(struct cpu *c, dnnl_memory_desc_t *md, int n, int ch, int h, int w);
/* The oneDNN implementation name of pd. */
const char *cpu_impl_of(struct cpu *c, const_dnnl_primitive_desc_t pd);

/* --- cpu_wreorder.c: weight reorders (see "Fast weight reorders") --- */
/* Fills d for a reorder of the HWIO fp32 kernel {oc, ic, kh, kw} into md
 * (back 0) or from md (back 1): 1 when cpu_wreorder.c's kernels can run md
 * (plain C, d->simd 0, always then), else 0; d->kind CPU_WRE_FAST where
 * an AVX-512 kernel of this CPU runs it, else CPU_WRE_ONEDNN. */
int cpu_wre_plan_md(struct cpu_wplan *d, const dnnl_memory_desc_t *md, int back, int oc, int ic,
                    int kh, int kw);
/* Decides e->wp for e's weights reorder (oneDNN's where e->wre.prim is
 * NULL or RADPIPE_CPU_FAST_REORDER is 0). */
void cpu_wre_plan(struct cpu_entry *e);
/* Runs plan d (from cpu_wre_plan_md returning 1; AVX-512 where d->simd,
 * else plain C): src (HWIO, or blocked when d->back) -> dst, padding
 * written as zeros. */
void cpu_wre_exec(const struct cpu_wplan *d, const void *src, void *dst);
/* e's weights reorder ptr[0] -> ptr[1], as cpu_run(c, &e->wre, ptr) does
 * it, by cpu_wreorder.c's kernels where e->wp says (planned at the first
 * call); nothing once c has failed. */
void cpu_wre_run(struct cpu *c, struct cpu_entry *e, void *const *ptr);

/* --- cpu_misc.c: plain loops --- */
/* dst (m x c, dense) = src (m pixels, stride ld). */
void cpu_pack(float *dst, const float *src, size_t m, int c, int ld);
/* dst (m pixels, stride ld) = beta*dst + src (m x c, dense). */
void cpu_unpack(float *dst, int ld, const float *src, size_t m, int c, float beta);
/* dst[i] = src[i] rounded to bf16 (nearest even; NaN stays NaN), n floats. */
void cpu_round_bf16(float *dst, const float *src, size_t n);

/* The ops, each the struct nn_backend entry of the same name (contracts
 * in backend.h). */
/* cpu_misc.c */
void cpu_input(struct nn_backend *be, enum nn_dtype_in dt, const void *src, size_t n,
               float scale, float offset, float *dst);
void cpu_relu_fwd(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y);
void cpu_relu_bwd(struct nn_backend *be, const struct nn_ew *p, const float *y,
                  const float *dy, float *dx, float beta);
void cpu_add(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y, float beta);
void cpu_gap_fwd(struct nn_backend *be, const struct nn_gap *p, const float *x, float *y);
void cpu_gap_bwd(struct nn_backend *be, const struct nn_gap *p, const float *dy,
                 float *dx, float beta);
void cpu_dense_fwd(struct nn_backend *be, const struct nn_dense *p, const float *x,
                   const float *w, const float *b, float *y);
void cpu_dense_bwd(struct nn_backend *be, const struct nn_dense *p, const float *x,
                   const float *w, const float *dy, float *dx, float *dw, float *db,
                   float beta);
void cpu_dropout_fwd(struct nn_backend *be, size_t n, float rate, uint64_t seed,
                     uint64_t counter, const float *x, float *y, float *mask);
void cpu_dropout_bwd(struct nn_backend *be, size_t n, const float *mask,
                     const float *dy, float *dx, float beta);
void cpu_bce_logits(struct nn_backend *be, int n, const float *z, const float *y,
                    const float *w, float clip, float *loss, float *dz, float *prob);
void cpu_softmax_ce(struct nn_backend *be, int n, int k, const float *z, const float *label,
                    const float *w, float *loss, float *dz, float *prob);
void cpu_adam(struct nn_backend *be, size_t n, float *p, const float *g, float *m,
              float *v, float lr_t, float b1, float b2, float eps, float l2);
void cpu_sgd(struct nn_backend *be, size_t n, float *p, const float *g, float *v,
             float lr, float mom, int nesterov, float l2);
int cpu_nonfinite(struct nn_backend *be, const float *x, size_t n);

/* cpu_conv.c */
void cpu_conv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
                  const float *w, const float *bias, float *y);
void cpu_conv_fwd_relu(struct nn_backend *be, const struct nn_conv *p, const float *x,
                       const float *w, const float *bias, float *y);
void cpu_conv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
                       const float *w, float *dx, float beta);
void cpu_conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                          const float *dy, float *dw, float *db);
void cpu_conv_bwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
                  const float *dy, const float *w, float *dw, float *db, float *dx,
                  int dx_ld, float beta);
/* Moves the write generation on if [p, p+size) overlaps a kernel that
 * has a cached copy (upload and zero: labels and inputs leave it). */
void cpu_wcopy_touch(struct cpu *c, const void *p, size_t size);
/* Drops the cached weight copies of w (the memory is being freed). */
void cpu_wcopy_forget(struct cpu *c, const void *p);
/* Frees every cached weight copy. */
void cpu_wcopy_free(struct cpu *c);

/* cpu_norm.c */
void cpu_bn_fwd_train(struct nn_backend *be, const struct nn_bn *p, const float *x,
                      const float *gamma, const float *beta, float *y, float *mean,
                      float *invstd, float *run_mean, float *run_var);
void cpu_bn_fwd_train_relu(struct nn_backend *be, const struct nn_bn *p, const float *x,
                           const float *gamma, const float *beta, float *y, float *mean,
                           float *invstd, float *run_mean, float *run_var);
void cpu_bn_fwd_infer(struct nn_backend *be, const struct nn_bn *p, const float *x,
                      const float *gamma, const float *beta, const float *run_mean,
                      const float *run_var, float *y);
void cpu_bn_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x,
                const float *dy, const float *gamma, const float *mean, const float *invstd,
                float *dx, float *dgamma, float *dbeta, float beta_acc);
void cpu_bn_bwd_infer(struct nn_backend *be, const struct nn_bn *p, const float *dy,
                      const float *gamma, const float *run_var, float *dx, float beta_acc);
void cpu_bn_apply(struct nn_backend *be, const struct nn_bn *p, const float *x,
                  const float *gamma, const float *beta, const float *mean,
                  const float *invstd, float *y, int relu);

/* cpu_bnbwd.c (plain loops): the fused BN(+ReLU) training backward,
 * reading the strided x and dy in place (no cpu_pack/cpu_unpack copies);
 * the ReLU's mask recomputed from x as cpu_bn_apply computes y */
void cpu_bn_relu_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x,
                     const float *dy, const float *gamma, const float *beta,
                     const float *mean, const float *invstd, float *dx, float *dgamma,
                     float *dbeta, float beta_acc, int relu, float cap);

/* cpu_pool.c */
void cpu_pool_fwd(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y);
void cpu_pool_bwd(struct nn_backend *be, const struct nn_pool *p, const float *x,
                  const float *dy, float *dx, float beta);

/* cpu_dw.c (plain loops): depthwise convolution, zero padding,
 * per-channel input, ReLU with a ceiling (cap 0: cpu_misc.c's relu) */
void cpu_dwconv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
                    const float *w, const float *bias, float *y);
void cpu_dwconv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
                         const float *w, float *dx, float beta);
void cpu_dwconv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                            const float *dy, float *dw, float *db);
void cpu_pad_fwd(struct nn_backend *be, const struct nn_padg *p, const float *x, float *y);
void cpu_pad_bwd(struct nn_backend *be, const struct nn_padg *p, const float *dy, float *dx,
                 float beta);
void cpu_input_ch(struct nn_backend *be, enum nn_dtype_in dt, const void *src, size_t npix,
                  int c, const int *order, const float *scale, const float *offset,
                  float *dst);
void cpu_relu_cap_fwd(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y);
void cpu_relu_cap_bwd(struct nn_backend *be, const struct nn_ew *p, const float *y,
                      const float *dy, float *dx, float beta);

/* Implementation names the cpu backend picks for a convolution (for the
 * benchmark): writes "fwd | bwd_d | bwd_w" into buf. */
void nn_cpu_conv_impl(struct nn_backend *be, const struct nn_conv *p, char *buf, size_t len);

#endif
