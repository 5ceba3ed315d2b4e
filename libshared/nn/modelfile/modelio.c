/* modelio.c — radpipe model files (see modelio.h for the format): the
 * model description, the tensor checksums and saving; loading is in
 * modelload.c, the preprocessing names in preprocess.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame_mp.h"
#include "sha256.h"
#include "tensor.h"
#include "nn/modelfile/modelio.h"
#include "nn/modelfile/mlinfo.h"
#include "nn/modelfile/modelio_impl.h"

#ifndef RADPIPE_VERSION
#define RADPIPE_VERSION "0.0.0"
#endif

void
nn_model_info_set_classes(struct nn_model_info *info, char *const *names, int n)
{
	int i;

	for (i = 0; i < info->nclasses; i++)
		free(info->classes[i]);
	free(info->classes);
	info->classes = xcalloc(n > 0 ? (size_t)n : 1, sizeof *info->classes);
	for (i = 0; i < n; i++)
		info->classes[i] = xstrdup(names[i]);
	info->nclasses = n;
}

void
nn_model_info_free(struct nn_model_info *info)
{
	nn_model_info_set_classes(info, NULL, 0);
	free(info->classes);
	nn_ml_info_free(&info->ml);
	if (info->ts_zone != NULL)
		msgpack_zone_free(info->ts_zone);
	free(info->ts_raw);
	memset(info, 0, sizeof *info);
}

/* --- checksums and finite values ------------------------------------- */

/* The sha256 key of a param or moment frame: SHA-256, as hex, of
 * label NUL dims NUL data, where label is the parameter name (for a moment
 * frame "m:" or "v:" before it), dims the shape in decimal joined by commas
 * and data the bytes of the tensor (radpipe-stream(5)). */
void
mio_tensor_digest(const char *label, const struct tensor *t, char hex[65])
{
	size_t n = strlen(label) + 1, cap = n + (size_t)t->rank * 22 + 1 + t->nbytes;
	char *buf = xmalloc(cap);
	int i;

	memcpy(buf, label, n);
	for (i = 0; i < t->rank; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "," : "", (long long)t->shape[i]);
	buf[n++] = '\0';
	memcpy(buf + n, t->data, t->nbytes);
	sha256_hex(buf, n + t->nbytes, hex);
	free(buf);
}

void
mio_moment_label(char *buf, size_t len, int which, const char *name)
{
	snprintf(buf, len, "%c:%s", which ? 'v' : 'm', name);
}

/* 1 if the n floats at x (which may be unaligned) are all finite. */
int
mio_all_finite(const void *x, size_t n)
{
	float v;

	for (size_t i = 0; i < n; i++) {
		memcpy(&v, (const char *)x + i * sizeof v, sizeof v);
		if (!isfinite(v))
			return 0;
	}
	return 1;
}

int
nn_model_check_finite(struct nn_model *m, int with_moments, char *err, size_t errlen)
{
	float *base[3] = { nn_params_host(m), NULL, NULL };
	static const char *const what[3] = { "", "the Adam/SGD moment m of ", "the Adam moment v of " };

	if (with_moments)
		base[1] = nn_moments_host(m, 0), base[2] = nn_moments_host(m, 1);
	for (int k = 0; k < 3; k++) {
		if (base[k] == NULL)
			continue;
		for (int i = 0; i < nn_param_count(m); i++) {
			const struct nn_param *p = nn_param_at(m, i);
			if (k > 0 && !p->trainable)
				continue;
			if (!mio_all_finite(base[k] + p->offset, p->size)) {
				err_set(err, errlen, "%sparameter %s holds non-finite values (NaN or Inf)",
				       what[k], p->name);
				return -1;
			}
		}
	}
	return 0;
}

/* --- saving ------------------------------------------------------------ */

static void
pack_shape(struct frame_writer *w, const int *shape, int rank)
{
	msgpack_packer *pk = frame_packer(w);
	int i;

	msgpack_pack_array(pk, (size_t)rank);
	for (i = 0; i < rank; i++)
		msgpack_pack_int64(pk, shape[i]);
}

static void
write_model_frame(struct frame_writer *w, const struct nn_model_info *info)
{
	msgpack_packer *pk = frame_packer(w);
	int i;

	fw_map(w, 8 + (size_t)nn_ml_info_keys(&info->ml));
	fw_kv_str(w, "kind", "model");
	fw_kv_int(w, "format", NN_MODEL_FORMAT);
	fw_kv_str(w, "arch", info->arch);
	fw_str(w, "input");
	pack_shape(w, info->input, 3);
	fw_str(w, "head");
	fw_map(w, 3);
	fw_kv_int(w, "units", info->head.dense_units);
	fw_kv_double(w, "dropout", info->head.dropout);
	fw_kv_int(w, "classes", info->head.classes);
	fw_kv_str(w, "preprocess", info->preprocess);
	fw_str(w, "classes");
	msgpack_pack_array(pk, (size_t)info->nclasses);
	for (i = 0; i < info->nclasses; i++)
		fw_str(w, info->classes[i]);
	fw_kv_str(w, "radpipe_version", RADPIPE_VERSION);
	nn_ml_info_write(w, &info->ml);
}

/* The f32 tensor view of n floats of parameter p. */
static struct tensor
param_tensor(const struct nn_param *p, float *base)
{
	struct tensor t;
	int i;

	memset(&t, 0, sizeof t);
	t.dtype = DT_F32;
	t.rank = p->rank;
	for (i = 0; i < p->rank; i++)
		t.shape[i] = p->shape[i];
	t.data = base + p->offset;
	t.nbytes = p->size * sizeof(float);
	return t;
}

/* 1 if p is trained: a trainable parameter of a trainable layer. */
static int
param_trained(const struct nn_model *m, const struct nn_param *p)
{
	return p->trainable && nn_layer_at(m, p->layer)->trainable;
}

static void
write_params(struct frame_writer *w, struct nn_model *m)
{
	float *host = nn_params_host(m);
	const struct nn_param *p;
	struct tensor t;
	char hex[65];
	int i;

	for (i = 0; i < nn_param_count(m); i++) {
		p = nn_param_at(m, i);
		t = param_tensor(p, host);
		mio_tensor_digest(p->name, &t, hex);
		fw_map(w, 6);
		fw_kv_str(w, "kind", "param");
		fw_kv_str(w, "name", p->name);
		fw_str(w, "shape");
		pack_shape(w, p->shape, p->rank);
		fw_kv_bool(w, "trainable", param_trained(m, p));
		fw_kv_tensor(w, "x", &t);
		fw_kv_str(w, "sha256", hex);
	}
}

static void
write_optim(struct frame_writer *w, struct nn_model *m, const struct nn_optim *o)
{
	static const char *const which[2] = { "m", "v" };
	const struct nn_param *p;
	struct tensor t;
	float *mom;
	char hex[65], label[160];
	int k, i;

	fw_map(w, 10);
	fw_kv_str(w, "kind", "optim");
	fw_kv_str(w, "type", o->type == NN_ADAM ? "adam" : "sgd");
	fw_kv_int(w, "step", nn_step_count(m));
	fw_kv_double(w, "lr", o->lr);
	fw_kv_double(w, "beta1", o->beta1);
	fw_kv_double(w, "beta2", o->beta2);
	fw_kv_double(w, "eps", o->eps);
	fw_kv_double(w, "momentum", o->momentum);
	fw_kv_bool(w, "nesterov", o->nesterov);
	fw_kv_double(w, "l2", o->l2);
	for (k = 0; k < (o->type == NN_ADAM ? 2 : 1); k++) {
		mom = nn_moments_host(m, k);
		for (i = 0; i < nn_param_count(m); i++) {
			p = nn_param_at(m, i);
			if (!p->trainable)
				continue;
			t = param_tensor(p, mom);
			mio_moment_label(label, sizeof label, k, p->name);
			mio_tensor_digest(label, &t, hex);
			fw_map(w, 5);
			fw_kv_str(w, "kind", "moment");
			fw_kv_str(w, "which", which[k]);
			fw_kv_str(w, "name", p->name);
			fw_kv_tensor(w, "x", &t);
			fw_kv_str(w, "sha256", hex);
		}
	}
}

int
nn_model_save(const char *path, struct nn_model *m, const struct nn_model_info *info,
              int with_optimizer, const struct fval *train_state,
              char *err, size_t errlen)
{
	struct frame_writer *w;

	char why[300];

	if (nn_param_count(m) > 0 && nn_params_host(m) == NULL) {
		err_set(err, errlen, "%s: the model has no host parameters", path);
		return -1;
	}
	if (nn_model_check_finite(m, with_optimizer, why, sizeof why) < 0) {
		err_set(err, errlen, "%s: not written: %s", path, why);
		return -1;
	}
	if ((w = frame_writer_open(path)) == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	write_model_frame(w, info);
	write_params(w, m);
	if (with_optimizer)
		write_optim(w, m, &info->optim);
	if (train_state != NULL) {
		fw_map(w, 2);
		fw_kv_str(w, "kind", "train_state");
		fw_kv_object(w, "state", fv_mp(train_state));
	}
	return frame_writer_commit(w, err, errlen);
}

