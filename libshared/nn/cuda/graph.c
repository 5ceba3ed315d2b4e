/* graph.c — CUDA graphs for whole steps: the step_begin/step_end hooks.
 *
 * A step (a training step, or an inference forward) is a fixed sequence
 * of ops on fixed memory, named by the engine's key.  Per key:
 *   NEW    the first step runs eagerly, counting the scalar slots and
 *          staged bytes it uses; scratch buffers, workspaces, weight
 *          copies and algorithm choices reach their final size;
 *   WARM   the next step is captured (cudaStreamBeginCapture ..
 *          EndCapture, cudaGraphInstantiate) and launched;
 *   READY  later steps replay: the host runs the same op sequence, in
 *          which ops only write their per-step scalars (Adam's lr_t, the
 *          dropout counter, input scaling) into pinned slots and copy
 *          uploaded bytes into pinned staging, then the graph is launched;
 *          its first node copies the slots to the device;
 *   FAILED capture or instantiation failed: eager from then on (a note on
 *          stderr, once).
 * A graph holds device pointers, so any (re)allocation the ops could see
 * bumps st->mem_gen and sends its key back to NEW.  Before writing the
 * pinned buffers a captured or replayed step waits for the previous graph
 * (step_done).  Replay checks that the host issued what the capture saw
 * (slot count and staged bytes) and fails otherwise (be->error): that is
 * an engine bug.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_impl.h"

enum { G_NEW, G_WARM, G_READY, G_FAILED };

struct cu_graph {
	uint64_t key;
	int used, state;
	cudaGraphExec_t exec;
	unsigned long mem_gen;
	int nslot;              /* slots the step takes */
	size_t nstage;          /* staged bytes of the step */
};

static void
drop(struct cu_graph *g)
{
	if (g->exec)
		cudaGraphExecDestroy(g->exec);
	g->exec = NULL;
	g->state = G_NEW;
}

static struct cu_graph *
lookup(struct cu_state *st, uint64_t key)
{
	struct cu_graph *g;

	if (!st->graph && !(st->graph = cu_nonnull(st, calloc(CU_NGRAPH, sizeof *st->graph))))
		return NULL;
	for (int i = 0; i < CU_NGRAPH; i++)
		if (st->graph[i].used && st->graph[i].key == key)
			return &st->graph[i];
	g = &st->graph[st->gnext];
	st->gnext = (st->gnext + 1) % CU_NGRAPH;
	drop(g);
	*g = (struct cu_graph){ .key = key, .used = 1 };
	return g;
}

/* Pinned slots and staging of at least what g needs (before a capture). */
static void
reserve(struct cu_state *st, const struct cu_graph *g)
{
	if (g->nslot > st->cap_slot) {
		CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
		cudaFreeHost(st->hslot);
		cudaFree(st->dslot);
		st->cap_slot = g->nslot + 64;
		CUDA_CHECK(st, cudaMallocHost((void **)&st->hslot, (size_t)st->cap_slot * 8));
		CUDA_CHECK(st, cudaMalloc((void **)&st->dslot, (size_t)st->cap_slot * 8));
		st->mem_gen++;
	}
	if (g->nstage > st->cap_stage) {
		CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
		cudaFreeHost(st->hstage);
		st->cap_stage = g->nstage + g->nstage / 4;
		CUDA_CHECK(st, cudaMallocHost((void **)&st->hstage, st->cap_stage));
		st->mem_gen++;
	}
}

static void
begin_capture(struct cu_state *st, struct cu_graph *g)
{
	reserve(st, g);
	CUDA_CHECK(st, cudaStreamSynchronize(st->stream));
	st->capture_failed = 0;
	if (cudaStreamBeginCapture(st->stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
		cudaGetLastError();
		st->capture_failed = 1;
		st->gmode = CU_EAGER;
		return;
	}
	st->capturing = 1;
	st->gmode = CU_CAPTURE;
	st->cap_id++;
	if (st->cap_slot)
		CUDA_CHECK(st, cudaMemcpyAsync(st->dslot, st->hslot, (size_t)st->cap_slot * 8,
		                           cudaMemcpyHostToDevice, st->stream));
}

void
cu_step_begin(struct nn_backend *be, uint64_t key)
{
	struct cu_state *st = cu_st(be);
	struct cu_graph *g;

	st->gmode = CU_EAGER;
	st->cur = NULL;
	st->nslot = 0;
	st->stage_off = 0;
	if (!st->graphs)
		return;
	if (!(g = st->cur = lookup(st, key)))
		return;         /* out of memory, recorded: eager */
	if (g->state == G_READY && g->mem_gen != st->mem_gen)
		drop(g);
	if (g->state == G_READY || g->state == G_WARM)
		CUDA_CHECK(st, cudaEventSynchronize(st->step_done));
	if (g->state == G_READY)
		st->gmode = CU_REPLAY;
	else if (g->state == G_WARM)
		begin_capture(st, g);
}

/* One line on stderr, the first time graphs give up on a step. */
static void
note(struct cu_state *st, const char *why)
{
	if (!st->noted)
		fprintf(stderr, "radpipe: cuda: CUDA graph capture failed (%s); running the step eagerly\n", why);
	st->noted = 1;
}

/* Ends the capture of g; 0 with g->exec, or -1. */
static int
end_capture(struct cu_state *st, struct cu_graph *g)
{
	cudaGraph_t graph = NULL;
	cudaError_t e = cudaStreamEndCapture(st->stream, &graph);

	st->capturing = 0;
	if (e == cudaSuccess && !st->capture_failed)
		e = cudaGraphInstantiate(&g->exec, graph, 0);
	if (graph)
		cudaGraphDestroy(graph);
	if (e != cudaSuccess || st->capture_failed) {
		cudaGetLastError();
		note(st, e != cudaSuccess ? cudaGetErrorString(e) : "an op could not be captured");
		g->exec = NULL;
		return -1;
	}
	return 0;
}

static void
launch(struct cu_state *st, struct cu_graph *g)
{
	CUDA_CHECK(st, cudaGraphLaunch(g->exec, st->stream));
	CUDA_CHECK(st, cudaEventRecord(st->step_done, st->stream));
}

int
cu_step_end(struct nn_backend *be, int abort)
{
	struct cu_state *st = cu_st(be);
	struct cu_graph *g = st->cur;
	int mode = st->gmode;

	st->gmode = CU_EAGER;
	st->cur = NULL;
	if (!g)
		return 0;
	if (mode == CU_EAGER) {
		if (g->state == G_NEW && !abort) {
			g->nslot = st->nslot, g->nstage = st->stage_off;
			g->state = G_WARM;
		} else if (g->state == G_WARM) {   /* the capture did not begin: ran eagerly */
			note(st, "cudaStreamBeginCapture");
			g->state = G_FAILED;
		}
		return 0;
	}
	if (mode == CU_CAPTURE) {
		int bad = end_capture(st, g) < 0;
		if (abort || bad) {
			drop(g);
			g->state = bad ? G_FAILED : G_NEW;
			return abort ? 0 : 1;
		}
		g->mem_gen = st->mem_gen;
		g->state = G_READY;
	} else if (abort) {
		return 0;
	}
	if (st->nslot != g->nslot || st->stage_off != g->nstage) {
		cu_fail(st, "cuda: graph replay diverged from its capture (%d/%d slots, "
		        "%zu/%zu staged bytes)", st->nslot, g->nslot, st->stage_off, g->nstage);
		return 0;       /* not launched; the engine reports be->error */
	}
	launch(st, g);
	return 0;
}

const void *
cu_slot(struct cu_state *st, const void *val, size_t size)
{
	int k = st->nslot, n = (int)((size + 7) / 8);

	if (st->gmode == CU_EAGER) {
		st->nslot += st->cur ? n : 0;   /* a warm-up counts */
		return NULL;
	}
	st->nslot += n;
	if (st->nslot > st->cap_slot) {
		st->capture_failed = 1;  /* capture: the warm-up saw fewer; replay: checked at the end */
		return NULL;
	}
	memcpy(st->hslot + k, val, size);
	return st->gmode == CU_CAPTURE ? st->dslot + k : NULL;
}

const void *
cu_stage(struct cu_state *st, const void *src, size_t size)
{
	size_t off = st->stage_off, n = (size + 63) & ~(size_t)63;

	if (st->gmode == CU_EAGER) {
		st->stage_off += st->cur ? n : 0;
		return NULL;
	}
	st->stage_off += n;
	if (st->stage_off > st->cap_stage) {
		st->capture_failed = 1;
		return NULL;
	}
	memcpy(st->hstage + off, src, size);
	return st->hstage + off;
}

int
cu_no_graph(struct cu_state *st, const char *what)
{
	if (st->gmode == CU_EAGER)
		return 0;
	cu_fail(st, "cuda: %s inside a graph step", what);
	return -1;
}

void
cu_graph_free(struct cu_state *st)
{
	for (int i = 0; st->graph && i < CU_NGRAPH; i++)
		drop(&st->graph[i]);
	free(st->graph);
	st->graph = NULL;
	if (st->hslot)
		cudaFreeHost(st->hslot);
	if (st->dslot)
		cudaFree(st->dslot);
	if (st->hstage)
		cudaFreeHost(st->hstage);
	st->hslot = st->dslot = NULL;
	st->hstage = NULL;
	st->cap_slot = 0;
	st->cap_stage = 0;
}
