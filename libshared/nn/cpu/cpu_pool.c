/* cpu_pool.c — pooling of the "cpu" backend: oneDNN pooling (max/avg
 * forward, avg backward) on dense NHWC; max-pool backward is a plain loop.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "err.h"
#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

/* x itself when dense, else a packed copy in scratch buffer i. */
static const float *
dense_in(struct cpu *c, int i, const float *x, size_t m, int ch, int ld)
{
	float *s;

	if (ld == ch)
		return x;
	s = cpu_buf(c, i, m * ch * sizeof(float));
	cpu_pack(s, x, m, ch, ld);
	return s;
}

/* --- pooling --- */

static dnnl_primitive_desc_t
pool_pd(struct cpu *c, int op, const struct nn_pool *p, const_dnnl_primitive_attr_t a)
{
	dnnl_memory_desc_t x, y;
	dnnl_pooling_v2_desc_t d;
	dnnl_primitive_desc_t pd, hint;
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
	DNNL_CHECK(c, dnnl_pooling_v2_forward_desc_init(&d, op == CPU_POOL_FWD ?
	    dnnl_forward_inference : dnnl_forward_training, alg, &x, &y, st, k, dil, pl, pr));
	if (op == CPU_POOL_FWD) {
		pd = cpu_pd(c, &d, a, NULL);
		return pd;
	}
	hint = cpu_pd(c, &d, NULL, NULL);
	DNNL_CHECK(c, dnnl_pooling_v2_backward_desc_init(&d, alg, &x, &y, st, k, dil, pl, pr));
	pd = cpu_pd(c, &d, a, hint);
	DNNL_CHECK(c, dnnl_primitive_desc_destroy(hint));
	return pd;
}

/* Arguments: fwd: src dst; bwd: diff_dst diff_src. */
static struct cpu_entry *
pool_entry(struct cpu *c, int op, const struct nn_pool *p)
{
	struct cpu_key k;
	struct cpu_entry *e;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;
	int v[] = { p->n, p->ih, p->iw, p->c, p->oh, p->ow, p->kh, p->kw,
	            p->sh, p->sw, p->pt, p->pl, p->avg };

	memset(&k, 0, sizeof k);
	k.op = op;
	memcpy(k.v, v, sizeof v);
	if ((e = cpu_lookup(c, &k)) != NULL)
		return e;
	e = xcalloc(1, sizeof *e);
	e->key = k;
	a = cpu_attr(c);
	pd = pool_pd(c, op, p, a);
	if (pd == NULL) {
		DNNL_CHECK(c, dnnl_primitive_attr_destroy(a));
		free(e);
		return NULL;
	}
	snprintf(e->impl, sizeof e->impl, "%s", cpu_impl_of(c, pd));
	cpu_exe_init(c, &e->main, pd);
	cpu_exe_arg(c, &e->main, op == CPU_POOL_FWD ? DNNL_ARG_SRC : DNNL_ARG_DIFF_DST,
	    dnnl_primitive_desc_query_md(pd, op == CPU_POOL_FWD ?
	    dnnl_query_src_md : dnnl_query_diff_dst_md, 0));
	cpu_exe_arg(c, &e->main, op == CPU_POOL_FWD ? DNNL_ARG_DST : DNNL_ARG_DIFF_SRC,
	    dnnl_primitive_desc_query_md(pd, op == CPU_POOL_FWD ?
	    dnnl_query_dst_md : dnnl_query_diff_src_md, 0));
	return cpu_entry_finish(c, e, pd, a);
}

void
cpu_pool_fwd(struct nn_backend *be, const struct nn_pool *p, const float *x, float *y)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *e = pool_entry(c, CPU_POOL_FWD, p);
	size_t mx = (size_t)p->n * p->ih * p->iw, my = (size_t)p->n * p->oh * p->ow;
	float *ys = p->y_ld == p->c ? y : cpu_buf(c, 1, my * p->c * sizeof(float));
	void *ptr[2];

	if (e == NULL)
		return;
	ptr[0] = (void *)dense_in(c, 0, x, mx, p->c, p->x_ld);
	ptr[1] = ys;
	cpu_run(c, &e->main, ptr);
	if (ys != y)
		cpu_unpack(y, p->y_ld, ys, my, p->c, 0.0f);
}

#define POOL_CB 64

/* The first maximum (window order) of each channel of a window, for
 * channels [c0, c0+nc) of one output pixel: arg[] = input pixel (-1: none). */
static void
maxpool_arg(const struct nn_pool *p, long base, int oy, int ox, int c0, int nc,
    const float *x, int *arg)
{
	float best[POOL_CB];
	const int ld = p->x_ld;
	int ky, kx, j;

	for (j = 0; j < nc; j++) {
		best[j] = -INFINITY;
		arg[j] = -1;
	}
	for (ky = 0; ky < p->kh; ky++) {
		int iy = oy * p->sh - p->pt + ky;
		if (iy < 0 || iy >= p->ih)
			continue;
		for (kx = 0; kx < p->kw; kx++) {
			int ix = ox * p->sw - p->pl + kx, pix = iy * p->iw + ix;
			const float *a;
			if (ix < 0 || ix >= p->iw)
				continue;
			a = x + (size_t)(base + pix) * ld + c0;
			#pragma omp simd
			for (j = 0; j < nc; j++) {
				int take = arg[j] < 0 || a[j] > best[j];
				best[j] = take ? a[j] : best[j];
				arg[j] = take ? pix : arg[j];
			}
		}
	}
}

/* Max-pool backward, one image and one block of channels [c0, c1). */
static void
maxpool_bwd_block(const struct nn_pool *p, int n, int c0, int c1,
    const float *x, const float *dy, float *dx, float beta)
{
	int arg[POOL_CB];
	long pix, base = (long)n * p->ih * p->iw;
	int oy, ox, j, nc = c1 - c0;

	if (beta == 0.0f)
		for (pix = 0; pix < (long)p->ih * p->iw; pix++)
			memset(dx + (base + pix) * p->x_ld + c0, 0, nc * sizeof(float));
	for (oy = 0; oy < p->oh; oy++) {
		for (ox = 0; ox < p->ow; ox++) {
			const float *d;
			maxpool_arg(p, base, oy, ox, c0, nc, x, arg);
			d = dy + (((size_t)n * p->oh + oy) * p->ow + ox) * p->y_ld + c0;
			for (j = 0; j < nc; j++)
				if (arg[j] >= 0)
					dx[(size_t)(base + arg[j]) * p->x_ld + c0 + j] += d[j];
		}
	}
}

static void
maxpool_bwd(const struct nn_pool *p, const float *x, const float *dy, float *dx, float beta)
{
	int nb = (p->c + POOL_CB - 1) / POOL_CB, t;

	#pragma omp parallel for schedule(static)
	for (t = 0; t < p->n * nb; t++) {
		int c0 = t % nb * POOL_CB, c1 = c0 + POOL_CB;

		maxpool_bwd_block(p, t / nb, c0, c1 < p->c ? c1 : p->c, x, dy, dx, beta);
	}
}

void
cpu_pool_bwd(struct nn_backend *be, const struct nn_pool *p, const float *x,
    const float *dy, float *dx, float beta)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *e;
	size_t mx = (size_t)p->n * p->ih * p->iw, my = (size_t)p->n * p->oh * p->ow;
	float *dxs = dx;
	void *ptr[2];

	if (!p->avg) {
		maxpool_bwd(p, x, dy, dx, beta);
		return;
	}
	e = pool_entry(c, CPU_POOL_BWD, p);
	if (e == NULL)
		return;
	if (p->x_ld != p->c || beta != 0.0f)
		dxs = cpu_buf(c, 0, mx * p->c * sizeof(float));
	ptr[0] = (void *)dense_in(c, 1, dy, my, p->c, p->y_ld);
	ptr[1] = dxs;
	cpu_run(c, &e->main, ptr);
	if (dxs != dx)
		cpu_unpack(dx, p->x_ld, dxs, mx, p->c, beta);
}
