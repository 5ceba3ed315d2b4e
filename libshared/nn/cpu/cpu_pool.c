/* cpu_pool.c — pooling of the "cpu" backend.  Average pooling forward on
 * dense x and y runs oneDNN's pooling (faster there: bench/bench_pool.c);
 * max pooling forward, average forward on a strided view and every
 * backward are plain loops on the caller's strided NHWC, with no pack or
 * unpack copy.  OpenMP across rows (output rows forward and for the
 * argmax, input rows for dx: batch 5 splits evenly and no two threads
 * write one row), SIMD across channels, which are contiguous: blocks of
 * 128, then 64, 16 and 1 channels, held in registers (GCC vector types)
 * while a window is read.  Before these loops, average backward paid a
 * pack copy of a strided dy and an unpack copy of dx around oneDNN's
 * (always: InceptionV3's branch_pool gradients accumulate, beta 1), max
 * backward a memset of dx and a scalar scatter over 64-channel blocks of
 * one image (batch 5: 5 tasks on 2 threads), and a strided forward the
 * same copies as average backward.
 *
 * Every element the loops write is written by one loop iteration, which
 * adds in a fixed order: the same bytes for any thread count.
 *   forward (loops): max as ref (the first cell, then strictly greater:
 *     the same bytes); average: the sum in ref's order (window rows, then
 *     columns) times 1/count, count = the cells inside the input (Keras/TF:
 *     padding excluded), one rounding away from ref's division.
 *   max backward, two passes: the window cell of each output element's
 *     first maximum (window order, strictly greater, as ref) into scratch;
 *     then each dx pixel gathers dy from the outputs whose windows cover
 *     it, in output order (oy, then ox): ref's order of additions, so the
 *     same bytes as ref.
 *   average backward: each dx pixel gathers dy * (1/count) from the
 *     outputs covering it, in output order (ref: dy/count, same order).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "err.h"

#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

/* Loops shorter than this (elements) run on one thread. */
#define PAR_MIN 16384

/* The row functions are built for AVX-512, AVX2 and baseline x86-64 and
 * chosen at load time (the build itself targets baseline x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define POOL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define POOL_CLONES
#endif

/* Helpers inlined into each clone (a call would run the baseline code). */
#define POOL_INLINE static inline __attribute__((always_inline))

/* 16 lanes; a block is NV vectors (128 channels).  The helpers taking and
 * returning them are inlined: no ABI is involved. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
#define VL 16
#define NV 8

POOL_INLINE vf
vload(const float *p)
{
	vf v;

	memcpy(&v, p, sizeof v);
	return v;
}

POOL_INLINE vi
viload(const int32_t *p)
{
	vi v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* m ? a : b, lane by lane (m: all ones or zero). */
POOL_INLINE vf
vsel(vi m, vf a, vf b)
{
	return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* The window of output (oy, ox) clipped to the input: rows [*y0, *y1),
 * columns [*x0, *x1) (ref_pool_window). */
static void
window(const struct nn_pool *p, int oy, int ox, int *y0, int *y1, int *x0, int *x1)
{
	int top = oy * p->sh - p->pt, left = ox * p->sw - p->pl;

	*y0 = top < 0 ? 0 : top;
	*y1 = top + p->kh > p->ih ? p->ih : top + p->kh;
	*x0 = left < 0 ? 0 : left;
	*x1 = left + p->kw > p->iw ? p->iw : left + p->kw;
}

/* The outputs [*o0, *o1) along one axis (input i, kernel k, stride s,
 * padding before pad, no outputs) whose windows cover input i. */
static void
cover(int i, int k, int s, int pad, int no, int *o0, int *o1)
{
	int lo = i + pad - k + 1, hi = (i + pad) / s + 1;

	*o0 = lo <= 0 ? 0 : (lo + s - 1) / s;
	*o1 = hi < no ? hi : no;
}

/* --- forward --- */

/* Max or sum (avg) over the window's cells of nv*VL channels (a: the
 * window's first cell; rs, cs: row and column strides); y = that, times r
 * for average. */
POOL_INLINE void
fwd_vec(const float *a, size_t rs, size_t cs, int ny, int nx, int avg, float r,
    float *y, int nv)
{
	vf acc[NV];
	int iy, ix, v;

	for (v = 0; v < nv; v++)
		acc[v] = avg ? (vf){ 0 } : (vf){ 0 } - INFINITY;
	for (iy = 0; iy < ny; iy++)
		for (ix = 0; ix < nx; ix++) {
			const float *c = a + iy * rs + ix * cs;
			#pragma GCC unroll 8
			for (v = 0; v < nv; v++) {
				vf t = vload(c + v * VL);
				acc[v] = avg ? acc[v] + t : vsel(t > acc[v], t, acc[v]);
			}
		}
	for (v = 0; v < nv; v++) {
		vf t = avg ? acc[v] * r : acc[v];
		memcpy(y + v * VL, &t, sizeof t);
	}
}

/* y row (b, oy). */
POOL_CLONES static void
pool_fwd_row(const struct nn_pool *p, int b, int oy, const float *x, float *y)
{
	size_t cs = p->x_ld, rs = (size_t)p->iw * cs;
	int y0, y1, x0, x1, ox, j, iy, ix;

	for (ox = 0; ox < p->ow; ox++) {
		float *o = y + (((size_t)b * p->oh + oy) * p->ow + ox) * p->y_ld, r;
		const float *a;

		window(p, oy, ox, &y0, &y1, &x0, &x1);
		a = x + (((size_t)b * p->ih + y0) * p->iw + x0) * cs;
		r = 1.0f / (float)((y1 - y0) * (x1 - x0));
		/* avg and nv constant in each call: one loop body each */
		for (j = 0; j + NV * VL <= p->c; j += NV * VL)
			if (p->avg)
				fwd_vec(a + j, rs, cs, y1 - y0, x1 - x0, 1, r, o + j, NV);
			else
				fwd_vec(a + j, rs, cs, y1 - y0, x1 - x0, 0, r, o + j, NV);
		for (; j + NV / 2 * VL <= p->c; j += NV / 2 * VL)
			fwd_vec(a + j, rs, cs, y1 - y0, x1 - x0, p->avg, r, o + j, NV / 2);
		for (; j + VL <= p->c; j += VL)
			fwd_vec(a + j, rs, cs, y1 - y0, x1 - x0, p->avg, r, o + j, 1);
		for (; j < p->c; j++) {
			float acc = p->avg ? 0.0f : -INFINITY;
			for (iy = 0; iy < y1 - y0; iy++)
				for (ix = 0; ix < x1 - x0; ix++) {
					float t = a[iy * rs + ix * cs + j];
					acc = p->avg ? acc + t : (t > acc ? t : acc);
				}
			o[j] = p->avg ? acc * r : acc;
		}
	}
}

/* oneDNN's forward pooling (inference) on dense NHWC. */
static dnnl_primitive_desc_t
pool_pd(struct cpu *c, const struct nn_pool *p, const_dnnl_primitive_attr_t a)
{
	dnnl_memory_desc_t x, y;
	dnnl_pooling_v2_desc_t d;
	dnnl_alg_kind_t alg = p->avg ? dnnl_pooling_avg_exclude_padding : dnnl_pooling_max;
	dnnl_dims_t st = { p->sh, p->sw }, k = { p->kh, p->kw }, dil = { 0, 0 };
	dnnl_dims_t pl = { p->pt, p->pl }, pr;
	long r;

	r = (long)(p->oh - 1) * p->sh + p->kh - p->ih - p->pt;
	pr[0] = r > 0 ? r : 0;
	r = (long)(p->ow - 1) * p->sw + p->kw - p->iw - p->pl;
	pr[1] = r > 0 ? r : 0;
	cpu_md_nhwc(c, &x, p->n, p->c, p->ih, p->iw);
	cpu_md_nhwc(c, &y, p->n, p->c, p->oh, p->ow);
	if (cpu_failed(c))      /* x, y may be unset */
		return NULL;
	DNNL_CHECK(c, dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_inference, alg,
	    &x, &y, st, k, dil, pl, pr));
	return cpu_pd(c, &d, a, NULL);
}

/* The cached forward primitive of p; arguments src, dst. */
static struct cpu_entry *
pool_entry(struct cpu *c, const struct nn_pool *p)
{
	struct cpu_key k;
	struct cpu_entry *e;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;
	int v[] = { p->n, p->ih, p->iw, p->c, p->oh, p->ow, p->kh, p->kw,
	            p->sh, p->sw, p->pt, p->pl, p->avg };

	memset(&k, 0, sizeof k);
	k.op = CPU_POOL_FWD;
	memcpy(k.v, v, sizeof v);
	if ((e = cpu_lookup(c, &k)) != NULL)
		return e;
	e = xcalloc(1, sizeof *e);
	e->key = k;
	a = cpu_attr(c);
	pd = pool_pd(c, p, a);
	if (pd == NULL)
		return cpu_entry_abandon(c, e, a);
	snprintf(e->impl, sizeof e->impl, "%s", cpu_impl_of(c, pd));
	cpu_exe_init(c, &e->main, pd);
	cpu_exe_arg(c, &e->main, DNNL_ARG_SRC,
	    dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0));
	cpu_exe_arg(c, &e->main, DNNL_ARG_DST,
	    dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0));
	return cpu_entry_finish(c, e, pd, a);
}

void
cpu_pool_fwd(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *e;
	int rows = p->n * p->oh, t;

	if (p->avg && p->x_ld == p->c && p->y_ld == p->c) {
		if ((e = pool_entry(c, p)) != NULL)
			cpu_run(c, &e->main, (void *[]){ (void *)x, y });
		return;
	}
	#pragma omp parallel for schedule(static) if ((size_t)rows * p->ow * p->c > PAR_MIN)
	for (t = 0; t < rows; t++)
		pool_fwd_row(p, t / p->oh, t % p->oh, x, y);
}

/* --- max backward --- */

/* The cell of the first maximum (window order) of nv*VL channels of one
 * window into g (a, rs, cs: as fwd_vec; cells are numbered ky*kw + kx,
 * cell0 is a's).  Cells are int32, a float lane's width, so that compare
 * and select vectorise. */
POOL_INLINE void
arg_vec(const float *a, size_t rs, size_t cs, int ny, int nx, int cell0, int kw,
    int32_t *g, int nv)
{
	vf best[NV];
	vi arg[NV];
	int iy, ix, v;

	for (v = 0; v < NV; v++)        /* all NV: GCC 12 warns otherwise */
		arg[v] = (vi){ 0 } + cell0;
	for (v = 0; v < nv; v++)
		best[v] = vload(a + v * VL);
	for (iy = 0; iy < ny; iy++)
		for (ix = iy == 0; ix < nx; ix++) {
			const float *c = a + iy * rs + ix * cs;
			vi cell = (vi){ 0 } + (cell0 + iy * kw + ix);
			#pragma GCC unroll 8
			for (v = 0; v < nv; v++) {
				vf t = vload(c + v * VL);
				vi m = t > best[v];
				best[v] = vsel(m, t, best[v]);
				arg[v] = (cell & m) | (arg[v] & ~m);
			}
		}
	for (v = 0; v < nv; v++)
		memcpy(g + v * VL, &arg[v], sizeof(vi));
}

/* arg row (b, oy): the cell of each output element's first maximum. */
POOL_CLONES static void
maxpool_arg_row(const struct nn_pool *p, int b, int oy, const float *x, int32_t *arg)
{
	size_t cs = p->x_ld, rs = (size_t)p->iw * cs;
	int y0, y1, x0, x1, ox, j, iy, ix;

	for (ox = 0; ox < p->ow; ox++) {
		int32_t *g = arg + (((size_t)b * p->oh + oy) * p->ow + ox) * p->c;
		int cell0;
		const float *a;

		window(p, oy, ox, &y0, &y1, &x0, &x1);
		a = x + (((size_t)b * p->ih + y0) * p->iw + x0) * cs;
		cell0 = (y0 - (oy * p->sh - p->pt)) * p->kw + x0 - (ox * p->sw - p->pl);
		for (j = 0; j + NV * VL <= p->c; j += NV * VL)
			arg_vec(a + j, rs, cs, y1 - y0, x1 - x0, cell0, p->kw, g + j, NV);
		for (; j + NV / 2 * VL <= p->c; j += NV / 2 * VL)
			arg_vec(a + j, rs, cs, y1 - y0, x1 - x0, cell0, p->kw, g + j, NV / 2);
		for (; j + VL <= p->c; j += VL)
			arg_vec(a + j, rs, cs, y1 - y0, x1 - x0, cell0, p->kw, g + j, 1);
		for (; j < p->c; j++) {
			float best = a[j];
			g[j] = cell0;
			for (iy = 0; iy < y1 - y0; iy++)
				for (ix = iy == 0; ix < x1 - x0; ix++)
					if (a[iy * rs + ix * cs + j] > best) {
						best = a[iy * rs + ix * cs + j];
						g[j] = cell0 + iy * p->kw + ix;
					}
		}
	}
}

/* dx at one pixel (b, iy, ix), channels [j, j + nv*VL): beta*dx plus,
 * in output order, dy of each covering output whose maximum is here. */
POOL_INLINE void
maxdx_vec(const struct nn_pool *p, int b, int iy, int ix, const int32_t *arg,
    const float *dy, float *dx, float beta, int j, int nv)
{
	vf acc[NV];
	int o0, o1, q0, q1, oy, ox, v;

	for (v = 0; v < nv; v++)
		acc[v] = beta == 0.0f ? (vf){ 0 } : vload(dx + j + v * VL) * beta;
	cover(iy, p->kh, p->sh, p->pt, p->oh, &o0, &o1);
	cover(ix, p->kw, p->sw, p->pl, p->ow, &q0, &q1);
	for (oy = o0; oy < o1; oy++)
		for (ox = q0; ox < q1; ox++) {
			size_t at = ((size_t)b * p->oh + oy) * p->ow + ox;
			vi cell = (vi){ 0 } + ((iy - (oy * p->sh - p->pt)) * p->kw +
			    ix - (ox * p->sw - p->pl));
			#pragma GCC unroll 8
			for (v = 0; v < nv; v++) {
				vi m = viload(arg + at * p->c + j + v * VL) == cell;
				/* + -0.0f leaves every float as it is (-0 too) */
				acc[v] += vsel(m, vload(dy + at * p->y_ld + j + v * VL),
				    -(vf){ 0 });
			}
		}
	for (v = 0; v < nv; v++)
		memcpy(dx + j + v * VL, &acc[v], sizeof(vf));
}

/* dx row (b, iy) of max pooling. */
POOL_CLONES static void
maxpool_dx_row(const struct nn_pool *p, int b, int iy, const int32_t *arg, const float *dy,
    float *dx, float beta)
{
	int ix, j, o0, o1, q0, q1, oy, ox;

	cover(iy, p->kh, p->sh, p->pt, p->oh, &o0, &o1);
	for (ix = 0; ix < p->iw; ix++) {
		float *d = dx + (((size_t)b * p->ih + iy) * p->iw + ix) * p->x_ld;

		for (j = 0; j + NV * VL <= p->c; j += NV * VL)
			maxdx_vec(p, b, iy, ix, arg, dy, d, beta, j, NV);
		for (; j + NV / 2 * VL <= p->c; j += NV / 2 * VL)
			maxdx_vec(p, b, iy, ix, arg, dy, d, beta, j, NV / 2);
		for (; j + VL <= p->c; j += VL)
			maxdx_vec(p, b, iy, ix, arg, dy, d, beta, j, 1);
		cover(ix, p->kw, p->sw, p->pl, p->ow, &q0, &q1);
		for (; j < p->c; j++) {
			float acc = beta == 0.0f ? 0.0f : d[j] * beta;
			for (oy = o0; oy < o1; oy++)
				for (ox = q0; ox < q1; ox++) {
					size_t at = ((size_t)b * p->oh + oy) * p->ow + ox;
					int cell = (iy - (oy * p->sh - p->pt)) * p->kw +
					    ix - (ox * p->sw - p->pl);
					if (arg[at * p->c + j] == cell)
						acc += dy[at * p->y_ld + j];
				}
			d[j] = acc;
		}
	}
}

/* --- average backward --- */

/* dx at one pixel (b, iy, ix), channels [j, j + nv*VL): beta*dx plus,
 * in output order, dy/count of each covering output (rcp: 1/count of each
 * output of the image, row-major). */
POOL_INLINE void
avgdx_vec(const struct nn_pool *p, int b, int ix, int o0, int o1, const float *rcp,
    const float *dy, float *dx, float beta, int j, int nv)
{
	vf acc[NV];
	int q0, q1, oy, ox, v;

	for (v = 0; v < nv; v++)
		acc[v] = beta == 0.0f ? (vf){ 0 } : vload(dx + j + v * VL) * beta;
	cover(ix, p->kw, p->sw, p->pl, p->ow, &q0, &q1);
	for (oy = o0; oy < o1; oy++)
		for (ox = q0; ox < q1; ox++) {
			const float *d = dy + (((size_t)b * p->oh + oy) * p->ow + ox) * p->y_ld + j;
			float r = rcp[oy * p->ow + ox];
			#pragma GCC unroll 8
			for (v = 0; v < nv; v++)
				acc[v] += vload(d + v * VL) * r;
		}
	for (v = 0; v < nv; v++)
		memcpy(dx + j + v * VL, &acc[v], sizeof(vf));
}

/* dx row (b, iy) of average pooling (rcp: as avgdx_vec). */
POOL_CLONES static void
avgpool_dx_row(const struct nn_pool *p, int b, int iy, const float *dy, float *dx,
    float beta, const float *rcp)
{
	int ix, j, o0, o1, q0, q1, oy, ox;

	cover(iy, p->kh, p->sh, p->pt, p->oh, &o0, &o1);
	for (ix = 0; ix < p->iw; ix++) {
		float *d = dx + (((size_t)b * p->ih + iy) * p->iw + ix) * p->x_ld;

		for (j = 0; j + NV * VL <= p->c; j += NV * VL)
			avgdx_vec(p, b, ix, o0, o1, rcp, dy, d, beta, j, NV);
		for (; j + NV / 2 * VL <= p->c; j += NV / 2 * VL)
			avgdx_vec(p, b, ix, o0, o1, rcp, dy, d, beta, j, NV / 2);
		for (; j + VL <= p->c; j += VL)
			avgdx_vec(p, b, ix, o0, o1, rcp, dy, d, beta, j, 1);
		cover(ix, p->kw, p->sw, p->pl, p->ow, &q0, &q1);
		for (; j < p->c; j++) {
			float acc = beta == 0.0f ? 0.0f : d[j] * beta;
			for (oy = o0; oy < o1; oy++)
				for (ox = q0; ox < q1; ox++)
					acc += dy[(((size_t)b * p->oh + oy) * p->ow + ox) * p->y_ld + j] *
					    rcp[oy * p->ow + ox];
			d[j] = acc;
		}
	}
}

void
cpu_pool_bwd(struct nn_backend *be, const struct nn_pool *p, const float *x,
    const float *dy, float *dx, float beta)
{
	struct cpu *c = cpu_of(be);
	int orows = p->n * p->oh, irows = p->n * p->ih, t, oy, ox, y0, y1, x0, x1;
	int par = (size_t)irows * p->iw * p->c > PAR_MIN;
	int32_t *arg;
	float *rcp;

	if (p->avg) {
		rcp = cpu_buf(c, 0, (size_t)p->oh * p->ow * sizeof(float));
		for (oy = 0; oy < p->oh; oy++)
			for (ox = 0; ox < p->ow; ox++) {
				window(p, oy, ox, &y0, &y1, &x0, &x1);
				rcp[oy * p->ow + ox] = 1.0f / (float)((y1 - y0) * (x1 - x0));
			}
		#pragma omp parallel for schedule(static) if (par)
		for (t = 0; t < irows; t++)
			avgpool_dx_row(p, t / p->ih, t % p->ih, dy, dx, beta, rcp);
		return;
	}
	arg = (int32_t *)cpu_buf(c, 0, (size_t)orows * p->ow * p->c * sizeof(int32_t));
	#pragma omp parallel if (par)
	{
		#pragma omp for schedule(static)
		for (t = 0; t < orows; t++)
			maxpool_arg_row(p, t / p->oh, t % p->oh, x, arg);
		#pragma omp for schedule(static)
		for (t = 0; t < irows; t++)
			maxpool_dx_row(p, t / p->ih, t % p->ih, arg, dy, dx, beta);
	}
}
