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

/* The description (kgraph.h) and the counters of Keras' automatic names. */
enum v3_type { V3_CONV, V3_BN, V3_RELU, V3_MAXPOOL, V3_AVGPOOL, V3_CONCAT, V3_NTYPES };

struct v3_net {
	struct kg_net *t;
	int count[V3_NTYPES];
};

static const char *const v3_prefix[V3_NTYPES] = {
	"conv2d", "batch_normalization", "activation",
	"max_pooling2d", "average_pooling2d", "concatenate"
};

/* Keras' automatic name of the next layer of type into buf (explicit
 * names do not advance the counters). */
static const char *
auto_name(struct v3_net *t, enum v3_type type, char *buf, size_t len)
{
	snprintf(buf, len, "%s_%d", v3_prefix[type], ++t->count[type]);
	return buf;
}

/* Keras' conv2d_bn: Conv2D (no bias) -> BatchNormalization(scale=False)
 * -> Activation('relu'); returns the activation. */
static int
conv_bn(struct v3_net *t, int x, int filters, int kh, int kw, int s, enum nn_padding pad)
{
	char name[48];

	x = kg_conv2(t->t, auto_name(t, V3_CONV, name, sizeof name), x, filters, kh, kw, s, pad, 0);
	x = kg_bn(t->t, auto_name(t, V3_BN, name, sizeof name), x, 1e-3f, 0.99f, 0);
	return kg_relu(t->t, auto_name(t, V3_RELU, name, sizeof name), x, 0);
}

/* A 3 x 3 pool (type V3_MAXPOOL or V3_AVGPOOL) of stride s. */
static int
pool(struct v3_net *t, enum v3_type type, int x, int s, enum nn_padding pad)
{
	char name[48];

	return kg_pool(t->t, type == V3_MAXPOOL ? KG_MAXPOOL : KG_AVGPOOL,
	    auto_name(t, type, name, sizeof name), x, 3, s, pad);
}

/* Concatenates the first n of a, b, c, d along channels. */
static int
concat(struct v3_net *t, const char *name, int n, int a, int b, int c, int d)
{
	int in[4] = { a, b, c, d };
	char auto_[48];

	return kg_concat(t->t, name ? name : auto_name(t, V3_CONCAT, auto_, sizeof auto_), in, n);
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
	int x = 0;      /* input_1 */

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

struct nn_model *
nn_inception_v3(int h, int w, const struct nn_head *head)
{
	struct v3_net t = { 0 };
	struct nn_model *m;
	char err[200];

	if (h < 75 || w < 75 || (head != NULL && (head->classes < 1 ||
	    head->dense_units < 0 || head->dropout < 0 || head->dropout >= 1)))
		return NULL;
	if ((t.t = kg_new(h, w, 3)) == NULL)
		return NULL;
	describe(&t);
	if ((m = kg_build(t.t, head, err, sizeof err)) == NULL)
		warnx("inception_v3: %s", err);
	kg_free(t.t);
	return m;
}
