/* sha256.h — SHA-256 (FIPS 180-4), for file checksums in sample metadata. */
#ifndef RADPIPE_SHA256_H
#define RADPIPE_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* Digest of n bytes into out (32 bytes). */
void sha256(const void *data, size_t n, uint8_t out[32]);
/* Digest as 64 lowercase hex digits + NUL into hex (65 bytes). */
void sha256_hex(const void *data, size_t n, char hex[65]);
/* HMAC-SHA256 (RFC 2104) of n bytes of data under key (keylen bytes) into out. */
void sha256_hmac(const void *key, size_t keylen, const void *data, size_t n, uint8_t out[32]);

#endif
