/* framecache.c — frames by key, open addressing, within a byte limit. */
#include "framecache.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct fc_slot {
	uint64_t key1;          /* key + 1; 0: empty */
	char *buf;
	size_t len;
};

static size_t
slot_of(const struct framecache *c, uint64_t key)
{
	uint64_t h = (key + 1) * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h ^ (h >> 29)) & (c->cap - 1);

	while (c->t[i].key1 != 0 && c->t[i].key1 != key + 1)
		i = (i + 1) & (c->cap - 1);
	return i;
}

const char *
framecache_get(const struct framecache *c, uint64_t key, size_t *lenP)
{
	size_t i;

	if (c->n == 0)
		return NULL;
	i = slot_of(c, key);
	if (c->t[i].key1 == 0)
		return NULL;
	*lenP = c->t[i].len;
	return c->t[i].buf;
}

static void
grow(struct framecache *c)
{
	struct framecache old = *c;

	c->cap = c->cap ? 2 * c->cap : 64;
	c->t = xcalloc(c->cap, sizeof *c->t);
	for (size_t i = 0; i < old.cap; i++)
		if (old.t[i].key1)
			c->t[slot_of(c, old.t[i].key1 - 1)] = old.t[i];
	free(old.t);
}

int
framecache_put(struct framecache *c, uint64_t key, char *buf, size_t len)
{
	/* the frame's heap cost: glibc's 16-byte units with an 8-byte header
	 * (close enough elsewhere) */
	size_t cost = (len + 8 + 15) & ~(size_t)15, grown;
	char *fit;

	if (2 * (c->n + 1) > c->cap) {
		/* the new index, while the old one is still there, must fit */
		grown = (c->cap ? 2 * c->cap : 64) * sizeof(struct fc_slot);
		if (c->used + grown + cost > c->limit || c->used + grown + cost < c->used)
			return 0;
		c->used += grown - c->cap * sizeof(struct fc_slot);
		grow(c);
	}
	if (c->used + cost > c->limit || c->used + cost < c->used)
		return 0;
	/* the encoder's buffer has room to spare (8 KiB at least): keep only
	 * the frame, so that the cache holds what the limit counts */
	if ((fit = realloc(buf, len ? len : 1)) != NULL)
		buf = fit;
	c->t[slot_of(c, key)] = (struct fc_slot){ key + 1, buf, len };
	c->n++;
	c->used += cost;
	return 1;
}

void
framecache_free(struct framecache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		if (c->t[i].key1)
			free(c->t[i].buf);
	free(c->t);
	c->t = NULL;
	c->cap = c->n = c->used = 0;
}
