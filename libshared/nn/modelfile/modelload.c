/* modelload.c — loading radpipe model files (see modelio.h for the
 * format): the model frame, then the parameters, optimizer state and train
 * state, each tensor checked against its checksum; the file's input
 * preprocessing is set on the model here, once. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "frame_mp.h"
#include "tensor.h"
#include "nn/modelfile/modelio.h"
#include "nn/modelfile/mlinfo.h"
#include "nn/modelfile/modelio_impl.h"
#include "nn/modelfile/preprocess.h"

#define MIO_MAX_CLASSES 100000
#define MIO_LIST 6              /* names shown per kind of mismatch */

/* --- loading: the model frame ----------------------------------------- */

static int
read_ints(const msgpack_object *o, int *out, int n)
{
	uint32_t i;

	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != (uint32_t)n)
		return -1;
	for (i = 0; i < o->via.array.size; i++) {
		const msgpack_object *e = &o->via.array.ptr[i];

		if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 > 1u << 20)
			return -1;
		out[i] = (int)e->via.u64;
	}
	return 0;
}

static int
read_head(const msgpack_object *h, struct nn_head *head)
{
	int64_t units, classes;
	double dropout;

	if (h == NULL || h->type != MSGPACK_OBJECT_MAP ||
	    mp_int(h, "units", &units) != 1 || mp_num(h, "dropout", &dropout) != 1 ||
	    mp_int(h, "classes", &classes) != 1 || units < 0 || units > 1 << 20 ||
	    classes < 1 || classes > MIO_MAX_CLASSES || !(dropout >= 0 && dropout < 1))
		return -1;
	head->dense_units = (int)units;
	head->dropout = (float)dropout;
	head->classes = (int)classes;
	return 0;
}

static int
read_classes(const msgpack_object *o, struct nn_model_info *info)
{
	uint32_t i, n;

	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > MIO_MAX_CLASSES)
		return -1;
	n = o->via.array.size;
	for (i = 0; i < n; i++)
		if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
			return -1;
	nn_model_info_set_classes(info, NULL, 0);
	free(info->classes);
	info->classes = xcalloc(n > 0 ? n : 1, sizeof *info->classes);
	for (i = 0; i < n; i++)
		info->classes[i] = mp_strdup(&o->via.array.ptr[i]);
	info->nclasses = (int)n;
	return 0;
}

/* Parses the model frame f into info; what is wrong into err. */
static int
parse_model(const struct frame *f, struct nn_model_info *info, char *err, size_t errlen)
{
	const msgpack_object *o = frame_root(f);
	int64_t format;

	if (!frame_is(f, "model")) {
		err_set(err, errlen, "not a radpipe model file (first frame is not a model frame)");
		return -1;
	}
	if (mp_int(o, "format", &format) != 1 || format != NN_MODEL_FORMAT) {
		err_set(err, errlen, "model format %lld is not supported (this radpipe reads %d)",
		       (long long)format, NN_MODEL_FORMAT);
		return -1;
	}
	if (mp_str(o, "arch", info->arch, sizeof info->arch) != 1 ||
	    read_ints(mp_get(o, "input"), info->input, 3) < 0 ||
	    read_head(mp_get(o, "head"), &info->head) < 0 ||
	    mp_str(o, "preprocess", info->preprocess, sizeof info->preprocess) != 1 ||
	    read_classes(mp_get(o, "classes"), info) < 0) {
		err_set(err, errlen, "model frame: arch, input, head, preprocess or classes missing or malformed");
		return -1;
	}
	if (mp_str(o, "radpipe_version", info->version, sizeof info->version) != 1)
		info->version[0] = '\0';
	if (nn_ml_info_parse(o, info->head.classes, &info->ml, err, errlen) < 0)
		return -1;
	info->head.multilabel = info->ml.k > 0;
	return 0;
}

/* Opens path and parses its first frame into info. */
static struct frame_reader *
open_model(const char *path, struct nn_model_info *info, char *err, size_t errlen)
{
	struct frame_reader *r;
	struct frame f;
	char why[256];
	int rc;

	memset(info, 0, sizeof *info);
	if ((r = frame_reader_open(path)) == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((rc = frame_read(r, &f)) <= 0 || parse_model(&f, info, why, sizeof why) < 0) {
		err_set(err, errlen, "%s: %s", path, rc < 0 ? frame_reader_error(r) :
		       rc == 0 ? "empty file" : why);
		frame_reader_close(r);
		nn_model_info_free(info);
		return NULL;
	}
	return r;
}

int
nn_model_info_read(const char *path, struct nn_model_info *info, char *err, size_t errlen)
{
	struct frame_reader *r = open_model(path, info, err, errlen);

	if (r == NULL)
		return -1;
	frame_reader_close(r);
	return 0;
}

/* --- loading: parameters, optimizer, train state --------------------- */

/* Up to MIO_LIST names of one kind of mismatch, and how many there were. */
struct mio_list {
	int n;
	char text[640];
};

struct mio_load {
	const char *path;
	struct nn_model *m;
	struct nn_model_info *info;
	unsigned char *seen;            /* per param: 1 value, 2 m, 4 v, 8 wrong shape */
	struct mio_list missing, extra, shape, other;
	struct mio_list damaged, nonfinite;     /* checksum mismatch, NaN/Inf */
};

static void
list_add(struct mio_list *l, const char *fmt, ...)
{
	size_t n = strlen(l->text);
	va_list ap;

	if (l->n++ >= MIO_LIST || n + 2 >= sizeof l->text)
		return;
	if (n > 0)
		n += snprintf(l->text + n, sizeof l->text - n, ", ");
	va_start(ap, fmt);
	vsnprintf(l->text + n, sizeof l->text - n, fmt, ap);
	va_end(ap);
}

static void
shape_str(char *buf, size_t len, const int64_t *shape, int rank)
{
	size_t n = 0;
	int i;

	n += snprintf(buf, len, "[");
	for (i = 0; i < rank && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%lld", i ? "," : "", (long long)shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
}

/* Checks the tensor of a param/moment frame against its sha256 key (a
 * frame without one is counted in info->unverified) and for NaN/Inf;
 * which: -1 for a param, 0/1 for moment m/v.  0, or -1 after noting it. */
static int
verify_tensor(struct mio_load *L, const struct frame *f, const char *name, int which,
              const struct tensor *t)
{
	char want[80], hex[65], label[160];
	const char *what = which < 0 ? "param" : which ? "moment v of" : "moment m of";

	if (mp_str(frame_root(f), "sha256", want, sizeof want) != 1) {
		L->info->unverified++;
	} else {
		if (which < 0)
			snprintf(label, sizeof label, "%s", name);
		else
			mio_moment_label(label, sizeof label, which, name);
		mio_tensor_digest(label, t, hex);
		if (strcmp(hex, want) != 0) {
			list_add(&L->damaged, "%s %s", what, name);
			return -1;
		}
	}
	if (!mio_all_finite(t->data, t->nbytes / sizeof(float))) {
		list_add(&L->nonfinite, "%s %s", what, name);
		return -1;
	}
	return 0;
}

/* Finds the parameter a param/moment frame names and checks its tensor;
 * returns the parameter index, or -1 after noting the mismatch. */
static int
match_tensor(struct mio_load *L, const struct frame *f, const char *what, int which,
             struct tensor *t)
{
	const struct nn_param *p;
	const msgpack_object *x;
	int64_t ps[4];
	char name[128], why[200] = "", a[96], b[96];
	int i, k, ok;

	if (mp_str(frame_root(f), "name", name, sizeof name) != 1) {
		list_add(&L->other, "frame %llu: %s frame without a name",
		         (unsigned long long)f->index, what);
		return -1;
	}
	x = mp_get(frame_root(f), "x");
	if (x == NULL || tensor_from_object(t, x, why, sizeof why) < 0 || t->dtype != DT_F32) {
		list_add(&L->other, "%s %s: %s", what, name, x == NULL ? "no tensor 'x'" :
		         why[0] != '\0' ? why : "not f32");
		return -1;
	}
	if (verify_tensor(L, f, name, which, t) < 0)
		return -1;
	if ((i = nn_param_find(L->m, name)) < 0) {
		list_add(&L->extra, "%s%s", strcmp(what, "param") ? "moment of " : "", name);
		return -1;
	}
	p = nn_param_at(L->m, i);
	ok = t->rank == p->rank;
	for (k = 0; k < p->rank; k++) {
		ps[k] = p->shape[k];
		ok = ok && t->shape[k] == ps[k];
	}
	if (!ok) {
		shape_str(a, sizeof a, t->shape, t->rank);
		shape_str(b, sizeof b, ps, p->rank);
		list_add(&L->shape, "%s (file %s, model %s)", name, a, b);
		L->seen[i] |= 8;
		return -1;
	}
	return i;
}

static void
load_param(struct mio_load *L, const struct frame *f)
{
	const msgpack_object *tr = mp_get(frame_root(f), "trainable");
	const struct nn_param *p;
	struct tensor t;
	int i;

	if ((i = match_tensor(L, f, "param", -1, &t)) < 0)
		return;
	p = nn_param_at(L->m, i);
	if (L->seen[i] & 1) {
		list_add(&L->other, "%s given twice", p->name);
		return;
	}
	L->seen[i] |= 1;
	memcpy(nn_params_host(L->m) + p->offset, t.data, t.nbytes);
	if (tr != NULL && tr->type == MSGPACK_OBJECT_BOOLEAN && !tr->via.boolean && p->trainable)
		nn_set_trainable(L->m, p->layer, 0);
}

static void
load_moment(struct mio_load *L, const struct frame *f)
{
	const struct nn_param *p;
	struct tensor t;
	char which[4] = "";
	float *dst;
	int i, k;

	if (!L->info->has_optim) {
		list_add(&L->other, "moment frame before the optim frame");
		return;
	}
	if (mp_str(frame_root(f), "which", which, sizeof which) != 1 ||
	    (strcmp(which, "m") != 0 && strcmp(which, "v") != 0)) {
		list_add(&L->other, "frame %llu: moment \"which\" is not m or v",
		         (unsigned long long)f->index);
		return;
	}
	k = which[0] == 'v';
	if ((i = match_tensor(L, f, "moment", k, &t)) < 0)
		return;
	p = nn_param_at(L->m, i);
	if ((dst = nn_moments_host(L->m, k)) == NULL) {
		list_add(&L->other, "the model has no optimizer moments");
		return;
	}
	L->seen[i] |= 2 << k;
	memcpy(dst + p->offset, t.data, t.nbytes);
}

static void
load_optim(struct mio_load *L, const struct frame *f)
{
	struct nn_optim *o = &L->info->optim;
	const msgpack_object *r = frame_root(f), *nest;
	char type[16] = "";
	double v[6] = { 0 };
	int64_t step = -1;

	mp_str(r, "type", type, sizeof type);
	if ((strcmp(type, "adam") != 0 && strcmp(type, "sgd") != 0) ||
	    mp_int(r, "step", &step) != 1 || step < 0 || mp_num(r, "lr", &v[0]) != 1) {
		list_add(&L->other, "optim frame: type, step or lr missing or malformed");
		return;
	}
	mp_num(r, "beta1", &v[1]);
	mp_num(r, "beta2", &v[2]);
	mp_num(r, "eps", &v[3]);
	mp_num(r, "momentum", &v[4]);
	mp_num(r, "l2", &v[5]);
	nest = mp_get(r, "nesterov");
	memset(o, 0, sizeof *o);
	o->type = type[0] == 'a' ? NN_ADAM : NN_SGD;
	o->lr = (float)v[0];
	o->beta1 = (float)v[1];
	o->beta2 = (float)v[2];
	o->eps = (float)v[3];
	o->momentum = (float)v[4];
	o->l2 = (float)v[5];
	o->nesterov = nest != NULL && nest->type == MSGPACK_OBJECT_BOOLEAN && nest->via.boolean;
	L->info->has_optim = 1;
	L->info->step = step;
	nn_set_step_count(L->m, step);
}

/* Keeps a copy of the train_state frame; info->train_state points into it. */
static void
load_train_state(struct mio_load *L, const struct frame *f)
{
	struct nn_model_info *info = L->info;
	const msgpack_object *st;
	msgpack_object root;
	size_t off = 0;

	if (info->has_train_state) {
		list_add(&L->other, "two train_state frames");
		return;
	}
	info->ts_raw = xmalloc(f->len);
	memcpy(info->ts_raw, f->raw, f->len);
	if ((info->ts_zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE)) == NULL) {
		list_add(&L->other, "train_state frame: out of memory");
		return;
	}
	if (msgpack_unpack(info->ts_raw, f->len, &off, info->ts_zone, &root) != MSGPACK_UNPACK_SUCCESS ||
	    (st = mp_get(&root, "state")) == NULL) {
		list_add(&L->other, "train_state frame without a state");
		return;
	}
	info->train_state = mp_fv(st);
	info->has_train_state = 1;
}

/* Lists the parameters (and moments) the file did not give. */
static void
find_missing(struct mio_load *L)
{
	const struct nn_param *p;
	int i, want;

	for (i = 0; i < nn_param_count(L->m); i++) {
		p = nn_param_at(L->m, i);
		if (!(L->seen[i] & 9))
			list_add(&L->missing, "%s", p->name);
		if (!L->info->has_optim || !p->trainable)
			continue;
		want = L->info->optim.type == NN_ADAM ? 6 : 2;
		if ((L->seen[i] & want) != want)
			list_add(&L->missing, "moment of %s", p->name);
	}
}

/* One message for every mismatch found; 0 if there was none. */
static int
report(struct mio_load *L, char *err, size_t errlen)
{
	const struct { const char *what; struct mio_list *l; } k[4] = {
		{ "missing", &L->missing }, { "extra", &L->extra },
		{ "wrong shape", &L->shape }, { "bad", &L->other },
	};
	size_t n;
	int i;

	if (L->damaged.n > 0) {
		err_set(err, errlen, "%s: checksum mismatch in %s%s (the file is damaged or was "
		       "changed after it was written)", L->path, L->damaged.text,
		       L->damaged.n > MIO_LIST ? ", ..." : "");
		return -1;
	}
	if (L->nonfinite.n > 0) {
		err_set(err, errlen, "%s: %s%s hold%s non-finite values (NaN or Inf)", L->path,
		       L->nonfinite.text, L->nonfinite.n > MIO_LIST ? ", ..." : "",
		       L->nonfinite.n > 1 ? "" : "s");
		return -1;
	}
	if (L->missing.n + L->extra.n + L->shape.n + L->other.n == 0)
		return 0;
	n = (size_t)snprintf(err, errlen, "%s: does not match the model", L->path);
	for (i = 0; i < 4 && n < errlen; i++) {
		if (k[i].l->n == 0)
			continue;
		n += (size_t)snprintf(err + n, errlen - n, "; %s (%d): %s%s", k[i].what,
		                      k[i].l->n, k[i].l->text, k[i].l->n > MIO_LIST ? ", ..." : "");
	}
	return -1;
}

/* Reads the frames after the model frame into L->m. */
static int
load_frames(struct mio_load *L, struct frame_reader *r, char *err, size_t errlen)
{
	struct frame f;
	int rc;

	if (nn_param_count(L->m) > 0 && nn_params_host(L->m) == NULL) {
		err_set(err, errlen, "%s: the model has no host parameters", L->path);
		return -1;
	}
	L->seen = xcalloc((size_t)nn_param_count(L->m) + 1, 1);
	while ((rc = frame_read(r, &f)) == 1) {
		if (frame_is(&f, "param"))
			load_param(L, &f);
		else if (frame_is(&f, "optim"))
			load_optim(L, &f);
		else if (frame_is(&f, "moment"))
			load_moment(L, &f);
		else if (frame_is(&f, "train_state"))
			load_train_state(L, &f);
		else if (frame_is(&f, "model"))
			list_add(&L->other, "a second model frame (frame %llu)",
			         (unsigned long long)f.index);
	}
	if (rc < 0) {
		err_set(err, errlen, "%s: %s", L->path, frame_reader_error(r));
		return -1;
	}
	find_missing(L);
	return report(L, err, errlen);
}

/* Reads the frames after r's model frame into m, then sets the file's
 * preprocessing on m; closes r, and frees info on failure. */
static int
load_open_model(const char *path, struct frame_reader *r, struct nn_model *m,
                struct nn_model_info *info, char *err, size_t errlen)
{
	struct mio_load L;
	int rc;

	memset(&L, 0, sizeof L);
	L.path = path;
	L.m = m;
	L.info = info;
	rc = load_frames(&L, r, err, errlen);
	free(L.seen);
	frame_reader_close(r);
	if (rc == 0 && nn_preprocess_set(m, info->preprocess) < 0) {
		err_set(err, errlen, "%s: preprocessing '%s': %s", path, info->preprocess,
		    nn_preprocess_known(info->preprocess) ? nn_error(m) : "unknown");
		rc = -1;
	}
	if (rc < 0)
		nn_model_info_free(info);
	return rc;
}

int
nn_model_load_into(const char *path, struct nn_model *m, struct nn_model_info *info,
                   char *err, size_t errlen)
{
	struct frame_reader *r = open_model(path, info, err, errlen);

	if (r == NULL)
		return -1;
	return load_open_model(path, r, m, info, err, errlen);
}

struct nn_model *
nn_model_load(const char *path, struct nn_model_info *info, char *err, size_t errlen)
{
	struct frame_reader *r = open_model(path, info, err, errlen);
	struct nn_model *m;

	if (r == NULL)
		return NULL;
	m = nn_arch_build(info->arch, info->input[0], info->input[1], info->input[2], &info->head);
	if (m == NULL) {
		err_set(err, errlen, "%s: cannot build architecture \"%s\" for %dx%dx%d input",
		       path, info->arch, info->input[0], info->input[1], info->input[2]);
		frame_reader_close(r);
		nn_model_info_free(info);
		return NULL;
	}
	if (load_open_model(path, r, m, info, err, errlen) < 0) {
		nn_model_free(m);
		return NULL;
	}
	return m;
}

void
nn_model_note_unverified(const char *path, const struct nn_model_info *info)
{
	if (info->unverified > 0)
		warnx("%s: %d tensors have no checksum (a file from before radpipe stored them): "
		    "not verified", path, info->unverified);
}
