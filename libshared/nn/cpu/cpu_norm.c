/* cpu_norm.c — batch normalisation and pooling of the "cpu" backend:
 * oneDNN batch_normalization (training, inference, backward) and pooling
 * (max/avg forward, avg backward) on dense NHWC; max-pool backward and
 * frozen-BN backward are plain loops.
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

/* --- batch normalisation --- */

/* BN flags for the parameters present. */
static unsigned
bn_flags(int has_gamma, int has_beta)
{
	return (has_gamma ? dnnl_use_scale : 0u) | (has_beta ? dnnl_use_shift : 0u);
}

static dnnl_primitive_desc_t
bn_pd(struct cpu *c, int op, const dnnl_memory_desc_t *md, float eps,
    unsigned fl, const_dnnl_primitive_attr_t a)
{
	dnnl_batch_normalization_desc_t d;
	dnnl_primitive_desc_t pd, hint;

	if (cpu_failed(c))      /* md may be unset */
		return NULL;
	if (op == CPU_BN_INFER) {
		DNNL_CHECK(c, dnnl_batch_normalization_forward_desc_init(&d,
		    dnnl_forward_inference, md, eps, fl | dnnl_use_global_stats));
		pd = cpu_pd(c, &d, a, NULL);
		return pd;
	}
	DNNL_CHECK(c, dnnl_batch_normalization_forward_desc_init(&d,
	    dnnl_forward_training, md, eps, fl));
	if (op == CPU_BN_TRAIN) {
		pd = cpu_pd(c, &d, a, NULL);
		return pd;
	}
	hint = cpu_pd(c, &d, NULL, NULL);
	DNNL_CHECK(c, dnnl_batch_normalization_backward_desc_init(&d,
	    fl != 0 ? dnnl_backward : dnnl_backward_data, md, md, eps, fl));
	pd = cpu_pd(c, &d, a, hint);
	DNNL_CHECK(c, dnnl_primitive_desc_destroy(hint));
	return pd;
}

/* Arguments, in the order the ops pass pointers:
 * train: src dst mean var [scale] [shift]
 * infer: src mean var [scale] [shift] dst
 * bwd:   src diff_dst mean var [scale] [shift] diff_src [diff_scale]
 *        [diff_shift] (oneDNN 2.6 wants the shift, unused, in backward) */
static void
bn_args(struct cpu *c, struct cpu_exe *x, int op, const dnnl_memory_desc_t *md,
    const dnnl_memory_desc_t *vec, unsigned fl)
{
	cpu_exe_arg(c, x, DNNL_ARG_SRC, md);
	if (op == CPU_BN_TRAIN)
		cpu_exe_arg(c, x, DNNL_ARG_DST, md);
	if (op == CPU_BN_BWD)
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_DST, md);
	cpu_exe_arg(c, x, DNNL_ARG_MEAN, vec);
	cpu_exe_arg(c, x, DNNL_ARG_VARIANCE, vec);
	if (fl & dnnl_use_scale)
		cpu_exe_arg(c, x, DNNL_ARG_SCALE, vec);
	if (fl & dnnl_use_shift)
		cpu_exe_arg(c, x, DNNL_ARG_SHIFT, vec);
	if (op == CPU_BN_INFER)
		cpu_exe_arg(c, x, DNNL_ARG_DST, md);
	if (op != CPU_BN_BWD)
		return;
	cpu_exe_arg(c, x, DNNL_ARG_DIFF_SRC, md);
	if (fl & dnnl_use_scale)
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_SCALE, vec);
	if (fl & dnnl_use_shift)
		cpu_exe_arg(c, x, DNNL_ARG_DIFF_SHIFT, vec);
}

static struct cpu_entry *
bn_entry(struct cpu *c, int op, const struct nn_bn *p, unsigned fl)
{
	struct cpu_key k;
	struct cpu_entry *e;
	dnnl_memory_desc_t md, vec;
	dnnl_dims_t vd = { p->c };
	dnnl_primitive_desc_t pd;
	dnnl_primitive_attr_t a;

	memset(&k, 0, sizeof k);
	k.op = op;
	k.v[0] = p->m;
	k.v[1] = p->c;
	k.v[2] = (int)fl;
	memcpy(&k.v[3], &p->eps, sizeof p->eps);
	if ((e = cpu_lookup(c, &k)) != NULL)
		return e;
	e = xcalloc(1, sizeof *e);
	e->key = k;
	/* {1, c, m, 1}: the m pixels as one image column, dense NHWC. */
	cpu_md_nhwc(c, &md, 1, p->c, p->m, 1);
	DNNL_CHECK(c, dnnl_memory_desc_init_by_tag(&vec, 1, vd, dnnl_f32, dnnl_a));
	a = cpu_attr(c);
	pd = bn_pd(c, op, &md, p->eps, fl, a);
	if (pd == NULL) {
		DNNL_CHECK(c, dnnl_primitive_attr_destroy(a));
		free(e);
		return NULL;
	}
	snprintf(e->impl, sizeof e->impl, "%s", cpu_impl_of(c, pd));
	cpu_exe_init(c, &e->main, pd);
	bn_args(c, &e->main, op, &md, &vec, fl);
	return cpu_entry_finish(c, e, pd, a);
}

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

/* Pixels [i0, i1) of cpu_bn_apply (gb: gamma then beta, c each). */
CPU_CLONES static void
bn_apply_rows(const struct nn_bn *p, long i0, long i1, const float *x, const float *gb,
    const float *mean, const float *invstd, float *y, int relu)
{
	const int c = p->c;

	for (long i = i0; i < i1; i++) {
		const float *a = x + (size_t)i * p->x_ld;
		float *b = y + (size_t)i * p->y_ld;
		int k;

		if (relu) {
			#pragma omp simd
			for (k = 0; k < c; k++) {
				float v = (a[k] - mean[k]) * invstd[k] * gb[k] + gb[c + k];
				b[k] = v > 0.0f ? v : 0.0f;
			}
		} else {
			#pragma omp simd
			for (k = 0; k < c; k++)
				b[k] = (a[k] - mean[k]) * invstd[k] * gb[k] + gb[c + k];
		}
	}
}

/* y = (x - mean)*invstd*gamma + beta, relu'd if asked; strided in and out. */
void
cpu_bn_apply(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *gamma, const float *beta, const float *mean,
    const float *invstd, float *y, int relu)
{
	struct cpu *c = cpu_of(be);
	float *gb = cpu_buf(c, 3, 2 * (size_t)p->c * sizeof(float));
	const long m = p->m;
	int j;

	c->training = 1;                /* cpu_impl.h "Weights" */
	for (j = 0; j < p->c; j++) {
		gb[j] = gamma != NULL ? gamma[j] : 1.0f;
		gb[p->c + j] = beta != NULL ? beta[j] : 0.0f;
	}
	#pragma omp parallel num_threads(c->threads)
	{
		int t = omp_get_thread_num(), nt = omp_get_num_threads();

		bn_apply_rows(p, m * t / nt, m * (t + 1) / nt, x, gb, mean, invstd, y, relu);
	}
}

/* q[k] = sum over pixels [i0, i1) of (x - shift[k])^pw (see bn_sums). */
CPU_CLONES static void
bn_sums_rows(const float *x, long i0, long i1, int ld, int ch, const double *shift,
    int pw, double *q)
{
	int k;

	for (k = 0; k < ch; k++)
		q[k] = 0.0;
	for (long i = i0; i < i1; i++) {
		const float *a = x + (size_t)i * ld;
		if (pw == 1) {
			#pragma omp simd
			for (k = 0; k < ch; k++)
				q[k] += a[k];
		} else {
			#pragma omp simd
			for (k = 0; k < ch; k++) {
				double d = a[k] - shift[k];
				q[k] += d * d;
			}
		}
	}
}

/* Per-channel sums over the pixels of x: s[k] = sum (x - shift[k])^pw
 * (pw 1 or 2; shift NULL: 0), in double.  Each thread sums a fixed slice
 * of pixels and the slices are added in order: the same bytes for a
 * given thread count. */
static void
bn_sums(struct cpu *c, const struct nn_bn *p, const float *x, const double *shift,
    int pw, double *s)
{
	const long m = p->m;
	const int ch = p->c, nt = c->threads;
	double *part = (double *)cpu_buf(c, 2, (size_t)nt * ch * sizeof(double));

	#pragma omp parallel num_threads(nt)
	{
		int t = omp_get_thread_num();

		bn_sums_rows(x, m * t / nt, m * (t + 1) / nt, p->x_ld, ch, shift, pw,
		    part + (size_t)t * ch);
	}
	for (int k = 0; k < ch; k++) {
		s[k] = 0.0;
		for (int t = 0; t < nt; t++)
			s[k] += part[(size_t)t * ch + k];
	}
}

/* Batch statistics in double (as ref_ops.h), the output through bn_apply
 * (so that recomputation gives the same bytes), strided in and out. */
void
cpu_bn_fwd_train(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *gamma, const float *beta, float *y, float *mean, float *invstd,
    float *run_mean, float *run_var)
{
	struct cpu *c = cpu_of(be);
	double *mu = (double *)cpu_buf(c, 1, 2 * (size_t)p->c * sizeof(double));
	double *s2 = mu + p->c;
	int k;

	c->training = 1;                /* cpu_impl.h "Weights" */
	bn_sums(c, p, x, NULL, 1, mu);
	for (k = 0; k < p->c; k++)
		mu[k] /= p->m;
	bn_sums(c, p, x, mu, 2, s2);
	for (k = 0; k < p->c; k++) {
		double var = s2[k] / p->m;
		double uvar = p->unbiased && p->m > 1 ? var * p->m / (p->m - 1) : var;

		mean[k] = (float)mu[k];
		invstd[k] = (float)(1 / sqrt(var + p->eps));
		run_mean[k] = p->momentum * run_mean[k] + (1 - p->momentum) * (float)mu[k];
		run_var[k] = p->momentum * run_var[k] + (1 - p->momentum) * (float)uvar;
	}
	cpu_bn_apply(be, p, x, gamma, beta, mean, invstd, y, 0);
}

void
cpu_bn_fwd_infer(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *gamma, const float *beta, const float *run_mean,
    const float *run_var, float *y)
{
	struct cpu *c = cpu_of(be);
	unsigned fl = bn_flags(gamma != NULL, beta != NULL);
	struct cpu_entry *e = bn_entry(c, CPU_BN_INFER, p, fl);
	float *ys = p->y_ld == p->c ? y : cpu_buf(c, 1, (size_t)p->m * p->c * sizeof(float));
	void *ptr[6];
	int k = 0;

	if (e == NULL)
		return;
	ptr[k++] = (void *)dense_in(c, 0, x, p->m, p->c, p->x_ld);
	ptr[k++] = (void *)run_mean;
	ptr[k++] = (void *)run_var;
	if (gamma != NULL)
		ptr[k++] = (void *)gamma;
	if (beta != NULL)
		ptr[k++] = (void *)beta;
	ptr[k++] = ys;
	cpu_run(c, &e->main, ptr);
	if (ys != y)
		cpu_unpack(y, p->y_ld, ys, p->m, p->c, 0.0f);
}

void
cpu_bn_bwd(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *dy, const float *gamma, const float *mean, const float *invstd,
    float *dx, float *dgamma, float *dbeta, float beta_acc)
{
	struct cpu *c = cpu_of(be);
	unsigned fl = bn_flags(gamma != NULL, dbeta != NULL);
	struct cpu_entry *e = bn_entry(c, CPU_BN_BWD, p, fl);
	size_t m = p->m;
	float *dxs = dx, *var = cpu_buf(c, 3, 3 * (size_t)p->c * sizeof(float));
	void *ptr[9];
	int k = 0, i;

	if (e == NULL)
		return;
	/* var[0, c): the batch variance; [c, 2c): an unused shift (zeros);
	 * [2c, 3c): dgamma when the caller does not want it. */
	for (i = 0; i < p->c; i++) {
		var[i] = 1.0f / (invstd[i] * invstd[i]) - p->eps;
		var[p->c + i] = 0.0f;
	}
	if (p->x_ld != p->c || beta_acc != 0.0f || dx == dy)   /* in place: plan.c */
		dxs = cpu_buf(c, 0, m * p->c * sizeof(float));
	ptr[k++] = (void *)dense_in(c, 1, x, m, p->c, p->x_ld);
	ptr[k++] = (void *)dense_in(c, 2, dy, m, p->c, p->y_ld);
	ptr[k++] = (void *)mean;
	ptr[k++] = var;
	if (gamma != NULL)
		ptr[k++] = (void *)gamma;
	if (dbeta != NULL)
		ptr[k++] = var + p->c;
	ptr[k++] = dxs;
	if (gamma != NULL)
		ptr[k++] = dgamma != NULL ? dgamma : var + 2 * p->c;
	if (dbeta != NULL)
		ptr[k++] = dbeta;
	cpu_run(c, &e->main, ptr);
	if (dxs != dx)
		cpu_unpack(dx, p->x_ld, dxs, m, p->c, beta_acc);
}

void
cpu_bn_bwd_infer(struct nn_backend *be, const struct nn_bn *p, const float *dy,
    const float *gamma, const float *run_var, float *dx, float beta_acc)
{
	float *s = cpu_buf(cpu_of(be), 3, (size_t)p->c * sizeof(float));
	long i;
	int j;

	for (j = 0; j < p->c; j++)
		s[j] = (gamma != NULL ? gamma[j] : 1.0f) / sqrtf(run_var[j] + p->eps);
	#pragma omp parallel for schedule(static)
	for (i = 0; i < p->m; i++) {
		const float *d = dy + i * p->y_ld;
		float *o = dx + i * p->x_ld;

		if (beta_acc != 0.0f)
			for (j = 0; j < p->c; j++)
				o[j] += d[j] * s[j];
		else
			for (j = 0; j < p->c; j++)
				o[j] = d[j] * s[j];
	}
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
