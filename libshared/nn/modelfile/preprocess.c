/* preprocess.c — the input preprocessing a model file names (modelio.h:
 * preprocess), as the engine's scale/offset maps (nn_set_preprocess,
 * nn_set_preprocess_ch). */
#include <string.h>

#include "nn/modelfile/preprocess.h"

int
nn_preprocess_parse(const char *name, float *scale, float *offset)
{
	if (strcmp(name, "rescale") == 0) {
		*scale = 1.0f / 255.0f;
		*offset = 0.0f;
	} else if (strcmp(name, "inception") == 0 || strcmp(name, "tf") == 0) {
		*scale = 1.0f / 127.5f;
		*offset = -1.0f;
	} else
		return -1;
	return 0;
}

int
nn_preprocess_known(const char *name)
{
	float s, o;

	return nn_preprocess_parse(name, &s, &o) == 0 || strcmp(name, "caffe") == 0 ||
	       strcmp(name, "torch") == 0;
}

/* Keras' imagenet_utils.preprocess_input: "caffe" RGB -> BGR, minus the
 * ImageNet BGR means (input 0..255); "torch" x/255, minus the RGB means,
 * divided by the RGB standard deviations. */
int
nn_preprocess_set(struct nn_model *m, const char *name)
{
	static const int bgr[3] = { 2, 1, 0 };
	static const float one[3] = { 1, 1, 1 };
	static const float caffe_mean[3] = { -103.939f, -116.779f, -123.68f };
	static const double mean[3] = { 0.485, 0.456, 0.406 }, sd[3] = { 0.229, 0.224, 0.225 };
	float scale, offset, ts[3], to[3];

	if (nn_preprocess_parse(name, &scale, &offset) == 0) {
		nn_set_preprocess(m, scale, offset);
		return 0;
	}
	if (strcmp(name, "caffe") == 0)
		return nn_set_preprocess_ch(m, 3, bgr, one, caffe_mean);
	if (strcmp(name, "torch") == 0) {
		for (int k = 0; k < 3; k++) {
			ts[k] = (float)(1 / (255 * sd[k]));
			to[k] = (float)(-mean[k] / sd[k]);
		}
		return nn_set_preprocess_ch(m, 3, NULL, ts, to);
	}
	return -1;
}
