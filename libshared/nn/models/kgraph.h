/* kgraph.h — private to models/: a Keras functional graph described in the
 * order Keras creates its layers, then built in the order of Keras'
 * model.layers (what the layer_names attribute of a weights file lists):
 * layers sorted by decreasing depth (longest path to the output), ties
 * broken by the order of a depth-first walk from the output that visits
 * inputs in order (tf.keras 2.15 functional.py, as keras 2.2.4's
 * network.py).  The description tracks each layer's output shape, so a
 * builder can ask for it (MobileNetV2's correct_pad).
 *
 * Errors: a kg_* call that cannot add its layer (a shape that vanishes, a
 * full table) sets t->bad with a message and returns layer 0; every later
 * call is then a no-op and kg_build returns NULL with that message.
 */
#ifndef RADPIPE_NN_KGRAPH_H
#define RADPIPE_NN_KGRAPH_H

#include <stddef.h>

#include "nn/nn.h"

#define KG_MAX_IN 4

enum kg_type {
	KG_INPUT, KG_CONV, KG_DWCONV, KG_BN, KG_RELU, KG_MAXPOOL, KG_AVGPOOL,
	KG_CONCAT, KG_ADD, KG_ZEROPAD
};

struct kg_layer {
	char name[48];
	enum kg_type type;
	int nin, in[KG_MAX_IN];
	int filters, kh, kw, s, bias;   /* conv, dwconv, pools (s: stride) */
	enum nn_padding pad;
	int pt, pb, pl, pr;             /* zero padding */
	float eps, momentum, cap;       /* BN; ReLU ceiling (0: none) */
	int scale;                      /* BN has gamma */
	int h, w, c;                    /* output shape */
};

struct kg_net {
	struct kg_layer *l;
	int n, cap;
	int *depth, *visit;             /* kg_build's scratch */
	int nvisit;
	int bad;
	char err[160];
};

/* A new description whose layer 0 is the input "input_1" (h x w x c);
 * NULL when out of memory.  Free with kg_free. */
struct kg_net *kg_new(int h, int w, int c);
/* Frees t (NULL is a no-op). */
void kg_free(struct kg_net *t);

/* Layers, each appended with the given name; return its index. */
int kg_conv(struct kg_net *t, const char *name, int x, int filters, int k, int s,
            enum nn_padding pad, int bias);
/* kg_conv with a kh x kw kernel (InceptionV3's 1 x 7, 7 x 1, ...). */
int kg_conv2(struct kg_net *t, const char *name, int x, int filters, int kh, int kw, int s,
             enum nn_padding pad, int bias);
int kg_dwconv(struct kg_net *t, const char *name, int x, int k, int s,
              enum nn_padding pad, int bias);
int kg_bn(struct kg_net *t, const char *name, int x, float eps, float momentum, int scale);
/* ReLU, with a ceiling cap when cap > 0 (Keras ReLU(6.0)). */
int kg_relu(struct kg_net *t, const char *name, int x, float cap);
/* type KG_MAXPOOL or KG_AVGPOOL, k x k window, stride s. */
int kg_pool(struct kg_net *t, enum kg_type type, const char *name, int x, int k, int s,
            enum nn_padding pad);
int kg_concat(struct kg_net *t, const char *name, const int *in, int nin);
int kg_add(struct kg_net *t, const char *name, int a, int b);
int kg_zeropad(struct kg_net *t, const char *name, int x, int pt, int pb, int pl, int pr);
/* Layer i's output shape (t->l[i].h, w, c). */
const struct kg_layer *kg_at(const struct kg_net *t, int i);

/* Builds the model: the description in Keras' model.layers order (the
 * output is the last layer described), then, when head is not NULL, the
 * head as nn_inception_v3's (GAP -> [Dense relu -> Dropout] -> Dense).
 * NULL with the reason in err when a layer cannot be built. */
struct nn_model *kg_build(struct kg_net *t, const struct nn_head *head, char *err, size_t errlen);

/* The whole build of architecture name (for messages) at h x w x 3:
 * describe fills a kg_new'd description, kg_build makes the model.  NULL
 * below 32 x 32 (Keras' smallest) or when a layer cannot be built (said
 * on stderr). */
struct nn_model *kg_make(const char *name, int h, int w, void (*describe)(struct kg_net *),
                         const struct nn_head *head);

/* Keras' order of the description: order[0..t->n) (for tests). */
void kg_order(struct kg_net *t, int *order);

/* Keras' parameter count of the description (weights of every layer,
 * moving statistics included): an independent check of a builder. */
long long kg_param_count(const struct kg_net *t);

/* The bases, described into t (a kg_new of h x w x 3): resnet50.c,
 * densenet121.c, mobilenet_v2.c. */
void kg_resnet50(struct kg_net *t);
void kg_densenet121(struct kg_net *t);
void kg_mobilenet_v2(struct kg_net *t);

/* The head of every architecture (InceptionV3 too) on top of layer x of m:
 * GAP -> [Dense relu -> Dropout] -> Dense (sigmoid for one class or
 * multilabel, softmax otherwise), Keras' names; -1 on failure. */
int kg_head(struct nn_model *m, int x, const struct nn_head *h);

#endif
