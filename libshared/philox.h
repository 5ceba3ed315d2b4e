/* philox.h — Philox4x32-10 (Salmon et al., SC'11), the one copy of its
 * rounds: rng.c builds its streams on it and the CUDA backend's dropout
 * (libshared/nn/cuda/dropout.cu) draws its masks with it, so that masks
 * are bit-identical on the host and on the GPU. */
#ifndef RADPIPE_PHILOX_H
#define RADPIPE_PHILOX_H

#include <stdint.h>

#include "hostdev.h"

#define RP_PHILOX_M0 0xD2511F53u
#define RP_PHILOX_M1 0xCD9E8D57u
#define RP_PHILOX_W0 0x9E3779B9u
#define RP_PHILOX_W1 0xBB67AE85u

/* Ten rounds on the counter c under key (k0, k1); c becomes the output. */
RP_HD static inline void
rp_philox4x32(uint32_t c[4], uint32_t k0, uint32_t k1)
{
	uint32_t c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];

	for (int i = 0; i < 10; i++) {
		uint64_t p0 = (uint64_t)RP_PHILOX_M0 * c0;
		uint64_t p1 = (uint64_t)RP_PHILOX_M1 * c2;
		uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
		uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
		c1 = (uint32_t)p1;
		c3 = (uint32_t)p0;
		c0 = n0;
		c2 = n2;
		k0 += RP_PHILOX_W0;
		k1 += RP_PHILOX_W1;
	}
	c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3;
}

/* Uniform in [0, 1) from the first word of philox(ctr = {index, counter},
 * key = seed) >> 8 (24 bits, exact in a float). */
RP_HD static inline float
rp_philox_uniform(uint64_t seed, uint64_t counter, uint64_t index)
{
	uint32_t c[4] = { (uint32_t)index, (uint32_t)(index >> 32),
	                  (uint32_t)counter, (uint32_t)(counter >> 32) };

	rp_philox4x32(c, (uint32_t)seed, (uint32_t)(seed >> 32));
	return (float)(c[0] >> 8) * (1.0f / 16777216.0f);
}

#endif
