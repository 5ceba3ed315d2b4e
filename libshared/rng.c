/* rng.c — Philox4x32-10 (Salmon et al., SC'11) and the draws built on it. */
#include "rng.h"
#include "philox.h"

#include <math.h>
#include <stddef.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void
rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
	for (int i = 0; i < 4; i++)
		out[i] = ctr[i];
	rp_philox4x32(out, key[0], key[1]);
}

float
rng_philox_uniform(uint64_t seed, uint64_t counter, uint64_t index)
{
	return rp_philox_uniform(seed, counter, index);
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
