/* cpu_norm.c — batch normalisation of the "cpu" backend: oneDNN
 * batch_normalization (training, inference, backward) on dense NHWC;
 * frozen-BN backward is a plain loop.  Pooling is in cpu_pool.c.
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
	if (pd == NULL)
		return cpu_entry_abandon(c, e, a);
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
 * (so that recomputation gives the same bytes), relu'd if asked, strided
 * in and out. */
static void
bn_fwd_train(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *gamma, const float *beta, float *y, float *mean, float *invstd,
    float *run_mean, float *run_var, int relu)
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
	cpu_bn_apply(be, p, x, gamma, beta, mean, invstd, y, relu);
}

void
cpu_bn_fwd_train(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *gamma, const float *beta, float *y, float *mean, float *invstd,
    float *run_mean, float *run_var)
{
	bn_fwd_train(be, p, x, gamma, beta, y, mean, invstd, run_mean, run_var, 0);
}

void
cpu_bn_fwd_train_relu(struct nn_backend *be, const struct nn_bn *p, const float *x,
    const float *gamma, const float *beta, float *y, float *mean, float *invstd,
    float *run_mean, float *run_var)
{
	bn_fwd_train(be, p, x, gamma, beta, y, mean, invstd, run_mean, run_var, 1);
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
