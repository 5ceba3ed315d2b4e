/* cpu.c — the "cpu" backend on oneDNN: engine, stream, memory ops, the
 * primitive cache and scratch buffers.  The ops live in cpu_conv.c
 * (convolutions), cpu_norm.c (batch norm, pooling) and cpu_misc.c (the
 * plain-C loops: elementwise, dense, losses, optimisers).  See cpu_impl.h
 * for the layout and weights-caching rules.
 */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "err.h"
#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

void
cpu_check(dnnl_status_t s, const char *call, const char *file, int line)
{
	if (s != dnnl_success)
		die("cpu backend: %s:%d: %s: %s", file, line, call, dnnl_status2str(s));
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

const char *
cpu_impl_of(const_dnnl_primitive_desc_t pd)
{
	const char *s = "?";

	DNNL_CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
	return s;
}

dnnl_primitive_attr_t
cpu_attr(void)
{
	dnnl_primitive_attr_t a;

	DNNL_CHECK(dnnl_primitive_attr_create(&a));
	DNNL_CHECK(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user));
	return a;
}

void
cpu_exe_init(struct cpu *c, struct cpu_exe *x, const_dnnl_primitive_desc_t pd)
{
	const dnnl_memory_desc_t *md;
	size_t size;

	memset(x, 0, sizeof *x);
	DNNL_CHECK(dnnl_primitive_create(&x->prim, pd));
	md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	size = md != NULL ? dnnl_memory_desc_get_size(md) : 0;
	if (size > c->padsize) {
		free(c->pad);
		c->pad = xaligned(size);
		c->padsize = size;
	}
	if (size > 0)
		cpu_exe_arg(c, x, DNNL_ARG_SCRATCHPAD, md);
}

void
cpu_exe_arg(struct cpu *c, struct cpu_exe *x, int arg, const dnnl_memory_desc_t *md)
{
	dnnl_memory_t m;

	if (x->nargs == CPU_MAXARGS)
		die("cpu backend: too many primitive arguments");
	DNNL_CHECK(dnnl_memory_create(&m, md, c->eng, DNNL_MEMORY_NONE));
	x->args[x->nargs].arg = arg;
	x->args[x->nargs].memory = m;
	x->nargs++;
}

void
cpu_run(struct cpu *c, struct cpu_exe *x, void *const *ptr)
{
	int i, j;

	for (i = j = 0; i < x->nargs; i++) {
		void *p = x->args[i].arg == DNNL_ARG_SCRATCHPAD ? c->pad : ptr[j++];

		DNNL_CHECK(dnnl_memory_set_data_handle_v2(x->args[i].memory, p, c->strm));
	}
	DNNL_CHECK(dnnl_primitive_execute(x->prim, c->strm, x->nargs, x->args));
	DNNL_CHECK(dnnl_stream_wait(c->strm));
}

static void
exe_free(struct cpu_exe *x)
{
	int i;

	for (i = 0; i < x->nargs; i++)
		dnnl_memory_destroy(x->args[i].memory);
	if (x->prim != NULL)
		dnnl_primitive_destroy(x->prim);
}

float *
cpu_buf(struct cpu *c, int i, size_t size)
{
	if (size > c->bufsize[i]) {
		free(c->buf[i]);
		c->buf[i] = xaligned(size);
		c->bufsize[i] = size;
	}
	return c->buf[i];
}

void
cpu_md_nhwc(dnnl_memory_desc_t *md, int n, int ch, int h, int w)
{
	dnnl_dims_t d = { n, ch, h, w };

	DNNL_CHECK(dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_nhwc));
}

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
	DNNL_CHECK(dnnl_stream_wait(cpu_of(be)->strm));
}

static void
cpu_close(struct nn_backend *be)
{
	struct cpu *c;
	struct cpu_entry *e, *next;
	int i, j;

	if (be == NULL)
		return;
	c = cpu_of(be);
	for (i = 0; i < CPU_NBUCKET; i++) {
		for (e = c->tab[i]; e != NULL; e = next) {
			next = e->next;
			exe_free(&e->main);
			exe_free(&e->wre);
			for (j = 0; j < CPU_NIO; j++)
				exe_free(&e->io[j]);
			free(e);
		}
	}
	cpu_wcopy_free(c);
	for (i = 0; i < CPU_NBUF; i++)
		free(c->buf[i]);
	free(c->pad);
	dnnl_stream_destroy(c->strm);
	dnnl_engine_destroy(c->eng);
	free(c);
	free(be);
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
	c->chunk = getenv("RADPIPE_CPU_CHUNK_KB") != NULL ?
	    (size_t)strtoul(getenv("RADPIPE_CPU_CHUNK_KB"), NULL, 10) << 10 : 32u << 20;
	if (c->chunk == 0)
		c->chunk = 32u << 20;
	if ((s = dnnl_engine_create(&c->eng, dnnl_cpu, 0)) != dnnl_success ||
	    (s = dnnl_stream_create(&c->strm, c->eng, dnnl_stream_default_flags)) != dnnl_success) {
		snprintf(err, errlen, "cpu backend: oneDNN: %s", dnnl_status2str(s));
		if (c->eng != NULL)
			dnnl_engine_destroy(c->eng);
		free(c);
		return NULL;
	}
	be = xcalloc(1, sizeof *be);
	be->name = "cpu";
	be->impl = c;
	be->alloc = cpu_alloc;
	be->free = cpu_free;
	be->upload = cpu_upload;
	be->download = cpu_download;
	be->zero = cpu_zero;
	be->sync = cpu_sync;
	be->close = cpu_close;
	cpu_fill_conv(be);
	cpu_fill_norm(be);
	cpu_fill_misc(be);
	return be;
}
