/* forward.c — the forward pass: one layer's forward ops (also run by
 * recompute.c to rebuild transient outputs) and nn_forward over the whole
 * graph.  Calls only down: layer.h, graph.c (nn_fail), prof.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "nn/engine/layer.h"

static uint64_t
dropout_seed(const struct nn_model *m, int layer)
{
	return m->seed + 0x9E3779B97F4A7C15ull * (uint64_t)layer;
}

int
nn_bn_fuses_relu(const struct nn_model *m, int i)
{
	const struct nn_lay *l = &m->lay[i], *r;

	if (l->pub.type != NN_BATCHNORM || l->owner < 0 || !m->training ||
	    l->pub.frozen_bn)
		return 0;
	r = &m->lay[l->owner];
	/* bn_apply has no ceiling: a capped ReLU (ReLU6) runs on its own */
	return r->pub.type == NN_RELU && r->pub.in[0] == i && !(r->cap > 0);
}

/* Does the forward of BN i write its ReLU's output too (the backend's
 * bn_fwd_train_relu; not in recomputation, which fuses through bn_apply,
 * nor with --sync-bn)?  Then the ReLU itself does nothing. */
static int
bn_fused_fwd(const struct nn_model *m, int i)
{
	return m->be->bn_fwd_train_relu != NULL && !m->recomputing && !m->bnsum &&
	    bn_batch_mode(m, &m->lay[i]) && nn_bn_fuses_relu(m, i);
}

static void
fwd_bn(struct nn_model *m, struct nn_lay *l, struct nn_lay *x)
{
	struct nn_backend *be = m->be;
	struct nn_bn p = bn_geom(m, l, x->y_ld, l->y_ld);
	float *gamma, *beta, *rmean, *rvar;

	bn_params(m, l, &gamma, &beta, &rmean, &rvar);
	if (bn_batch_mode(m, l) && m->recomputing)
		be->bn_apply(be, &p, x->y, gamma, beta, l->mean, l->invstd, l->y,
		             nn_bn_fuses_relu(m, l - m->lay));
	else if (bn_batch_mode(m, l) && m->bnsum)
		m->bnfail |= nn_syncbn_fwd(m, l, x) < 0;
	else if (bn_fused_fwd(m, l - m->lay))
		be->bn_fwd_train_relu(be, &p, x->y, gamma, beta, l->y, l->mean, l->invstd,
		                      rmean, rvar);
	else if (bn_batch_mode(m, l))
		be->bn_fwd_train(be, &p, x->y, gamma, beta, l->y, l->mean, l->invstd,
		                 rmean, rvar);
	else
		be->bn_fwd_infer(be, &p, x->y, gamma, beta, rmean, rvar, l->y);
}

/* Concat inputs that are views wrote in place; the others are copied. */
static void
fwd_concat(struct nn_model *m, struct nn_lay *l)
{
	int off = 0;

	for (int j = 0; j < l->pub.nin; j++) {
		struct nn_lay *x = input_of(m, l, j);
		if (l->copy_in & 1u << j) {
			struct nn_ew p = { pixels(m, l), x->pub.c, x->y_ld, l->y_ld, 0 };
			m->be->add(m->be, &p, x->y, l->y + off, 0);
		}
		off += x->pub.c;
	}
}

/* y = the sum of the inputs: a copy of the first, the others added. */
static void
fwd_add(struct nn_model *m, struct nn_lay *l)
{
	for (int j = 0; j < l->pub.nin; j++) {
		struct nn_lay *x = input_of(m, l, j);
		struct nn_ew p = { pixels(m, l), l->pub.c, x->y_ld, l->y_ld, 0 };
		m->be->add(m->be, &p, x->y, l->y, j > 0);
	}
}

static void
fwd_dense(struct nn_model *m, struct nn_lay *l, struct nn_lay *x)
{
	struct nn_backend *be = m->be;
	struct nn_dense p = { m->n, x->pub.h * x->pub.w * x->pub.c, l->pub.c };

	be->dense_fwd(be, &p, x->y, W(m, l, 0), l->bias ? W(m, l, 1) : NULL, l->y);
	if (l->act == NN_ACT_RELU) {
		struct nn_ew e = { m->n, l->pub.c, l->pub.c, l->pub.c, 0 };
		be->relu_fwd(be, &e, l->y, l->y);
	}
}

/* Conv l's kernel and bias with its BN b folded in (host values, the
 * uploaded ones), into f: w' = w*s, bias' = beta + (bias - mean)*s with
 * s = gamma/sqrt(var + eps) per output channel, in double. */
static void
fold_one(struct nn_model *m, const struct nn_lay *l, const struct nn_lay *b, float *f)
{
	const float *h = m->host, *w = h + m->par[l->p0].offset;
	const float *bias = l->bias ? h + m->par[l->p0 + 1].offset : NULL;
	int k = b->p0, oc = l->pub.c;
	const float *gamma = b->scale ? h + m->par[k++].offset : NULL;
	const float *beta = b->center ? h + m->par[k++].offset : NULL;
	const float *mean = h + m->par[k].offset, *var = h + m->par[k + 1].offset;
	size_t nw = m->par[l->p0].size, o;
	double *s = XNEW(double, oc);

	for (o = 0; o < (size_t)oc; o++)
		s[o] = (gamma ? gamma[o] : 1.0) / sqrt((double)var[o] + b->eps);
	for (size_t e = 0; e < nw; e++)                 /* HWIO: o is fastest */
		f[e] = (float)(w[e] * s[e % oc]);
	f += (nw + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
	for (o = 0; o < (size_t)oc; o++)
		f[o] = (float)((beta ? beta[o] : 0.0) + ((bias ? bias[o] : 0.0) - mean[o]) * s[o]);
	free(s);
}

/* Where folded conv l's bias lives in the backend arena: the slot of its
 * BN's moving mean (an inference plan never reads it once folded). */
static float *
fold_bias(struct nn_model *m, const struct nn_lay *b)
{
	return m->p + m->par[b->p0 + (b->scale != 0) + (b->center != 0)].offset;
}

/* Folds every marked conv's BN into the backend's parameters in place,
 * from the host parameters (those nn_params_upload sent: an inference
 * plan changes no parameter, and nn_params_download leaves the host copy
 * alone): the kernel over the conv's own, the bias over the BN's moving
 * mean.  One conv at a time through a host buffer of m->fold_size
 * floats, so the plan holds one copy of the weights. */
static void
fold_params(struct nn_model *m)
{
	float *f = XNEW(float, m->fold_size);

	for (int i = 0; i < m->nlay; i++) {
		const struct nn_lay *l = &m->lay[i], *b = &m->lay[l->fold];
		size_t nw = m->par[l->p0].size;
		if (!l->fold)
			continue;
		fold_one(m, l, b, f);
		m->be->upload(m->be, W(m, l, 0), f, nw * sizeof *f);
		m->be->upload(m->be, fold_bias(m, b), f + (nw + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN,
		    (size_t)l->pub.c * sizeof *f);
	}
	free(f);
	m->fold_ok = 1;
}

/* Conv l with its BN folded in, writing the BN's output (and, fused,
 * the ReLU's: the same view). */
static void
fwd_conv_folded(struct nn_model *m, struct nn_lay *l, struct nn_lay *x)
{
	struct nn_backend *be = m->be;
	struct nn_lay *b = &m->lay[l->fold];
	struct nn_conv cp = conv_geom(m, l, x, x->y_ld, b->y_ld);
	const float *w = W(m, l, 0), *bias = fold_bias(m, b);

	if (l->fold_relu)
		be->conv_fwd_relu(be, &cp, x->y, w, bias, b->y);
	else
		be->conv_fwd(be, &cp, x->y, w, bias, b->y);
}

/* Profiling kind of layer l's forward. */
static int
fwd_kind(const struct nn_model *m, const struct nn_lay *l)
{
	static const int k[] = {
		[NN_INPUT] = NN_PROF_INPUT, [NN_CONV2D] = NN_PROF_CONV_FWD,
		[NN_BATCHNORM] = NN_PROF_BN_FWD, [NN_RELU] = NN_PROF_RELU_FWD,
		[NN_MAXPOOL] = NN_PROF_POOL_FWD, [NN_AVGPOOL] = NN_PROF_POOL_FWD,
		[NN_CONCAT] = NN_PROF_CONCAT, [NN_GAP] = NN_PROF_GAP,
		[NN_DENSE] = NN_PROF_DENSE, [NN_DROPOUT] = NN_PROF_DROPOUT,
		[NN_ZEROPAD] = NN_PROF_PAD, [NN_ADD] = NN_PROF_ADD,
		[NN_DWCONV] = NN_PROF_DWCONV_FWD,
	};

	return m->recomputing ? NN_PROF_RECOMPUTE : k[l->pub.type];
}

void
nn_fwd_layer(struct nn_model *m, int i)
{
	struct nn_backend *be = m->be;
	struct nn_lay *l = &m->lay[i], *x = input_of(m, l, 0);
	struct nn_conv cp;
	struct nn_pool pp;
	struct nn_ew ep = { pixels(m, l), l->pub.c, x->y_ld, l->y_ld, l->cap };
	struct nn_padg dp;
	struct nn_gap gp = { m->n, x->pub.h * x->pub.w, l->pub.c, x->y_ld };
	size_t n = (size_t)pixels(m, l) * l->pub.c;

	nn_prof_mark(m);
	switch (l->pub.type) {
	case NN_INPUT:
		break;
	case NN_CONV2D:
		if (l->fold && !m->training) {
			fwd_conv_folded(m, l, x);
			break;
		}
		cp = conv_geom(m, l, x, x->y_ld, l->y_ld);
		be->conv_fwd(be, &cp, x->y, W(m, l, 0), l->bias ? W(m, l, 1) : NULL, l->y);
		break;
	case NN_BATCHNORM:
		fwd_bn(m, l, x);
		break;
	case NN_RELU:
		if (!bn_fused_fwd(m, l->pub.in[0]))
			be->relu_fwd(be, &ep, x->y, l->y);
		break;
	case NN_MAXPOOL: case NN_AVGPOOL:
		pp = pool_geom(m, l, x, x->y_ld, l->y_ld);
		be->pool_fwd(be, &pp, x->y, l->y);
		break;
	case NN_CONCAT:
		fwd_concat(m, l);
		break;
	case NN_GAP:
		be->gap_fwd(be, &gp, x->y, l->y);
		break;
	case NN_DENSE:
		fwd_dense(m, l, x);
		break;
	case NN_DROPOUT:
		if (m->training && l->rate > 0)
			be->dropout_fwd(be, n, l->rate, dropout_seed(m, i), (uint64_t)m->t,
			                x->y, l->y, l->mask);
		else
			be->add(be, &ep, x->y, l->y, 0);
		break;
	case NN_ZEROPAD:
		dp = pad_geom(m, l, x, x->y_ld, l->y_ld);
		be->pad_fwd(be, &dp, x->y, l->y);
		break;
	case NN_ADD:
		fwd_add(m, l);
		break;
	case NN_DWCONV:
		cp = conv_geom(m, l, x, x->y_ld, l->y_ld);
		be->dwconv_fwd(be, &cp, x->y, W(m, l, 0), l->bias ? W(m, l, 1) : NULL, l->y);
		break;
	}
	nn_prof_add(m, fwd_kind(m, l));
}

int
nn_forward(struct nn_model *m, enum nn_dtype_in dt, const void *x, int n, int training)
{
	struct nn_lay *in = &m->lay[0];

	if (m->be == NULL)
		return nn_fail(m, "nn_forward: model not planned");
	if (n <= 0 || n > m->max_batch)
		return nn_fail(m, "nn_forward: batch of %d (planned for at most %d)", n, m->max_batch);
	if (training && (m->flags & NN_PLAN_INFERENCE))
		return nn_fail(m, "nn_forward: training mode on a model planned for inference only");
	m->n = n;
	m->training = training != 0;
	m->recomputing = 0;
	nn_prof_mark(m);
	if (m->pre_ch)
		m->be->input_ch(m->be, dt, x, (size_t)n * in->pub.h * in->pub.w, in->pub.c,
		                m->pre_order, m->pre_scale, m->pre_offset, in->y);
	else
		m->be->input(m->be, dt, x, (size_t)n * in->pub.h * in->pub.w * in->pub.c,
		             m->scale, m->offset, in->y);
	nn_prof_add(m, NN_PROF_INPUT);
	if (m->fold_size != 0 && !m->training && !m->fold_ok)
		fold_params(m);
	for (int i = 1; i < m->nlay; i++)
		if (!(m->lay[i].folded && !m->training))
			nn_fwd_layer(m, i);
	return 0;
}
