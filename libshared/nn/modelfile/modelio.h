/* modelio.h — saving and loading radpipe model files.
 *
 * A model file is a radpipe stream (radpipe-stream(5)); its frames, in order:
 *
 *   model        {kind:"model", format:1, arch:"inception_v3", input:[h,w,c],
 *                 head:{units, dropout, classes}, preprocess:"rescale"|"inception",
 *                 classes:[names], radpipe_version}
 *   param        one per parameter, in the model's order:
 *                {kind:"param", name:"conv2d_1/kernel:0", shape:[Keras shape],
 *                 trainable:bool, x: f32 tensor of that shape,
 *                 sha256: hex SHA-256 of name NUL dims NUL data, dims the
 *                 shape in decimal joined by commas}
 *   optim        optional: {kind:"optim", type:"adam"|"sgd", step, lr, beta1,
 *                 beta2, eps, momentum, nesterov, l2}
 *   moment       after optim, one per trainable parameter and moment:
 *                {kind:"moment", which:"m"|"v", name, x, sha256} (SGD: "m"
 *                only; sha256 as for param, of which ":" name)
 *   train_state  optional, last: {kind:"train_state", state: any msgpack
 *                value the trainer wants back (epoch, RNG state, stream
 *                position, history...)}; radpipe does not interpret it.
 *
 * Frames of other kinds are skipped on load, so a file may carry more.
 * Load refuses a tensor whose sha256 differs or that holds NaN/Inf; frames
 * without sha256 (files written before it) load, counted in unverified.
 * Save refuses a model whose parameters (or moments) are not all finite.
 * Ownership: an nn_model_info filled by a load owns its class names and
 * train state; release them with nn_model_info_free.  Functions returning
 * int return 0 on success and -1 with a one-line reason in err.
 */
#ifndef RADPIPE_NN_MODELIO_H
#define RADPIPE_NN_MODELIO_H

#include <stddef.h>
#include <stdint.h>
#include "frame.h"
#include "nn/nn.h"

#define NN_MODEL_FORMAT 1

struct nn_model_info {
	char arch[32];                  /* "inception_v3", "small_cnn" */
	int input[3];                   /* h, w, c */
	struct nn_head head;
	char preprocess[16];            /* "rescale" (x/255), "inception" = "tf" (x/127.5-1),
	                                   "caffe", "torch" (nn_preprocess_set) */
	int nclasses;
	char **classes;                 /* nclasses names; label i is classes[i] */
	char version[32];               /* load: radpipe_version of the writer */
	/* optimizer: save writes it when asked; load sets has_optim when the
	 * file had it (moments and step count are then restored too) */
	int has_optim;
	struct nn_optim optim;
	int64_t step;
	/* load: the train_state frame's state, or has_train_state = 0 */
	int has_train_state;
	const struct fval *train_state; /* points into ts_zone */
	void *ts_raw;                   /* owned bytes the state points into */
	void *ts_zone;                  /* owned msgpack zone */
	int unverified;                 /* load: param/moment frames without sha256 */
};

/* Writes m to path atomically (temp file + rename).  Saves the host copies:
 * call nn_params_download (and nn_moments_download) first after training.
 * with_optimizer: adds info->optim, the step count and the moments.
 * train_state (may be NULL): written back verbatim as the train_state frame. */
int nn_model_save(const char *path, struct nn_model *m, const struct nn_model_info *info,
                  int with_optimizer, const struct fval *train_state,
                  char *err, size_t errlen);

/* 0 if every parameter of m's host copy (with_moments: and every moment of
 * a trainable one) is finite, else -1 with err naming the first that is not. */
int nn_model_check_finite(struct nn_model *m, int with_moments, char *err, size_t errlen);
/* Says on stderr that path's tensors were not verified, when info (from a
 * load) counts frames without a checksum; else nothing. */
void nn_model_note_unverified(const char *path, const struct nn_model_info *info);

/* Reads only the model frame of path into info (free with nn_model_info_free). */
int nn_model_info_read(const char *path, struct nn_model_info *info, char *err, size_t errlen);

/* Loads path: builds its architecture (nn_arch_build), fills every parameter,
 * and the step count and moments when the file has them; info gets the
 * description.  Returns the model (caller frees) or NULL with err.  Values
 * are in the host copies: nn_model_plan, then nn_params_upload and
 * nn_moments_upload. */
struct nn_model *nn_model_load(const char *path, struct nn_model_info *info,
                               char *err, size_t errlen);

/* Loads path's parameters into m, built by the caller.  Every name and shape
 * must match: err names what is missing, extra or of the wrong shape.
 * A layer whose trainable parameters were saved as not trainable is frozen. */
int nn_model_load_into(const char *path, struct nn_model *m, struct nn_model_info *info,
                       char *err, size_t errlen);

/* Frees what a load put into info and clears it (info itself is the caller's). */
void nn_model_info_free(struct nn_model_info *info);

/* Sets info->classes to a copy of the n names (replacing any). */
void nn_model_info_set_classes(struct nn_model_info *info, char *const *names, int n);

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
