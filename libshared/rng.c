/* rng.c — Philox4x32-10 (Salmon et al., SC'11) and the draws built on it. */
#include "rng.h"

#include <math.h>
#include <stddef.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void
rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
	uint32_t k0 = key[0], k1 = key[1];

	for (int i = 0; i < 10; i++) {
		uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		c0 = n0;
		c2 = n2;
		k0 += PHILOX_W0;
		k1 += PHILOX_W1;
	}
	out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

float
rng_philox_uniform(uint64_t seed, uint64_t counter, uint64_t index)
{
	uint32_t ctr[4] = { (uint32_t)index, (uint32_t)(index >> 32),
	                    (uint32_t)counter, (uint32_t)(counter >> 32) };
	uint32_t key[2] = { (uint32_t)seed, (uint32_t)(seed >> 32) };
	uint32_t out[4];

	rng_philox(ctr, key, out);
	return (float)(out[0] >> 8) * (1.0f / 16777216.0f);
}

void
rng_init(struct rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
	/* ctr[0] counts blocks (2^32 blocks of 4 words per stream); the stream
	 * (a, b) fills the other 96 counter bits and the high half of b is
	 * folded into the key. */
	uint64_t k = seed ^ ((b >> 32) * 0x9E3779B97F4A7C15ull);

	r->key[0] = (uint32_t)k;
	r->key[1] = (uint32_t)(k >> 32);
	r->ctr[0] = 0;
	r->ctr[1] = (uint32_t)b;
	r->ctr[2] = (uint32_t)a;
	r->ctr[3] = (uint32_t)(a >> 32);
	r->left = 0;
}

uint32_t
rng_u32(struct rng *r)
{
	if (r->left == 0) {
		rng_philox(r->ctr, r->key, r->buf);
		r->ctr[0]++;
		r->left = 4;
	}
	return r->buf[4 - r->left--];
}

uint64_t
rng_u64(struct rng *r)
{
	uint64_t hi = rng_u32(r);
	return hi << 32 | rng_u32(r);
}

double
rng_uniform(struct rng *r)
{
	return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

double
rng_range(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_uniform(r);
}

double
rng_normal(struct rng *r)
{
	double u1 = 1.0 - rng_uniform(r);       /* (0, 1] */
	double u2 = rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t
rng_below(struct rng *r, uint64_t n)
{
	uint64_t lim = -n % n;                  /* 2^64 mod n */
	uint64_t x;

	do
		x = rng_u64(r);
	while (x < lim);
	return x % n;
}

uint64_t
rng_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t
rng_os_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof s, 0) == (ssize_t)sizeof s)
		return s;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 32;
}
