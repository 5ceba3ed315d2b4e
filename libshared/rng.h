/* rng.h — counter-based random numbers (Philox4x32-10).
 *
 * Every random draw in radpipe is a pure function of (seed, stream, index),
 * so results never depend on process scheduling, thread count or how a
 * pipeline is split.  A stream is keyed on (seed, a, b): augment uses
 * (epoch, hash of the sample id), dropout uses (step, element index).
 */
#ifndef RADPIPE_RNG_H
#define RADPIPE_RNG_H

#include <stddef.h>
#include <stdint.h>

/* Philox4x32-10 block: 4 words for counter ctr under key. */
void rng_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Uniform float in [0, 1) (24 bits) for element index of draw counter under
 * seed: the first word of philox(ctr = {index, counter}, key = seed) >> 8
 * times 2^-24.  Backends reproduce it bit for bit. */
float rng_philox_uniform(uint64_t seed, uint64_t counter, uint64_t index);

struct rng {
	uint32_t key[2];
	uint32_t ctr[4];
	uint32_t buf[4];
	int left;
};

/* Stream (a, b) of seed; independent streams for distinct (a, b). */
void rng_init(struct rng *r, uint64_t seed, uint64_t a, uint64_t b);
/* Next 32 random bits. */
uint32_t rng_u32(struct rng *r);
/* Next 64 random bits. */
uint64_t rng_u64(struct rng *r);
/* Uniform double in [0, 1) (53 bits). */
double rng_uniform(struct rng *r);
/* Uniform double in [lo, hi). */
double rng_range(struct rng *r, double lo, double hi);
/* Standard normal (Box-Muller). */
double rng_normal(struct rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* 64-bit FNV-1a hash of a string (stream keys from sample ids). */
uint64_t rng_hash(const char *s, size_t len);
/* A seed from the operating system (getrandom, else time and pid). */
uint64_t rng_os_seed(void);

#endif
