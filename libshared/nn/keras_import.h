/* keras_import.h — placing the weights of a Keras HDF5 file into a model.
 */
#ifndef RADPIPE_NN_KERAS_IMPORT_H
#define RADPIPE_NN_KERAS_IMPORT_H

#include <stddef.h>
#include "nn/h5keras.h"
#include "nn/nn.h"

/* Copies every weight of f into the host parameters of m, matching by name
 * and checking shapes.  Parameters of the head (from the global average
 * pooling on) may be absent from the file and keep their values.  Returns
 * the number of weights placed, or -1 with err naming what is missing,
 * extra or of the wrong shape. */
int h5k_import(struct h5k_file *f, struct nn_model *m, char *err, size_t errlen);
/* h5k_open + h5k_import + h5k_close. */
int h5k_import_model(const char *path, struct nn_model *m, char *err, size_t errlen);

#endif
