/* phash.h — fingerprints of decoded images, for finding the same image in
 * two sets (leakcheck(1)).
 *
 * Two fingerprints per image: a digest of the decoded pixels, equal exactly
 * when the images are (whatever the file format or its encoder did), and a
 * 64-bit perceptual hash (DCT hash) that changes little when an image is
 * resized, re-encoded or has its brightness and contrast changed, so that
 * the Hamming distance between two hashes measures how alike the images are.
 */
#ifndef RADPIPE_PHASH_H
#define RADPIPE_PHASH_H

#include <stdint.h>
#include "tensor.h"

#define PHASH_SIDE 32           /* the image is reduced to 32 x 32 gray */
#define PHASH_LOW 8             /* the 8 x 8 lowest DCT frequencies */
#define PHASH_NEAR_DEFAULT 6    /* distance at or below which two images are near duplicates */

/* sha256 of t's dtype name, shape and pixel bytes into out: two tensors
 * get the same digest exactly when they hold the same image. */
void pixel_digest(const struct tensor *t, uint8_t out[32]);

/* The DCT hash of t (HWC u8, u16 or f32; 1 to 4 channels, alpha ignored):
 * the mean of the colour channels, reduced to 32 x 32 by a box filter
 * (each source pixel weighted by its overlap with the cell), its 2-D DCT-II,
 * and bit 8u+v (u, v < 8) set when coefficient (u, v) is above the median
 * of the 63 coefficients other than (0, 0); bit 0 is always 0.  Returns 0,
 * or -1 when t is not such an image (empty, wrong rank or dtype). */
int phash64(const struct tensor *t, uint64_t *out);

/* Number of bits in which a and b differ (0..64). */
int phash_distance(uint64_t a, uint64_t b);

/* Called by phash_pairs for a pair i < j at distance d. */
typedef void phash_pair_fn(size_t i, size_t j, int d, void *ctx);
/* Calls fn for every pair i < j of the n hashes h (as phash64 makes them:
 * bit 0 clear) at most near bits apart, and, with inverted, every pair at
 * least 63 - near apart (an image and its negative); in order of i, then
 * of j.  For near <= 7 two such hashes share one of their 8 bytes (or one
 * shares a byte with the other's complement), so only hashes in the same
 * byte bucket are compared (multi-index hashing): about n^2/256 compared
 * pairs for well-spread hashes instead of n^2/2; beyond 7, or with
 * exhaustive, every pair. */
void phash_pairs(const uint64_t *h, size_t n, int near, int inverted, int exhaustive,
                 phash_pair_fn *fn, void *ctx);

#endif
