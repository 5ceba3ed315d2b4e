/* test_sha256.c — libshared/sha256.c against the FIPS 180-2 examples
 * (and the empty message), plus inputs around the 55/56/64-byte padding
 * boundaries checked against a digest of the same bytes fed differently. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

static void
check(const void *msg, size_t n, const char *want)
{
	char hex[65];

	sha256_hex(msg, n, hex);
	assert_string_equal(hex, want);
}

/* FIPS 180-2 appendix B and the empty string. */
static void
test_fips_vectors(void **state)
{
	char *a = malloc(1000000);

	check("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	    "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	memset(a, 'a', 1000000);
	check(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* Lengths around the padding boundaries (values from sha256sum). */
static void
test_padding_boundaries(void **state)
{
	static const struct { size_t n; const char *hex; } v[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
	};
	char a[65];
	uint8_t raw[32];
	char hex[65];

	memset(a, 'a', sizeof a);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		check(a, v[i].n, v[i].hex);
	sha256(a, 64, raw);
	sha256_hex(a, 64, hex);
	for (int i = 0; i < 32; i++) {
		char two[3];
		snprintf(two, sizeof two, "%02x", raw[i]);
		assert_memory_equal(two, hex + 2 * i, 2);
	}
}

/* Fed in two pieces split at every offset, or a byte at a time, the
 * incremental digest equals sha256sum's of the whole (the vectors above). */
static void
test_incremental(void **state)
{
	static const char want[] = "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0";
	char a[65];
	uint8_t one[32], two[32];
	struct sha256 s;

	memset(a, 'a', sizeof a);
	check(a, sizeof a, want);
	sha256(a, sizeof a, one);
	for (size_t k = 0; k <= sizeof a; k++) {
		sha256_init(&s);
		sha256_update(&s, a, k);
		sha256_update(&s, a + k, sizeof a - k);
		sha256_final(&s, two);
		assert_memory_equal(one, two, 32);
	}
	sha256_init(&s);
	for (size_t k = 0; k < sizeof a; k++)
		sha256_update(&s, a + k, 1);
	sha256_final(&s, two);
	assert_memory_equal(one, two, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_vectors),
		cmocka_unit_test(test_padding_boundaries),
		cmocka_unit_test(test_incremental),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
