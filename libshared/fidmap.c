/* fidmap.c — (device, inode) -> value, linear probing in a temporary file. */
#include "fidmap.h"

#include <string.h>

#define GROUP 8                 /* slots read at once */

struct slot {
	uint64_t used, dev, ino, val;
};

void
fidmap_init(struct fidmap *m)
{
	memset(m, 0, sizeof *m);
	spill_init(&m->f);
}

void
fidmap_free(struct fidmap *m)
{
	spill_close(&m->f);
	fidmap_init(m);
}

static uint64_t
mix(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ (dev + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;

	h ^= h >> 31;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 29);
}

/* Finds (dev, ino) in the table of f (cap slots): 1 and its slot number
 * in *iP, or 0 and the empty slot where it would go; -1 (err). */
static int
probe(struct spill *f, uint64_t cap, uint64_t dev, uint64_t ino, uint64_t *iP, char *err, size_t errlen)
{
	struct slot g[GROUP];
	uint64_t i = mix(dev, ino) & (cap - 1);

	for (;;) {
		size_t k = cap - i < GROUP ? (size_t)(cap - i) : GROUP;
		if (spill_read(f, i * sizeof *g, g, k * sizeof *g, err, errlen) < 0)
			return -1;
		for (size_t j = 0; j < k; j++) {
			if (!g[j].used || (g[j].dev == dev && g[j].ino == ino)) {
				*iP = i + j;
				return g[j].used != 0;
			}
		}
		i = (i + k) & (cap - 1);
	}
}

int
fidmap_get(struct fidmap *m, uint64_t dev, uint64_t ino, uint64_t *valP, char *err, size_t errlen)
{
	struct slot s;
	uint64_t i;
	int rc;

	if (m->n == 0)
		return 0;
	if ((rc = probe(&m->f, m->cap, dev, ino, &i, err, errlen)) <= 0)
		return rc;
	if (spill_read(&m->f, i * sizeof s, &s, sizeof s, err, errlen) < 0)
		return -1;
	*valP = s.val;
	return 1;
}

static int
put_slot(struct spill *f, uint64_t cap, const struct slot *s, char *err, size_t errlen)
{
	uint64_t i;

	if (probe(f, cap, s->dev, s->ino, &i, err, errlen) < 0)
		return -1;
	return spill_write(f, i * sizeof *s, s, sizeof *s, err, errlen);
}

/* Moves every slot to a new table of twice the size. */
static int
grow(struct fidmap *m, char *err, size_t errlen)
{
	struct spill nf;
	struct slot g[256];
	uint64_t cap = m->cap ? 2 * m->cap : 1024;

	if (spill_open(&nf, err, errlen) < 0)
		return -1;
	if (spill_resize(&nf, cap * sizeof *g, err, errlen) < 0)
		goto fail;
	for (uint64_t i = 0; i < m->cap; i += 256) {
		size_t k = m->cap - i < 256 ? (size_t)(m->cap - i) : 256;
		if (spill_read(&m->f, i * sizeof *g, g, k * sizeof *g, err, errlen) < 0)
			goto fail;
		for (size_t j = 0; j < k; j++)
			if (g[j].used && put_slot(&nf, cap, &g[j], err, errlen) < 0)
				goto fail;
	}
	spill_close(&m->f);
	m->f = nf;
	m->cap = cap;
	return 0;
fail:
	spill_close(&nf);
	return -1;
}

int
fidmap_put(struct fidmap *m, uint64_t dev, uint64_t ino, uint64_t val, char *err, size_t errlen)
{
	struct slot s = { 1, dev, ino, val };

	if (2 * (m->n + 1) > m->cap && grow(m, err, errlen) < 0)
		return -1;
	if (put_slot(&m->f, m->cap, &s, err, errlen) < 0)
		return -1;
	m->n++;
	return 0;
}
