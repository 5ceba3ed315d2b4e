/* kgraph.c — Keras graph descriptions built in Keras' layer order; see
 * kgraph.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/models/kgraph.h"

static void
kg_fail(struct kg_net *t, const char *fmt, ...)
{
	va_list ap;

	if (t->bad)
		return;
	t->bad = 1;
	va_start(ap, fmt);
	vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
}

struct kg_net *
kg_new(int h, int w, int c)
{
	struct kg_net *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	t->cap = 512;
	if ((t->l = calloc((size_t)t->cap, sizeof *t->l)) == NULL) {
		free(t);
		return NULL;
	}
	snprintf(t->l[0].name, sizeof t->l[0].name, "input_1");
	t->l[0].type = KG_INPUT;
	t->l[0].h = h;
	t->l[0].w = w;
	t->l[0].c = c;
	t->n = 1;
	if (h < 1 || w < 1 || c < 1)
		kg_fail(t, "bad input shape %dx%dx%d", h, w, c);
	return t;
}

void
kg_free(struct kg_net *t)
{
	if (t == NULL)
		return;
	free(t->l);
	free(t->depth);
	free(t->visit);
	free(t);
}

/* Appends a layer of type reading in[0..nin) with the shape of in[0];
 * NULL (and t->bad) when it cannot. */
static struct kg_layer *
add(struct kg_net *t, enum kg_type type, const char *name, const int *in, int nin)
{
	struct kg_layer *l, *p;
	int i;

	if (t->bad)
		return NULL;
	if (nin > KG_MAX_IN || strlen(name) >= sizeof l->name) {
		kg_fail(t, "layer %s: too many inputs or too long a name", name);
		return NULL;
	}
	if (t->n == t->cap) {
		if ((p = realloc(t->l, 2 * (size_t)t->cap * sizeof *p)) == NULL) {
			kg_fail(t, "out of memory");
			return NULL;
		}
		t->l = p;
		t->cap *= 2;
	}
	l = &t->l[t->n];
	memset(l, 0, sizeof *l);
	snprintf(l->name, sizeof l->name, "%s", name);
	l->type = type;
	l->nin = nin;
	for (i = 0; i < nin; i++) {
		if (in[i] < 0 || in[i] >= t->n) {
			kg_fail(t, "layer %s: bad input", name);
			return NULL;
		}
		l->in[i] = in[i];
	}
	l->h = t->l[in[0]].h;
	l->w = t->l[in[0]].w;
	l->c = t->l[in[0]].c;
	return l;
}

/* Output extent of a window k with stride s over n (TF padding rules). */
static int
extent(int n, int k, int s, enum nn_padding pad)
{
	if (pad == NN_SAME)
		return (n + s - 1) / s;
	return n < k ? 0 : (n - k) / s + 1;
}

/* Sets l's spatial shape for a kh x kw window with stride s; returns its
 * index, or 0 (and t->bad) when the output vanishes. */
static int
windowed(struct kg_net *t, struct kg_layer *l, int kh, int kw, int s, enum nn_padding pad)
{
	if (l == NULL)
		return 0;
	l->kh = kh;
	l->kw = kw;
	l->s = s;
	l->pad = pad;
	l->h = extent(l->h, kh, s, pad);
	l->w = extent(l->w, kw, s, pad);
	if (l->h < 1 || l->w < 1) {
		kg_fail(t, "layer %s: the input is too small (output %dx%d)", l->name, l->h, l->w);
		return 0;
	}
	return t->n++;
}

int
kg_conv(struct kg_net *t, const char *name, int x, int filters, int k, int s,
        enum nn_padding pad, int bias)
{
	return kg_conv2(t, name, x, filters, k, k, s, pad, bias);
}

int
kg_conv2(struct kg_net *t, const char *name, int x, int filters, int kh, int kw, int s,
         enum nn_padding pad, int bias)
{
	struct kg_layer *l = add(t, KG_CONV, name, &x, 1);

	if (l != NULL) {
		l->filters = l->c = filters;
		l->bias = bias;
	}
	return windowed(t, l, kh, kw, s, pad);
}

int
kg_dwconv(struct kg_net *t, const char *name, int x, int k, int s, enum nn_padding pad, int bias)
{
	struct kg_layer *l = add(t, KG_DWCONV, name, &x, 1);

	if (l != NULL)
		l->bias = bias;
	return windowed(t, l, k, k, s, pad);
}

int
kg_pool(struct kg_net *t, enum kg_type type, const char *name, int x, int k, int s,
        enum nn_padding pad)
{
	return windowed(t, add(t, type, name, &x, 1), k, k, s, pad);
}

int
kg_bn(struct kg_net *t, const char *name, int x, float eps, float momentum, int scale)
{
	struct kg_layer *l = add(t, KG_BN, name, &x, 1);

	if (l == NULL)
		return 0;
	l->eps = eps;
	l->momentum = momentum;
	l->scale = scale;
	return t->n++;
}

int
kg_relu(struct kg_net *t, const char *name, int x, float cap)
{
	struct kg_layer *l = add(t, KG_RELU, name, &x, 1);

	if (l == NULL)
		return 0;
	l->cap = cap;
	return t->n++;
}

int
kg_concat(struct kg_net *t, const char *name, const int *in, int nin)
{
	struct kg_layer *l = add(t, KG_CONCAT, name, in, nin);
	int i;

	if (l == NULL)
		return 0;
	for (i = 1; i < nin; i++) {
		if (t->l[in[i]].h != l->h || t->l[in[i]].w != l->w) {
			kg_fail(t, "layer %s: inputs of different sizes", name);
			return 0;
		}
		l->c += t->l[in[i]].c;
	}
	return t->n++;
}

int
kg_add(struct kg_net *t, const char *name, int a, int b)
{
	int in[2] = { a, b };
	struct kg_layer *l = add(t, KG_ADD, name, in, 2);

	if (l == NULL)
		return 0;
	if (t->l[b].h != l->h || t->l[b].w != l->w || t->l[b].c != l->c) {
		kg_fail(t, "layer %s: inputs of different shapes", name);
		return 0;
	}
	return t->n++;
}

int
kg_zeropad(struct kg_net *t, const char *name, int x, int pt, int pb, int pl, int pr)
{
	struct kg_layer *l = add(t, KG_ZEROPAD, name, &x, 1);

	if (l == NULL)
		return 0;
	l->pt = pt;
	l->pb = pb;
	l->pl = pl;
	l->pr = pr;
	l->h += pt + pb;
	l->w += pl + pr;
	return t->n++;
}

const struct kg_layer *
kg_at(const struct kg_net *t, int i)
{
	return &t->l[i];
}

/* Depth-first walk from layer i, numbering layers on first visit. */
static void
walk(struct kg_net *t, int i)
{
	int k;

	if (t->visit[i] >= 0)
		return;
	t->visit[i] = t->nvisit++;
	for (k = 0; k < t->l[i].nin; k++)
		walk(t, t->l[i].in[k]);
}

static struct kg_net *sort_net;

static int
keras_cmp(const void *a, const void *b)
{
	const struct kg_net *t = sort_net;
	int i = *(const int *)a, j = *(const int *)b;

	if (t->depth[i] != t->depth[j])
		return t->depth[j] - t->depth[i];
	return t->visit[i] - t->visit[j];
}

void
kg_order(struct kg_net *t, int *order)
{
	int i, k, in;

	free(t->depth);
	free(t->visit);
	t->depth = xcalloc((size_t)t->n, sizeof *t->depth);
	t->visit = xcalloc((size_t)t->n, sizeof *t->visit);
	for (i = 0; i < t->n; i++) {
		t->visit[i] = -1;
		order[i] = i;
	}
	/* Creation order is topological, so one backward sweep gives the
	 * longest path from every layer to the output. */
	for (i = t->n - 1; i >= 0; i--)
		for (k = 0; k < t->l[i].nin; k++) {
			in = t->l[i].in[k];
			if (t->depth[in] < t->depth[i] + 1)
				t->depth[in] = t->depth[i] + 1;
		}
	t->nvisit = 0;
	walk(t, t->n - 1);
	sort_net = t;
	qsort(order, (size_t)t->n, sizeof *order, keras_cmp);
	sort_net = NULL;
}

long long
kg_param_count(const struct kg_net *t)
{
	long long n = 0, cin;

	for (int i = 0; i < t->n; i++) {
		const struct kg_layer *l = &t->l[i];

		cin = l->nin > 0 ? t->l[l->in[0]].c : 0;
		if (l->type == KG_CONV)
			n += (long long)l->kh * l->kw * cin * l->filters + (l->bias ? l->filters : 0);
		else if (l->type == KG_DWCONV)
			n += (long long)l->kh * l->kw * cin + (l->bias ? cin : 0);
		else if (l->type == KG_BN)
			n += (3LL + (l->scale != 0)) * l->c;
	}
	return n;
}

/* Adds layer l of the description to m; ids maps description -> model. */
static int
emit(struct nn_model *m, const struct kg_layer *l, const int *ids)
{
	int in[KG_MAX_IN], k;

	for (k = 0; k < l->nin; k++)
		in[k] = ids[l->in[k]];
	switch (l->type) {
	case KG_CONV:
		return nn_conv2d(m, l->name, in[0], l->filters, l->kh, l->kw, l->s, l->s, l->pad, l->bias);
	case KG_DWCONV:
		return nn_dwconv2d(m, l->name, in[0], l->kh, l->kw, l->s, l->s, l->pad, l->bias);
	case KG_BN:
		return nn_batchnorm(m, l->name, in[0], l->eps, l->momentum, l->scale, 1);
	case KG_RELU:
		return l->cap > 0 ? nn_relu_max(m, l->name, in[0], l->cap) : nn_relu(m, l->name, in[0]);
	case KG_MAXPOOL:
		return nn_maxpool(m, l->name, in[0], l->kh, l->kw, l->s, l->s, l->pad);
	case KG_AVGPOOL:
		return nn_avgpool(m, l->name, in[0], l->kh, l->kw, l->s, l->s, l->pad);
	case KG_CONCAT:
		return nn_concat(m, l->name, in, l->nin);
	case KG_ADD:
		return nn_add(m, l->name, in, l->nin);
	case KG_ZEROPAD:
		return nn_zeropad(m, l->name, in[0], l->pt, l->pb, l->pl, l->pr);
	default:
		return -1;
	}
}

int
kg_head(struct nn_model *m, int x, const struct nn_head *h)
{
	int dense = 1;
	char name[32];

	if ((x = nn_gap(m, "global_average_pooling2d_1", x)) < 0)
		return -1;
	if (h->dense_units > 0) {
		if ((x = nn_dense(m, "dense_1", x, h->dense_units, 1, NN_ACT_RELU)) < 0)
			return -1;
		dense = 2;
		if (h->dropout > 0 && (x = nn_dropout(m, "dropout_1", x, h->dropout)) < 0)
			return -1;
	}
	snprintf(name, sizeof name, "dense_%d", dense);
	return nn_dense(m, name, x, h->classes, 1,
	                h->classes == 1 || h->multilabel ? NN_ACT_SIGMOID : NN_ACT_SOFTMAX);
}

struct nn_model *
kg_build(struct kg_net *t, const struct nn_head *head, char *err, size_t errlen)
{
	struct nn_model *m = NULL;
	int *order = NULL, *ids = NULL, i;

	if (head != NULL && (head->classes < 1 || head->dense_units < 0 ||
	    head->dropout < 0 || head->dropout >= 1))
		kg_fail(t, "bad head");
	if (t->bad)
		goto fail;
	order = xcalloc((size_t)t->n, sizeof *order);
	ids = xcalloc((size_t)t->n, sizeof *ids);
	kg_order(t, order);
	if ((m = nn_model_new(t->l[0].name, t->l[0].h, t->l[0].w, t->l[0].c)) == NULL) {
		kg_fail(t, "out of memory");
		goto fail;
	}
	for (i = 0; i < t->n; i++) {
		if (t->l[order[i]].type == KG_INPUT)
			continue;
		if ((ids[order[i]] = emit(m, &t->l[order[i]], ids)) < 0) {
			kg_fail(t, "%s", nn_error(m));
			goto fail;
		}
	}
	if (head != NULL && kg_head(m, ids[t->n - 1], head) < 0) {
		kg_fail(t, "%s", nn_error(m));
		goto fail;
	}
	free(order);
	free(ids);
	return m;
fail:
	snprintf(err, errlen, "%s", t->err);
	nn_model_free(m);
	free(order);
	free(ids);
	return NULL;
}

struct nn_model *
kg_make(const char *name, int h, int w, void (*describe)(struct kg_net *),
        const struct nn_head *head)
{
	struct kg_net *t;
	struct nn_model *m;
	char err[200];

	if (h < 32 || w < 32 || (t = kg_new(h, w, 3)) == NULL)
		return NULL;
	describe(t);
	if ((m = kg_build(t, head, err, sizeof err)) == NULL)
		warnx("%s: %s", name, err);
	kg_free(t);
	return m;
}
