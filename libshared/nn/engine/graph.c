/* graph.c — building and inspecting a model: layers in creation order
 * (which is topological: a layer's inputs exist before it), parameters in
 * one host arena, Keras initialisers, nn_fail.  Calls only down:
 * transfer.c (uploads, releasing a plan). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rng.h"
#include "nn/engine/nn_impl.h"

/* Appends a layer of type reading in[0..nin); NULL (error set) when the
 * name is taken, an input does not exist, or the model is planned. */
static struct nn_lay *
add_layer(struct nn_model *m, enum nn_layer_type type, const char *name,
          const int *in, int nin)
{
	struct nn_lay *l;

	if (m->be != NULL) {
		nn_fail(m, "%s: cannot add layers after nn_model_plan", name);
		return NULL;
	}
	if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof l->pub.name) {
		nn_fail(m, "layer name empty or longer than %zu", sizeof l->pub.name - 1);
		return NULL;
	}
	if (nn_layer_find(m, name) >= 0) {
		nn_fail(m, "%s: duplicate layer name", name);
		return NULL;
	}
	if (nin > 8) {
		nn_fail(m, "%s: more than 8 inputs", name);
		return NULL;
	}
	for (int j = 0; j < nin; j++)
		if (in[j] < 0 || in[j] >= m->nlay) {
			nn_fail(m, "%s: input %d is not a layer", name, in[j]);
			return NULL;
		}
	if (m->nlay == m->laycap) {
		m->laycap = m->laycap ? 2 * m->laycap : 32;
		m->lay = xreallocarray(m->lay, m->laycap, sizeof *m->lay);
	}
	l = &m->lay[m->nlay];
	*l = (struct nn_lay){ .pub.type = type, .pub.nin = nin, .pub.trainable = 1,
	                      .p0 = m->npar, .owner = -1, .gowner = -1, .last_cons = -1 };
	snprintf(l->pub.name, sizeof l->pub.name, "%s", name);
	for (int j = 0; j < nin; j++)
		l->pub.in[j] = in[j];
	if (nin > 0) {
		const struct nn_layer *src = &m->lay[in[0]].pub;
		l->pub.h = src->h;
		l->pub.w = src->w;
		l->pub.c = src->c;
	}
	return l;
}

/* Makes the layer prepared by add_layer part of the graph; its index. */
static int
commit(struct nn_model *m)
{
	const struct nn_layer *l = &m->lay[m->nlay].pub;

	for (int j = 0; j < l->nin; j++) {
		m->lay[l->in[j]].ncons++;
		m->lay[l->in[j]].last_cons = m->nlay;
	}
	return m->nlay++;
}

/* Grows the host arena from old to m->arena floats, keeping its values
 * and zeroing the new ones.  Only [0, arena) is ever written: the rest of
 * the doubled capacity stays untouched, so it takes no memory (a whole
 * memset made InceptionV3's 85 MB arena resident as 128 MB). */
static void
host_grow(struct nn_model *m, size_t old)
{
	float *h;

	if (m->host == NULL || m->arena > m->hostcap) {
		if (m->p_host)  /* the plan's parameters are the old host copy */
			nn_plan_release(m);
		size_t cap = m->hostcap ? m->hostcap : 4096;
		while (cap < m->arena)
			cap *= 2;
		h = xaligned(xmul(cap, sizeof *h, "parameter arena"));
		if (m->host)
			memcpy(h, m->host, old * sizeof *h);
		free(m->host);
		m->host = h;
		m->hostcap = cap;
	}
	memset(m->host + old, 0, (m->arena - old) * sizeof *m->host);
}

/* Adds parameter "<layer>/<weight>:0" to the layer being built. */
static void
add_param(struct nn_model *m, struct nn_lay *l, const char *weight, int rank,
          const int *shape, int trainable, int decay, char init)
{
	struct nn_param *p;
	size_t size = 1;

	if (m->npar == m->parcap) {
		m->parcap = m->parcap ? 2 * m->parcap : 64;
		m->par = xreallocarray(m->par, m->parcap, sizeof *m->par);
		m->pinit = xreallocarray(m->pinit, m->parcap, 1);
	}
	p = &m->par[m->npar];
	*p = (struct nn_param){ .layer = m->nlay, .rank = rank,
	                        .trainable = trainable, .decay = decay };
	snprintf(p->name, sizeof p->name, "%s/%s:0", l->pub.name, weight);
	for (int i = 0; i < rank; i++) {
		p->shape[i] = shape[i];
		size *= (size_t)shape[i];
	}
	p->size = size;
	p->offset = m->arena;
	m->arena += (size + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
	m->pinit[m->npar] = init;
	m->npar++;
	l->np++;
	host_grow(m, p->offset);
}

struct nn_model *
nn_model_new(const char *name, int h, int w, int c)
{
	struct nn_model *m;
	struct nn_lay *l;

	if (h <= 0 || w <= 0 || c <= 0)
		return NULL;
	m = XNEW(struct nn_model, 1);
	*m = (struct nn_model){ .scale = 1, .seed = 1 };
	m->prof = getenv("RADPIPE_PROFILE") != NULL && atoi(getenv("RADPIPE_PROFILE")) > 0;
	snprintf(m->name, sizeof m->name, "%s", name ? name : "input_1");
	if ((l = add_layer(m, NN_INPUT, m->name, NULL, 0)) == NULL) {
		free(m);
		return NULL;
	}
	l->pub.h = h;
	l->pub.w = w;
	l->pub.c = c;
	l->pub.trainable = 0;
	commit(m);
	host_grow(m, 0);
	return m;
}

void
nn_model_free(struct nn_model *m)
{
	if (m == NULL)
		return;
	nn_plan_release(m);
	free(m->lay);
	free(m->par);
	free(m->pinit);
	free(m->host);
	free(m->mhost[0]);
	free(m->mhost[1]);
	free(m->sbx);
	free(m->sbd);
	free(m->sbf);
	free(m);
}

const char *
nn_error(const struct nn_model *m)
{
	return m ? m->err : "no model";
}

/* Output size and leading pad of one axis; -1 (error set) if empty. */
static int
geometry(struct nn_model *m, const char *name, int in, int k, int s,
         enum nn_padding pad, int *out, int *before)
{
	if (k <= 0 || s <= 0)
		return nn_fail(m, "%s: kernel and stride must be positive", name);
	if (pad == NN_SAME)
		nn_pad_same(in, k, s, out, before);
	else
		nn_pad_valid(in, k, s, out, before);
	if (*out <= 0)
		return nn_fail(m, "%s: input %d too small for kernel %d", name, in, k);
	return 0;
}

int
nn_conv2d(struct nn_model *m, const char *name, int in, int filters, int kh,
          int kw, int sh, int sw, enum nn_padding pad, int use_bias)
{
	struct nn_lay *l;
	int oh, ow;

	if ((l = add_layer(m, NN_CONV2D, name, &in, 1)) == NULL)
		return -1;
	if (filters <= 0)
		return nn_fail(m, "%s: filters must be positive", name);
	if (geometry(m, name, l->pub.h, kh, sh, pad, &oh, &l->pt) < 0 ||
	    geometry(m, name, l->pub.w, kw, sw, pad, &ow, &l->pl) < 0)
		return -1;
	int ks[4] = { kh, kw, l->pub.c, filters };
	l->kh = kh, l->kw = kw, l->sh = sh, l->sw = sw, l->bias = use_bias;
	add_param(m, l, "kernel", 4, ks, 1, 1, 'g');
	if (use_bias)
		add_param(m, l, "bias", 1, &filters, 1, 0, '0');
	l->pub.h = oh, l->pub.w = ow, l->pub.c = filters;
	return commit(m);
}

int
nn_batchnorm(struct nn_model *m, const char *name, int in, float eps,
             float momentum, int scale, int center)
{
	struct nn_lay *l;

	if ((l = add_layer(m, NN_BATCHNORM, name, &in, 1)) == NULL)
		return -1;
	if (!(eps > 0) || !(momentum >= 0 && momentum <= 1))
		return nn_fail(m, "%s: bad epsilon or momentum", name);
	l->eps = eps, l->momentum = momentum, l->scale = scale, l->center = center;
	if (scale)
		add_param(m, l, "gamma", 1, &l->pub.c, 1, 0, '1');
	if (center)
		add_param(m, l, "beta", 1, &l->pub.c, 1, 0, '0');
	add_param(m, l, "moving_mean", 1, &l->pub.c, 0, 0, '0');
	add_param(m, l, "moving_variance", 1, &l->pub.c, 0, 0, '1');
	return commit(m);
}

int
nn_relu(struct nn_model *m, const char *name, int in)
{
	return nn_relu_max(m, name, in, 0);
}

int
nn_relu_max(struct nn_model *m, const char *name, int in, float max_value)
{
	struct nn_lay *l;

	if ((l = add_layer(m, NN_RELU, name, &in, 1)) == NULL)
		return -1;
	if (!(max_value >= 0 && isfinite(max_value)))
		return nn_fail(m, "%s: ReLU max_value must be >= 0 (0: none)", name);
	l->cap = max_value;
	return commit(m);
}

int
nn_zeropad(struct nn_model *m, const char *name, int in, int pt, int pb, int pl, int pr)
{
	struct nn_lay *l;

	if ((l = add_layer(m, NN_ZEROPAD, name, &in, 1)) == NULL)
		return -1;
	if (pt < 0 || pb < 0 || pl < 0 || pr < 0)
		return nn_fail(m, "%s: negative padding", name);
	l->pt = pt, l->pb = pb, l->pl = pl, l->pr = pr;
	l->pub.h += pt + pb, l->pub.w += pl + pr;
	return commit(m);
}

int
nn_add(struct nn_model *m, const char *name, const int *in, int nin)
{
	struct nn_lay *l;

	if (nin < 2)
		return nn_fail(m, "%s: add needs at least 2 inputs", name);
	if ((l = add_layer(m, NN_ADD, name, in, nin)) == NULL)
		return -1;
	for (int j = 1; j < nin; j++) {
		const struct nn_layer *s = &m->lay[in[j]].pub;
		if (s->h != l->pub.h || s->w != l->pub.w || s->c != l->pub.c)
			return nn_fail(m, "%s: input %s is %dx%dx%d, not %dx%dx%d", name,
			               s->name, s->h, s->w, s->c, l->pub.h, l->pub.w, l->pub.c);
	}
	return commit(m);
}

int
nn_dwconv2d(struct nn_model *m, const char *name, int in, int kh, int kw,
            int sh, int sw, enum nn_padding pad, int use_bias)
{
	struct nn_lay *l;
	int oh, ow;

	if ((l = add_layer(m, NN_DWCONV, name, &in, 1)) == NULL)
		return -1;
	if (geometry(m, name, l->pub.h, kh, sh, pad, &oh, &l->pt) < 0 ||
	    geometry(m, name, l->pub.w, kw, sw, pad, &ow, &l->pl) < 0)
		return -1;
	int ks[4] = { kh, kw, l->pub.c, 1 };
	l->kh = kh, l->kw = kw, l->sh = sh, l->sw = sw, l->bias = use_bias;
	add_param(m, l, "depthwise_kernel", 4, ks, 1, 1, 'g');
	if (use_bias)
		add_param(m, l, "bias", 1, &l->pub.c, 1, 0, '0');
	l->pub.h = oh, l->pub.w = ow;
	return commit(m);
}

static int
pool(struct nn_model *m, enum nn_layer_type type, const char *name, int in,
     int kh, int kw, int sh, int sw, enum nn_padding pad)
{
	struct nn_lay *l;
	int oh, ow;

	if ((l = add_layer(m, type, name, &in, 1)) == NULL)
		return -1;
	if (geometry(m, name, l->pub.h, kh, sh, pad, &oh, &l->pt) < 0 ||
	    geometry(m, name, l->pub.w, kw, sw, pad, &ow, &l->pl) < 0)
		return -1;
	l->kh = kh, l->kw = kw, l->sh = sh, l->sw = sw;
	l->pub.h = oh, l->pub.w = ow;
	return commit(m);
}

int
nn_maxpool(struct nn_model *m, const char *name, int in, int kh, int kw,
           int sh, int sw, enum nn_padding pad)
{
	return pool(m, NN_MAXPOOL, name, in, kh, kw, sh, sw, pad);
}

int
nn_avgpool(struct nn_model *m, const char *name, int in, int kh, int kw,
           int sh, int sw, enum nn_padding pad)
{
	return pool(m, NN_AVGPOOL, name, in, kh, kw, sh, sw, pad);
}

int
nn_concat(struct nn_model *m, const char *name, const int *in, int nin)
{
	struct nn_lay *l;
	int c = 0;

	if (nin < 1)
		return nn_fail(m, "%s: concatenate needs inputs", name);
	if ((l = add_layer(m, NN_CONCAT, name, in, nin)) == NULL)
		return -1;
	for (int j = 0; j < nin; j++) {
		const struct nn_layer *s = &m->lay[in[j]].pub;
		if (s->h != l->pub.h || s->w != l->pub.w)
			return nn_fail(m, "%s: input %s is %dx%d, not %dx%d", name,
			            s->name, s->h, s->w, l->pub.h, l->pub.w);
		c += s->c;
	}
	l->pub.c = c;
	return commit(m);
}

int
nn_gap(struct nn_model *m, const char *name, int in)
{
	struct nn_lay *l;

	if ((l = add_layer(m, NN_GAP, name, &in, 1)) == NULL)
		return -1;
	l->pub.h = l->pub.w = 1;
	return commit(m);
}

int
nn_dense(struct nn_model *m, const char *name, int in, int units, int use_bias,
         enum nn_act act)
{
	struct nn_lay *l;

	if ((l = add_layer(m, NN_DENSE, name, &in, 1)) == NULL)
		return -1;
	if (units <= 0)
		return nn_fail(m, "%s: units must be positive", name);
	int ks[2] = { l->pub.h * l->pub.w * l->pub.c, units };
	l->bias = use_bias, l->act = act;
	add_param(m, l, "kernel", 2, ks, 1, 1, 'g');
	if (use_bias)
		add_param(m, l, "bias", 1, &units, 1, 0, '0');
	l->pub.h = l->pub.w = 1, l->pub.c = units;
	return commit(m);
}

int
nn_dropout(struct nn_model *m, const char *name, int in, float rate)
{
	struct nn_lay *l;

	if ((l = add_layer(m, NN_DROPOUT, name, &in, 1)) == NULL)
		return -1;
	if (!(rate >= 0 && rate < 1))
		return nn_fail(m, "%s: dropout rate must be in [0, 1)", name);
	l->rate = rate;
	return commit(m);
}

/* ---- inspection ---- */

int
nn_layer_count(const struct nn_model *m)
{
	return m->nlay;
}

const struct nn_layer *
nn_layer_at(const struct nn_model *m, int i)
{
	return i >= 0 && i < m->nlay ? &m->lay[i].pub : NULL;
}

int
nn_layer_find(const struct nn_model *m, const char *name)
{
	for (int i = 0; i < m->nlay; i++)
		if (strcmp(m->lay[i].pub.name, name) == 0)
			return i;
	return -1;
}

int
nn_param_count(const struct nn_model *m)
{
	return m->npar;
}

const struct nn_param *
nn_param_at(const struct nn_model *m, int i)
{
	return i >= 0 && i < m->npar ? &m->par[i] : NULL;
}

int
nn_param_find(const struct nn_model *m, const char *name)
{
	for (int i = 0; i < m->npar; i++)
		if (strcmp(m->par[i].name, name) == 0)
			return i;
	return -1;
}

size_t
nn_arena_size(const struct nn_model *m)
{
	return m->arena;
}

int
nn_output_size(const struct nn_model *m)
{
	const struct nn_layer *l = &m->lay[m->nlay - 1].pub;

	return l->h * l->w * l->c;
}

enum nn_act
nn_output_act(const struct nn_model *m)
{
	const struct nn_lay *l = &m->lay[m->nlay - 1];

	return l->pub.type == NN_DENSE ? l->act : NN_ACT_NONE;
}

/* ---- parameters on the host ---- */

float *
nn_params_host(struct nn_model *m)
{
	return m->host;
}

/* Keras glorot_uniform fans: kernels HWIO (receptive field times in/out)
 * or (in, out). */
static void
fans(const struct nn_param *p, double *fan_in, double *fan_out)
{
	double rf = p->rank == 4 ? (double)p->shape[0] * p->shape[1] : 1;

	*fan_in = rf * p->shape[p->rank - 2];
	*fan_out = rf * p->shape[p->rank - 1];
}

void
nn_model_init_params(struct nn_model *m, uint64_t seed)
{
	float *h = nn_params_host(m);

	for (int i = 0; i < m->npar; i++) {
		const struct nn_param *p = &m->par[i];
		float *v = h + p->offset;
		if (m->pinit[i] == 'g') {
			double fi, fo, lim;
			struct rng r;
			fans(p, &fi, &fo);
			lim = sqrt(6 / (fi + fo));
			rng_init(&r, seed, (uint64_t)i, 0);
			for (size_t k = 0; k < p->size; k++)
				v[k] = (float)rng_range(&r, -lim, lim);
		} else {
			for (size_t k = 0; k < p->size; k++)
				v[k] = m->pinit[i] == '1' ? 1.0f : 0.0f;
		}
	}
	nn_params_upload(m);
}

/* ---- flags ---- */

void
nn_set_trainable(struct nn_model *m, int layer, int trainable)
{
	if (layer > 0 && layer < m->nlay)
		m->lay[layer].pub.trainable = trainable != 0;
}

void
nn_set_frozen_bn(struct nn_model *m, int layer, int frozen)
{
	if (layer > 0 && layer < m->nlay && m->lay[layer].pub.type == NN_BATCHNORM)
		m->lay[layer].pub.frozen_bn = frozen != 0;
}

void
nn_set_seed(struct nn_model *m, uint64_t seed)
{
	m->seed = seed;
}

void
nn_set_bn_unbiased(struct nn_model *m, int unbiased)
{
	m->unbiased = unbiased != 0;
}

void
nn_set_bce_clip(struct nn_model *m, float clip)
{
	m->clip = clip > 0 && clip < 0.5f ? clip : 0;
}

void
nn_set_preprocess(struct nn_model *m, float scale, float offset)
{
	m->scale = scale;
	m->offset = offset;
	m->pre_ch = 0;
}

int
nn_set_preprocess_ch(struct nn_model *m, int c, const int *order,
                     const float *scale, const float *offset)
{
	unsigned seen = 0;

	if (c < 1 || c > 4)
		return nn_fail(m, "per-channel preprocessing of %d channels (1 to 4)", c);
	if (c != m->lay[0].pub.c)
		return nn_fail(m, "per-channel preprocessing needs %d input channels; the "
		               "input has %d", c, m->lay[0].pub.c);
	for (int ch = 0; ch < c; ch++) {
		int o = order ? order[ch] : ch;
		if (o < 0 || o >= c || (seen & 1u << o))
			return nn_fail(m, "preprocessing: channel order is not a permutation");
		seen |= 1u << o;
		m->pre_order[ch] = o;
		m->pre_scale[ch] = scale[ch];
		m->pre_offset[ch] = offset[ch];
	}
	m->pre_ch = 1;
	return 0;
}

int64_t
nn_step_count(const struct nn_model *m)
{
	return m->t;
}

void
nn_set_step_count(struct nn_model *m, int64_t t)
{
	m->t = t;
}
