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
#include "nn/cpu_impl.h"

/* The descriptors of a convolution, oneDNN style. */
struct conv_geom {
	dnnl_memory_desc_t x, w, hwio, b, y;
	dnnl_dims_t st, pl, pr;
};

static int
pad_after(int in, int out, int k, int s, int before)
{
	int r = (out - 1) * s + k - in - before;

	return r > 0 ? r : 0;
}

static void
conv_geom(const struct nn_conv *p, struct conv_geom *g)
{
	dnnl_dims_t wd = { p->oc, p->ic, p->kh, p->kw }, bd = { p->oc };

	cpu_md_nhwc(&g->x, p->n, p->ic, p->ih, p->iw);
	cpu_md_nhwc(&g->y, p->n, p->oc, p->oh, p->ow);
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&g->w, 4, wd, dnnl_f32, dnnl_format_tag_any));
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&g->hwio, 4, wd, dnnl_f32, dnnl_hwio));
	DNNL_CHECK(dnnl_memory_desc_init_by_tag(&g->b, 1, bd, dnnl_f32, dnnl_a));
	g->st[0] = p->sh;
	g->st[1] = p->sw;
	g->pl[0] = p->pt;
	g->pl[1] = p->pl;
	g->pr[0] = pad_after(p->ih, p->oh, p->kh, p->sh, p->pt);
	g->pr[1] = pad_after(p->iw, p->ow, p->kw, p->sw, p->pl);
}

static dnnl_primitive_desc_t
conv_fwd_pd(struct cpu *c, struct conv_geom *g, int bias, const_dnnl_primitive_attr_t a)
{
	dnnl_convolution_desc_t d;
	dnnl_primitive_desc_t pd;

	DNNL_CHECK(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training,
	    dnnl_convolution_direct, &g->x, &g->w, bias ? &g->b : NULL, &g->y,
	    g->st, g->pl, g->pr));
	DNNL_CHECK(dnnl_primitive_desc_create(&pd, &d, a, c->eng, NULL));
	return pd;
}

static dnnl_primitive_desc_t
conv_bwd_pd(struct cpu *c, struct conv_geom *g, int op, int bias, const_dnnl_primitive_attr_t a)
{
	dnnl_convolution_desc_t d;
	dnnl_primitive_desc_t pd, hint;

	hint = conv_fwd_pd(c, g, bias, NULL);
	if (op == CPU_CONV_BWD_DATA)
		DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&d,
		    dnnl_convolution_direct, &g->x, &g->w, &g->y, g->st, g->pl, g->pr));
	else
		DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(&d,
		    dnnl_convolution_direct, &g->x, &g->w, bias ? &g->b : NULL, &g->y,
		    g->st, g->pl, g->pr));
	DNNL_CHECK(dnnl_primitive_desc_create(&pd, &d, a, c->eng, hint));
	DNNL_CHECK(dnnl_primitive_desc_destroy(hint));
	return pd;
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

/* The reorder between HWIO and the primitive's weights layout, if any. */
static void
conv_reorder(struct cpu *c, struct cpu_entry *e, struct conv_geom *g, int op)
{
	const dnnl_memory_desc_t *from, *to;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;

	if (dnnl_memory_desc_equal(&e->wmd, &g->hwio))
		return;
	from = op == CPU_CONV_BWD_WEIGHTS ? &e->wmd : &g->hwio;
	to = op == CPU_CONV_BWD_WEIGHTS ? &g->hwio : &e->wmd;
	a = cpu_attr();
	DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, from, c->eng, to, c->eng, a));
	cpu_exe_init(c, &e->wre, pd);
	cpu_exe_arg(c, &e->wre, DNNL_ARG_SRC, from);
	cpu_exe_arg(c, &e->wre, DNNL_ARG_DST, to);
	DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
	DNNL_CHECK(dnnl_primitive_attr_destroy(a));
}

/* The cached primitive of convolution op on p (bias: with bias or db). */
static struct cpu_entry *
conv_entry(struct cpu *c, int op, const struct nn_conv *p, int bias)
{
	struct cpu_key k;
	struct cpu_entry *e;
	struct conv_geom g;
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;
	int v[] = { p->n, p->ih, p->iw, p->ic, p->oh, p->ow, p->oc, p->kh,
	            p->kw, p->sh, p->sw, p->pt, p->pl, bias };

	memset(&k, 0, sizeof k);
	k.op = op;
	memcpy(k.v, v, sizeof v);
	if ((e = cpu_lookup(c, &k)) != NULL)
		return e;
	e = xcalloc(1, sizeof *e);
	e->key = k;
	conv_geom(p, &g);
	a = cpu_attr();
	pd = op == CPU_CONV_FWD ? conv_fwd_pd(c, &g, bias, a) : conv_bwd_pd(c, &g, op, bias, a);
	e->wmd = *dnnl_primitive_desc_query_md(pd, op == CPU_CONV_BWD_WEIGHTS ?
	    dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
	e->wsize = dnnl_memory_desc_get_size(&e->wmd);
	snprintf(e->impl, sizeof e->impl, "%s", cpu_impl_of(pd));
	cpu_exe_init(c, &e->main, pd);
	conv_args(c, e, &g, op, bias);
	conv_reorder(c, e, &g, op);
	DNNL_CHECK(dnnl_primitive_desc_destroy(pd));
	DNNL_CHECK(dnnl_primitive_attr_destroy(a));
	cpu_insert(c, e);
	return e;
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
	for (wc = c->wcopies; wc != NULL; wc = wc->next)
		if (wc->w == w && dnnl_memory_desc_equal(&wc->md, &e->wmd))
			break;
	if (wc == NULL) {
		wc = xcalloc(1, sizeof *wc);
		wc->w = w;
		wc->md = e->wmd;
		wc->buf = xaligned(e->wsize);
		wc->gen = c->gen - 1;
		wc->next = c->wcopies;
		c->wcopies = wc;
	}
	if (wc->gen != c->gen) {
		ptr[0] = (void *)w;
		ptr[1] = wc->buf;
		cpu_run(c, &e->wre, ptr);
		wc->gen = c->gen;
	}
	return wc->buf;
}

void
cpu_wcopy_forget(struct cpu *c, const void *p)
{
	struct cpu_wcopy **pp, *wc;
	const char *lo = p, *hi = lo + malloc_usable_size((void *)p);

	for (pp = &c->wcopies; (wc = *pp) != NULL; ) {
		if ((const char *)wc->w >= lo && (const char *)wc->w < hi) {
			*pp = wc->next;
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
}

static void
conv_fwd(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *w, const float *bias, float *y)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *e = conv_entry(c, CPU_CONV_FWD, p, bias != NULL);
	size_t mx = (size_t)p->n * p->ih * p->iw, my = (size_t)p->n * p->oh * p->ow;
	const float *xs = x;
	float *ys = y;
	void *ptr[4];
	int k = 0;

	if (p->x_ld != p->ic) {
		xs = cpu_buf(c, 0, mx * p->ic * sizeof(float));
		cpu_pack((float *)xs, x, mx, p->ic, p->x_ld);
	}
	if (p->y_ld != p->oc)
		ys = cpu_buf(c, 1, my * p->oc * sizeof(float));
	ptr[k++] = (void *)xs;
	ptr[k++] = (void *)conv_weights(c, e, w);
	if (bias != NULL)
		ptr[k++] = (void *)bias;
	ptr[k++] = ys;
	cpu_run(c, &e->main, ptr);
	if (ys != y)
		cpu_unpack(y, p->y_ld, ys, my, p->oc, 0.0f);
}

static void
conv_bwd_data(struct nn_backend *be, const struct nn_conv *p, const float *dy,
    const float *w, float *dx, float beta)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *e = conv_entry(c, CPU_CONV_BWD_DATA, p, 0);
	size_t mx = (size_t)p->n * p->ih * p->iw, my = (size_t)p->n * p->oh * p->ow;
	const float *dys = dy;
	float *dxs = dx;
	void *ptr[3];

	if (p->y_ld != p->oc) {
		dys = cpu_buf(c, 1, my * p->oc * sizeof(float));
		cpu_pack((float *)dys, dy, my, p->oc, p->y_ld);
	}
	if (p->x_ld != p->ic || beta != 0.0f)
		dxs = cpu_buf(c, 0, mx * p->ic * sizeof(float));
	ptr[0] = (void *)dys;
	ptr[1] = (void *)conv_weights(c, e, w);
	ptr[2] = dxs;
	cpu_run(c, &e->main, ptr);
	if (dxs != dx)
		cpu_unpack(dx, p->x_ld, dxs, mx, p->ic, beta);
}

static void
conv_bwd_weights(struct nn_backend *be, const struct nn_conv *p, const float *x,
    const float *dy, float *dw, float *db)
{
	struct cpu *c = cpu_of(be);
	struct cpu_entry *e = conv_entry(c, CPU_CONV_BWD_WEIGHTS, p, db != NULL);
	size_t mx = (size_t)p->n * p->ih * p->iw, my = (size_t)p->n * p->oh * p->ow;
	const float *xs = x, *dys = dy;
	float *dws = dw;
	void *ptr[4];
	int k = 0;

	if (p->x_ld != p->ic) {
		xs = cpu_buf(c, 0, mx * p->ic * sizeof(float));
		cpu_pack((float *)xs, x, mx, p->ic, p->x_ld);
	}
	if (p->y_ld != p->oc) {
		dys = cpu_buf(c, 1, my * p->oc * sizeof(float));
		cpu_pack((float *)dys, dy, my, p->oc, p->y_ld);
	}
	if (e->wre.prim != NULL)
		dws = cpu_buf(c, 2, e->wsize);
	ptr[k++] = (void *)xs;
	ptr[k++] = (void *)dys;
	ptr[k++] = dws;
	if (db != NULL)
		ptr[k++] = db;
	cpu_run(c, &e->main, ptr);
	if (dws != dw) {
		ptr[0] = dws;
		ptr[1] = dw;
		cpu_run(c, &e->wre, ptr);
	}
}

void
nn_cpu_conv_impl(struct nn_backend *be, const struct nn_conv *p, char *buf, size_t len)
{
	struct cpu *c = cpu_of(be);

	snprintf(buf, len, "%s | %s | %s",
	    conv_entry(c, CPU_CONV_FWD, p, 0)->impl,
	    conv_entry(c, CPU_CONV_BWD_DATA, p, 0)->impl,
	    conv_entry(c, CPU_CONV_BWD_WEIGHTS, p, 0)->impl);
}

void
cpu_fill_conv(struct nn_backend *be)
{
	be->conv_fwd = conv_fwd;
	be->conv_bwd_data = conv_bwd_data;
	be->conv_bwd_weights = conv_bwd_weights;
}
