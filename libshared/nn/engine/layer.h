/* layer.h — private to forward.c and exec.c: where a layer's weights and
 * input live, and the shape structs its ops take (static inline, so that
 * neither file calls into the other for them).
 */
#ifndef RADPIPE_NN_LAYER_H
#define RADPIPE_NN_LAYER_H

#include "nn/engine/nn_impl.h"

/* k-th parameter of layer l in the backend parameter arena. */
static inline float *
W(struct nn_model *m, const struct nn_lay *l, int k)
{
	return m->p + m->par[l->p0 + k].offset;
}

static inline struct nn_lay *
input_of(struct nn_model *m, const struct nn_lay *l, int j)
{
	return &m->lay[l->pub.in[j]];
}

static inline int
pixels(const struct nn_model *m, const struct nn_lay *l)
{
	return m->n * l->pub.h * l->pub.w;
}

/* Does BN layer l normalise with batch statistics in this pass? */
static inline int
bn_batch_mode(const struct nn_model *m, const struct nn_lay *l)
{
	return m->training && !l->pub.frozen_bn;
}

static inline struct nn_conv
conv_geom(const struct nn_model *m, const struct nn_lay *l, const struct nn_lay *x,
          int x_ld, int y_ld)
{
	return (struct nn_conv){
		.n = m->n, .ih = x->pub.h, .iw = x->pub.w, .ic = x->pub.c,
		.oh = l->pub.h, .ow = l->pub.w, .oc = l->pub.c,
		.kh = l->kh, .kw = l->kw, .sh = l->sh, .sw = l->sw,
		.pt = l->pt, .pl = l->pl, .x_ld = x_ld, .y_ld = y_ld,
	};
}

static inline struct nn_pool
pool_geom(const struct nn_model *m, const struct nn_lay *l, const struct nn_lay *x,
          int x_ld, int y_ld)
{
	return (struct nn_pool){
		.n = m->n, .ih = x->pub.h, .iw = x->pub.w, .c = l->pub.c,
		.oh = l->pub.h, .ow = l->pub.w, .kh = l->kh, .kw = l->kw,
		.sh = l->sh, .sw = l->sw, .pt = l->pt, .pl = l->pl,
		.x_ld = x_ld, .y_ld = y_ld, .avg = l->pub.type == NN_AVGPOOL,
	};
}

static inline struct nn_padg
pad_geom(const struct nn_model *m, const struct nn_lay *l, const struct nn_lay *x,
         int x_ld, int y_ld)
{
	return (struct nn_padg){
		.n = m->n, .ih = x->pub.h, .iw = x->pub.w, .c = l->pub.c,
		.pt = l->pt, .pb = l->pb, .pl = l->pl, .pr = l->pr,
		.x_ld = x_ld, .y_ld = y_ld,
	};
}

static inline struct nn_bn
bn_geom(const struct nn_model *m, const struct nn_lay *l, int x_ld, int y_ld)
{
	return (struct nn_bn){
		.m = pixels(m, l), .c = l->pub.c, .x_ld = x_ld, .y_ld = y_ld,
		.eps = l->eps, .momentum = l->momentum, .unbiased = m->unbiased,
	};
}

/* BN parameters in Keras order: gamma?, beta?, moving mean, variance. */
static inline void
bn_params(struct nn_model *m, const struct nn_lay *l, float **gamma,
          float **beta, float **rmean, float **rvar)
{
	int k = 0;

	*gamma = l->scale ? W(m, l, k++) : NULL;
	*beta = l->center ? W(m, l, k++) : NULL;
	*rmean = W(m, l, k++);
	*rvar = W(m, l, k);
}

#endif
