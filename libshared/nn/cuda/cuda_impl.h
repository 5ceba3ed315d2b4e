/* cuda_impl.h — private to the "cuda" backend (libshared/nn/cuda/): its
 * state, the error-checking macros and the launchers the files share.
 *
 * The backend is built into its own shared object (libradpipe_cuda.so) and
 * reached only through radpipe_cuda_entry (see cuda_loader.c), so nothing
 * here is visible to the rest of radpipe.  Everything runs on one CUDA
 * stream in submission order; scratch buffers are therefore reused freely
 * between ops (an op's kernels finish before the next op's start).
 *
 * Included by C (gcc, -std=c11) and CUDA C++ (nvcc) files alike.
 */
#ifndef RADPIPE_NN_CUDA_IMPL_H
#define RADPIPE_NN_CUDA_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cublas_v2.h>

#include "nn/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when struct nn_backend or the entry's contract changes. */
#define RADPIPE_CUDA_ABI 4

/* Check a call: on failure record "cuda: file:line: call: reason" as the
 * backend's error (cu_fail; be->error returns it) and evaluate to -1,
 * else 0.  While a step is being captured into a CUDA graph
 * (st->capturing) a failure only sets st->capture_failed, and graph.c runs
 * the step eagerly.  st must be in scope. */
#define CUDA_CHECK(st, call) cu_check_rt((st), (call), #call, __FILE__, __LINE__)
#define CUDNN_CHECK(st, call) cu_check_dnn((st), (call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(st, call) cu_check_blas((st), (call), #call, __FILE__, __LINE__)
/* Checks the last kernel launch. */
#define CUDA_LAUNCHED(st) cu_check_rt((st), cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

/* Precisions: enum nn_precision of backend.h. */
#define CU_FP32 NN_PREC_FP32
#define CU_TF32 NN_PREC_TF32

/* Element types of copies made for the GEMMs (bf16/fp16 modes). */
enum cu_dtype { CU_F32, CU_F16, CU_BF16 };

/* Dynamic loss scaling (fp16), one device struct: the loss op multiplies dz
 * by scale; ops writing weight gradients set flag on a non-finite value;
 * the optimisers set consumed, skip the update when flag is set and divide
 * g by scale otherwise; the next loss op settles the step (halve on
 * overflow and count it in skipped; double after CU_AMP_GROWTH clean
 * steps) and clears flag and consumed. */
struct cu_amp {
	float scale;
	unsigned flag, consumed, good, skipped;
};
#define CU_AMP_INIT 32768.0f
#define CU_AMP_GROWTH 2000
#define CU_AMP_MAX 16777216.0f

/* Graph modes of a step (graph.c): ops run (eager), are recorded into a
 * graph (capture), or only refresh their scalar slots and staged host data
 * (replay; the graph is launched at the step's end). */
enum cu_gmode { CU_EAGER, CU_CAPTURE, CU_REPLAY };
#define CU_NGRAPH 4

/* Scratch slots: one growable device buffer per purpose. */
enum cu_slot {
	CU_WS,          /* cuDNN workspace */
	CU_WT,          /* conv weights in cuDNN's OHWI order */
	CU_XPACK,       /* conv: packed/padded copy of x or dx; dense: half x */
	CU_YPACK,       /* conv: packed copy of y or dy; dense: half dy */
	CU_RED,         /* reduction partials (doubles) */
	CU_COEF,        /* per-channel coefficients */
	CU_STAGE,       /* raw input bytes on the device */
	CU_NSLOT
};

struct cu_plan;     /* conv.c */
struct cu_graph;    /* graph.c */

/* A cached copy of a parameter tensor (wcache.c): conv kernels in OHWI,
 * dense kernels as they are, in the GEMM element type. */
struct cu_wc {
	const float *w;
	size_t n;               /* elements */
	int ohwi, dt;           /* layout, enum cu_dtype */
	void *buf;
	unsigned long gen;      /* st->wgen + 1 when converted; 0: stale */
	unsigned long cap;      /* the capture that converts it (cap_id) */
};

struct cu_state {
	int device;
	int deterministic;
	int precision;          /* enum nn_precision */
	int find;               /* 1: cudnnFind once per shape, 0: heuristics */
	int sm_count;
	size_t ws_limit;        /* bytes of cuDNN workspace an algorithm may use */
	cudaStream_t stream;
	cudnnHandle_t dnn;
	cublasHandle_t blas;

	void *slot[CU_NSLOT];
	size_t slot_size[CU_NSLOT];

	void *pin;              /* pinned host staging for input() */
	size_t pin_size;
	cudaEvent_t pin_free;   /* recorded after the last copy out of pin */

	struct cu_plan **plans; /* conv plans, one per shape (conv.c) */
	int nplans, cap_plans;

	struct cu_amp *amp;     /* device; fp16 only (amp.cu) */
	unsigned *nf_flag;      /* device; the nonfinite op's flag (amp.cu) */
	unsigned long wgen;     /* parameter write generation (adam, sgd) */
	struct cu_wc *wc;       /* weight copies (wcache.c) */
	int nwc, cap_wc;
	void *blas_ws;          /* cuBLAS workspace (no allocation in a graph) */

	/* CUDA graphs (graph.c) */
	int graphs;             /* 1: step hooks capture and replay */
	unsigned long cap_id;   /* counts captures */
	int gmode;              /* enum cu_gmode of the step in progress */
	unsigned long mem_gen;  /* bumped by every (re)allocation graphs may use */
	struct cu_graph *graph, *cur;
	int gnext;
	void *nccl;             /* ncclComm_t (nccl.c); NULL: none */
	uint64_t *hslot;        /* pinned scalar slots, copied to dslot by a graph */
	uint64_t *dslot;
	int nslot, cap_slot;
	unsigned char *hstage;  /* pinned staging of uploads and input in graphs */
	size_t stage_off, cap_stage;
	cudaEvent_t step_done;  /* recorded after each graph launch */
	int noted;              /* the fallback note was printed */
	int capturing;          /* a step is being captured (CUDA_CHECK) */
	int capture_failed;     /* something in the capture failed: run eagerly */

	char err[256];          /* the first failure ("": none; be->error) */
};

/* nccl.c: the ops comm_id, comm_init, allreduce (backend.h); without
 * NCCL at build time they fail with a message.  cu_nccl_free destroys the
 * communicator. */
int cu_comm_id(struct nn_backend *be, void *id, size_t *len);
int cu_comm_init(struct nn_backend *be, const void *id, size_t len, int rank, int size);
void cu_allreduce(struct nn_backend *be, float *p, size_t n, float scale);
void cu_nccl_free(struct cu_state *st);

/* The backend's state. */
static inline struct cu_state *
cu_st(struct nn_backend *be)
{
	return (struct cu_state *)be->impl;
}

/* Files, each calling only those below it (see README.md):
 *   backend.c          entry, opening, memory ops, the ops table
 *   conv.c dense.c     cuDNN/cuBLAS ops    bn.cu ew.cu pool.cu dropout.cu
 *   loss.cu optim.cu input.cu              kernels and their ops
 *   layout.cu reduce.cu amp.cu             launchers the ops share
 *   graph.c wcache.c                       graph steps, weight copies
 *   handles.c                              cuDNN/cuBLAS handles and checks
 *   util.c                                 errors, host allocation, scratch,
 *                                          grids (no device of its own: the
 *                                          kernel emulator links it) */

/* --- util.c --- */
/* Records the printf-style message as the backend's error unless one is
 * recorded already (the first failure wins). */
void cu_fail(struct cu_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* While capturing: sets st->capture_failed and returns 1; else 0. */
int cu_capture_failure(struct cu_state *st);
/* p itself, or (p NULL) NULL with "cuda: out of memory" recorded: the
 * backend's host allocations (the object links no libshared). */
void *cu_nonnull(struct cu_state *st, void *p);
/* The CUDA_CHECK macros' bodies: 0, or -1 with the error recorded. */
int cu_check_rt(struct cu_state *st, cudaError_t e, const char *call, const char *file, int line);
/* Device buffer of slot, at least size bytes (grows; contents not kept). */
void *cu_scratch(struct cu_state *st, enum cu_slot slot, size_t size);
/* Grid for the (channel, pixel) kernels: 32 x 8 blocks. */
void cu_grid2d(const struct cu_state *st, long long m, int c, dim3 *grid, dim3 *block);
/* Grid for flat kernels over n elements with 256 threads. */
unsigned cu_grid1d(const struct cu_state *st, size_t n);

/* --- handles.c --- */
int cu_check_dnn(struct cu_state *st, cudnnStatus_t s, const char *call, const char *file, int line);
int cu_check_blas(struct cu_state *st, cublasStatus_t s, const char *call, const char *file, int line);
/* Name of a cuBLAS status (cuBLAS has no cudaGetErrorString of its own). */
const char *cu_blas_string(cublasStatus_t s);
/* cuDNN and cuBLAS handles on st->stream, the cuBLAS workspace (so that a
 * captured GEMM allocates nothing) and the loss-scaling state; 0, or -1
 * with the reason in st->err. */
int cu_open_libs(struct cu_state *st);

/* 1 in bf16/fp16 modes: conv and dense run on half copies. */
static inline int
cu_half(const struct cu_state *st)
{
	return st->precision == NN_PREC_BF16 || st->precision == NN_PREC_FP16;
}

/* GEMM element type of the precision. */
static inline int
cu_gemm_dtype(const struct cu_state *st)
{
	return st->precision == NN_PREC_BF16 ? CU_BF16 : st->precision == NN_PREC_FP16 ? CU_F16 : CU_F32;
}

/* Ops start with it: in replay only the graph runs the op's work. */
#define CU_REPLAY_RETURN(st) do { if ((st)->gmode == CU_REPLAY) return; } while (0)

/* --- graph.c --- */
/* The step hooks of struct nn_backend. */
void cu_step_begin(struct nn_backend *be, uint64_t key);
int cu_step_end(struct nn_backend *be, int abort);
/* A device copy of the size bytes at val that a graph refreshes at each
 * replay (capture), or NULL (eager: use the value; replay: return). */
const void *cu_slot(struct cu_state *st, const void *val, size_t size);
/* Pinned host copy of src for a captured copy (capture, replay), or NULL
 * (eager: copy from src as usual). */
const void *cu_stage(struct cu_state *st, const void *src, size_t size);
/* 0 when ops may allocate or wait now; -1 with "cuda: what inside a graph
 * step" recorded when inside one (an engine bug). */
int cu_no_graph(struct cu_state *st, const char *what);
/* Releases graphs and their buffers. */
void cu_graph_free(struct cu_state *st);

/* --- wcache.c --- */
/* The weights w (HWIO conv kernel kh,kw,ic,oc; or dense (in,out) with
 * kh = kw = 1, ohwi = 0) in element type dt, conv kernels in OHWI;
 * converted at most once per write generation (always, when capturing). */
const void *cu_weights(struct cu_state *st, int dt, const float *w, int kh, int kw, int ic,
                       int oc, int ohwi);
/* Forgets the copies of weights in [p, p+size) (written), or all of them
 * (size 0: memory was freed). */
void cu_wcache_touch(struct cu_state *st, const void *p, size_t size);
void cu_wcache_free(struct cu_state *st);

/* --- amp.cu --- */
/* Allocates and initialises st->amp (fp16); 0, or -1. */
int cu_amp_open(struct cu_state *st);
/* Sets the overflow flag when one of n gradients is not finite (fp16 only). */
void cu_launch_finite_check(struct cu_state *st, const float *g, size_t n);
/* The nonfinite entry of struct nn_backend: the finite check into its own
 * flag, read back (outside graph capture). */
int cu_nonfinite(struct nn_backend *be, const float *x, size_t n);
/* The amp_stats entry of struct nn_backend. */
void cu_amp_stats(struct nn_backend *be, long long *skippedP, float *scaleP);

/* --- ops, one group per file; each is a struct nn_backend entry --- */

/* conv.c */
void cu_conv_fwd(struct nn_backend *be, const struct nn_conv *p,
                 const float *x, const float *w, const float *bias, float *y);
void cu_conv_bwd_data(struct nn_backend *be, const struct nn_conv *p,
                      const float *dy, const float *w, float *dx, float beta);
void cu_conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p,
                         const float *x, const float *dy, float *dw, float *db);
/* Frees every cached conv plan. */
void cu_conv_free_plans(struct cu_state *st);

/* dense.c */
void cu_dense_fwd(struct nn_backend *be, const struct nn_dense *p,
                  const float *x, const float *w, const float *b, float *y);
void cu_dense_bwd(struct nn_backend *be, const struct nn_dense *p,
                  const float *x, const float *w, const float *dy,
                  float *dx, float *dw, float *db, float beta);

/* bn.cu */
void cu_bn_fwd_train(struct nn_backend *be, const struct nn_bn *p,
                     const float *x, const float *gamma, const float *beta,
                     float *y, float *mean, float *invstd, float *run_mean, float *run_var);
void cu_bn_fwd_infer(struct nn_backend *be, const struct nn_bn *p,
                     const float *x, const float *gamma, const float *beta,
                     const float *run_mean, const float *run_var, float *y);
void cu_bn_bwd(struct nn_backend *be, const struct nn_bn *p,
               const float *x, const float *dy, const float *gamma,
               const float *mean, const float *invstd,
               float *dx, float *dgamma, float *dbeta, float beta_acc);
void cu_bn_bwd_infer(struct nn_backend *be, const struct nn_bn *p,
                     const float *dy, const float *gamma, const float *run_var,
                     float *dx, float beta_acc);

/* ew.cu */
void cu_relu_fwd(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y);
void cu_relu_bwd(struct nn_backend *be, const struct nn_ew *p,
                 const float *y, const float *dy, float *dx, float beta);
void cu_add(struct nn_backend *be, const struct nn_ew *p, const float *x, float *y, float beta);

/* pool.cu */
void cu_pool_fwd(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y);
void cu_pool_bwd(struct nn_backend *be, const struct nn_pool *p, const float *x,
                 const float *dy, float *dx, float beta);
void cu_gap_fwd(struct nn_backend *be, const struct nn_gap *p, const float *x, float *y);
void cu_gap_bwd(struct nn_backend *be, const struct nn_gap *p, const float *dy,
                float *dx, float beta);

/* dropout.cu */
void cu_dropout_fwd(struct nn_backend *be, size_t n, float rate, uint64_t seed,
                    uint64_t counter, const float *x, float *y, float *mask);
void cu_dropout_bwd(struct nn_backend *be, size_t n, const float *mask,
                    const float *dy, float *dx, float beta);

/* loss.cu */
void cu_bce_logits(struct nn_backend *be, int n, const float *z, const float *y,
                   const float *w, float clip, float *loss, float *dz, float *prob);
void cu_softmax_ce(struct nn_backend *be, int n, int k, const float *z, const float *label,
                   const float *w, float *loss, float *dz, float *prob);

/* optim.cu */
void cu_adam(struct nn_backend *be, size_t n, float *p, const float *g,
             float *m, float *v, float lr_t, float b1, float b2, float eps, float l2);
void cu_sgd(struct nn_backend *be, size_t n, float *p, const float *g,
            float *v, float lr, float mom, int nesterov, float l2);

/* input.cu */
void cu_input(struct nn_backend *be, enum nn_dtype_in dt, const void *src,
              size_t n, float scale, float offset, float *dst);
void cu_input_ch(struct nn_backend *be, enum nn_dtype_in dt, const void *src, size_t npix,
                 int c, const int *order, const float *scale, const float *offset,
                 float *dst);

/* dwconv.cu: depthwise convolution and zero padding (own fp32 kernels) */
void cu_dwconv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
                   const float *w, const float *bias, float *y);
void cu_dwconv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
                        const float *w, float *dx, float beta);
void cu_dwconv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
                           const float *dy, float *dw, float *db);
void cu_pad_fwd(struct nn_backend *be, const struct nn_padg *p, const float *x, float *y);
void cu_pad_bwd(struct nn_backend *be, const struct nn_padg *p, const float *dy, float *dx,
                float beta);

/* --- launchers shared between files (all on st->stream) --- */

/* ew.cu: y[p*y_ld+c] = beta*y + x[p*x_ld+c] over m pixels of c channels. */
void cu_launch_add(struct cu_state *st, long long m, int c, const float *x, int x_ld,
                   float *y, int y_ld, float beta);
/* ew.cu: y[p*y_ld+c] += b[c]. */
void cu_launch_bias(struct cu_state *st, long long m, int c, const float *b, float *y, int y_ld);

/* reduce.cu: out[c] = sum over m pixels of x[p*ld+c] (fixed order). */
void cu_launch_chan_sum(struct cu_state *st, long long m, int c, const float *x, int ld, float *out);
/* reduce.cu: per-channel partial sums in double, part[(s*2+j)*c + ch] for
 * split s: mode 0: j0 = x, j1 = x^2; mode 1: j0 = dy, j1 = dy*(x-mean).
 * Returns the number of splits; part lives in slot CU_RED. */
int cu_launch_chan_partial(struct cu_state *st, int mode, long long m, int c,
                           const float *x, int x_ld, const float *dy, int dy_ld,
                           const float *mean, double **partP);

/* layout.cu: HWIO (kh,kw,ic,oc) -> OHWI (oc,kh,kw,ic) and back. */
void cu_launch_hwio_to_ohwi(struct cu_state *st, const float *w, float *o, int kh, int kw, int ic, int oc);
void cu_launch_ohwi_to_hwio(struct cu_state *st, const float *o, float *w, int kh, int kw, int ic, int oc);
/* layout.cu: the kernel w (HWIO) as OHWI (ohwi) or as it is, in type dt. */
void cu_launch_convert_w(struct cu_state *st, int dt, const float *w, void *o,
                         int kh, int kw, int ic, int oc, int ohwi);
/* layout.cu: w (HWIO, fp32) = the OHWI kernel o of type dt. */
void cu_launch_ohwi_to_hwio_t(struct cu_state *st, int dt, const void *o, float *w,
                              int kh, int kw, int ic, int oc);
/* layout.cu: cu_launch_pad / cu_launch_unpad_add with xp of type dt. */
void cu_launch_pack(struct cu_state *st, int dt, const float *x, int n, int h, int w, int c,
                    int ld, void *xp, int ph, int pw, int pt, int pl);
void cu_launch_unpack(struct cu_state *st, int dt, const void *xp, int ph, int pw, int pt,
                      int pl, float *x, int n, int h, int w, int c, int ld, float beta);
/* layout.cu: xp (n, ph, pw, c) dense = x (n, h, w, c; pixel stride ld)
 * shifted by (pt, pl), zero outside. */
void cu_launch_pad(struct cu_state *st, const float *x, int n, int h, int w, int c, int ld,
                   float *xp, int ph, int pw, int pt, int pl);
/* layout.cu: x = beta*x + the (pt, pl)-shifted window of xp (inverse of pad). */
void cu_launch_unpad_add(struct cu_state *st, const float *xp, int ph, int pw, int pt, int pl,
                         float *x, int n, int h, int w, int c, int ld, float beta);

#ifdef __cplusplus
}
#endif

#endif
