/* spill.h — data that a program keeps in an unlinked temporary file
 * instead of its memory, so that its resident size does not grow with the
 * data: the kernel's page cache holds the bytes (and may write them out),
 * and a read costs a system call.  imgload keeps its file list, the epoch
 * order and the table of files seen here (radpipe(7): Scaling out).
 *
 * The file is made in $TMPDIR (/tmp when unset or empty) and unlinked at
 * once, so it goes away with the process however it ends.  Every failure
 * (the folder missing or not writable, a full disk) is returned as a
 * one-line message naming the folder ("temporary file in /tmp: No space
 * left on device").  A struct spill owns its descriptor and buffer;
 * spill_close releases them.
 */
#ifndef RADPIPE_SPILL_H
#define RADPIPE_SPILL_H

#include <stddef.h>
#include <stdint.h>

struct spill {
	int fd;                 /* -1: not open */
	uint64_t size;          /* bytes in the file, those still buffered included */
	char *buf;              /* appended bytes not yet written (64 KiB) */
	size_t len;
	const char *dir;        /* where the file is, for messages */
};

/* The folder temporary files go to: $TMPDIR, or /tmp. */
const char *spill_dir(void);
/* Opens s as a new empty temporary file.  0; -1 with the reason in err. */
int spill_open(struct spill *s, char *err, size_t errlen);
/* Appends n bytes (buffered); *offP (may be NULL) gets the offset they
 * start at.  0; -1 with the reason in err. */
int spill_append(struct spill *s, const void *p, size_t n, uint64_t *offP, char *err, size_t errlen);
/* Writes the buffered bytes out.  0; -1 with the reason in err. */
int spill_flush(struct spill *s, char *err, size_t errlen);
/* Reads n bytes at off (< size, flushing first when they are buffered).
 * 0; -1 with the reason in err. */
int spill_read(struct spill *s, uint64_t off, void *p, size_t n, char *err, size_t errlen);
/* Overwrites or extends the file with n bytes at off, unbuffered (the
 * file is flushed first).  0; -1 with the reason in err. */
int spill_write(struct spill *s, uint64_t off, const void *p, size_t n, char *err, size_t errlen);
/* Makes the file size bytes long (the new bytes read as zeros).  0; -1
 * with the reason in err. */
int spill_resize(struct spill *s, uint64_t size, char *err, size_t errlen);
/* Closes and frees s (the file goes away); a closed or zeroed-then-
 * spill_init'ed spill may be closed again. */
void spill_close(struct spill *s);
/* Marks s as not open (fd -1), so that spill_close on it does nothing. */
void spill_init(struct spill *s);

#endif
