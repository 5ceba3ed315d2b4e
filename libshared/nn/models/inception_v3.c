/* inception_v3.c — Keras' InceptionV3(include_top=False) and the paper's
 * head, layer for layer, with Keras 2 names and Keras' layer order.
 *
 * The network is first described in the order Keras' inception_v3.py
 * creates its layers (that order fixes the automatic names conv2d_N,
 * batch_normalization_N, activation_N, ...).  It is then emitted in the
 * order of Keras' model.layers, which is what the layer_names attribute of
 * a weights file lists: layers sorted by decreasing depth (longest path to
 * the output), ties broken by the order of a depth-first walk from the
 * output that visits inputs in order (keras/engine/network.py, 2.2.4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "nn/nn.h"
#include "nn/models/kgraph.h"

#define V3_MAX_LAYERS 320

enum v3_type { V3_INPUT, V3_CONV, V3_BN, V3_RELU, V3_MAXPOOL, V3_AVGPOOL, V3_CONCAT };

struct v3_layer {
	char name[32];
	enum v3_type type;
	int nin, in[4];
	int filters, kh, kw, s;         /* conv and pools: s is the stride */
	enum nn_padding pad;
};

struct v3_net {
	struct v3_layer l[V3_MAX_LAYERS];
	int n;
	int count[V3_CONCAT + 1];       /* per type, for automatic names */
	int depth[V3_MAX_LAYERS];       /* longest path to the output */
	int visit[V3_MAX_LAYERS];       /* depth-first index from the output */
	int nvisit;
	int overflow;                   /* v3_add ran out of room */
};

static const char *const v3_prefix[] = {
	"input", "conv2d", "batch_normalization", "activation",
	"max_pooling2d", "average_pooling2d", "concatenate"
};

/* Appends a layer; name NULL takes Keras' automatic name for its type.
 * Out of room, it sets t->overflow and returns layer 0. */
static int
v3_add(struct v3_net *t, enum v3_type type, const char *name, const int *in, int nin)
{
	struct v3_layer *l = &t->l[t->n];
	int i;

	if (t->n >= V3_MAX_LAYERS || nin > 4) {
		t->overflow = 1;
		return 0;
	}
	memset(l, 0, sizeof *l);
	if (name != NULL)       /* explicit names do not advance the counter */
		snprintf(l->name, sizeof l->name, "%s", name);
	else
		snprintf(l->name, sizeof l->name, "%s_%d", v3_prefix[type], ++t->count[type]);
	l->type = type;
	l->nin = nin;
	for (i = 0; i < nin; i++)
		l->in[i] = in[i];
	return t->n++;
}

/* Keras' conv2d_bn: Conv2D (no bias) -> BatchNormalization(scale=False)
 * -> Activation('relu'); returns the activation. */
static int
conv_bn(struct v3_net *t, int x, int filters, int kh, int kw, int s, enum nn_padding pad)
{
	int c, b;

	c = v3_add(t, V3_CONV, NULL, &x, 1);
	t->l[c].filters = filters;
	t->l[c].kh = kh;
	t->l[c].kw = kw;
	t->l[c].s = s;
	t->l[c].pad = pad;
	b = v3_add(t, V3_BN, NULL, &c, 1);
	return v3_add(t, V3_RELU, NULL, &b, 1);
}

static int
pool(struct v3_net *t, enum v3_type type, int x, int s, enum nn_padding pad)
{
	int p = v3_add(t, type, NULL, &x, 1);

	t->l[p].kh = t->l[p].kw = 3;
	t->l[p].s = s;
	t->l[p].pad = pad;
	return p;
}

/* Concatenates the first n of a, b, c, d along channels. */
static int
concat(struct v3_net *t, const char *name, int n, int a, int b, int c, int d)
{
	int in[4] = { a, b, c, d };

	return v3_add(t, V3_CONCAT, name, in, n);
}

/* conv_bn with stride 1 and 'same' padding, n times in a row from x:
 * k[i] = { filters, kh, kw }; returns the last activation. */
static int
conv_chain(struct v3_net *t, int x, int n, const int (*k)[3])
{
	for (int i = 0; i < n; i++)
		x = conv_bn(t, x, k[i][0], k[i][1], k[i][2], 1, NN_SAME);
	return x;
}

/* The pooling branch of mixed0..2, 4..7, 9, 10: 3 x 3 average pool
 * (stride 1, 'same') -> 1 x 1 conv_bn of filters. */
static int
avgpool_branch(struct v3_net *t, int x, int filters)
{
	x = pool(t, V3_AVGPOOL, x, 1, NN_SAME);
	return conv_bn(t, x, filters, 1, 1, 1, NN_SAME);
}

/* The split of mixed9, mixed10: 1 x 3 and 3 x 1 conv_bn of 384 side by
 * side on x, concatenated (name NULL: automatic). */
static int
split_branch(struct v3_net *t, int x, const char *name)
{
	int a, b;

	a = conv_bn(t, x, 384, 1, 3, 1, NN_SAME);
	b = conv_bn(t, x, 384, 3, 1, 1, NN_SAME);
	return concat(t, name, 2, a, b, -1, -1);
}

/* mixed0..mixed2: 35 x 35. */
static int
block_a(struct v3_net *t, int x, int pool_filters, const char *name)
{
	int b1, b5, b3, bp;

	b1 = conv_chain(t, x, 1, (const int[][3]){ { 64, 1, 1 } });
	b5 = conv_chain(t, x, 2, (const int[][3]){ { 48, 1, 1 }, { 64, 5, 5 } });
	b3 = conv_chain(t, x, 3, (const int[][3]){ { 64, 1, 1 }, { 96, 3, 3 }, { 96, 3, 3 } });
	bp = avgpool_branch(t, x, pool_filters);
	return concat(t, name, 4, b1, b5, b3, bp);
}

/* mixed3: 35 x 35 -> 17 x 17. */
static int
reduce_a(struct v3_net *t, int x)
{
	int b3, bd, bp;

	b3 = conv_bn(t, x, 384, 3, 3, 2, NN_VALID);
	bd = conv_chain(t, x, 2, (const int[][3]){ { 64, 1, 1 }, { 96, 3, 3 } });
	bd = conv_bn(t, bd, 96, 3, 3, 2, NN_VALID);
	bp = pool(t, V3_MAXPOOL, x, 2, NN_VALID);
	return concat(t, "mixed3", 3, b3, bd, bp, -1);
}

/* mixed4..mixed7: 17 x 17 with factorised 7 x 7 convolutions. */
static int
block_b(struct v3_net *t, int x, int c7, const char *name)
{
	int b1, b7, bd, bp;

	b1 = conv_chain(t, x, 1, (const int[][3]){ { 192, 1, 1 } });
	b7 = conv_chain(t, x, 3, (const int[][3]){ { c7, 1, 1 }, { c7, 1, 7 }, { 192, 7, 1 } });
	bd = conv_chain(t, x, 5, (const int[][3]){ { c7, 1, 1 }, { c7, 7, 1 }, { c7, 1, 7 },
	                                            { c7, 7, 1 }, { 192, 1, 7 } });
	bp = avgpool_branch(t, x, 192);
	return concat(t, name, 4, b1, b7, bd, bp);
}

/* mixed8: 17 x 17 -> 8 x 8. */
static int
reduce_b(struct v3_net *t, int x)
{
	int b3, b7, bp;

	b3 = conv_chain(t, x, 1, (const int[][3]){ { 192, 1, 1 } });
	b3 = conv_bn(t, b3, 320, 3, 3, 2, NN_VALID);
	b7 = conv_chain(t, x, 3, (const int[][3]){ { 192, 1, 1 }, { 192, 1, 7 }, { 192, 7, 1 } });
	b7 = conv_bn(t, b7, 192, 3, 3, 2, NN_VALID);
	bp = pool(t, V3_MAXPOOL, x, 2, NN_VALID);
	return concat(t, "mixed8", 3, b3, b7, bp, -1);
}

/* mixed9, mixed10: 8 x 8 with split 1x3 / 3x1 branches. */
static int
block_c(struct v3_net *t, int x, int i)
{
	char n9[24], n[24];
	int b1, b3, bd, bp;

	snprintf(n9, sizeof n9, "mixed9_%d", i);
	snprintf(n, sizeof n, "mixed%d", 9 + i);
	b1 = conv_chain(t, x, 1, (const int[][3]){ { 320, 1, 1 } });
	b3 = conv_chain(t, x, 1, (const int[][3]){ { 384, 1, 1 } });
	b3 = split_branch(t, b3, n9);
	bd = conv_chain(t, x, 2, (const int[][3]){ { 448, 1, 1 }, { 384, 3, 3 } });
	bd = split_branch(t, bd, NULL);
	bp = avgpool_branch(t, x, 192);
	return concat(t, n, 4, b1, b3, bd, bp);
}

/* Describes the base in Keras' creation order. */
static void
describe(struct v3_net *t)
{
	int x;

	x = v3_add(t, V3_INPUT, "input_1", NULL, 0);
	x = conv_bn(t, x, 32, 3, 3, 2, NN_VALID);
	x = conv_bn(t, x, 32, 3, 3, 1, NN_VALID);
	x = conv_bn(t, x, 64, 3, 3, 1, NN_SAME);
	x = pool(t, V3_MAXPOOL, x, 2, NN_VALID);
	x = conv_bn(t, x, 80, 1, 1, 1, NN_VALID);
	x = conv_bn(t, x, 192, 3, 3, 1, NN_VALID);
	x = pool(t, V3_MAXPOOL, x, 2, NN_VALID);
	x = block_a(t, x, 32, "mixed0");
	x = block_a(t, x, 64, "mixed1");
	x = block_a(t, x, 64, "mixed2");
	x = reduce_a(t, x);
	x = block_b(t, x, 128, "mixed4");
	x = block_b(t, x, 160, "mixed5");
	x = block_b(t, x, 160, "mixed6");
	x = block_b(t, x, 192, "mixed7");
	x = reduce_b(t, x);
	x = block_c(t, x, 0);
	(void)block_c(t, x, 1);
}

/* Depth-first walk from layer i, numbering layers on first visit. */
static void
walk(struct v3_net *t, int i)
{
	int k;

	if (t->visit[i] >= 0)
		return;
	t->visit[i] = t->nvisit++;
	for (k = 0; k < t->l[i].nin; k++)
		walk(t, t->l[i].in[k]);
}

static struct v3_net *v3_sort_net;

static int
keras_cmp(const void *a, const void *b)
{
	const struct v3_net *t = v3_sort_net;
	int i = *(const int *)a, j = *(const int *)b;

	if (t->depth[i] != t->depth[j])
		return t->depth[j] - t->depth[i];
	return t->visit[i] - t->visit[j];
}

/* Fills order[0..n) with Keras' model.layers order. */
static void
keras_order(struct v3_net *t, int *order)
{
	int i, k, in;

	for (i = 0; i < t->n; i++) {
		t->depth[i] = 0;
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
	v3_sort_net = t;
	qsort(order, (size_t)t->n, sizeof *order, keras_cmp);
	v3_sort_net = NULL;
}

/* Adds layer l of the description to m; ids maps description -> model. */
static int
emit(struct nn_model *m, const struct v3_layer *l, const int *ids)
{
	int in[4], k;

	for (k = 0; k < l->nin; k++)
		in[k] = ids[l->in[k]];
	switch (l->type) {
	case V3_CONV:
		return nn_conv2d(m, l->name, in[0], l->filters, l->kh, l->kw,
		                 l->s, l->s, l->pad, 0);
	case V3_BN:
		return nn_batchnorm(m, l->name, in[0], 1e-3f, 0.99f, 0, 1);
	case V3_RELU:
		return nn_relu(m, l->name, in[0]);
	case V3_MAXPOOL:
		return nn_maxpool(m, l->name, in[0], l->kh, l->kw, l->s, l->s, l->pad);
	case V3_AVGPOOL:
		return nn_avgpool(m, l->name, in[0], l->kh, l->kw, l->s, l->s, l->pad);
	case V3_CONCAT:
		return nn_concat(m, l->name, in, l->nin);
	default:
		return -1;
	}
}

struct nn_model *
nn_inception_v3(int h, int w, const struct nn_head *head)
{
	struct v3_net *t;
	struct nn_model *m;
	int order[V3_MAX_LAYERS], ids[V3_MAX_LAYERS];
	int i, x = 0;

	if (h < 75 || w < 75 || (head != NULL && (head->classes < 1 ||
	    head->dense_units < 0 || head->dropout < 0 || head->dropout >= 1)))
		return NULL;
	t = xcalloc(1, sizeof *t);
	describe(t);
	if (t->overflow) {
		warnx("inception_v3: layer table overflow");
		free(t);
		return NULL;
	}
	keras_order(t, order);
	if ((m = nn_model_new("input_1", h, w, 3)) == NULL)
		goto fail;
	ids[0] = 0;
	for (i = 0; i < t->n; i++) {
		if (t->l[order[i]].type == V3_INPUT)
			continue;
		if ((x = ids[order[i]] = emit(m, &t->l[order[i]], ids)) < 0)
			goto fail;
	}
	x = ids[t->n - 1];
	if (head != NULL && kg_head(m, x, head) < 0)
		goto fail;
	free(t);
	return m;
fail:
	if (m != NULL)
		warnx("inception_v3: %s", nn_error(m));
	nn_model_free(m);
	free(t);
	return NULL;
}
