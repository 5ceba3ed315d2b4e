/* mp.c — looking up values in decoded frames. */
#include "frame.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

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

int
frame_is(const struct frame *f, const char *kind)
{
	size_t n = strlen(kind);

	return f->kind_len == n && memcmp(f->kind, kind, n) == 0;
}

const msgpack_object *
frame_get(const struct frame *f, const char *key)
{
	return mp_get(&f->root, key);
}

int
mp_int(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *o = mp_get(map, key);

	if (o == NULL)
		return 0;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
		*out = (int64_t)o->via.u64;
	else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = o->via.i64;
	else
		return -1;
	return 1;
}

int
mp_num(const msgpack_object *map, const char *key, double *out)
{
	const msgpack_object *o = mp_get(map, key);

	if (o == NULL)
		return 0;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return 1;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return 1;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return 1;
	default: return -1;
	}
}

int
mp_str(const msgpack_object *map, const char *key, char *buf, size_t len)
{
	const msgpack_object *o = mp_get(map, key);
	size_t n;

	if (o == NULL)
		return 0;
	if (o->type != MSGPACK_OBJECT_STR || len == 0)
		return -1;
	n = o->via.str.size < len - 1 ? o->via.str.size : len - 1;
	memcpy(buf, o->via.str.ptr, n);
	buf[n] = '\0';
	return 1;
}

char *
mp_strdup(const msgpack_object *o)
{
	char *s;

	if (o->type != MSGPACK_OBJECT_STR)
		return xstrdup("");
	s = xmalloc((size_t)o->via.str.size + 1);
	memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	return s;
}

int
frame_tensor(const struct frame_reader *r, const struct frame *f, const char *key,
    struct tensor *t)
{
	const msgpack_object *o = frame_get(f, key);
	char err[256];

	if (o == NULL)
		return -1;
	if (tensor_from_object(t, o, err, sizeof err) < 0)
		die("%s: frame %llu (%.*s): %s: %s", r ? frame_reader_name(r) : "stream",
		    (unsigned long long)f->index, (int)f->kind_len, f->kind, key, err);
	return 0;
}

size_t
mp_count_except(const msgpack_object *map, const char *const *skip)
{
	size_t n = 0;

	for (uint32_t i = 0; i < map->via.map.size; i++) {
		int skipped = 0;
		for (int j = 0; skip && skip[j]; j++)
			if (mp_str_eq(&map->via.map.ptr[i].key, skip[j]))
				skipped = 1;
		n += !skipped;
	}
	return n;
}
