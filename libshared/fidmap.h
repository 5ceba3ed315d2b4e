/* fidmap.h — a map from a file's identity, (device, inode), to a 64-bit
 * value, kept in an unlinked temporary file (spill.h) so that its size
 * costs no memory: an open-addressing table of 32-byte slots, half full
 * at most, read and written with pread/pwrite (about two system calls a
 * lookup).  imgload uses it to take each folder and image file once,
 * however many links lead to it.  A zeroed struct fidmap is not ready:
 * fidmap_init; fidmap_free releases it.
 */
#ifndef RADPIPE_FIDMAP_H
#define RADPIPE_FIDMAP_H

#include <stdint.h>
#include <stddef.h>
#include "spill.h"

struct fidmap {
	struct spill f;         /* cap slots; not open until the first put */
	uint64_t cap, n;
};

/* Makes m an empty map (no file yet). */
void fidmap_init(struct fidmap *m);
/* Looks (dev, ino) up: 1 and *valP when present, 0 when absent, -1 with
 * the reason in err. */
int fidmap_get(struct fidmap *m, uint64_t dev, uint64_t ino, uint64_t *valP, char *err, size_t errlen);
/* Stores (dev, ino) -> val unless (dev, ino) is there: 0 when stored; 1
 * when it was there, its value in *oldP (left as it was); -1 (err). */
int fidmap_add(struct fidmap *m, uint64_t dev, uint64_t ino, uint64_t val, uint64_t *oldP,
               char *err, size_t errlen);
/* Closes the file, leaving an empty map. */
void fidmap_free(struct fidmap *m);

#endif
