/* preprocess.h — the input preprocessings a model file may name
 * (modelio.h: the model frame's preprocess) and setting them on a model.
 * The model loader (nn_model_load, nn_model_load_into) sets the file's
 * own; a caller sets one only for a model it built itself. */
#ifndef RADPIPE_NN_PREPROCESS_H
#define RADPIPE_NN_PREPROCESS_H

#include "nn/nn.h"

/* scale/offset of a preprocess name for nn_set_preprocess ("rescale",
 * "inception" = "tf"); -1 if unknown or per channel. */
int nn_preprocess_parse(const char *name, float *scale, float *offset);
/* 1 if name is a preprocessing: rescale, inception (= tf), caffe, torch. */
int nn_preprocess_known(const char *name);
/* Sets m's input preprocessing called name: rescale (x/255), inception or
 * tf (x/127.5-1), caffe (RGB->BGR minus the ImageNet BGR means 103.939,
 * 116.779, 123.68), torch (x/255 minus 0.485, 0.456, 0.406, divided by
 * 0.229, 0.224, 0.225); caffe and torch need 3 input channels.  0, or -1
 * (nn_error(m) says why when the name is known). */
int nn_preprocess_set(struct nn_model *m, const char *name);

#endif
