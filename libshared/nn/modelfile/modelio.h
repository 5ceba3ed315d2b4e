/* modelio.h — saving and loading radpipe model files.
 *
 * A model file is a radpipe stream (radpipe-stream(5)); its frames, in order:
 *
 *   model        {kind:"model", format:1, arch:"inception_v3", input:[h,w,c],
 *                 head:{units, dropout, classes}, preprocess:"rescale"|"inception"|"tf"|"caffe"|"torch",
 *                 classes:[names], radpipe_version; multi-label models also
 *                 task:"multilabel", target_names, trained, positives, negatives}
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
#include "nn/modelfile/preprocess.h"

#define NN_MODEL_FORMAT 1

/* A multi-label model's targets (mlinfo.c); k = 0: another task. */
struct nn_ml_info {
	int k;                          /* outputs = targets */
	char **names;                   /* k target names */
	long long *pos, *neg;           /* per target: known 1 / 0 entries trained on
	                                 * (over every epoch); trained = pos + neg > 0 */
};

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
	struct nn_ml_info ml;           /* task "multilabel": its targets */
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
 * and the step count and moments when the file has them, and sets the
 * file's input preprocessing (nn_preprocess_set); info gets the
 * description.  Returns the model (caller frees) or NULL with err.  Values
 * are in the host copies: nn_model_plan, then nn_params_upload and
 * nn_moments_upload. */
struct nn_model *nn_model_load(const char *path, struct nn_model_info *info,
                               char *err, size_t errlen);

/* Loads path's parameters into m, built by the caller, and sets the file's
 * input preprocessing on m (a caller that wants another sets it after).
 * Every name and shape must match: err names what is missing, extra or of
 * the wrong shape.
 * A layer whose trainable parameters were saved as not trainable is frozen. */
int nn_model_load_into(const char *path, struct nn_model *m, struct nn_model_info *info,
                       char *err, size_t errlen);

/* Frees what a load put into info and clears it (info itself is the caller's). */
void nn_model_info_free(struct nn_model_info *info);

/* Sets info->classes to a copy of the n names (replacing any). */
void nn_model_info_set_classes(struct nn_model_info *info, char *const *names, int n);

/* Sets ml to k targets called names, counts 0 (replacing what it held). */
void nn_ml_info_set(struct nn_ml_info *ml, char *const *names, int k);
/* Frees what ml holds and clears it. */
void nn_ml_info_free(struct nn_ml_info *ml);
/* The number of model-frame keys nn_ml_info_write adds (0 or 5). */
int nn_ml_info_keys(const struct nn_ml_info *ml);
/* Writes task, target_names, trained, positives, negatives (nothing when
 * ml->k is 0) into the model frame being written to w. */
void nn_ml_info_write(struct frame_writer *w, const struct nn_ml_info *ml);

#endif
