/* wcache.c — converted copies of the weights, made once per write.
 *
 * cuDNN wants conv kernels in OHWI (radpipe keeps Keras' HWIO), and the
 * bf16/fp16 GEMMs want half copies.  An entry per (pointer, layout) holds
 * the converted tensor and the write generation it was made at: adam and
 * sgd bump st->wgen (they may write any parameter); upload, zero and free
 * make the entries they overlap stale.  While a step is captured into a
 * graph the conversion is captured too (once per tensor and step),
 * whatever the generation: a graph replays after weight updates it cannot
 * see; the entry counts as stale afterwards (the graph may never run).
 * Entries are allocated when first asked for, which a graph's warm-up
 * step does (mem_gen).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cuda_impl.h"

static size_t
dt_size(int dt)
{
	return dt == CU_F32 ? 4 : 2;
}

static struct cu_wc *
entry(struct cu_state *st, const float *w, size_t n, int ohwi, int dt)
{
	struct cu_wc *e;

	for (int i = 0; i < st->nwc; i++) {
		e = &st->wc[i];
		if (e->w == w && e->ohwi == ohwi && e->dt == dt && e->n == n)
			return e;
	}
	if (st->gmode == CU_CAPTURE) {
		st->capture_failed = 1;  /* no allocation while capturing */
		return NULL;
	}
	if (st->nwc == st->cap_wc) {
		int cap = st->cap_wc * 2 + 32;
		struct cu_wc *wc = cu_nonnull(st, realloc(st->wc, cap * sizeof *wc));

		if (!wc)
			return NULL;
		st->wc = wc;
		st->cap_wc = cap;
	}
	e = &st->wc[st->nwc++];
	*e = (struct cu_wc){ .w = w, .n = n, .ohwi = ohwi, .dt = dt };
	CUDA_CHECK(st, cudaMalloc(&e->buf, n * dt_size(dt)));
	st->mem_gen++;
	return e;
}

const void *
cu_weights(struct cu_state *st, int dt, const float *w, int kh, int kw, int ic, int oc, int ohwi)
{
	size_t n = (size_t)kh * kw * ic * oc;
	struct cu_wc *e = entry(st, w, n, ohwi, dt);

	if (!e)
		return NULL;
	if (st->gmode == CU_CAPTURE) {          /* runs at each launch, or never */
		if (e->cap != st->cap_id)       /* once per step: weights change after */
			cu_launch_convert_w(st, e->dt, w, e->buf, kh, kw, ic, oc, ohwi);
		e->cap = st->cap_id;
		e->gen = 0;
	} else if (e->gen != st->wgen + 1) {
		cu_launch_convert_w(st, e->dt, w, e->buf, kh, kw, ic, oc, ohwi);
		e->gen = st->wgen + 1;  /* 0 stays "stale" */
	}
	return e->buf;
}

void
cu_wcache_touch(struct cu_state *st, const void *p, size_t size)
{
	const char *a = p, *b = a + size;

	for (int i = 0; i < st->nwc; i++) {
		const char *wa = (const char *)st->wc[i].w, *wb = wa + st->wc[i].n * 4;
		if (size == 0 || (wa < b && a < wb))
			st->wc[i].gen = 0;
	}
}

void
cu_wcache_free(struct cu_state *st)
{
	for (int i = 0; i < st->nwc; i++)
		cudaFree(st->wc[i].buf);
	free(st->wc);
	st->wc = NULL;
	st->nwc = st->cap_wc = 0;
}
