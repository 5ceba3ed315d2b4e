/* tensor.c — typed arrays and their msgpack form. */
#include "frame_mp.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "radpipe streams are little-endian and so far only little-endian hosts are supported"
#endif

static const struct {
	const char *name;
	size_t size;
} dtypes[DT_COUNT] = {
	[DT_U8] = { "u8", 1 },   [DT_U16] = { "u16", 2 },   [DT_I32] = { "i32", 4 },
	[DT_F16] = { "f16", 2 }, [DT_BF16] = { "bf16", 2 }, [DT_F32] = { "f32", 4 },
};

size_t
dtype_size(enum dtype dt)
{
	return dtypes[dt].size;
}

const char *
dtype_name(enum dtype dt)
{
	return dtypes[dt].name;
}

int
dtype_parse(const char *s, size_t len)
{
	for (int i = 0; i < DT_COUNT; i++)
		if (strlen(dtypes[i].name) == len && memcmp(dtypes[i].name, s, len) == 0)
			return i;
	return -1;
}

size_t
tensor_count(const struct tensor *t)
{
	size_t n = 1;

	for (int i = 0; i < t->rank; i++)
		n *= (size_t)t->shape[i];
	return n;
}

void
tensor_alloc(struct tensor *t, enum dtype dt, int rank, const int64_t *shape)
{
	size_t n = 1;

	if (rank < 0 || rank > TENSOR_MAX_RANK)
		die("tensor: rank %d out of range", rank);
	memset(t, 0, sizeof *t);
	t->dtype = dt;
	t->rank = rank;
	for (int i = 0; i < rank; i++) {
		if (shape[i] < 0)
			die("tensor: negative dimension");
		t->shape[i] = shape[i];
		n = xmul(n, (size_t)shape[i], "tensor");
	}
	t->nbytes = xmul(n, dtype_size(dt), "tensor");
	t->owned = t->data = xaligned(t->nbytes);
}

void
tensor_alloc_hwc(struct tensor *t, enum dtype dt, int64_t h, int64_t w, int64_t c)
{
	int64_t shape[3] = { h, w, c };

	tensor_alloc(t, dt, 3, shape);
}

int
tensor_try_alloc_hwc(struct tensor *t, enum dtype dt, int64_t h, int64_t w, int64_t c)
{
	uint64_t n = (uint64_t)h * (uint64_t)w;
	size_t sz;
	void *p = NULL;

	memset(t, 0, sizeof *t);
	if (h < 0 || w < 0 || c < 0 || h > INT32_MAX || w > INT32_MAX || c > INT32_MAX ||
	    (c > 0 && n > SIZE_MAX / 64 / (uint64_t)c / dtype_size(dt)))
		return -1;
	sz = (size_t)n * (size_t)c * dtype_size(dt);
	if (posix_memalign(&p, 64, ((sz + 63) & ~(size_t)63) + (sz == 0) * 64) != 0)
		return -1;
	t->dtype = dt;
	t->rank = 3;
	t->shape[0] = h;
	t->shape[1] = w;
	t->shape[2] = c;
	t->nbytes = sz;
	t->owned = t->data = p;
	return 0;
}

void
tensor_free(struct tensor *t)
{
	free(t->owned);
	memset(t, 0, sizeof *t);
}

void
tensor_ensure_aligned(struct tensor *t)
{
	void *p;

	if (t->owned || ((uintptr_t)t->data % dtype_size(t->dtype)) == 0)
		return;
	p = xaligned(t->nbytes);
	memcpy(p, t->data, t->nbytes);
	t->owned = t->data = p;
}

static int
fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static int
read_shape(struct tensor *t, const msgpack_object *o, char *err, size_t errlen)
{
	size_t n = 1;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return fail(err, errlen, "tensor shape is not an array");
	if (o->via.array.size > TENSOR_MAX_RANK)
		return fail(err, errlen, "tensor rank exceeds 8");
	t->rank = (int)o->via.array.size;
	for (int i = 0; i < t->rank; i++) {
		const msgpack_object *d = &o->via.array.ptr[i];
		if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return fail(err, errlen, "tensor dimension is not a non-negative integer");
		if (d->via.u64 > ((uint64_t)1 << 40))
			return fail(err, errlen, "tensor dimension too large");
		t->shape[i] = (int64_t)d->via.u64;
		if (t->shape[i] != 0 && n > SIZE_MAX / 16 / (size_t)t->shape[i])
			return fail(err, errlen, "tensor shape overflows");
		n *= (size_t)t->shape[i];
	}
	return 0;
}

int
tensor_from_object(struct tensor *t, const msgpack_object *o, char *err, size_t errlen)
{
	const msgpack_object *dt = NULL, *shape = NULL, *data = NULL;
	int d;

	memset(t, 0, sizeof *t);
	if (o->type != MSGPACK_OBJECT_MAP)
		return fail(err, errlen, "tensor is not a map");
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		const msgpack_object *v = &o->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		if (k->via.str.size == 5 && memcmp(k->via.str.ptr, "dtype", 5) == 0)
			dt = v;
		else if (k->via.str.size == 5 && memcmp(k->via.str.ptr, "shape", 5) == 0)
			shape = v;
		else if (k->via.str.size == 4 && memcmp(k->via.str.ptr, "data", 4) == 0)
			data = v;
	}
	if (!dt || !shape || !data)
		return fail(err, errlen, "tensor lacks dtype, shape or data");
	if (dt->type != MSGPACK_OBJECT_STR || (d = dtype_parse(dt->via.str.ptr, dt->via.str.size)) < 0)
		return fail(err, errlen, "tensor has an unknown dtype");
	t->dtype = d;
	if (read_shape(t, shape, err, errlen) < 0)
		return -1;
	if (data->type != MSGPACK_OBJECT_BIN)
		return fail(err, errlen, "tensor data is not bin");
	t->nbytes = tensor_count(t) * dtype_size(t->dtype);
	if (t->nbytes != data->via.bin.size) {
		char tmp[96];
		snprintf(err, errlen, "tensor %s needs %zu bytes but data holds %u",
		    tensor_describe(t, tmp, sizeof tmp), t->nbytes, data->via.bin.size);
		return -1;
	}
	t->data = (void *)data->via.bin.ptr;
	return 0;
}

void
tensor_pack(msgpack_packer *pk, const struct tensor *t)
{
	const char *name = dtype_name(t->dtype);

	msgpack_pack_map(pk, 3);
	msgpack_pack_str_with_body(pk, "dtype", 5);
	msgpack_pack_str_with_body(pk, name, strlen(name));
	msgpack_pack_str_with_body(pk, "shape", 5);
	msgpack_pack_array(pk, (size_t)t->rank);
	for (int i = 0; i < t->rank; i++)
		msgpack_pack_uint64(pk, (uint64_t)t->shape[i]);
	msgpack_pack_str_with_body(pk, "data", 4);
	msgpack_pack_bin(pk, t->nbytes);
	msgpack_pack_bin_body(pk, t->data, t->nbytes);
}

char *
tensor_describe(const struct tensor *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s[", dtype_name(t->dtype));

	for (int i = 0; i < t->rank && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%lld", i ? "," : "", (long long)t->shape[i]);
	if (n < len)
		snprintf(buf + n, len - n, "]");
	return buf;
}
