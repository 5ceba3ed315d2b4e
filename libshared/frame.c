/* frame.c — reading radpipe streams: one msgpack map per frame, read
 * through a large buffer; limits enforced before msgpack-c allocates; the
 * lookups of frame.h on a frame.  Values inside frames: fval.c. */
#include "frame_mp.h"
#include "err.h"
#include "fileio.h"

#include <msgpack/unpack_define.h>    /* MSGPACK_EMBED_STACK_SIZE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK   ((size_t)1 << 20)
#define MAX_OBJECTS  ((size_t)1 << 22)  /* msgpack objects per frame */

struct frame_reader {
	int fd;
	int own_fd;
	char name[256];
	uint8_t *buf;
	size_t cap, start, end;  /* unread bytes are buf[start..end) */
	size_t prev;             /* bytes of the frame handed out last */
	size_t max;
	uint64_t count;          /* frames read so far */
	volatile int *interrupt; /* EINTR ends a read when *interrupt != 0 */
	msgpack_zone zone;
	char err[512];
};


/* ---------------------------------------------------------------- scan */

static uint64_t
be_uint(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Size of the header at p (1 + extra bytes), the payload bytes that follow
 * it and the number of child objects; -1 for the unused code 0xc1. */
static int
mp_header(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *payload, uint64_t *children)
{
	static const uint8_t fixed[32] = {
		/* c0 */ 0, 0, 0, 0, 1, 2, 4, 1, 2, 4, 4, 8, 1, 2, 4, 8,
		/* d0 */ 1, 2, 4, 8, 1, 1, 1, 1, 1, 1, 2, 4, 2, 4, 2, 4,
	};
	uint8_t c = p[0];
	int n;

	*payload = *children = 0;
	*hdr = 1;
	if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
		return 0;
	if (c <= 0x8f) { *children = 2 * (uint64_t)(c & 0x0f); return 0; }
	if (c <= 0x9f) { *children = c & 0x0f; return 0; }
	if (c <= 0xbf) { *payload = c & 0x1f; return 0; }
	if (c == 0xc1)
		return -1;
	n = fixed[c - 0xc0];
	if (avail < 1 + (size_t)n)
		return 1;               /* header incomplete */
	*hdr = 1 + (size_t)n;
	switch (c) {
	case 0xc4: case 0xc5: case 0xc6:                 /* bin */
	case 0xd9: case 0xda: case 0xdb:                 /* str */
		*payload = be_uint(p + 1, n); break;
	case 0xc7: case 0xc8: case 0xc9:                 /* ext: len + type */
		*payload = be_uint(p + 1, n) + 1; break;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:   /* fixext */
		*hdr = 2; *payload = (uint64_t)1 << (c - 0xd4); break;
	case 0xdc: case 0xdd: *children = be_uint(p + 1, n); break;
	case 0xde: case 0xdf: *children = 2 * be_uint(p + 1, n); break;
	default: *payload = 0; *hdr = 1 + (size_t)n; break;       /* numbers */
	}
	return 0;
}

/* The scanner's depth limit is msgpack-c's: a frame the scanner accepts
 * must be one that msgpack_unpack parses. */
_Static_assert(FRAME_MAX_DEPTH == MSGPACK_EMBED_STACK_SIZE,
    "frame_scan and msgpack-c must agree on the nesting depth");

/* A map or an array (fix, 16 and 32-bit counts). */
static int
is_container(uint8_t c)
{
	return (c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf);
}

int
frame_scan(const uint8_t *buf, size_t len, size_t max, size_t *size, char *err, size_t errlen)
{
	uint64_t left[FRAME_MAX_DEPTH + 1];
	int depth = 0;
	size_t pos = 0, objects = 0;

	*size = 1;
	if (len == 0)
		return 0;
	if (!((buf[0] >= 0x80 && buf[0] <= 0x8f) || buf[0] == 0xde || buf[0] == 0xdf)) {
		snprintf(err, errlen, "not a radpipe frame (byte 0x%02x is not a msgpack map)", buf[0]);
		return -1;
	}
	left[0] = 1;
	while (depth >= 0) {
		size_t hdr;
		uint64_t payload, children;
		int r;

		if (left[depth] == 0) { depth--; continue; }
		if (pos >= len) { *size = pos + 1; return 0; }
		r = mp_header(buf + pos, len - pos, &hdr, &payload, &children);
		if (r < 0) {
			snprintf(err, errlen, "malformed msgpack (code 0xc1 at byte %zu)", pos);
			return -1;
		}
		if (r > 0) { *size = pos + 9; return 0; }
		if (++objects > MAX_OBJECTS || children > max || payload > max ||
		    pos + hdr + payload > max || pos + hdr + children > max) {
			snprintf(err, errlen, "frame exceeds the size limit of %zu bytes", max);
			return -1;
		}
		/* depth containers are open around this value; msgpack-c
		 * refuses any container, empty or not, at its limit */
		if (is_container(buf[pos]) && depth == FRAME_MAX_DEPTH) {
			snprintf(err, errlen, "frame nests deeper than %d levels", FRAME_MAX_DEPTH);
			return -1;
		}
		left[depth]--;
		pos += hdr + payload;
		if (children)
			left[++depth] = children;
		if (pos > len) { *size = pos; return 0; }
	}
	*size = pos;
	return 1;
}

int
frame_parse(const uint8_t *buf, size_t len, msgpack_zone *z, struct frame *f,
    char *err, size_t errlen)
{
	size_t off = 0;
	const msgpack_object *kind;
	msgpack_object *root;

	memset(f, 0, sizeof *f);
	if ((root = msgpack_zone_malloc(z, sizeof *root)) == NULL)
		die("out of memory");
	if (msgpack_unpack((const char *)buf, len, &off, z, root) != MSGPACK_UNPACK_SUCCESS ||
	    off != len) {
		snprintf(err, errlen, "malformed msgpack frame");
		return -1;
	}
	if (root->type != MSGPACK_OBJECT_MAP) {
		snprintf(err, errlen, "frame is not a msgpack map");
		return -1;
	}
	kind = mp_get(root, "kind");
	if (kind == NULL || kind->type != MSGPACK_OBJECT_STR) {
		snprintf(err, errlen, "frame has no string 'kind'");
		return -1;
	}
	f->raw = buf;
	f->len = len;
	f->root = mp_fv(root);
	f->kind = kind->via.str.ptr;
	f->kind_len = kind->via.str.size;
	return 0;
}

struct frame_copy {
	struct frame f;
	uint8_t *bytes;
	msgpack_zone zone;
};

struct frame_copy *
frame_copy_new(const struct frame *f)
{
	struct frame_copy *c = xcalloc(1, sizeof *c);
	char err[256];

	c->bytes = xmalloc(f->len);
	memcpy(c->bytes, f->raw, f->len);
	if (!msgpack_zone_init(&c->zone, 8 * 1024))
		die("out of memory");
	/* the bytes parsed once already: only memory can fail */
	if (frame_parse(c->bytes, f->len, &c->zone, &c->f, err, sizeof err) < 0)
		die("frame %llu: %s", (unsigned long long)f->index, err);
	c->f.index = f->index;
	return c;
}

const struct frame *
frame_copy_frame(const struct frame_copy *c)
{
	return &c->f;
}

void
frame_copy_free(struct frame_copy *c)
{
	if (c == NULL)
		return;
	msgpack_zone_destroy(&c->zone);
	free(c->bytes);
	free(c);
}

/* -------------------------------------------------------------- reader */

struct frame_reader *
frame_reader_fd(int fd, const char *name)
{
	struct frame_reader *r = xcalloc(1, sizeof *r);
	const char *lim = getenv("RADPIPE_MAX_FRAME");

	r->fd = fd;
	snprintf(r->name, sizeof r->name, "%s", name);
	r->max = FRAME_MAX_DEFAULT;
	if (lim && *lim) {
		char *end;
		unsigned long long v = strtoull(lim, &end, 10);
		if (*end == '\0' && v >= 64)
			r->max = (size_t)v;
	}
	r->cap = READ_CHUNK;
	r->buf = xmalloc(r->cap);
	msgpack_zone_init(&r->zone, 64 * 1024);
	(void)pipe_grow(fd, (size_t)1 << 20);       /* never shrinks one the writer grew */
	return r;
}

struct frame_reader *
frame_reader_open(const char *path)
{
	int fd;
	struct frame_reader *r;

	if (strcmp(path, "-") == 0)
		return frame_reader_fd(0, "stdin");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	r = frame_reader_fd(fd, path);
	r->own_fd = 1;
	return r;
}

void
frame_reader_set_interrupt(struct frame_reader *r, volatile int *flag)
{
	r->interrupt = flag;
}

void
frame_reader_set_limit(struct frame_reader *r, size_t max)
{
	r->max = max;
}

/* Makes room for need unread bytes; 0, or -1 if need exceeds the limit. */
static int
reserve(struct frame_reader *r, size_t need)
{
	size_t have = r->end - r->start;

	if (r->start > 0 && (r->start + need > r->cap || have == 0)) {
		memmove(r->buf, r->buf + r->start, have);
		r->start = 0;
		r->end = have;
	}
	if (need > r->cap) {
		size_t cap = r->cap;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		r->buf = xreallocarray(r->buf, 1, cap);
		r->cap = cap;
	}
	return 0;
}

/* Reads more bytes; 1 got some, 0 end of file, -1 error. */
static int
fill(struct frame_reader *r)
{
	ssize_t n;

	if (r->end == r->cap)
		reserve(r, r->cap + READ_CHUNK);
	do
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
	while (n < 0 && errno == EINTR && !(r->interrupt && *r->interrupt));
	if (n < 0) {
		snprintf(r->err, sizeof r->err, "read error: %s", strerror(errno));
		return -1;
	}
	r->end += (size_t)n;
	return n > 0;
}

int
frame_read(struct frame_reader *r, struct frame *f)
{
	size_t size = 1;
	int s;

	r->start += r->prev;
	r->prev = 0;
	msgpack_zone_clear(&r->zone);
	for (;;) {
		size_t have = r->end - r->start;
		s = have ? frame_scan(r->buf + r->start, have, r->max, &size, r->err, sizeof r->err) : 0;
		if (s < 0)
			return -1;
		if (s > 0)
			break;
		while (r->end - r->start < size) {
			size_t have = r->end - r->start;
			int got;
			/* grow with the bytes that arrive, not with what a header claims */
			reserve(r, size < 2 * have + READ_CHUNK ? size : 2 * have + READ_CHUNK);
			got = fill(r);
			if (got < 0)
				return -1;
			if (got == 0) {
				if (r->end == r->start)
					return 0;
				snprintf(r->err, sizeof r->err,
				    "truncated frame (%zu bytes at the end of the stream)", r->end - r->start);
				return -1;
			}
		}
	}
	if (frame_parse(r->buf + r->start, size, &r->zone, f, r->err, sizeof r->err) < 0)
		return -1;
	f->index = r->count++;
	r->prev = size;
	return 1;
}

int
frame_next(struct frame_reader *r, struct frame *f)
{
	int s = frame_read(r, f);

	if (s < 0)
		die("%s: frame %llu: %s", r->name, (unsigned long long)r->count, r->err);
	return s;
}

const char *
frame_reader_error(const struct frame_reader *r)
{
	return r->err;
}

const char *
frame_reader_name(const struct frame_reader *r)
{
	return r->name;
}

void
frame_reader_close(struct frame_reader *r)
{
	if (r == NULL)
		return;
	if (r->own_fd)
		close(r->fd);
	msgpack_zone_destroy(&r->zone);
	free(r->buf);
	free(r);
}

/* ------------------------------------------------------------- lookups */

int
frame_is(const struct frame *f, const char *kind)
{
	size_t n = strlen(kind);

	return f->kind_len == n && memcmp(f->kind, kind, n) == 0;
}

const struct fval *frame_get(const struct frame *f, const char *key) { return fv_get(f->root, key); }
int frame_int(const struct frame *f, const char *key, int64_t *out) { return fv_int(f->root, key, out); }
int frame_num(const struct frame *f, const char *key, double *out) { return fv_num(f->root, key, out); }

int
frame_str(const struct frame *f, const char *key, char *buf, size_t len)
{
	return fv_str(f->root, key, buf, len);
}

int
frame_tensor(const struct frame_reader *r, const struct frame *f, const char *key,
    struct tensor *t)
{
	const struct fval *v = frame_get(f, key);
	char err[256];

	if (v == NULL)
		return -1;
	if (fv_tensor(v, t, err, sizeof err) < 0)
		die("%s: frame %llu (%.*s): %s: %s", r ? frame_reader_name(r) : "stream",
		    (unsigned long long)f->index, (int)f->kind_len, f->kind, key, err);
	return 0;
}
