/* cpu_core.c — the "cpu" backend's state below its ops: error recording,
 * the primitive cache, primitive execution, scratch buffers and oneDNN
 * descriptor helpers.  The op files (cpu_conv.c, cpu_norm.c, cpu_pool.c,
 * cpu_misc.c, ...) call into it; it calls nothing above it.  cpu.c, at the
 * top, assembles the ops table.  See cpu_impl.h for the layout and weights-caching rules.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "err.h"
#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

void
cpu_fail(struct cpu *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

int
cpu_failed(const struct cpu *c)
{
	return c->err[0] != '\0';
}

int
cpu_check(struct cpu *c, dnnl_status_t s, const char *call, const char *file, int line)
{
	if (s == dnnl_success)
		return 0;
	cpu_fail(c, "cpu backend: %s:%d: %s: %s", file, line, call, dnnl_status2str(s));
	return -1;
}

struct cpu *
cpu_of(struct nn_backend *be)
{
	return be->impl;
}

static unsigned
key_hash(const struct cpu_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof *k; i++)
		h = (h ^ p[i]) * 16777619u;
	return h % CPU_NBUCKET;
}

struct cpu_entry *
cpu_lookup(struct cpu *c, const struct cpu_key *key)
{
	struct cpu_entry *e;

	for (e = c->tab[key_hash(key)]; e != NULL; e = e->next)
		if (memcmp(&e->key, key, sizeof *key) == 0)
			return e;
	return NULL;
}

void
cpu_insert(struct cpu *c, struct cpu_entry *e)
{
	unsigned h = key_hash(&e->key);

	e->next = c->tab[h];
	c->tab[h] = e;
}

struct cpu_entry *
cpu_entry_finish(struct cpu *c, struct cpu_entry *e, dnnl_primitive_desc_t pd, dnnl_primitive_attr_t a)
{
	DNNL_CHECK(c, dnnl_primitive_desc_destroy(pd));
	DNNL_CHECK(c, dnnl_primitive_attr_destroy(a));
	if (cpu_failed(c)) {    /* reported through be->error; not cached */
		cpu_entry_free(e);
		return NULL;
	}
	cpu_insert(c, e);
	return e;
}

struct cpu_entry *
cpu_entry_abandon(struct cpu *c, struct cpu_entry *e, dnnl_primitive_attr_t a)
{
	DNNL_CHECK(c, dnnl_primitive_attr_destroy(a));
	free(e);
	return NULL;
}

const char *
cpu_impl_of(struct cpu *c, const_dnnl_primitive_desc_t pd)
{
	const char *s = "?";

	DNNL_CHECK(c, dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
	return s;
}

dnnl_primitive_desc_t
cpu_pd(struct cpu *c, const void *d, const_dnnl_primitive_attr_t a, const_dnnl_primitive_desc_t hint)
{
	dnnl_primitive_desc_t pd = NULL;

	if (cpu_failed(c))
		return NULL;
	if (DNNL_CHECK(c, dnnl_primitive_desc_create(&pd, d, a, c->eng, hint)) < 0)
		return NULL;
	return pd;
}

dnnl_primitive_attr_t
cpu_attr(struct cpu *c)
{
	dnnl_primitive_attr_t a = NULL;

	DNNL_CHECK(c, dnnl_primitive_attr_create(&a));
	DNNL_CHECK(c, dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user));
	return a;
}

void
cpu_exe_init(struct cpu *c, struct cpu_exe *x, const_dnnl_primitive_desc_t pd)
{
	const dnnl_memory_desc_t *md;
	size_t size;

	memset(x, 0, sizeof *x);
	DNNL_CHECK(c, dnnl_primitive_create(&x->prim, pd));
	md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	size = md != NULL ? dnnl_memory_desc_get_size(md) : 0;
	c->pad = cpu_scratch_grow(c->pad, &c->padsize, size);
	if (size > 0)
		cpu_exe_arg(c, x, DNNL_ARG_SCRATCHPAD, md);
}

void
cpu_exe_arg(struct cpu *c, struct cpu_exe *x, int arg, const dnnl_memory_desc_t *md)
{
	dnnl_memory_t m;

	if (x->nargs == CPU_MAXARGS) {
		cpu_fail(c, "cpu backend: too many primitive arguments");
		return;
	}
	DNNL_CHECK(c, dnnl_memory_create(&m, md, c->eng, DNNL_MEMORY_NONE));
	x->args[x->nargs].arg = arg;
	x->args[x->nargs].memory = m;
	x->nargs++;
}

void
cpu_run(struct cpu *c, struct cpu_exe *x, void *const *ptr)
{
	int i, j;

	if (cpu_failed(c))
		return;
	for (i = j = 0; i < x->nargs; i++) {
		void *p = x->args[i].arg == DNNL_ARG_SCRATCHPAD ? c->pad : ptr[j++];

		DNNL_CHECK(c, dnnl_memory_set_data_handle_v2(x->args[i].memory, p, c->strm));
	}
	DNNL_CHECK(c, dnnl_primitive_execute(x->prim, c->strm, x->nargs, x->args));
	DNNL_CHECK(c, dnnl_stream_wait(c->strm));
}

void
cpu_exe_free(struct cpu_exe *x)
{
	int i;

	for (i = 0; i < x->nargs; i++)
		dnnl_memory_destroy(x->args[i].memory);
	if (x->prim != NULL)
		dnnl_primitive_destroy(x->prim);
}

void
cpu_entry_free(struct cpu_entry *e)
{
	cpu_exe_free(&e->main);
	cpu_exe_free(&e->wre);
	for (int j = 0; j < CPU_NIO; j++)
		cpu_exe_free(&e->io[j]);
	free(e);
}

/* Scratch starts with this header, 64 bytes before the pointer given out. */
struct scratch_hdr {
	size_t bytes;           /* of the mapping (or allocation), header included */
	int mapped;             /* 0: xaligned, mmap having failed */
};
#define SCRATCH_HDR 64

void *
cpu_scratch_grow(void *p, size_t *sizeP, size_t size)
{
	struct scratch_hdr *h;
	size_t bytes = size + SCRATCH_HDR;      /* sizes of oneDNN descriptors */
	void *b;
	int mapped;

	if (size <= *sizeP)
		return p;
	cpu_scratch_free(p);
	b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mapped = b != MAP_FAILED;
	if (!mapped)            /* out of memory ends the program there (err.h) */
		b = xaligned(bytes);
	h = b;
	h->bytes = bytes;
	h->mapped = mapped;
	*sizeP = size;
	return (char *)b + SCRATCH_HDR;
}

void
cpu_scratch_free(void *p)
{
	struct scratch_hdr *h;

	if (p == NULL)
		return;
	h = (struct scratch_hdr *)((char *)p - SCRATCH_HDR);
	if (h->mapped)
		munmap(h, h->bytes);
	else
		free(h);
}

float *
cpu_buf(struct cpu *c, int i, size_t size)
{
	if (i == CPU_WT_SLOT)
		c->wt.w = NULL;
	c->buf[i] = cpu_scratch_grow(c->buf[i], &c->bufsize[i], size);
	return c->buf[i];
}

void
cpu_md_nhwc(struct cpu *c, dnnl_memory_desc_t *md, int n, int ch, int h, int w)
{
	dnnl_dims_t d = { n, ch, h, w };

	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_nhwc));
}
