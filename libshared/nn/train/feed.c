/* feed.c — frames to network input. */
#include "nn/train/feed.h"
#include "frame_mp.h"
#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
fail(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -1;
}

static char **
strings(const msgpack_object *o, int n, const char *dflt)
{
	char **v = xcalloc((size_t)n, sizeof *v);

	for (int i = 0; i < n; i++) {
		const msgpack_object *e = NULL;
		if (o && o->type == MSGPACK_OBJECT_ARRAY && (int)o->via.array.size == n)
			e = &o->via.array.ptr[i];
		else if (o && o->type == MSGPACK_OBJECT_STR && n == 1)
			e = o;
		v[i] = e && e->type == MSGPACK_OBJECT_STR ? mp_strdup(e) : xstrdup(dflt);
	}
	return v;
}

/* A label is a class index in [0, 2^24) (exact in a float), or -1 / nil for
 * "unknown"; anything else is refused, never truncated or folded into -1. */
static int
label_value(const msgpack_object *e, float *y, char *err, size_t errlen)
{
	if ((e->type == MSGPACK_OBJECT_POSITIVE_INTEGER && e->via.u64 < (1u << 24)) ||
	    (e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && e->via.i64 == -1) ||
	    e->type == MSGPACK_OBJECT_NIL) {
		*y = e->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (float)e->via.u64 : -1;
		return 0;
	}
	if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		snprintf(err, errlen, "label %llu is out of range (class indices are 0 to 16777215)",
		    (unsigned long long)e->via.u64);
	else if (e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		snprintf(err, errlen, "label %lld is out of range (-1 means unknown; class indices are 0 to 16777215)",
		    (long long)e->via.i64);
	else
		snprintf(err, errlen, "labels must be integers");
	return -1;
}

static int
read_labels(const struct frame *f, struct feed *fb, int batch, char *err, size_t errlen)
{
	const msgpack_object *o = fv_mp(frame_get(f, batch ? "labels" : "label"));

	fb->y = XNEW(float, (size_t)fb->n);
	for (int i = 0; i < fb->n; i++)
		fb->y[i] = -1;
	if (o == NULL)
		return 0;
	if (!batch)
		return label_value(o, fb->y, err, errlen);
	if (o->type != MSGPACK_OBJECT_ARRAY || (int)o->via.array.size != fb->n)
		return fail(err, errlen, "labels must be an array with one integer per image%s", "");
	for (int i = 0; i < fb->n; i++)
		if (label_value(&o->via.array.ptr[i], &fb->y[i], err, errlen) < 0)
			return -1;
	return 0;
}

/* targets and target_names (radpipe-stream(5)): an (n, k) f32 tensor in a
 * batch, an array of k integers in a sample; values 1, 0 or -1. */
static int
read_targets(const struct frame *f, struct feed *fb, int batch, char *err, size_t errlen)
{
	const msgpack_object *o = fv_mp(frame_get(f, "targets"));
	const msgpack_object *nm = fv_mp(frame_get(f, "target_names"));
	struct tensor t;
	int k;

	if (o == NULL)
		return 0;
	if (nm == NULL || nm->type != MSGPACK_OBJECT_ARRAY || nm->via.array.size == 0 ||
	    nm->via.array.size > 100000)
		return fail(err, errlen, "targets without target_names%s", "");
	k = (int)nm->via.array.size;
	fb->t = XNEW(float, (size_t)fb->n * (size_t)k);
	if (batch) {
		if (tensor_from_object(&t, o, err, errlen) < 0)
			return -1;
		if (t.dtype != DT_F32 || t.rank != 2 || t.shape[0] != fb->n || t.shape[1] != k)
			return fail(err, errlen, "targets must be an f32 tensor (images, target_names)%s", "");
		memcpy(fb->t, t.data, t.nbytes);
		tensor_free(&t);
	} else {
		if (o->type != MSGPACK_OBJECT_ARRAY || (int)o->via.array.size != k)
			return fail(err, errlen, "targets must be an array of one value per target name%s", "");
		for (int j = 0; j < k; j++) {
			const msgpack_object *e = &o->via.array.ptr[j];
			fb->t[j] = e->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (float)e->via.u64 :
			           e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (float)e->via.i64 : 2;
		}
	}
	for (size_t i = 0; i < (size_t)fb->n * (size_t)k; i++)
		if (fb->t[i] != 1 && fb->t[i] != 0 && fb->t[i] != -1)
			return fail(err, errlen, "targets must be 1, 0 or -1 (unknown)%s", "");
	fb->tnames = strings(nm, k, "");
	fb->k = k;
	return 0;
}

/* Float images must hold finite pixels: a NaN would reach the network's
 * weights and statistics unseen (ReLU hides it from the loss). */
static int
check_finite(const struct feed *fb, char *err, size_t errlen)
{
	size_t per = (size_t)fb->h * (size_t)fb->w * (size_t)fb->c, n = per * (size_t)fb->n;
	const float *x = fb->x;

	if (fb->dt != NN_IN_F32)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (isfinite(x[i]))
			continue;
		const char *id = fb->ids[i / per];
		char num[32];
		snprintf(num, sizeof num, "image %zu", i / per + 1);
		snprintf(err, errlen, "%s: pixel %zu is %s (float images must be finite)",
		    id[0] ? id : num, i % per, isnan(x[i]) ? "NaN" : "Inf");
		return -1;
	}
	return 0;
}

int
feed_from_frame(const struct frame *f, struct feed *fb, char *err, size_t errlen)
{
	int batch = frame_is(f, "batch");
	const msgpack_object *xo = fv_mp(frame_get(f, "x"));
	struct tensor t;
	int r;

	memset(fb, 0, sizeof *fb);
	if (!batch && !frame_is(f, "sample"))
		return fail(err, errlen, "not a sample or batch frame%s", "");
	if (xo == NULL)
		return fail(err, errlen, "frame has no tensor 'x'%s", "");
	if (tensor_from_object(&t, xo, err, errlen) < 0)
		return -1;
	if (t.rank != (batch ? 4 : 3))
		return fail(err, errlen, "x must be %s", batch ? "NHWC (rank 4)" : "HWC (rank 3)");
	switch (t.dtype) {
	case DT_U8: fb->dt = NN_IN_U8; break;
	case DT_U16: fb->dt = NN_IN_U16; break;
	case DT_F32: fb->dt = NN_IN_F32; break;
	default: return fail(err, errlen, "x has dtype %s; the network reads u8, u16 or f32",
	                     dtype_name(t.dtype));
	}
	tensor_ensure_aligned(&t);
	fb->owned = t.owned;
	fb->x = t.data;
	fb->n = batch ? (int)t.shape[0] : 1;
	fb->h = (int)t.shape[batch];
	fb->w = (int)t.shape[batch + 1];
	fb->c = (int)t.shape[batch + 2];
	r = read_labels(f, fb, batch, err, errlen);
	if (r == 0)
		r = read_targets(f, fb, batch, err, errlen);
	fb->ids = strings(fv_mp(frame_get(f, batch ? "ids" : "id")), fb->n, "");
	fb->classes = strings(fv_mp(frame_get(f, batch ? "classes" : "class")), fb->n, "");
	if (r == 0)
		r = check_finite(fb, err, errlen);
	if (r < 0)
		feed_free(fb);
	return r;
}

static size_t
elem_size(enum nn_dtype_in dt)
{
	return dt == NN_IN_U8 ? 1 : dt == NN_IN_U16 ? 2 : 4;
}

static size_t
image_bytes(const struct feed *fb)
{
	return (size_t)fb->h * (size_t)fb->w * (size_t)fb->c * elem_size(fb->dt);
}

void
feed_own(struct feed *fb)
{
	size_t n = image_bytes(fb) * (size_t)fb->n;
	void *p;

	if (fb->owned)
		return;
	p = xaligned(n);
	memcpy(p, fb->x, n);
	fb->x = fb->owned = p;
}

void
feed_free(struct feed *fb)
{
	for (int i = 0; i < fb->n; i++) {
		if (fb->ids)
			free(fb->ids[i]);
		if (fb->classes)
			free(fb->classes[i]);
	}
	for (int j = 0; fb->tnames && j < fb->k; j++)
		free(fb->tnames[j]);
	free(fb->tnames);
	free(fb->t);
	free(fb->ids);
	free(fb->classes);
	free(fb->y);
	free(fb->owned);
	memset(fb, 0, sizeof *fb);
}

int
feed_check_shape(const struct feed *fb, int h, int w, int c, char *err, size_t errlen)
{
	if (fb->h == h && fb->w == w && fb->c == c)
		return 0;
	snprintf(err, errlen, "%s: image is %dx%dx%d but the model takes %dx%dx%d "
	    "(imgload --size %d%s)", fb->n ? fb->ids[0] : "?", fb->h, fb->w, fb->c, h, w, c, h,
	    c == 3 ? "" : " --channels 1");
	return -1;
}

/* Appends the images of fb to the set, splitting into batches of bs. */
static void
set_append(struct feed_set *s, struct feed *fb, int bs)
{
	size_t ib = image_bytes(fb);

	for (int i = 0; i < fb->n; i++) {
		struct feed *last = s->n ? &s->b[s->n - 1] : NULL;
		if (last == NULL || last->n == bs || last->h != fb->h || last->w != fb->w ||
		    last->c != fb->c || last->dt != fb->dt || last->k != fb->k) {
			s->b = xreallocarray(s->b, (size_t)s->n + 1, sizeof *s->b);
			last = &s->b[s->n++];
			*last = (struct feed){ .h = fb->h, .w = fb->w, .c = fb->c, .dt = fb->dt };
			last->owned = xaligned(ib * (size_t)bs);
			last->x = last->owned;
			last->y = XNEW(float, (size_t)bs);
			last->ids = XNEW(char *, (size_t)bs);
			last->classes = XNEW(char *, (size_t)bs);
			if (fb->k) {
				last->k = fb->k;
				last->t = XNEW(float, (size_t)bs * (size_t)fb->k);
				last->tnames = XNEW(char *, (size_t)fb->k);
				for (int j = 0; j < fb->k; j++)
					last->tnames[j] = xstrdup(fb->tnames[j]);
			}
		}
		if (fb->k)
			memcpy(last->t + (size_t)last->n * (size_t)fb->k, fb->t + (size_t)i * (size_t)fb->k,
			    (size_t)fb->k * sizeof *fb->t);
		memcpy((char *)last->owned + ib * (size_t)last->n, (const char *)fb->x + ib * (size_t)i, ib);
		last->y[last->n] = fb->y[i];
		last->ids[last->n] = xstrdup(fb->ids[i]);
		last->classes[last->n] = xstrdup(fb->classes[i]);
		last->n++;
		s->images++;
	}
}

int
feed_set_load(const char *path, int bs, struct feed_set *s, char *err, size_t errlen)
{
	struct frame_reader *r = frame_reader_open(path);
	struct frame f;
	int st;

	memset(s, 0, sizeof *s);
	if (r == NULL)
		return fail(err, errlen, "%s", strerror(errno));
	while ((st = frame_read(r, &f)) > 0) {
		struct feed fb;
		if (!frame_is(&f, "sample") && !frame_is(&f, "batch"))
			continue;
		if (feed_from_frame(&f, &fb, err, errlen) < 0) {
			feed_free(&fb);
			frame_reader_close(r);
			return -1;
		}
		set_append(s, &fb, bs);
		feed_free(&fb);
	}
	if (st < 0)
		snprintf(err, errlen, "%s", frame_reader_error(r));
	frame_reader_close(r);
	return st < 0 ? -1 : 0;
}

void
feed_set_free(struct feed_set *s)
{
	for (int i = 0; i < s->n; i++)
		feed_free(&s->b[i]);
	free(s->b);
	memset(s, 0, sizeof *s);
}
