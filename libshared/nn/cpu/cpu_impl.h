/* cpu_impl.h — private to the "cpu" backend (cpu*.c): oneDNN state, the
 * primitive cache, scratch buffers and the plain-C helpers they share.
 *
 * Layout: oneDNN's fast kernels (jit, jit_1x1, bnorm_jit) accept dense
 * NHWC or their own blocked layouts only; a strided activation (ld >
 * channels) makes oneDNN fall back to its slow "ref:any" kernels.  So
 * batch norm and pooling run on dense NHWC, a strided view being packed
 * into (or unpacked from) a scratch buffer at the edge by cpu_pack /
 * cpu_unpack.  Convolutions run on dense NHWC or, where that is faster,
 * on oneDNN's blocked layout (nChw8c on AVX2, 1.1-4x faster for spatial
 * kernels in oneDNN 2.6); oneDNN reorders copy between the caller's
 * strided NHWC and the primitive's layout (adding, for dx with beta 1).
 * RADPIPE_CPU_LAYOUT=nhwc|blocked|auto chooses (see conv_blocked).
 *
 * Weights: convolutions let oneDNN pick its weights layout; a reordered
 * copy of each kernel is cached per (pointer, layout) and refreshed when
 * the backend's write generation moves on.  The generation is bumped by
 * the ops that write parameters: upload and zero when they touch a kernel
 * with a cached copy, free, adam and sgd (graph code changes weights only
 * through those; add and input write activations, and the labels upload
 * between forward and backward leaves the copies valid).
 */
#ifndef RADPIPE_NN_CPU_IMPL_H
#define RADPIPE_NN_CPU_IMPL_H

#include <stddef.h>
#include <oneapi/dnnl/dnnl.h>

#include "nn/backend.h"

/* Dies with file, line and oneDNN's status string when call fails. */
#define DNNL_CHECK(call) cpu_check((call), #call, __FILE__, __LINE__)

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
	size_t chunk;                   /* bytes a blocked conv copy may take */
	unsigned long gen;              /* write generation (see top) */
	struct cpu_entry *tab[CPU_NBUCKET];
	struct cpu_wcopy *wcopies;
	void *pad;                      /* shared oneDNN scratchpad */
	size_t padsize;
	void *buf[CPU_NBUF];            /* scratch activations */
	size_t bufsize[CPU_NBUF];
};

/* --- cpu.c: state, cache, execution --- */
void cpu_check(dnnl_status_t s, const char *call, const char *file, int line);
struct cpu *cpu_of(struct nn_backend *be);
/* The cached entry for key, or NULL (fill it with cpu_insert). */
struct cpu_entry *cpu_lookup(struct cpu *c, const struct cpu_key *key);
/* Creates the entry's primitive from pd (taking pd's scratchpad into
 * account), records its implementation name and inserts it. */
void cpu_insert(struct cpu *c, struct cpu_entry *e);
void cpu_exe_init(struct cpu *c, struct cpu_exe *x, const_dnnl_primitive_desc_t pd);
/* Adds argument arg of descriptor md to x (memory created without data). */
void cpu_exe_arg(struct cpu *c, struct cpu_exe *x, int arg, const dnnl_memory_desc_t *md);
/* Runs x with the data pointers ptr[i] for its arguments, in the order
 * they were added (the scratchpad is supplied here). */
void cpu_run(struct cpu *c, struct cpu_exe *x, void *const *ptr);
/* Attributes with a user-managed scratchpad (destroy after use). */
dnnl_primitive_attr_t cpu_attr(void);
/* Scratch buffer i of at least size bytes (grown, contents lost). */
float *cpu_buf(struct cpu *c, int i, size_t size);
/* Dense NHWC descriptor {n, ch, h, w}. */
void cpu_md_nhwc(dnnl_memory_desc_t *md, int n, int ch, int h, int w);
/* The oneDNN implementation name of pd. */
const char *cpu_impl_of(const_dnnl_primitive_desc_t pd);

/* --- cpu_misc.c: plain loops --- */
/* dst (m x c, dense) = src (m pixels, stride ld). */
void cpu_pack(float *dst, const float *src, size_t m, int c, int ld);
/* dst (m pixels, stride ld) = beta*dst + src (m x c, dense). */
void cpu_unpack(float *dst, int ld, const float *src, size_t m, int c, float beta);
void cpu_fill_misc(struct nn_backend *be);

/* --- cpu_conv.c, cpu_norm.c --- */
void cpu_fill_conv(struct nn_backend *be);
void cpu_fill_norm(struct nn_backend *be);
/* Moves the write generation on if [p, p+size) overlaps a kernel that
 * has a cached copy (upload and zero: labels and inputs leave it). */
void cpu_wcopy_touch(struct cpu *c, const void *p, size_t size);
/* Drops the cached weight copies of w (the memory is being freed). */
void cpu_wcopy_forget(struct cpu *c, const void *p);
void cpu_wcopy_free(struct cpu *c);

/* Implementation names the cpu backend picks for a convolution (for the
 * benchmark): writes "fwd | bwd_d | bwd_w" into buf. */
void nn_cpu_conv_impl(struct nn_backend *be, const struct nn_conv *p, char *buf, size_t len);

#endif
