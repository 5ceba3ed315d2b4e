/* fval.c — values inside decoded frames: the fv_* accessors of frame.h and
 * the mp_* lookups of frame_mp.h.  Depends on nothing but tensor.c. */
#include "frame_mp.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ msgpack */

int
mp_str_eq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	    memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *
mp_get(const msgpack_object *map, const char *key)
{
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (mp_str_eq(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

/* o as an integer: 0, or -1. */
static int
obj_int(const msgpack_object *o, int64_t *out)
{
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*out = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = o->via.i64;
	else
		return -1;
	return 0;
}

/* o as a number: 0, or -1. */
static int
obj_num(const msgpack_object *o, double *out)
{
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 0;
	default: return -1;
	}
}

/* String o copied into buf: 0, or -1 if o is not a string. */
static int
obj_str(const msgpack_object *o, char *buf, size_t len)
{
	size_t n;

	if (o->type != MSGPACK_OBJECT_STR || len == 0)
		return -1;
	n = o->via.str.size < len - 1 ? o->via.str.size : len - 1;
	memcpy(buf, o->via.str.ptr, n);
	buf[n] = '\0';
	return 0;
}

int
mp_int(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *o = mp_get(map, key);

	return o == NULL ? 0 : obj_int(o, out) < 0 ? -1 : 1;
}

int
mp_num(const msgpack_object *map, const char *key, double *out)
{
	const msgpack_object *o = mp_get(map, key);

	return o == NULL ? 0 : obj_num(o, out) < 0 ? -1 : 1;
}

int
mp_str(const msgpack_object *map, const char *key, char *buf, size_t len)
{
	const msgpack_object *o = mp_get(map, key);

	return o == NULL ? 0 : obj_str(o, buf, len) < 0 ? -1 : 1;
}

char *
mp_strdup(const msgpack_object *o)
{
	char *s;

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return xstrdup("");
	s = xmalloc((size_t)o->via.str.size + 1);
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	return s;
}

/* --------------------------------------------------------------- fval */

enum fval_type
fv_type(const struct fval *v)
{
	if (v == NULL)
		return FV_NIL;
	switch (v->o.type) {
	case MSGPACK_OBJECT_NIL: return FV_NIL;
	case MSGPACK_OBJECT_BOOLEAN: return FV_BOOL;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return FV_INT;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return FV_FLOAT;
	case MSGPACK_OBJECT_STR: return FV_STR;
	case MSGPACK_OBJECT_BIN: return FV_BIN;
	case MSGPACK_OBJECT_EXT: return FV_EXT;
	case MSGPACK_OBJECT_ARRAY: return FV_ARRAY;
	case MSGPACK_OBJECT_MAP: return FV_MAP;
	default: return FV_NIL;
	}
}

const struct fval *
fv_get(const struct fval *v, const char *key)
{
	return mp_fv(mp_get(fv_mp(v), key));
}

int fv_int(const struct fval *v, const char *key, int64_t *out) { return mp_int(fv_mp(v), key, out); }
int fv_num(const struct fval *v, const char *key, double *out) { return mp_num(fv_mp(v), key, out); }

int
fv_str(const struct fval *v, const char *key, char *buf, size_t len)
{
	return mp_str(fv_mp(v), key, buf, len);
}

int fv_to_int(const struct fval *v, int64_t *out) { return v ? obj_int(&v->o, out) : -1; }
int fv_to_num(const struct fval *v, double *out) { return v ? obj_num(&v->o, out) : -1; }

int
fv_to_uint(const struct fval *v, uint64_t *out)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*out = v->o.via.u64;
	return 0;
}

double
fv_number(const struct fval *v)
{
	double d;

	return fv_to_num(v, &d) == 0 ? d : NAN;
}

int
fv_to_bool(const struct fval *v, int *out)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	*out = v->o.via.boolean;
	return 0;
}

const char *
fv_strp(const struct fval *v, size_t *len)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_STR)
		return NULL;
	*len = v->o.via.str.size;
	return v->o.via.str.ptr;
}

const void *
fv_bin(const struct fval *v, size_t *len)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_BIN)
		return NULL;
	*len = v->o.via.bin.size;
	return v->o.via.bin.ptr;
}

const void *
fv_ext(const struct fval *v, int *type, size_t *len)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_EXT)
		return NULL;
	*type = v->o.via.ext.type;
	*len = v->o.via.ext.size;
	return v->o.via.ext.ptr;
}

char *fv_strdup(const struct fval *v) { return mp_strdup(fv_mp(v)); }
int fv_str_eq(const struct fval *v, const char *s) { return v && mp_str_eq(&v->o, s); }

size_t
fv_len(const struct fval *v)
{
	if (v && v->o.type == MSGPACK_OBJECT_ARRAY)
		return v->o.via.array.size;
	if (v && v->o.type == MSGPACK_OBJECT_MAP)
		return v->o.via.map.size;
	return 0;
}

const struct fval *
fv_at(const struct fval *v, size_t i)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_ARRAY || i >= v->o.via.array.size)
		return NULL;
	return mp_fv(&v->o.via.array.ptr[i]);
}

const struct fval *
fv_key_at(const struct fval *v, size_t i)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_MAP || i >= v->o.via.map.size)
		return NULL;
	return mp_fv(&v->o.via.map.ptr[i].key);
}

const struct fval *
fv_val_at(const struct fval *v, size_t i)
{
	if (v == NULL || v->o.type != MSGPACK_OBJECT_MAP || i >= v->o.via.map.size)
		return NULL;
	return mp_fv(&v->o.via.map.ptr[i].val);
}

int
fv_tensor(const struct fval *v, struct tensor *t, char *err, size_t errlen)
{
	if (v == NULL) {
		snprintf(err, errlen, "no tensor");
		return -1;
	}
	return tensor_from_object(t, &v->o, err, errlen);
}
