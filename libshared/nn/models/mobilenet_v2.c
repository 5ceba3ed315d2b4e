/* mobilenet_v2.c — Keras' MobileNetV2(alpha=1.0, include_top=False) layer
 * for layer, with the names of Keras' applications/mobilenet_v2.py
 * (keras-applications 1.0.x and tf.keras alike: Conv1, bn_Conv1,
 * Conv1_relu, expanded_conv_depthwise ..., block_1_expand, block_1_pad,
 * ..., block_16_project_BN, Conv_1, Conv_1_bn, out_relu), the names of the
 * notop file Keras downloads
 * (mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5).
 * No biases; BN epsilon 1e-3, momentum 0.999; ReLU6; before each stride-2
 * depthwise convolution Keras' correct_pad: zero padding (0, 1) on an even
 * side, (1, 1) on an odd one, then a 'valid' convolution.
 * 2,257,984 parameters (34,112 of them moving statistics).
 */
#include <stdio.h>

#include "nn/models/kgraph.h"
#include "nn/nn.h"

#define MB_EPS 1e-3f
#define MB_MOM 0.999f

static int
bn(struct kg_net *t, const char *p, const char *suffix, int x)
{
	char n[48];

	snprintf(n, sizeof n, "%s%s", p, suffix);
	return kg_bn(t, n, x, MB_EPS, MB_MOM, 1);
}

static int
relu6(struct kg_net *t, const char *p, const char *suffix, int x)
{
	char n[48];

	snprintf(n, sizeof n, "%s%s", p, suffix);
	return kg_relu(t, n, x, 6.0f);
}

/* Keras' _inverted_res_block (alpha 1: pointwise filters = filters, all
 * multiples of 8). */
static int
inverted_res_block(struct kg_net *t, int in, int expansion, int stride, int filters, int id)
{
	const struct kg_layer *l = kg_at(t, in);
	int cin = l->c, x = in;
	char p[24], n[48];

	if (id) {
		snprintf(p, sizeof p, "block_%d_", id);
		snprintf(n, sizeof n, "%sexpand", p);
		x = kg_conv(t, n, x, expansion * cin, 1, 1, NN_SAME, 0);
		x = relu6(t, p, "expand_relu", bn(t, p, "expand_BN", x));
	} else
		snprintf(p, sizeof p, "expanded_conv_");
	if (stride == 2) {
		l = kg_at(t, x);
		snprintf(n, sizeof n, "%spad", p);
		x = kg_zeropad(t, n, x, l->h % 2, 1, l->w % 2, 1);
	}
	snprintf(n, sizeof n, "%sdepthwise", p);
	x = kg_dwconv(t, n, x, 3, stride, stride == 1 ? NN_SAME : NN_VALID, 0);
	x = relu6(t, p, "depthwise_relu", bn(t, p, "depthwise_BN", x));
	snprintf(n, sizeof n, "%sproject", p);
	x = kg_conv(t, n, x, filters, 1, 1, NN_SAME, 0);
	x = bn(t, p, "project_BN", x);
	if (cin == filters && stride == 1) {
		snprintf(n, sizeof n, "%sadd", p);
		x = kg_add(t, n, in, x);
	}
	return x;
}

void
kg_mobilenet_v2(struct kg_net *t)
{
	/* { filters, stride, expansion } of blocks 0..16 */
	static const int b[17][3] = {
		{ 16, 1, 1 }, { 24, 2, 6 }, { 24, 1, 6 }, { 32, 2, 6 }, { 32, 1, 6 },
		{ 32, 1, 6 }, { 64, 2, 6 }, { 64, 1, 6 }, { 64, 1, 6 }, { 64, 1, 6 },
		{ 96, 1, 6 }, { 96, 1, 6 }, { 96, 1, 6 }, { 160, 2, 6 }, { 160, 1, 6 },
		{ 160, 1, 6 }, { 320, 1, 6 }
	};
	int x, i;

	x = kg_conv(t, "Conv1", 0, 32, 3, 2, NN_SAME, 0);
	x = relu6(t, "Conv1", "_relu", bn(t, "bn_Conv1", "", x));
	for (i = 0; i < 17; i++)
		x = inverted_res_block(t, x, b[i][2], b[i][1], b[i][0], i);
	x = kg_conv(t, "Conv_1", x, 1280, 1, 1, NN_VALID, 0);
	(void)relu6(t, "out_relu", "", bn(t, "Conv_1_bn", "", x));
}

struct nn_model *
nn_mobilenet_v2(int h, int w, const struct nn_head *head)
{
	return kg_make("mobilenet_v2", h, w, kg_mobilenet_v2, head);
}
