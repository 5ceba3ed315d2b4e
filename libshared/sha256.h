/* sha256.h — SHA-256 (FIPS 180-4), for file checksums in sample metadata. */
#ifndef RADPIPE_SHA256_H
#define RADPIPE_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* An incremental digest: init, update any number of times, final. */
struct sha256 {
	uint32_t h[8];
	uint8_t buf[64];
	size_t nbuf;
	uint64_t len;
};

/* Starts an empty digest. */
void sha256_init(struct sha256 *s);
/* Adds n bytes of data. */
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Writes the digest of everything added into out (s is spent). */
void sha256_final(struct sha256 *s, uint8_t out[32]);
/* Digest of n bytes into out (32 bytes). */
void sha256(const void *data, size_t n, uint8_t out[32]);
/* A digest d as 64 lowercase hex digits + NUL into hex (65 bytes). */
void sha256_tohex(const uint8_t d[32], char hex[65]);
/* Digest as 64 lowercase hex digits + NUL into hex (65 bytes). */
void sha256_hex(const void *data, size_t n, char hex[65]);
/* HMAC-SHA256 (RFC 2104) of n bytes of data under key (keylen bytes) into out. */
void sha256_hmac(const void *key, size_t keylen, const void *data, size_t n, uint8_t out[32]);

#endif
