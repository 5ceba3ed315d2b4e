/* h5keras.h — reading Keras HDF5 weight files (the legacy format that
 * Keras 1/2 save_weights and model.save write), through libhdf5.
 *
 * Layout read: root (or its "model_weights" group, for whole-model files)
 * has the attribute layer_names (strings, one per layer, in Keras' layer
 * order); each layer group has weight_names (strings; an empty array for
 * layers without weights); weight w of layer L is the dataset L/w, for
 * example "conv2d_1/conv2d_1/kernel:0", read as float32 whatever its stored
 * floating-point type.
 *
 * Ownership: h5k_open returns a directory the caller releases with
 * h5k_close; every pointer it hands out lives until then.  No libhdf5 error
 * stack is ever printed: failures come back as one-line messages in err.
 */
#ifndef RADPIPE_NN_H5KERAS_H
#define RADPIPE_NN_H5KERAS_H

#include <stddef.h>
#include <stdint.h>

#define H5K_MAX_RANK 8

struct h5k_weight {
	char *name;                     /* weight_names entry, "conv2d_1/kernel:0" */
	int rank;
	int64_t shape[H5K_MAX_RANK];
	size_t count;                   /* element count */
};

struct h5k_layer {
	char *name;                     /* layer_names entry */
	int nweights;
	struct h5k_weight *w;           /* nweights entries */
};

struct h5k_file {
	char *path;
	char keras_version[32];         /* "" when the attribute is absent */
	char backend[32];
	int nlayers;
	struct h5k_layer *layers;       /* in layer_names order */
	size_t nparams;                 /* total elements over all weights */
	int64_t fid;                    /* hid_t of the open file */
	int64_t root;                   /* hid_t of the group holding the layers */
};

/* Seconds (plus 1 s per 8 MiB of file) a child process may take to read a
 * whole weights file before h5k_open refuses it (libhdf5 loops on some
 * corrupt files). */
#define H5K_PROBE_SECONDS 10

/* Opens a Keras weights file and reads its whole layer/weight directory
 * (names and shapes, not values).  NULL with a one-line reason in err for a
 * missing, non-HDF5, truncated or non-Keras file, and for one that makes
 * libhdf5 crash or loop: the file is first read whole in a child process
 * (see h5k_set_isolation). */
struct h5k_file *h5k_open(const char *path, char *err, size_t errlen);
/* on = 0: h5k_open reads in this process only (fuzzing); default 1. */
void h5k_set_isolation(int on);
/* Closes f and frees its directory (NULL is a no-op). */
void h5k_close(struct h5k_file *f);
/* Index of the layer called name, or -1. */
int h5k_layer_find(const struct h5k_file *f, const char *name);
/* The weight called name of layer (its weight_names entry), or NULL. */
const struct h5k_weight *h5k_weight_find(const struct h5k_layer *l, const char *name);
/* Reads weight w of layer l as w->count float32 values into dst.  Returns 0,
 * or -1 with a reason in err (unreadable data, non-float type). */
int h5k_read(struct h5k_file *f, const struct h5k_layer *l, const struct h5k_weight *w,
             float *dst, char *err, size_t errlen);
struct nn_model;

/* Places every weight of f on the parameter of m with the same name, read
 * into m's host copy (nn_params_host).  Layers of m from the head on
 * (global_average_pooling2d_1 and after) that f does not list keep their
 * values.  Returns the number of weights placed, or -1 with err naming
 * every missing, extra or wrongly shaped weight (m is then partly filled). */
int h5k_place(struct h5k_file *f, struct nn_model *m, char *err, size_t errlen);
/* h5k_open(path) + h5k_place into m + h5k_close. */
int h5k_import_model(const char *path, struct nn_model *m, char *err, size_t errlen);
/* "[3,3,3,32]" style shape text of w into buf; returns buf. */
char *h5k_shape_str(const struct h5k_weight *w, char *buf, size_t len);

#endif
