/* framecache.h — encoded frames kept in memory across epochs, by a 64-bit
 * key (imgload: the item's index), within a byte limit.  What counts
 * against the limit is each frame's heap cost (its bytes and malloc's
 * header, in 16-byte units) and the index (a hash table at most half
 * full; while it grows, the old and the new table together), so the
 * cache's memory follows the limit and not the number of images.  The cache owns the frames it kept; framecache_free
 * releases them.  A zeroed struct with limit set is an empty cache.
 */
#ifndef RADPIPE_FRAMECACHE_H
#define RADPIPE_FRAMECACHE_H

#include <stddef.h>
#include <stdint.h>

struct fc_slot;

struct framecache {
	struct fc_slot *t;
	size_t cap, n;          /* cap: 0 or a power of two */
	size_t used, limit;     /* bytes counted; the most allowed */
};

/* The frame kept under key (*lenP bytes; may be 0), or NULL when none. */
const char *framecache_get(const struct framecache *c, uint64_t key, size_t *lenP);
/* Keeps buf (malloc'd, len bytes) under the new key when it fits within
 * the limit: 1, and the cache owns buf (it may shrink it to len); 0 when
 * it does not fit, and buf is still the caller's. */
int framecache_put(struct framecache *c, uint64_t key, char *buf, size_t len);
/* Frees every frame kept and the index. */
void framecache_free(struct framecache *c);

#endif
