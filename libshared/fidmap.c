/* fidmap.c — (device, inode) -> value, linear probing in a temporary file. */
#include "fidmap.h"

#include <string.h>

#define GROUP 8                 /* slots read at once */
#define FIDMAP_CAP0 (1 << 18)   /* slots at first: a sparse 8 MiB file, no
                                 * rehash up to 131072 files */

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

/* Finds (dev, ino) in the table of f (cap slots): 1, its slot number in
 * *iP and its value in *valP; or 0 and the empty slot where it would go;
 * -1 (err). */
static int
probe(struct spill *f, uint64_t cap, uint64_t dev, uint64_t ino, uint64_t *iP, uint64_t *valP,
    char *err, size_t errlen)
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
				*valP = g[j].val;
				return g[j].used != 0;
			}
		}
		i = (i + k) & (cap - 1);
	}
}

int
fidmap_get(struct fidmap *m, uint64_t dev, uint64_t ino, uint64_t *valP, char *err, size_t errlen)
{
	uint64_t i;

	if (m->n == 0)
		return 0;
	return probe(&m->f, m->cap, dev, ino, &i, valP, err, errlen);
}

/* Stores s in the table of f unless its key is there: 0 stored; 1 when
 * present (its value in *valP); -1 (err). */
static int
put_slot(struct spill *f, uint64_t cap, const struct slot *s, uint64_t *valP, char *err, size_t errlen)
{
	uint64_t i;
	int rc = probe(f, cap, s->dev, s->ino, &i, valP, err, errlen);

	if (rc != 0)
		return rc;
	return spill_write(f, i * sizeof *s, s, sizeof *s, err, errlen);
}

/* Moves every slot to a new table four times the size. */
static int
grow(struct fidmap *m, char *err, size_t errlen)
{
	struct spill nf;
	struct slot g[256];
	uint64_t cap = m->cap ? 4 * m->cap : FIDMAP_CAP0, v;

	if (spill_open(&nf, err, errlen) < 0)
		return -1;
	if (spill_resize(&nf, cap * sizeof *g, err, errlen) < 0)
		goto fail;
	for (uint64_t i = 0; i < m->cap; i += 256) {
		size_t k = m->cap - i < 256 ? (size_t)(m->cap - i) : 256;
		if (spill_read(&m->f, i * sizeof *g, g, k * sizeof *g, err, errlen) < 0)
			goto fail;
		for (size_t j = 0; j < k; j++)
			if (g[j].used && put_slot(&nf, cap, &g[j], &v, err, errlen) < 0)
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
fidmap_add(struct fidmap *m, uint64_t dev, uint64_t ino, uint64_t val, uint64_t *oldP,
    char *err, size_t errlen)
{
	struct slot s = { 1, dev, ino, val };
	int rc;

	if (2 * (m->n + 1) > m->cap && grow(m, err, errlen) < 0)
		return -1;
	if ((rc = put_slot(&m->f, m->cap, &s, oldP, err, errlen)) == 0)
		m->n++;
	return rc;
}
