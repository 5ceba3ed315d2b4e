/* cpu_conv.c — convolutions of the "cpu" backend: oneDNN convolution
 * forward, backward-data and backward-weights on dense NHWC, with the
 * weights in the layout each primitive prefers (reordered from HWIO and
 * cached, see cpu_impl.h).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <oneapi/dnnl/dnnl.h>

#include "err.h"
#include "nn/backend.h"
#include "nn/cpu/cpu_impl.h"

/* The descriptors of a convolution, oneDNN style: x and y as the
 * primitive sees them (dense NHWC, or "any" to let oneDNN block them),
 * ux and uy as the caller holds them (NHWC with pixel strides x_ld, y_ld). */
struct conv_geom {
	dnnl_memory_desc_t x, w, hwio, b, y, ux, uy;
	dnnl_dims_t st, pl, pr;
};

static int
pad_after(int in, int out, int k, int s, int before)
{
	int r = (out - 1) * s + k - in - before;

	return r > 0 ? r : 0;
}

/* NHWC {n, ch, h, w} with pixel stride ld. */
static void
md_strided(struct cpu *c, dnnl_memory_desc_t *md, int n, int ch, int h, int w, int ld)
{
	dnnl_dims_t d = { n, ch, h, w };
	dnnl_dims_t s = { (dnnl_dim_t)h * w * ld, 1, (dnnl_dim_t)w * ld, ld };

	DNNL_CHECK(c, dnnl_memory_desc_init_by_strides(md, 4, d, dnnl_f32, s));
}


/* The element types the primitive of op sees for x, w and y (its src or
 * diff_src, weights or diff_weights, dst or diff_dst): f32, or in bf16 the
 * operands bf16 and the results f32 (see cpu_impl.h). */
static void
conv_types(const struct cpu *c, int op, dnnl_data_type_t *xt, dnnl_data_type_t *wt,
    dnnl_data_type_t *yt)
{
	dnnl_data_type_t h = c->bf16 ? dnnl_bf16 : dnnl_f32;

	*xt = op == CPU_CONV_BWD_DATA ? dnnl_f32 : h;
	*wt = op == CPU_CONV_BWD_WEIGHTS ? dnnl_f32 : h;
	*yt = op == CPU_CONV_FWD ? dnnl_f32 : h;
}

/* g for op on p: layouts (blocked: let oneDNN choose), element types,
 * strides and padding. */
static void
conv_geom(struct cpu *c, const struct nn_conv *p, int blocked, int op, struct conv_geom *g)
{
	dnnl_dims_t wd = { p->oc, p->ic, p->kh, p->kw }, bd = { p->oc };
	dnnl_dims_t xd = { p->n, p->ic, p->ih, p->iw }, yd = { p->n, p->oc, p->oh, p->ow };
	dnnl_format_tag_t t = blocked ? dnnl_format_tag_any : dnnl_nhwc;
	dnnl_data_type_t xt, wt, yt;

	conv_types(c, op, &xt, &wt, &yt);
	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(&g->x, 4, xd, xt, t));
	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(&g->y, 4, yd, yt, t));
	md_strided(c, &g->ux, p->n, p->ic, p->ih, p->iw, p->x_ld);
	md_strided(c, &g->uy, p->n, p->oc, p->oh, p->ow, p->y_ld);
	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(&g->w, 4, wd, wt, dnnl_format_tag_any));
	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(&g->hwio, 4, wd, dnnl_f32, dnnl_hwio));
	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(&g->b, 1, bd, dnnl_f32, dnnl_a));
	g->st[0] = p->sh;
	g->st[1] = p->sw;
	g->pl[0] = p->pt;
	g->pl[1] = p->pl;
	g->pr[0] = pad_after(p->ih, p->oh, p->kh, p->sh, p->pt);
	g->pr[1] = pad_after(p->iw, p->ow, p->kw, p->sw, p->pl);
}

/* Winograd F(4x4, 3x3) for this convolution?  Where c->wino, in fp32
 * (oneDNN has no bf16 Winograd, and its fp32 one is no faster than its
 * bf16 direct kernels: measured on InceptionV3), on 3x3 kernels with
 * stride 1, a layout oneDNN chooses, on grids larger than 17x17 (on
 * InceptionV3's 8x8 ones it saves 1 % of a step); used only when oneDNN
 * has a kernel for it here (avx512_core), else direct. */
static int
conv_wino(const struct cpu *c, const struct nn_conv *p, int blocked)
{
	return c->wino && !c->bf16 && blocked && p->kh == 3 && p->kw == 3 && p->sh == 1 &&
	    p->sw == 1 && (long)p->oh * p->ow > 17 * 17;
}


/* The descriptor of op on g with algorithm alg. */
static dnnl_status_t
conv_desc(dnnl_convolution_desc_t *d, int op, dnnl_alg_kind_t alg, struct conv_geom *g, int bias)
{
	if (op == CPU_CONV_FWD)
		return dnnl_convolution_forward_desc_init(d, dnnl_forward_training, alg, &g->x,
		    &g->w, bias ? &g->b : NULL, &g->y, g->st, g->pl, g->pr);
	if (op == CPU_CONV_BWD_DATA)
		return dnnl_convolution_backward_data_desc_init(d, alg, &g->x, &g->w, &g->y,
		    g->st, g->pl, g->pr);
	return dnnl_convolution_backward_weights_desc_init(d, alg, &g->x, &g->w,
	    bias ? &g->b : NULL, &g->y, g->st, g->pl, g->pr);
}

/* The primitive of op on g: Winograd when wino and oneDNN has it, else
 * direct (hint: the forward primitive, for a backward op). */
static dnnl_primitive_desc_t
conv_pd(struct cpu *c, int op, int wino, struct conv_geom *g, int bias,
    const_dnnl_primitive_attr_t a, const_dnnl_primitive_desc_t hint)
{
	dnnl_convolution_desc_t d;
	dnnl_primitive_desc_t pd = NULL;

	if (cpu_failed(c))
		return NULL;
	if (wino && conv_desc(&d, op, dnnl_convolution_winograd, g, bias) == dnnl_success &&
	    dnnl_primitive_desc_create(&pd, &d, a, c->eng, hint) == dnnl_success)
		return pd;
	if (DNNL_CHECK(c, conv_desc(&d, op, dnnl_convolution_direct, g, bias)) < 0)
		return NULL;
	return cpu_pd(c, &d, a, hint);
}

/* The backward primitive op on g; oneDNN takes the forward one of p, with
 * the same element types, as a hint. */
static dnnl_primitive_desc_t
conv_bwd_pd(struct cpu *c, const struct nn_conv *p, int blocked, struct conv_geom *g, int op,
    int bias, const_dnnl_primitive_attr_t a)
{
	dnnl_primitive_desc_t pd, hint;
	struct conv_geom f;
	int wino = conv_wino(c, p, blocked);

	conv_geom(c, p, blocked, CPU_CONV_FWD, &f);
	if ((hint = conv_pd(c, CPU_CONV_FWD, wino, &f, bias, NULL, NULL)) == NULL)
		return NULL;
	pd = conv_pd(c, op, wino, g, bias, a, hint);
	DNNL_CHECK(c, dnnl_primitive_desc_destroy(hint));
	return pd;
}

/* The primitive's own x and y descriptors (what oneDNN chose for "any"). */
static void
conv_chosen(const_dnnl_primitive_desc_t pd, int op, struct conv_geom *g)
{
	int fwd = op == CPU_CONV_FWD, bwd_w = op == CPU_CONV_BWD_WEIGHTS;

	g->x = *dnnl_primitive_desc_query_md(pd, fwd || bwd_w ?
	    dnnl_query_src_md : dnnl_query_diff_src_md, 0);
	g->y = *dnnl_primitive_desc_query_md(pd, fwd ?
	    dnnl_query_dst_md : dnnl_query_diff_dst_md, 0);
}

/* Adds the primitive's arguments in the order the ops pass pointers. */
static void
conv_args(struct cpu *c, struct cpu_entry *e, struct conv_geom *g, int op, int bias)
{
	struct cpu_exe *x = &e->main;

	switch (op) {
	case CPU_CONV_FWD:
		cpu_exe_arg(c, x, DNNL_ARG_SRC, &g->x);
		cpu_exe_arg(c, x, DNNL_ARG_WEIGHTS, &e->wmd);
		if (bias)
			cpu_exe_arg(c, x, DNNL_ARG_BIAS, &g->b);
		cpu_exe_arg(c, x, DNNL_ARG_DST, &g->y);
		break;
	case CPU_CONV_BWD_DATA:
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_DST, &g->y);
		cpu_exe_arg(c, x, DNNL_ARG_WEIGHTS, &e->wmd);
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_SRC, &g->x);
		break;
	default:
		cpu_exe_arg(c, x, DNNL_ARG_SRC, &g->x);
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_DST, &g->y);
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_WEIGHTS, &e->wmd);
		if (bias)
			cpu_exe_arg(c, x, DNNL_ARG_DIFF_BIAS, &g->b);
		break;
	}
}

/* x: a reorder from -> to (adding to what to holds when sum), or nothing
 * when the layouts agree and there is nothing to add. */
static void
reorder_init(struct cpu *c, struct cpu_exe *x, const dnnl_memory_desc_t *from,
    const dnnl_memory_desc_t *to, int sum)
{
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;
	dnnl_post_ops_t po;

	if (!sum && dnnl_memory_desc_equal(from, to))
		return;
	a = cpu_attr(c);
	if (sum) {
		DNNL_CHECK(c, dnnl_post_ops_create(&po));
		DNNL_CHECK(c, dnnl_post_ops_append_sum(po, 1.0f));
		DNNL_CHECK(c, dnnl_primitive_attr_set_post_ops(a, po));
		DNNL_CHECK(c, dnnl_post_ops_destroy(po));
	}
	if (DNNL_CHECK(c, dnnl_reorder_primitive_desc_create(&pd, from, c->eng, to, c->eng, a)) < 0) {
		DNNL_CHECK(c, dnnl_primitive_attr_destroy(a));
		return;         /* recorded; the entry is abandoned */
	}
	cpu_exe_init(c, x, pd);
	cpu_exe_arg(c, x, DNNL_ARG_FROM, from);
	cpu_exe_arg(c, x, DNNL_ARG_TO, to);
	DNNL_CHECK(c, dnnl_primitive_desc_destroy(pd));
	DNNL_CHECK(c, dnnl_primitive_attr_destroy(a));
}

/* The reorders between the caller's activations and the primitive's:
 * weights (HWIO <-> wmd) and activations (strided NHWC <-> chosen). */
static void
conv_reorders(struct cpu *c, struct cpu_entry *e, struct conv_geom *g, int op, int acc)
{
	if (op == CPU_CONV_BWD_WEIGHTS)
		reorder_init(c, &e->wre, &e->wmd, &g->hwio, 0);
	else
		reorder_init(c, &e->wre, &g->hwio, &e->wmd, 0);
	switch (op) {
	case CPU_CONV_FWD:
		reorder_init(c, &e->io[CPU_IO_IN0], &g->ux, &g->x, 0);
		reorder_init(c, &e->io[CPU_IO_OUT], &g->y, &g->uy, 0);
		e->iosize[CPU_IO_IN0] = dnnl_memory_desc_get_size(&g->x);
		e->iosize[CPU_IO_OUT] = dnnl_memory_desc_get_size(&g->y);
		break;
	case CPU_CONV_BWD_DATA:
		reorder_init(c, &e->io[CPU_IO_IN0], &g->uy, &g->y, 0);
		reorder_init(c, &e->io[CPU_IO_OUT], &g->x, &g->ux, acc);
		e->iosize[CPU_IO_IN0] = dnnl_memory_desc_get_size(&g->y);
		e->iosize[CPU_IO_OUT] = dnnl_memory_desc_get_size(&g->x);
		break;
	default:
		reorder_init(c, &e->io[CPU_IO_IN0], &g->ux, &g->x, 0);
		reorder_init(c, &e->io[CPU_IO_IN1], &g->uy, &g->y, 0);
		e->iosize[CPU_IO_IN0] = dnnl_memory_desc_get_size(&g->x);
		e->iosize[CPU_IO_IN1] = dnnl_memory_desc_get_size(&g->y);
		break;
	}
}

/* Blocked activations for a convolution on p?  CPU_LAYOUT_AUTO blocks
 * the spatial kernels (3x3, 5x5, 1x7, ...: the blocked kernels run them
 * 1.1-4x faster, far more than the reorders cost) and the 1x1 kernels on
 * grids of 17x17 and less; it keeps NHWC for 1x1 kernels on larger grids
 * (there the reorders cost more than the kernels save: 0.3-0.8x) and for
 * the 3-channel stem.  Measured per shape with bench_ops, AVX2, oneDNN
 * 2.6 (bench/results/ops.md). */
static int
conv_blocked(const struct cpu *c, const struct nn_conv *p)
{
	if (c->layout != CPU_LAYOUT_AUTO)
		return c->layout == CPU_LAYOUT_BLOCKED;
	if (p->ic % 8 != 0 || p->oc % 8 != 0)
		return 0;
	return p->kh * p->kw > 1 || (long)p->oh * p->ow <= 17 * 17;
}

/* Attributes of a convolution: the user scratchpad, and a ReLU post-op
 * when relu. */
static dnnl_primitive_attr_t
conv_attr(struct cpu *c, int relu)
{
	dnnl_primitive_attr_t a = cpu_attr(c);
	dnnl_post_ops_t po;

	if (!relu || cpu_failed(c))
		return a;
	DNNL_CHECK(c, dnnl_post_ops_create(&po));
	DNNL_CHECK(c, dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
	DNNL_CHECK(c, dnnl_primitive_attr_set_post_ops(a, po));
	DNNL_CHECK(c, dnnl_post_ops_destroy(po));
	return a;
}

/* The cached primitive of convolution op on p (bias: with bias or db;
 * acc: bwd-data adds to dx; relu: forward with a ReLU fused). */
static struct cpu_entry *
conv_entry(struct cpu *c, int op, const struct nn_conv *p, int bias, int acc, int relu)
{
	struct cpu_key k;
	struct cpu_entry *e;
	struct conv_geom g;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;
	int blocked = conv_blocked(c, p);
	int v[] = { p->n, p->ih, p->iw, p->ic, p->oh, p->ow, p->oc, p->kh,
	            p->kw, p->sh, p->sw, p->pt, p->pl, bias, p->x_ld, p->y_ld,
	            acc, blocked, relu };

	memset(&k, 0, sizeof k);
	k.op = op;
	memcpy(k.v, v, sizeof v);
	if ((e = cpu_lookup(c, &k)) != NULL)
		return e;
	e = xcalloc(1, sizeof *e);
	e->key = k;
	conv_geom(c, p, blocked, op, &g);
	a = conv_attr(c, relu);
	pd = cpu_failed(c) ? NULL : op == CPU_CONV_FWD ?
	    conv_pd(c, op, conv_wino(c, p, blocked), &g, bias, a, NULL) :
	    conv_bwd_pd(c, p, blocked, &g, op, bias, a);
	if (pd == NULL)
		return cpu_entry_abandon(c, e, a);
	e->wmd = *dnnl_primitive_desc_query_md(pd, op == CPU_CONV_BWD_WEIGHTS ?
	    dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
	e->wsize = dnnl_memory_desc_get_size(&e->wmd);
	conv_chosen(pd, op, &g);
	snprintf(e->impl, sizeof e->impl, "%s%s", cpu_impl_of(c, pd),
	    blocked && !dnnl_memory_desc_equal(&g.x, &g.ux) ? "/blocked" : "");
	cpu_exe_init(c, &e->main, pd);
	conv_args(c, e, &g, op, bias);
	conv_reorders(c, e, &g, op, acc);
	return cpu_entry_finish(c, e, pd, a);
}

/* Input activation k of e: the caller's u itself, or its copy in the
 * primitive's layout (scratch slot). */
static void *
io_in(struct cpu *c, struct cpu_entry *e, int k, int slot, const float *u)
{
	void *ptr[2];

	if (e->io[k].prim == NULL)
		return (void *)u;
	ptr[0] = (void *)u;
	ptr[1] = cpu_buf(c, slot, e->iosize[k]);
	cpu_run(c, &e->io[k], ptr);
	return ptr[1];
}

/* Where the primitive writes output u: u itself or a scratch slot. */
static void *
io_out(struct cpu *c, struct cpu_entry *e, int slot, float *u)
{
	if (e->io[CPU_IO_OUT].prim == NULL)
		return u;
	return cpu_buf(c, slot, e->iosize[CPU_IO_OUT]);
}

/* Moves the output from the scratch s to the caller's u (if apart). */
static void
io_done(struct cpu *c, struct cpu_entry *e, void *s, float *u)
{
	void *ptr[2] = { s, u };

	if (s != u)
		cpu_run(c, &e->io[CPU_IO_OUT], ptr);
}

/* Training: the weights at w in e's layout in the one shared copy,
 * reordered unless it holds them already (see cpu_impl.h "Weights"). */
static const float *
conv_weights_once(struct cpu *c, struct cpu_entry *e, const float *w)
{
	struct cpu_wtmp *t = &c->wt;
	void *ptr[2];
	float *buf;

	if (c->wcopies != NULL)
		cpu_wcopy_free(c);
	if (t->w == w && t->gen == c->gen && dnnl_memory_desc_equal(&t->md, &e->wmd))
		return c->buf[CPU_WT_SLOT];
	buf = cpu_buf(c, CPU_WT_SLOT, e->wsize);
	t->w = w;
	t->wbytes = (size_t)e->key.v[7] * e->key.v[8] * e->key.v[3] * e->key.v[6] * sizeof(float);
	t->md = e->wmd;
	t->gen = c->gen;
	ptr[0] = (void *)w;
	ptr[1] = buf;
	cpu_wre_run(c, e, ptr);
	return buf;
}

/* The weights at w in the layout e wants: w itself, or a cached copy
 * reordered at most once per write generation. */
static const float *
conv_weights(struct cpu *c, struct cpu_entry *e, const float *w)
{
	struct cpu_wcopy *wc;
	void *ptr[2];

	if (e->wre.prim == NULL)
		return w;
	if (c->training)
		return conv_weights_once(c, e, w);
	for (wc = c->wcopies; wc != NULL; wc = wc->next)
		if (wc->w == w && dnnl_memory_desc_equal(&wc->md, &e->wmd))
			break;
	if (wc == NULL) {
		wc = xcalloc(1, sizeof *wc);
		wc->w = w;
		wc->wbytes = (size_t)e->key.v[7] * e->key.v[8] * e->key.v[3] *
		    e->key.v[6] * sizeof(float);
		wc->md = e->wmd;
		wc->buf = xaligned(e->wsize);
		c->wcbytes += e->wsize;
		if (c->wcbytes > c->wcpeak)
			c->wcpeak = c->wcbytes;
		wc->gen = c->gen - 1;
		wc->next = c->wcopies;
		c->wcopies = wc;
	}
	if (wc->gen != c->gen) {
		ptr[0] = (void *)w;
		ptr[1] = wc->buf;
		cpu_wre_run(c, e, ptr);
		wc->gen = c->gen;
	}
	return wc->buf;
}

void
cpu_wcopy_touch(struct cpu *c, const void *p, size_t size)
{
	const struct cpu_wcopy *wc;
	const char *lo = p, *hi = lo + size, *t = (const char *)c->wt.w;

	if (t != NULL && t < hi && t + c->wt.wbytes > lo) {
		c->gen++;
		return;
	}
	for (wc = c->wcopies; wc != NULL; wc = wc->next)
		if ((const char *)wc->w < hi && (const char *)wc->w + wc->wbytes > lo) {
			c->gen++;
			return;
		}
}

void
cpu_wcopy_forget(struct cpu *c, const void *p)
{
	struct cpu_wcopy **pp, *wc;
	const char *lo = p, *hi = lo + malloc_usable_size((void *)p);

	for (pp = &c->wcopies; (wc = *pp) != NULL; ) {
		if ((const char *)wc->w >= lo && (const char *)wc->w < hi) {
			*pp = wc->next;
			c->wcbytes -= dnnl_memory_desc_get_size(&wc->md);
			free(wc->buf);
			free(wc);
		} else
			pp = &wc->next;
	}
}

void
cpu_wcopy_free(struct cpu *c)
{
	struct cpu_wcopy *wc, *next;

	for (wc = c->wcopies; wc != NULL; wc = next) {
		next = wc->next;
		free(wc->buf);
		free(wc);
	}
	c->wcopies = NULL;
	c->wcbytes = 0;
}

/* Samples per oneDNN call.  A blocked convolution copies its activations
 * into scratch, and a Winograd one transforms them into its scratchpad
 * (36 values a 4x4 output tile for each input and output channel: 19 MB a
 * sample on InceptionV3's 147x147 stem); at batch 32 that is 180 MB a copy
 * and 600 MB of scratchpad, so the batch is cut into chunks whose copies
 * and scratchpad stay under c->chunk bytes (32 MiB in fp32, 8 MiB in
 * bf16, or RADPIPE_CPU_CHUNK_KB; fixed per shape: results do not depend
 * on timing). */
static int
conv_chunk(const struct cpu *c, const struct nn_conv *p)
{
	size_t xs = (size_t)p->ih * p->iw * ((p->ic + 7) & ~7);
	size_t ys = (size_t)p->oh * p->ow * ((p->oc + 7) & ~7);
	size_t ws = 0, k;

	if (!conv_blocked(c, p))
		return p->n;
	if (conv_wino(c, p, 1))
		ws = (size_t)((p->oh + 3) / 4) * ((p->ow + 3) / 4) * 36 * (p->ic + p->oc);
	xs = xs > ys ? xs : ys;
	k = c->chunk / ((xs > ws ? xs : ws) * sizeof(float));
	return k < 1 ? 1 : k > (size_t)p->n ? p->n : (int)k;
}

/* Chunk q of p: samples [n0, n0 + q->n). */
static int
conv_next(const struct nn_conv *p, int k, int n0, struct nn_conv *q)
{
	*q = *p;
	q->n = p->n - n0 < k ? p->n - n0 : k;
	return n0 < p->n;
}

/* y = conv(x, w) (+ bias), then max(y, 0) when relu. */
static void
conv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *w, const float *bias, float *y, int relu)
{
	struct cpu *c = cpu_of(be);
	struct nn_conv q;
	int k = conv_chunk(c, p);

	for (int n0 = 0; conv_next(p, k, n0, &q); n0 += k) {
		struct cpu_entry *e = conv_entry(c, CPU_CONV_FWD, &q, bias != NULL, 0, relu);
		const float *xq = x + (size_t)n0 * p->ih * p->iw * p->x_ld;
		float *yq = y + (size_t)n0 * p->oh * p->ow * p->y_ld;
		void *ptr[4], *ys;
		int a = 0;

		if (e == NULL)
			return;
		ys = io_out(c, e, 1, yq);
		ptr[a++] = io_in(c, e, CPU_IO_IN0, 0, xq);
		ptr[a++] = (void *)conv_weights(c, e, w);
		if (bias != NULL)
			ptr[a++] = (void *)bias;
		ptr[a++] = ys;
		cpu_run(c, &e->main, ptr);
		io_done(c, e, ys, yq);
	}
}

void
cpu_conv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *w, const float *bias, float *y)
{
	conv_fwd(be, p, x, w, bias, y, 0);
}

void
cpu_conv_fwd_relu(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *w, const float *bias, float *y)
{
	conv_fwd(be, p, x, w, bias, y, 1);
}

/* Do the activation reorders k of a and l of b do the same (both present)? */
static int
io_same(const struct cpu_entry *a, int k, const struct cpu_entry *b, int l)
{
	const_dnnl_primitive_desc_t pa, pb;

	if (a->io[k].prim == NULL || b->io[l].prim == NULL ||
	    dnnl_primitive_get_primitive_desc(a->io[k].prim, &pa) != dnnl_success ||
	    dnnl_primitive_get_primitive_desc(b->io[l].prim, &pb) != dnnl_success)
		return 0;
	return dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pa, dnnl_query_src_md, 0),
	    dnnl_primitive_desc_query_md(pb, dnnl_query_src_md, 0)) &&
	    dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(pa, dnnl_query_dst_md, 0),
	    dnnl_primitive_desc_query_md(pb, dnnl_query_dst_md, 0));
}

/* The data gradient, chunk by chunk; with last (a bwd-weights entry whose
 * chunk at n0 = last_n0 just left its copy of dy in slot 1) the chunks run
 * last to first and the first of them takes that copy instead of making
 * its own (the chunks write apart: the order changes nothing). */
static void
conv_bwd_data_chunks(struct cpu *c, const struct nn_conv *p, const float *dy,
    const float *w, float *dx, float beta, const struct cpu_entry *last, int last_n0)
{
	struct nn_conv q;
	int k = conv_chunk(c, p), nc = (p->n + k - 1) / k;

	for (int j = 0; j < nc; j++) {
		int n0 = (last != NULL ? nc - 1 - j : j) * k;
		struct cpu_entry *e;
		const float *dyq = dy + (size_t)n0 * p->oh * p->ow * p->y_ld;
		float *dxq = dx + (size_t)n0 * p->ih * p->iw * p->x_ld;
		void *ptr[3], *dxs;

		conv_next(p, k, n0, &q);
		if ((e = conv_entry(c, CPU_CONV_BWD_DATA, &q, 0, beta != 0.0f, 0)) == NULL)
			return;
		dxs = io_out(c, e, 0, dxq);
		if (last != NULL && n0 == last_n0 && io_same(last, CPU_IO_IN1, e, CPU_IO_IN0)) {
			ptr[0] = c->buf[1];
			c->dyshared++;
		} else
			ptr[0] = io_in(c, e, CPU_IO_IN0, 1, dyq);
		ptr[1] = (void *)conv_weights(c, e, w);
		ptr[2] = dxs;
		cpu_run(c, &e->main, ptr);
		io_done(c, e, dxs, dxq);
	}
}

void
cpu_conv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
    const float *w, float *dx, float beta)
{
	conv_bwd_data_chunks(cpu_of(be), p, dy, w, dx, beta, NULL, 0);
}

/* Chunk e's dw (HWIO, at dw) and db from the samples at x, dy. */
static void
conv_bwd_weights_chunk(struct cpu *c, struct cpu_entry *e, const float *x,
    const float *dy, float *dw, float *db)
{
	float *dws = e->wre.prim != NULL ? cpu_buf(c, 2, e->wsize) : dw;
	void *ptr[4];
	int a = 0;

	ptr[a++] = io_in(c, e, CPU_IO_IN0, 0, x);
	ptr[a++] = io_in(c, e, CPU_IO_IN1, 1, dy);
	ptr[a++] = dws;
	if (db != NULL)
		ptr[a++] = db;
	cpu_run(c, &e->main, ptr);
	if (dws != dw) {
		ptr[0] = dws;
		ptr[1] = dw;
		cpu_wre_run(c, e, ptr);
	}
}

/* dw and db chunk by chunk (chunks after the first land in slot 3 and
 * are added); *last, *last_n0: the entry and first sample of the last
 * chunk (its copy of dy is left in slot 1). */
static void
conv_bwd_weights_chunks(struct cpu *c, const struct nn_conv *p, const float *x,
    const float *dy, float *dw, float *db, struct cpu_entry **last, int *last_n0)
{
	struct nn_conv q;
	int k = conv_chunk(c, p);
	int nw = p->kh * p->kw * p->ic * p->oc;

	c->training = 1;
	*last = NULL;
	for (int n0 = 0; conv_next(p, k, n0, &q); n0 += k) {
		struct cpu_entry *e = conv_entry(c, CPU_CONV_BWD_WEIGHTS, &q, db != NULL, 0, 0);
		const float *xq = x + (size_t)n0 * p->ih * p->iw * p->x_ld;
		const float *dyq = dy + (size_t)n0 * p->oh * p->ow * p->y_ld;
		float *part;

		if ((*last = e) == NULL)
			return;
		*last_n0 = n0;
		if (n0 == 0) {
			conv_bwd_weights_chunk(c, e, xq, dyq, dw, db);
			continue;
		}
		part = cpu_buf(c, 3, ((size_t)nw + p->oc) * sizeof(float));
		conv_bwd_weights_chunk(c, e, xq, dyq, part, db ? part + nw : NULL);
		cpu_unpack(dw, nw, part, 1, nw, 1.0f);
		if (db != NULL)
			cpu_unpack(db, p->oc, part + nw, 1, p->oc, 1.0f);
	}
}

void
cpu_conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *dy, float *dw, float *db)
{
	struct cpu_entry *last;
	int n0;

	conv_bwd_weights_chunks(cpu_of(be), p, x, dy, dw, db, &last, &n0);
}

void
cpu_conv_bwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *dy, const float *w, float *dw, float *db, float *dx, int dx_ld,
    float beta)
{
	struct cpu *c = cpu_of(be);
	struct nn_conv d = *p;
	struct cpu_entry *last;
	int n0 = 0;

	d.x_ld = dx_ld;
	conv_bwd_weights_chunks(c, p, x, dy, dw, db, &last, &n0);
	if (last != NULL && !cpu_failed(c))
		conv_bwd_data_chunks(c, &d, dy, w, dx, beta, last, n0);
}

void
nn_cpu_conv_impl(struct nn_backend *be, const struct nn_conv *p, char *buf, size_t len)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *f = conv_entry(c, CPU_CONV_FWD, p, 0, 0, 0);
	struct cpu_entry *d = conv_entry(c, CPU_CONV_BWD_DATA, p, 0, 0, 0);
	struct cpu_entry *w = conv_entry(c, CPU_CONV_BWD_WEIGHTS, p, 0, 0, 0);

	snprintf(buf, len, "%s | %s | %s", f ? f->impl : "?", d ? d->impl : "?",
	    w ? w->impl : "?");
}
