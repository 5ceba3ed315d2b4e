/* idmap.h — a hash map from string ids (sample ids) to indices, used to
 * join frames by id (never by position).  The map owns copies of its keys;
 * idmap_free releases them.  A zeroed struct idmap is an empty map.
 */
#ifndef RADPIPE_IDMAP_H
#define RADPIPE_IDMAP_H

#include <stddef.h>

struct idmap_entry {
	char *key;              /* NULL: empty slot */
	size_t val;
};

struct idmap {
	struct idmap_entry *e;
	size_t cap, n;          /* cap: a power of two, or 0 */
};

/* The value stored for key, or -1 when key is absent. */
long idmap_get(const struct idmap *m, const char *key);
/* Stores key -> val; returns 1 if key was new, 0 if it replaced a value. */
int idmap_put(struct idmap *m, const char *key, size_t val);
/* Frees the keys and the table, leaving an empty map. */
void idmap_free(struct idmap *m);

#endif
