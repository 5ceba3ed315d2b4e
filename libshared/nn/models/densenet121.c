/* densenet121.c — Keras' DenseNet121(include_top=False) layer for layer,
 * with the names of Keras' applications/densenet.py (keras-applications
 * 1.0.x and tf.keras alike: conv1/conv, conv1/bn, conv1/relu, pool1,
 * conv2_block1_0_bn ... conv2_block1_concat, pool2_bn, pool2_relu,
 * pool2_conv, pool2_pool, ..., bn, relu), the names of the notop file
 * Keras downloads (densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5).
 * The two unnamed ZeroPadding2D layers take tf.keras 2.15's automatic
 * names (zero_padding2d, zero_padding2d_1); they hold no weights.
 * BN (epsilon 1.001e-5, momentum 0.99) -> ReLU -> conv without bias;
 * 7,037,504 parameters (83,648 of them moving statistics).
 */
#include <stdio.h>

#include "nn/models/kgraph.h"
#include "nn/nn.h"

#define DN_EPS 1.001e-5f

/* BN -> ReLU named <p>_bn, <p>_relu (p "" : "bn", "relu"). */
static int
bn_relu(struct kg_net *t, const char *p, int x)
{
	char n[48];

	snprintf(n, sizeof n, "%s%sbn", p, *p ? "_" : "");
	x = kg_bn(t, n, x, DN_EPS, 0.99f, 1);
	snprintf(n, sizeof n, "%s%srelu", p, *p ? "_" : "");
	return kg_relu(t, n, x, 0);
}

/* Keras' conv_block: BN-ReLU-1x1 (4 * growth) -> BN-ReLU-3x3 (growth),
 * concatenated after x. */
static int
conv_block(struct kg_net *t, int x, int growth, const char *name)
{
	char p[40], n[48];
	int x1, in[2];

	snprintf(p, sizeof p, "%s_0", name);
	x1 = bn_relu(t, p, x);
	snprintf(n, sizeof n, "%s_1_conv", name);
	x1 = kg_conv(t, n, x1, 4 * growth, 1, 1, NN_VALID, 0);
	snprintf(p, sizeof p, "%s_1", name);
	x1 = bn_relu(t, p, x1);
	snprintf(n, sizeof n, "%s_2_conv", name);
	x1 = kg_conv(t, n, x1, growth, 3, 1, NN_SAME, 0);
	snprintf(n, sizeof n, "%s_concat", name);
	in[0] = x;
	in[1] = x1;
	return kg_concat(t, n, in, 2);
}

static int
dense_block(struct kg_net *t, int x, int blocks, const char *name)
{
	char n[32];

	for (int i = 1; i <= blocks; i++) {
		snprintf(n, sizeof n, "%s_block%d", name, i);
		x = conv_block(t, x, 32, n);
	}
	return x;
}

/* Keras' transition_block with reduction 0.5. */
static int
transition(struct kg_net *t, int x, const char *name)
{
	char n[48];

	x = bn_relu(t, name, x);
	snprintf(n, sizeof n, "%s_conv", name);
	x = kg_conv(t, n, x, kg_at(t, x)->c / 2, 1, 1, NN_VALID, 0);
	snprintf(n, sizeof n, "%s_pool", name);
	return kg_pool(t, KG_AVGPOOL, n, x, 2, 2, NN_VALID);
}

void
kg_densenet121(struct kg_net *t)
{
	static const int blocks[4] = { 6, 12, 24, 16 };
	char n[16];
	int x, i;

	x = kg_zeropad(t, "zero_padding2d", 0, 3, 3, 3, 3);
	x = kg_conv(t, "conv1/conv", x, 64, 7, 2, NN_VALID, 0);
	x = kg_bn(t, "conv1/bn", x, DN_EPS, 0.99f, 1);
	x = kg_relu(t, "conv1/relu", x, 0);
	x = kg_zeropad(t, "zero_padding2d_1", x, 1, 1, 1, 1);
	x = kg_pool(t, KG_MAXPOOL, "pool1", x, 3, 2, NN_VALID);
	for (i = 0; i < 4; i++) {
		snprintf(n, sizeof n, "conv%d", i + 2);
		x = dense_block(t, x, blocks[i], n);
		if (i < 3) {
			snprintf(n, sizeof n, "pool%d", i + 2);
			x = transition(t, x, n);
		}
	}
	(void)bn_relu(t, "", x);
}

struct nn_model *
nn_densenet121(int h, int w, const struct nn_head *head)
{
	return kg_make("densenet121", h, w, kg_densenet121, head);
}
