/* idmap.c — open addressing (linear probing) on rng_hash, load <= 1/2. */
#include "idmap.h"
#include "err.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

static struct idmap_entry *
slot(const struct idmap *m, const char *key)
{
	size_t h = (size_t)rng_hash(key, strlen(key));

	for (size_t i = 0;; i++) {
		struct idmap_entry *e = &m->e[(h + i) & (m->cap - 1)];
		if (e->key == NULL || strcmp(e->key, key) == 0)
			return e;
	}
}

long
idmap_get(const struct idmap *m, const char *key)
{
	const struct idmap_entry *e;

	if (m->cap == 0)
		return -1;
	e = slot(m, key);
	return e->key ? (long)e->val : -1;
}

static void
grow(struct idmap *m)
{
	struct idmap_entry *old = m->e;
	size_t oldcap = m->cap;

	m->cap = oldcap ? 2 * oldcap : 256;
	m->e = xcalloc(m->cap, sizeof *m->e);
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*slot(m, old[i].key) = old[i];
	free(old);
}

int
idmap_put(struct idmap *m, const char *key, size_t val)
{
	struct idmap_entry *e;

	if (2 * (m->n + 1) > m->cap)
		grow(m);
	e = slot(m, key);
	e->val = val;
	if (e->key)
		return 0;
	e->key = xstrdup(key);
	m->n++;
	return 1;
}

void
idmap_free(struct idmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->e[i].key);
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}
