/* test_tensor.c — libshared/tensor.c: dtypes, allocation, the wire form
 * {dtype, shape, data} and every check tensor_from_object makes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frame_mp.h"

/* Packs a tensor map with the given parts into sb and unpacks it into obj.
 * dtype NULL: omitted; ndims < 0: shape omitted; shape_float: dims packed
 * as doubles; data_len < 0: data omitted; data_str: data packed as str. */
struct spec {
	const char *dtype;
	int ndims;
	const int64_t *dims;
	int shape_float;
	long data_len;
	int data_str;
};

static int
decode(const struct spec *s, struct tensor *t, char *err, size_t errlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	int n = (s->dtype != NULL) + (s->ndims >= 0) + (s->data_len >= 0), rc;
	static uint8_t zeros[1 << 12];

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, (size_t)n);
	if (s->dtype) {
		msgpack_pack_str_with_body(&pk, "dtype", 5);
		msgpack_pack_str_with_body(&pk, s->dtype, strlen(s->dtype));
	}
	if (s->ndims >= 0) {
		msgpack_pack_str_with_body(&pk, "shape", 5);
		msgpack_pack_array(&pk, (size_t)s->ndims);
		for (int i = 0; i < s->ndims; i++) {
			if (s->shape_float)
				msgpack_pack_double(&pk, (double)s->dims[i]);
			else
				msgpack_pack_int64(&pk, s->dims[i]);
		}
	}
	if (s->data_len >= 0) {
		msgpack_pack_str_with_body(&pk, "data", 4);
		if (s->data_str) {
			msgpack_pack_str_with_body(&pk, (const char *)zeros, (size_t)s->data_len);
		} else {
			msgpack_pack_bin(&pk, (size_t)s->data_len);
			msgpack_pack_bin_body(&pk, zeros, (size_t)s->data_len);
		}
	}
	msgpack_zone_init(&z, 1024);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	err[0] = '\0';
	rc = tensor_from_object(t, &o, err, errlen);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
bad(const struct spec *s, const char *want)
{
	struct tensor t;
	char err[256];

	assert_int_equal(decode(s, &t, err, sizeof err), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, want);
}

/* Names, sizes and parsing of every dtype; unknown names are -1. */
static void
test_dtypes(void **state)
{
	static const char *names[DT_COUNT] = { "u8", "u16", "i32", "f16", "bf16", "f32" };
	static const size_t sizes[DT_COUNT] = { 1, 2, 4, 2, 2, 4 };

	for (int i = 0; i < DT_COUNT; i++) {
		assert_string_equal(dtype_name(i), names[i]);
		assert_int_equal(dtype_size(i), sizes[i]);
		assert_int_equal(dtype_parse(names[i], strlen(names[i])), i);
	}
	assert_int_equal(dtype_parse("u", 1), -1);
	assert_int_equal(dtype_parse("u88", 3), -1);
	assert_int_equal(dtype_parse("f64", 3), -1);
	assert_int_equal(dtype_parse("U8", 2), -1);
	assert_int_equal(dtype_parse("u8", 1), -1);     /* length counts */
}

/* Valid tensors of every dtype decode as views with the right shape and
 * size: scalars (rank 0), empty dims, rank 8. */
static void
test_valid(void **state)
{
	static const char *names[DT_COUNT] = { "u8", "u16", "i32", "f16", "bf16", "f32" };
	static const int64_t d3[3] = { 2, 3, 5 }, d0[2] = { 0, 7 }, d8[8] = { 1, 2, 1, 2, 1, 2, 1, 3 };
	struct tensor t;
	char err[256];

	for (int i = 0; i < DT_COUNT; i++) {
		struct spec s = { names[i], 3, d3, 0, (long)(30 * dtype_size(i)), 0 };
		assert_int_equal(decode(&s, &t, err, sizeof err), 0);
		assert_int_equal(t.dtype, i);
		assert_int_equal(t.rank, 3);
		assert_int_equal(t.shape[2], 5);
		assert_int_equal(tensor_count(&t), 30);
		assert_int_equal(t.nbytes, 30 * dtype_size(i));
		assert_null(t.owned);
	}
	{
		struct spec s = { "f32", 0, NULL, 0, 4, 0 };         /* scalar */
		assert_int_equal(decode(&s, &t, err, sizeof err), 0);
		assert_int_equal(t.rank, 0);
		assert_int_equal(tensor_count(&t), 1);
	}
	{
		struct spec s = { "u16", 2, d0, 0, 0, 0 };           /* empty */
		assert_int_equal(decode(&s, &t, err, sizeof err), 0);
		assert_int_equal(t.nbytes, 0);
	}
	{
		struct spec s = { "u8", 8, d8, 0, 24, 0 };           /* rank 8 */
		assert_int_equal(decode(&s, &t, err, sizeof err), 0);
		assert_int_equal(t.rank, 8);
	}
}

/* Every check of tensor_from_object gives -1 and a reason. */
static void
test_rejected(void **state)
{
	static const int64_t d2[2] = { 2, 2 }, neg[2] = { 2, -1 }, d9[9] = { 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	static const int64_t huge[2] = { (int64_t)1 << 40, (int64_t)1 << 40 };
	static const int64_t toobig[1] = { ((int64_t)1 << 40) + 1 };
	static const int64_t many[4] = { 1 << 16, 1 << 16, 1 << 16, 1 << 16 };

	bad(&(struct spec){ "u7", 2, d2, 0, 4, 0 }, "unknown dtype");
	bad(&(struct spec){ "", 2, d2, 0, 4, 0 }, "unknown dtype");
	bad(&(struct spec){ "u8", 9, d9, 0, 1, 0 }, "rank exceeds 8");
	bad(&(struct spec){ "u8", 2, neg, 0, 0, 0 }, "not a non-negative integer");
	bad(&(struct spec){ "u8", 2, d2, 1, 4, 0 }, "not a non-negative integer");    /* 2.0 */
	bad(&(struct spec){ "u8", 2, huge, 0, 0, 0 }, "overflows");
	bad(&(struct spec){ "u8", 1, toobig, 0, 0, 0 }, "too large");
	bad(&(struct spec){ "u8", 4, many, 0, 0, 0 }, "overflows");                  /* 2^64 */
	bad(&(struct spec){ "u16", 2, d2, 0, 7, 0 }, "needs 8 bytes but data holds 7");
	bad(&(struct spec){ "u16", 2, d2, 0, 9, 0 }, "needs 8 bytes but data holds 9");
	bad(&(struct spec){ "u8", 2, d2, 0, 4, 1 }, "not bin");
	bad(&(struct spec){ NULL, 2, d2, 0, 4, 0 }, "lacks");
	bad(&(struct spec){ "u8", -1, NULL, 0, 4, 0 }, "lacks");
	bad(&(struct spec){ "u8", 2, d2, 0, -1, 0 }, "lacks");
}

/* Objects of the wrong kind where a tensor or its parts should be. */
static void
test_wrong_types(void **state)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
	msgpack_object_kv kv[3];
	msgpack_object dt = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
	msgpack_object sh = { .type = MSGPACK_OBJECT_MAP };
	msgpack_object da = { .type = MSGPACK_OBJECT_BIN };
	struct tensor t;
	char err[256];

	assert_int_equal(tensor_from_object(&t, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a map"));
	kv[0].key = (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { 5, "dtype" } };
	kv[0].val = dt;
	kv[1].key = (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { 5, "shape" } };
	kv[1].val = sh;
	kv[2].key = (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { 4, "data" } };
	kv[2].val = da;
	o = (msgpack_object){ .type = MSGPACK_OBJECT_MAP, .via.map = { 3, kv } };
	assert_int_equal(tensor_from_object(&t, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown dtype"));                /* dtype not a str */
	kv[0].val = (msgpack_object){ .type = MSGPACK_OBJECT_STR, .via.str = { 2, "u8" } };
	assert_int_equal(tensor_from_object(&t, &o, err, sizeof err), -1);
	assert_non_null(strstr(err, "shape is not an array"));
}

/* tensor_pack then tensor_from_object gives back the same tensor. */
static void
test_pack_round_trip(void **state)
{
	int64_t shape[3] = { 3, 1, 4 };
	struct tensor t, u;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone z;
	msgpack_object o;
	size_t off = 0;
	char err[256], desc[64];

	tensor_alloc(&t, DT_I32, 3, shape);
	assert_non_null(t.owned);
	assert_int_equal((uintptr_t)t.data % 64, 0);
	for (int i = 0; i < 12; i++)
		((int32_t *)t.data)[i] = -i * 1000003;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	tensor_pack(&pk, &t);
	msgpack_zone_init(&z, 1024);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, &off, &z, &o), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(tensor_from_object(&u, &o, err, sizeof err), 0);
	assert_int_equal(u.dtype, DT_I32);
	assert_int_equal(u.rank, 3);
	assert_memory_equal(u.shape, shape, sizeof shape);
	assert_memory_equal(u.data, t.data, 48);
	assert_string_equal(tensor_describe(&u, desc, sizeof desc), "i32[3,1,4]");
	/* a misaligned view gets an aligned owned copy */
	u.data = (char *)sb.data + 1;
	u.owned = NULL;
	tensor_ensure_aligned(&u);
	if (((uintptr_t)((char *)sb.data + 1)) % 4 != 0) {
		assert_non_null(u.owned);
		assert_int_equal((uintptr_t)u.data % 4, 0);
		assert_memory_equal(u.data, (char *)sb.data + 1, 48);
	}
	tensor_free(&u);
	assert_null(u.data);
	msgpack_zone_destroy(&z);
	msgpack_sbuffer_destroy(&sb);
	tensor_free(&t);
}

/* tensor_describe never overruns a short buffer. */
static void
test_describe_short(void **state)
{
	int64_t shape[8] = { 100000, 100000, 100000, 100000, 1, 1, 1, 1 };
	struct tensor t = { .dtype = DT_BF16, .rank = 8 };
	char buf[12];

	memcpy(t.shape, shape, sizeof shape);
	memset(buf, 'X', sizeof buf);
	tensor_describe(&t, buf, 10);
	assert_int_equal(buf[10], 'X');
	assert_int_equal(buf[11], 'X');
	assert_true(strlen(buf) <= 9);
	assert_int_equal(strncmp(buf, "bf16[1000", 9), 0);
}

/* tensor_try_alloc_hwc: a small image is allocated and aligned; a size
 * that overflows, or that no memory can hold, gives -1 and a cleared
 * tensor instead of an exit. */
static void
test_try_alloc(void **state)
{
	struct tensor t;

	assert_int_equal(tensor_try_alloc_hwc(&t, DT_U16, 3, 5, 2), 0);
	assert_int_equal(t.nbytes, 60);
	assert_int_equal(t.rank, 3);
	assert_int_equal((uintptr_t)t.data % 64, 0);
	tensor_free(&t);
	assert_int_equal(tensor_try_alloc_hwc(&t, DT_U8, (int64_t)1 << 31, (int64_t)1 << 31, 1 << 30), -1);
	assert_null(t.data);
	assert_int_equal(tensor_try_alloc_hwc(&t, DT_F32, -1, 5, 1), -1);
	/* 2^57 bytes: no overflow, but more than any address space */
	assert_int_equal(tensor_try_alloc_hwc(&t, DT_U8, (int64_t)1 << 29, (int64_t)1 << 28, 1), -1);
	assert_null(t.owned);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dtypes),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_pack_round_trip),
		cmocka_unit_test(test_describe_short),
		cmocka_unit_test(test_try_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
