/* cpu.c — the "cpu" backend on oneDNN, its top: opening (engine,
 * stream), the memory ops and the ops table.  The ops live in cpu_conv.c
 * (convolutions), cpu_norm.c (batch norm), cpu_pool.c (pooling) and
 * cpu_misc.c (the plain-C loops: elementwise, dense, losses, optimisers),
 * among others; the state they
 * share (errors, primitive cache, scratch) in cpu_core.c below them.
 * Nothing calls back into this file.  See cpu_impl.h for the layout and
 * weights-caching rules.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "envflag.h"
#include "err.h"
#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

/* --- memory ops --- */

static void *
cpu_alloc(struct nn_backend *be, size_t size)
{
	void *p;

	size = (size + 63) & ~(size_t)63;
	if (posix_memalign(&p, 64, size ? size : 64) != 0)
		return NULL;
	return p;
}

static void
cpu_free(struct nn_backend *be, void *p)
{
	struct cpu *c = cpu_of(be);

	if (p == NULL)
		return;
	cpu_wcopy_forget(c, p);
	c->gen++;
	free(p);
}

static void
cpu_upload(struct nn_backend *be, void *dst, const void *src, size_t size)
{
	cpu_wcopy_touch(cpu_of(be), dst, size);
	if (dst != src)         /* dst == src: the host arena (host_mem) */
		memcpy(dst, src, size);
}

static void
cpu_download(struct nn_backend *be, void *dst, const void *src, size_t size)
{
	memcpy(dst, src, size);
}

static void
cpu_zero(struct nn_backend *be, void *p, size_t size)
{
	cpu_wcopy_touch(cpu_of(be), p, size);
	memset(p, 0, size);
}

static void
cpu_sync(struct nn_backend *be)
{
	DNNL_CHECK(cpu_of(be), dnnl_stream_wait(cpu_of(be)->strm));
}

/* RADPIPE_RSS_TRACE set: what the backend holds besides the engine's
 * allocations (bench/results/rss.md), on stderr. */
static void
cpu_memstat(const struct cpu *c)
{
	size_t bb = 0;

	if (getenv("RADPIPE_RSS_TRACE") == NULL)
		return;
	for (int i = 0; i < CPU_NBUF; i++)
		bb += c->bufsize[i];
	fprintf(stderr, "cpu backend: weight copies at most %.1f MB (shared slot %.1f MB), "
	    "scratch slots %.1f MB (%.1f %.1f %.1f %.1f), oneDNN scratchpad %.1f MB\n",
	    c->wcpeak / 1048576.0, c->bufsize[CPU_WT_SLOT] / 1048576.0, bb / 1048576.0,
	    c->bufsize[0] / 1048576.0, c->bufsize[1] / 1048576.0, c->bufsize[2] / 1048576.0,
	    c->bufsize[3] / 1048576.0,
	    c->padsize / 1048576.0);
}

static void
cpu_close(struct nn_backend *be)
{
	struct cpu *c;
	struct cpu_entry *e, *next;
	int i;

	if (be == NULL)
		return;
	c = cpu_of(be);
	cpu_memstat(c);
	for (i = 0; i < CPU_NBUCKET; i++) {
		for (e = c->tab[i]; e != NULL; e = next) {
			next = e->next;
			cpu_entry_free(e);
		}
	}
	cpu_wcopy_free(c);
	for (i = 0; i < CPU_NBUF; i++)
		cpu_scratch_free(c->buf[i]);
	cpu_scratch_free(c->pad);
	dnnl_stream_destroy(c->strm);
	dnnl_engine_destroy(c->eng);
	free(c);
	free(be);
}

/* Bytes of a convolution's activation copies a batch chunk may take:
 * RADPIPE_CPU_CHUNK_KB, else 8 MiB in bf16 (its copies are the bf16
 * inputs: smaller chunks cut peak memory at no measured cost) and 32 MiB
 * in fp32 (Winograd's scratchpad shares the limit, and its kernels ran
 * 3-5 % slower on 8 MiB chunks: bench/results/inception.md). */
static size_t
cpu_chunk_env(int bf16)
{
	const char *s = getenv("RADPIPE_CPU_CHUNK_KB");
	size_t kb = s != NULL ? (size_t)strtoul(s, NULL, 10) : 0;

	return kb > 0 ? kb << 10 : bf16 ? 8u << 20 : 32u << 20;
}

/* RADPIPE_CPU_LAYOUT: nhwc, blocked or auto (the default). */
static int
cpu_layout_env(void)
{
	const char *s = getenv("RADPIPE_CPU_LAYOUT");

	if (s == NULL || *s == '\0' || strcmp(s, "auto") == 0)
		return CPU_LAYOUT_AUTO;
	if (strcmp(s, "nhwc") == 0)
		return CPU_LAYOUT_NHWC;
	if (strcmp(s, "blocked") == 0)
		return CPU_LAYOUT_BLOCKED;
	warnx("cpu backend: RADPIPE_CPU_LAYOUT=%s: not nhwc, blocked or auto; using auto", s);
	return CPU_LAYOUT_AUTO;
}

static const char *
cpu_error(struct nn_backend *be)
{
	struct cpu *c = cpu_of(be);

	return cpu_failed(c) ? c->err : NULL;
}

/* Does oneDNN run bf16 kernels here (AVX512_BF16 or AMX; its effective
 * ISA, so ONEDNN_MAX_CPU_ISA below that turns bf16 off)?
 * RADPIPE_CPU_NO_BF16=1 says no (to test the refusal on any CPU). */
static int
cpu_has_bf16(void)
{
	dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
	if (env_flag("RADPIPE_CPU_NO_BF16", 0))
		return 0;
	return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

static const char *
cpu_isa_name(dnnl_cpu_isa_t isa)
{
	switch (isa) {
	case dnnl_cpu_isa_sse41: return "sse41";
	case dnnl_cpu_isa_avx: return "avx";
	case dnnl_cpu_isa_avx2: return "avx2";
	case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
	case dnnl_cpu_isa_avx512_core: return "avx512_core";
	case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
	case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
	case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
	default: return "other";
	}
}

/* The ops table (the pattern of backend.h: one designated initializer). */
static const struct nn_backend cpu_table = {
	.name = "cpu",
	.host_mem = 1,
	.alloc = cpu_alloc, .free = cpu_free, .upload = cpu_upload,
	.download = cpu_download, .zero = cpu_zero, .sync = cpu_sync,
	.close = cpu_close, .error = cpu_error,
	.input = cpu_input,
	.conv_fwd = cpu_conv_fwd, .conv_fwd_relu = cpu_conv_fwd_relu,
	.conv_bwd_data = cpu_conv_bwd_data,
	.conv_bwd_weights = cpu_conv_bwd_weights, .conv_bwd = cpu_conv_bwd,
	.bn_fwd_train = cpu_bn_fwd_train, .bn_fwd_infer = cpu_bn_fwd_infer,
	.bn_fwd_train_relu = cpu_bn_fwd_train_relu,
	.bn_bwd = cpu_bn_bwd, .bn_bwd_infer = cpu_bn_bwd_infer,
	.add = cpu_add,
	.pool_fwd = cpu_pool_fwd, .pool_bwd = cpu_pool_bwd,
	.gap_fwd = cpu_gap_fwd, .gap_bwd = cpu_gap_bwd,
	.dense_fwd = cpu_dense_fwd, .dense_bwd = cpu_dense_bwd,
	.dropout_fwd = cpu_dropout_fwd, .dropout_bwd = cpu_dropout_bwd,
	.bce_logits = cpu_bce_logits, .softmax_ce = cpu_softmax_ce,
	.adam = cpu_adam, .sgd = cpu_sgd,
	.bn_apply = cpu_bn_apply, .bn_relu_bwd = cpu_bn_relu_bwd,
	.nonfinite = cpu_nonfinite,
	/* cpu_dw.c: the ops of ResNet50, DenseNet121, MobileNetV2 */
	.dwconv_fwd = cpu_dwconv_fwd, .dwconv_bwd_data = cpu_dwconv_bwd_data,
	.dwconv_bwd_weights = cpu_dwconv_bwd_weights, .pad_fwd = cpu_pad_fwd,
	.pad_bwd = cpu_pad_bwd, .input_ch = cpu_input_ch,
	.relu_fwd = cpu_relu_cap_fwd, .relu_bwd = cpu_relu_cap_bwd,
};

struct nn_backend *
nn_cpu_open(const struct nn_backend_opts *o, char *err, size_t errlen)
{
	struct nn_backend *be;
	struct cpu *c;
	dnnl_status_t s;

	c = xcalloc(1, sizeof *c);
	c->threads = o != NULL && o->threads > 0 ? o->threads : omp_get_num_procs();
	omp_set_num_threads(c->threads);
	c->layout = cpu_layout_env();
	c->wino = env_flag("RADPIPE_CPU_WINOGRAD", 1);
	if ((s = dnnl_engine_create(&c->eng, dnnl_cpu, 0)) != dnnl_success ||
	    (s = dnnl_stream_create(&c->strm, c->eng, dnnl_stream_default_flags)) != dnnl_success) {
		snprintf(err, errlen, "cpu backend: oneDNN: %s", dnnl_status2str(s));
		if (c->eng != NULL)
			dnnl_engine_destroy(c->eng);
		free(c);
		return NULL;
	}
	if (o != NULL && o->precision == NN_PREC_BF16 && !cpu_has_bf16()) {
		snprintf(err, errlen, "cpu backend: precision bf16 needs a CPU with AVX512_BF16 or "
		    "AMX (oneDNN's ISA here: %s)", cpu_isa_name(dnnl_get_effective_cpu_isa()));
		dnnl_stream_destroy(c->strm);
		dnnl_engine_destroy(c->eng);
		free(c);
		return NULL;
	}
	c->bf16 = o != NULL && o->precision == NN_PREC_BF16;
	c->chunk = cpu_chunk_env(c->bf16);
	be = xcalloc(1, sizeof *be);
	*be = cpu_table;
	be->impl = c;
	return be;
}
