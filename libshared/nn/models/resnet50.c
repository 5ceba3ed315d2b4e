/* resnet50.c — Keras' ResNet50(include_top=False) layer for layer, with
 * the names of tf.keras' applications/resnet.py (Keras 2.2.5+ / TF 2.x:
 * conv1_pad, conv1_conv, conv1_bn, conv1_relu, pool1_pad, pool1_pool,
 * conv2_block1_0_conv ... conv5_block3_out), the names of the notop file
 * Keras downloads (resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5).
 * Every convolution has a bias; BN epsilon 1.001e-5, momentum 0.99; the
 * stride of a stack's first block is in its 1x1 convolutions (ResNet v1).
 * 23,587,712 parameters (53,120 of them moving statistics).
 */
#include <stdio.h>

#include "nn/models/kgraph.h"
#include "nn/nn.h"

#define RN_EPS 1.001e-5f

/* Conv (bias) -> BN named <p>_conv, <p>_bn. */
static int
conv_bn(struct kg_net *t, const char *p, int x, int filters, int k, int s, enum nn_padding pad)
{
	char n[48];

	snprintf(n, sizeof n, "%s_conv", p);
	x = kg_conv(t, n, x, filters, k, s, pad, 1);
	snprintf(n, sizeof n, "%s_bn", p);
	return kg_bn(t, n, x, RN_EPS, 0.99f, 1);
}

static int
relu(struct kg_net *t, const char *p, const char *suffix, int x)
{
	char n[48];

	snprintf(n, sizeof n, "%s_%s", p, suffix);
	return kg_relu(t, n, x, 0);
}

/* Keras' block1: a bottleneck residual block named name. */
static int
block1(struct kg_net *t, int x, int filters, int stride, int conv_shortcut, const char *name)
{
	char p[40];
	int sc = x;

	if (conv_shortcut) {
		snprintf(p, sizeof p, "%s_0", name);
		sc = conv_bn(t, p, x, 4 * filters, 1, stride, NN_VALID);
	}
	snprintf(p, sizeof p, "%s_1", name);
	x = relu(t, p, "relu", conv_bn(t, p, x, filters, 1, stride, NN_VALID));
	snprintf(p, sizeof p, "%s_2", name);
	x = relu(t, p, "relu", conv_bn(t, p, x, filters, 3, 1, NN_SAME));
	snprintf(p, sizeof p, "%s_3", name);
	x = conv_bn(t, p, x, 4 * filters, 1, 1, NN_VALID);
	snprintf(p, sizeof p, "%s_add", name);
	x = kg_add(t, p, sc, x);
	return relu(t, name, "out", x);
}

/* Keras' stack1: blocks blocks, the first with a convolution shortcut. */
static int
stack1(struct kg_net *t, int x, int filters, int blocks, int stride1, const char *name)
{
	char n[32];

	for (int i = 1; i <= blocks; i++) {
		snprintf(n, sizeof n, "%s_block%d", name, i);
		x = block1(t, x, filters, i == 1 ? stride1 : 1, i == 1, n);
	}
	return x;
}

void
kg_resnet50(struct kg_net *t)
{
	int x;

	x = kg_zeropad(t, "conv1_pad", 0, 3, 3, 3, 3);
	x = kg_conv(t, "conv1_conv", x, 64, 7, 2, NN_VALID, 1);
	x = kg_bn(t, "conv1_bn", x, RN_EPS, 0.99f, 1);
	x = kg_relu(t, "conv1_relu", x, 0);
	x = kg_zeropad(t, "pool1_pad", x, 1, 1, 1, 1);
	x = kg_pool(t, KG_MAXPOOL, "pool1_pool", x, 3, 2, NN_VALID);
	x = stack1(t, x, 64, 3, 1, "conv2");
	x = stack1(t, x, 128, 4, 2, "conv3");
	x = stack1(t, x, 256, 6, 2, "conv4");
	(void)stack1(t, x, 512, 3, 2, "conv5");
}

struct nn_model *
nn_resnet50(int h, int w, const struct nn_head *head)
{
	return kg_make("resnet50", h, w, kg_resnet50, head);
}
