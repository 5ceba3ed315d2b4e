/* models.c — the small test CNN and building an architecture by name. */
#include <stdio.h>
#include <string.h>

#include "nn/nn.h"

/* Keras-style automatic layer names: "<kind>_<count>". */
struct names {
	int conv, bn, act, maxp, avgp, cat, gap, dense, drop;
	char buf[64];
};

static const char *
name(struct names *k, const char *kind, int *counter)
{
	snprintf(k->buf, sizeof k->buf, "%s_%d", kind, ++*counter);
	return k->buf;
}

/* Conv2D -> BatchNormalization -> ReLU, the InceptionV3 unit (no bias,
 * BN without gamma) unless affine: conv bias and BN gamma/beta. */
static int
conv_bn(struct nn_model *m, struct names *k, int in, int filters, int kh, int kw,
        int s, enum nn_padding pad, int affine)
{
	in = nn_conv2d(m, name(k, "conv2d", &k->conv), in, filters, kh, kw, s, s, pad, affine);
	if (in >= 0)
		in = nn_batchnorm(m, name(k, "batch_normalization", &k->bn), in, 1e-3f,
		                  0.99f, affine, 1);
	if (in >= 0)
		in = nn_relu(m, name(k, "activation", &k->act), in);
	return in;
}

/* GAP -> [Dense units relu -> Dropout] -> Dense classes (sigmoid/softmax;
 * multilabel: classes sigmoids). */
static int
head(struct nn_model *m, struct names *k, int in, const struct nn_head *h)
{
	int classes = h->classes > 1 ? h->classes : 1;

	in = nn_gap(m, name(k, "global_average_pooling2d", &k->gap), in);
	if (in >= 0 && h->dense_units > 0) {
		in = nn_dense(m, name(k, "dense", &k->dense), in, h->dense_units, 1, NN_ACT_RELU);
		if (in >= 0 && h->dropout > 0)
			in = nn_dropout(m, name(k, "dropout", &k->drop), in, h->dropout);
	}
	if (in >= 0)
		in = nn_dense(m, name(k, "dense", &k->dense), in, classes, 1,
		              classes == 1 || h->multilabel ? NN_ACT_SIGMOID : NN_ACT_SOFTMAX);
	return in;
}

/* Stem conv 3x3/8 -> maxpool 2x2 -> a three-branch block (1x1; 3x3;
 * avgpool 3x3 'same' -> 1x1) concatenated -> conv 3x3 stride 2 'valid'
 * with bias and an affine BN -> head.  Needs h, w >= 6. */
struct nn_model *
nn_small_cnn(int h, int w, int c, const struct nn_head *hd)
{
	struct nn_model *m;
	struct names k = { 0 };
	int x, b[3];

	if (h < 6 || w < 6 || hd == NULL || (m = nn_model_new("input_1", h, w, c)) == NULL)
		return NULL;
	x = conv_bn(m, &k, 0, 8, 3, 3, 1, NN_SAME, 0);
	if (x >= 0)
		x = nn_maxpool(m, name(&k, "max_pooling2d", &k.maxp), x, 2, 2, 2, 2, NN_VALID);
	if (x >= 0) {
		b[0] = conv_bn(m, &k, x, 8, 1, 1, 1, NN_SAME, 0);
		b[1] = conv_bn(m, &k, x, 8, 3, 3, 1, NN_SAME, 0);
		b[2] = nn_avgpool(m, name(&k, "average_pooling2d", &k.avgp), x, 3, 3, 1, 1, NN_SAME);
		if (b[2] >= 0)
			b[2] = conv_bn(m, &k, b[2], 4, 1, 1, 1, NN_SAME, 0);
		x = b[0] < 0 || b[1] < 0 || b[2] < 0 ? -1 :
		    nn_concat(m, name(&k, "concatenate", &k.cat), b, 3);
	}
	if (x >= 0)
		x = conv_bn(m, &k, x, 16, 3, 3, 2, NN_VALID, 1);
	if (x >= 0)
		x = head(m, &k, x, hd);
	if (x < 0) {
		nn_model_free(m);
		return NULL;
	}
	return m;
}

static const struct {
	const char *name, *preprocess;
} archs[] = {
	{ "inception_v3", "inception" }, { "resnet50", "caffe" },
	{ "densenet121", "torch" }, { "mobilenet_v2", "tf" }, { "small_cnn", "rescale" },
};
#define NARCH (sizeof archs / sizeof archs[0])

const char *const *
nn_arch_names(void)
{
	static const char *names[NARCH + 1];

	for (size_t i = 0; i < NARCH; i++)
		names[i] = archs[i].name;
	return names;
}

int
nn_arch_known(const char *arch)
{
	return nn_arch_preprocess(arch) != NULL;
}

const char *
nn_arch_preprocess(const char *arch)
{
	for (size_t i = 0; i < NARCH; i++)
		if (strcmp(arch, archs[i].name) == 0)
			return archs[i].preprocess;
	return NULL;
}

struct nn_model *
nn_arch_build(const char *arch, int h, int w, int c, const struct nn_head *head)
{
	if (strcmp(arch, "small_cnn") == 0)
		return nn_small_cnn(h, w, c, head);
	if (c != 3)
		return NULL;
	if (strcmp(arch, "inception_v3") == 0)
		return nn_inception_v3(h, w, head);
	if (strcmp(arch, "resnet50") == 0)
		return nn_resnet50(h, w, head);
	if (strcmp(arch, "densenet121") == 0)
		return nn_densenet121(h, w, head);
	if (strcmp(arch, "mobilenet_v2") == 0)
		return nn_mobilenet_v2(h, w, head);
	return NULL;
}
