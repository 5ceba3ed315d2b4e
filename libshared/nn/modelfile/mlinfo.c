/* mlinfo.c — the multi-label fields of a model frame (radpipe-stream(5)):
 * task, target_names, trained, positives, negatives.  Called by modelio.c. */
#include "nn/modelfile/mlinfo.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
nn_ml_info_set(struct nn_ml_info *ml, char *const *names, int k)
{
	nn_ml_info_free(ml);
	ml->k = k;
	ml->names = XNEW(char *, k > 0 ? (size_t)k : 1);
	ml->pos = xcalloc(k > 0 ? (size_t)k : 1, sizeof *ml->pos);
	ml->neg = xcalloc(k > 0 ? (size_t)k : 1, sizeof *ml->neg);
	for (int i = 0; i < k; i++)
		ml->names[i] = xstrdup(names[i]);
}

void
nn_ml_info_free(struct nn_ml_info *ml)
{
	for (int i = 0; i < ml->k; i++)
		free(ml->names[i]);
	free(ml->names);
	free(ml->pos);
	free(ml->neg);
	memset(ml, 0, sizeof *ml);
}

int
nn_ml_info_keys(const struct nn_ml_info *ml)
{
	return ml->k > 0 ? 5 : 0;
}

static void
pack_counts(struct frame_writer *w, const char *key, const long long *v, int k)
{
	msgpack_packer *pk = frame_packer(w);

	fw_str(w, key);
	msgpack_pack_array(pk, (size_t)k);
	for (int i = 0; i < k; i++)
		msgpack_pack_int64(pk, v[i]);
}

void
nn_ml_info_write(struct frame_writer *w, const struct nn_ml_info *ml)
{
	msgpack_packer *pk = frame_packer(w);

	if (ml->k == 0)
		return;
	fw_kv_str(w, "task", "multilabel");
	fw_str(w, "target_names");
	msgpack_pack_array(pk, (size_t)ml->k);
	for (int i = 0; i < ml->k; i++)
		fw_str(w, ml->names[i]);
	fw_str(w, "trained");
	msgpack_pack_array(pk, (size_t)ml->k);
	for (int i = 0; i < ml->k; i++)
		ml->pos[i] + ml->neg[i] > 0 ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	pack_counts(w, "positives", ml->pos, ml->k);
	pack_counts(w, "negatives", ml->neg, ml->k);
}

/* Reads counts key of o (k non-negative integers); absent: zeros. */
static int
read_counts(const msgpack_object *o, const char *key, long long *v, int k)
{
	const msgpack_object *a = mp_get(o, key);

	if (a == NULL)
		return 0;
	if (a->type != MSGPACK_OBJECT_ARRAY || (int)a->via.array.size != k)
		return -1;
	for (int i = 0; i < k; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 > (1ull << 62))
			return -1;
		v[i] = (long long)e->via.u64;
	}
	return 0;
}

int
nn_ml_info_parse(const msgpack_object *o, int classes, struct nn_ml_info *ml, char *err,
    size_t errlen)
{
	const msgpack_object *task = mp_get(o, "task"), *nm = mp_get(o, "target_names");
	const msgpack_object *tr = mp_get(o, "trained");

	memset(ml, 0, sizeof *ml);
	if (task == NULL || mp_str_eq(task, "binary") || mp_str_eq(task, "multiclass"))
		return 0;
	if (!mp_str_eq(task, "multilabel")) {
		snprintf(err, errlen, "model frame: task is not binary, multiclass or multilabel");
		return -1;
	}
	if (nm == NULL || nm->type != MSGPACK_OBJECT_ARRAY || (int)nm->via.array.size != classes) {
		snprintf(err, errlen, "model frame: a multilabel model needs target_names, one per output (%d)",
		    classes);
		return -1;
	}
	for (int i = 0; i < classes; i++)
		if (nm->via.array.ptr[i].type != MSGPACK_OBJECT_STR) {
			snprintf(err, errlen, "model frame: target_names must be strings");
			return -1;
		}
	ml->k = classes;
	ml->names = XNEW(char *, (size_t)classes);
	for (int i = 0; i < classes; i++)
		ml->names[i] = mp_strdup(&nm->via.array.ptr[i]);
	ml->pos = xcalloc((size_t)classes, sizeof *ml->pos);
	ml->neg = xcalloc((size_t)classes, sizeof *ml->neg);
	if (read_counts(o, "positives", ml->pos, classes) < 0 ||
	    read_counts(o, "negatives", ml->neg, classes) < 0 ||
	    (tr && (tr->type != MSGPACK_OBJECT_ARRAY || (int)tr->via.array.size != classes))) {
		nn_ml_info_free(ml);
		snprintf(err, errlen, "model frame: trained, positives or negatives malformed");
		return -1;
	}
	/* a file with trained but no counts: one known entry for each trained output */
	for (int i = 0; tr && i < classes; i++)
		if (ml->pos[i] + ml->neg[i] == 0 && tr->via.array.ptr[i].type == MSGPACK_OBJECT_BOOLEAN &&
		    tr->via.array.ptr[i].via.boolean)
			ml->pos[i] = 1;
	return 0;
}
