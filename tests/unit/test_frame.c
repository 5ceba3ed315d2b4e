/* test_frame.c — the stream layer (libshared/frame.c, frame_write.c,
 * frame_build.c, fval.c): round trips, byte-exact pass-through, frames
 * built by struct fb equal to what an independent encoder (python3-msgpack)
 * writes, clean end vs truncation at every
 * byte, incremental reads through a pipe, and hostile frames rejected with
 * a reason instead of a crash or an allocation of the declared size. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame_mp.h"

/* ------------------------------------------------------------ helpers */

struct buf {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void
buf_init(struct buf *b)
{
	msgpack_sbuffer_init(&b->sb);
	msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void
pstr(struct buf *b, const char *s)
{
	msgpack_pack_str_with_body(&b->pk, s, strlen(s));
}

static void
raw(struct buf *b, const void *p, size_t n)
{
	msgpack_sbuffer_write(&b->sb, p, n);
}

/* A file descriptor reading back n bytes (a memory file). */
static int
fd_of(const void *p, size_t n)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static struct frame_reader *
reader_of(const void *p, size_t n)
{
	return frame_reader_fd(fd_of(p, n), "mem");
}

/* Reads all frames of p[0..n); returns the last frame_read status and the
 * number of frames in *countP; err copies the reader's error. */
static int
read_all(const void *p, size_t n, size_t limit, int *countP, char *err, size_t errlen)
{
	int fd = fd_of(p, n);
	struct frame_reader *r = frame_reader_fd(fd, "mem");
	struct frame f;
	int s, count = 0;

	if (limit)
		frame_reader_set_limit(r, limit);
	while ((s = frame_read(r, &f)) > 0)
		count++;
	snprintf(err, errlen, "%s", frame_reader_error(r));
	frame_reader_close(r);
	close(fd);
	*countP = count;
	return s;
}

/* Asserts that p[0..n) is rejected with an error containing want. */
static void
rejected(const void *p, size_t n, size_t limit, const char *want)
{
	char err[512];
	int count;

	assert_int_equal(read_all(p, n, limit, &count, err, sizeof err), -1);
	assert_int_equal(count, 0);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' does not mention '%s'", err, want);
}

/* Three small frames: an epoch, a sample with a u8 tensor, an unknown kind. */
static void
small_stream(struct buf *b, size_t ends[3])
{
	static const uint8_t px[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255 };
	struct tensor t = { .dtype = DT_U8, .rank = 3, .shape = { 2, 2, 3 },
	                    .data = (void *)px, .nbytes = 12 };

	buf_init(b);
	msgpack_pack_map(&b->pk, 3);
	pstr(b, "kind"); pstr(b, "epoch");
	pstr(b, "index"); msgpack_pack_int(&b->pk, 0);
	pstr(b, "count"); msgpack_pack_int(&b->pk, 2);
	ends[0] = b->sb.size;
	msgpack_pack_map(&b->pk, 4);
	pstr(b, "kind"); pstr(b, "sample");
	pstr(b, "id"); pstr(b, "c/1.png");
	pstr(b, "x"); tensor_pack(&b->pk, &t);
	pstr(b, "label"); msgpack_pack_int(&b->pk, -3);
	ends[1] = b->sb.size;
	msgpack_pack_map(&b->pk, 3);
	pstr(b, "zz"); msgpack_pack_double(&b->pk, 2.5);
	pstr(b, "kind"); pstr(b, "whatever");
	msgpack_pack_int(&b->pk, 7); msgpack_pack_nil(&b->pk);   /* a non-string key */
	ends[2] = b->sb.size;
}

/* ---------------------------------------------------------- round trip */

/* Frames built with struct fb and written with frame_writer read back with
 * the same kinds, keys, values and tensor bytes through the fv_* and
 * frame_* accessors; indexes count from 0. */
static void
test_round_trip(void **state)
{
	int fd = memfd_create("rt", MFD_CLOEXEC);
	struct frame_writer *w = frame_writer_fd(fd, "mem");
	struct frame_reader *r;
	struct frame f;
	struct tensor t, u;
	int64_t shape[4] = { 2, 3, 1, 2 };
	int64_t iv;
	double dv;
	int bv;
	size_t n;
	char s[32], *dup;

	tensor_alloc(&t, DT_F32, 4, shape);
	for (int i = 0; i < 12; i++)
		((float *)t.data)[i] = (float)i * 0.25f - 1.0f;
	for (int k = 0; k < 3; k++) {
		struct fb *b = fb_begin();
		fb_str(b, "kind", k == 1 ? "sample" : "other");
		fb_int(b, "i", -5 * k);
		fb_num(b, "d", 0.5 + k);
		fb_bool(b, "b", k & 1);
		fb_str(b, "s", "héllo");
		fb_tensor(b, "x", &t);
		fb_write(b, w);
	}
	frame_flush(w);
	lseek(fd, 0, SEEK_SET);
	r = frame_reader_fd(fd, "mem");
	for (int k = 0; k < 3; k++) {
		assert_int_equal(frame_read(r, &f), 1);
		assert_int_equal(f.index, (uint64_t)k);
		assert_int_equal(frame_is(&f, "sample"), k == 1);
		assert_int_equal(frame_is(&f, "other"), k != 1);
		assert_int_equal(frame_int(&f, "i", &iv), 1);
		assert_int_equal(iv, -5 * k);
		assert_int_equal(frame_num(&f, "d", &dv), 1);
		assert_true(dv == 0.5 + k);
		assert_int_equal(frame_num(&f, "i", &dv), 1);   /* ints are numbers */
		assert_true(dv == -5.0 * k);
		assert_int_equal(frame_str(&f, "s", s, sizeof s), 1);
		assert_string_equal(s, "héllo");
		assert_int_equal(frame_int(&f, "s", &iv), -1);   /* wrong type */
		assert_int_equal(frame_int(&f, "nope", &iv), 0); /* absent */
		assert_int_equal(frame_str(&f, "i", s, sizeof s), -1);
		assert_int_equal(fv_to_bool(frame_get(&f, "b"), &bv), 0);
		assert_int_equal(bv, (k & 1) != 0);
		assert_int_equal(fv_type(frame_get(&f, "b")), FV_BOOL);
		assert_int_equal(fv_type(frame_get(&f, "d")), FV_FLOAT);
		assert_int_equal(fv_type(frame_get(&f, "x")), FV_MAP);
		assert_int_equal(fv_type(frame_get(&f, "nope")), FV_NIL);
		assert_int_equal(fv_len(f.root), 6);
		assert_true(fv_str_eq(fv_key_at(f.root, 4), "s"));
		assert_memory_equal(fv_strp(fv_val_at(f.root, 4), &n), "héllo", 6);
		assert_int_equal(n, 6);
		assert_null(fv_strp(frame_get(&f, "i"), &n));
		dup = fv_strdup(frame_get(&f, "s"));
		assert_string_equal(dup, "héllo");
		free(dup);
		assert_null(fv_key_at(f.root, 6));
		assert_int_equal(frame_tensor(r, &f, "x", &u), 0);
		assert_int_equal(frame_tensor(r, &f, "y", &u), -1);
		assert_int_equal(u.dtype, DT_F32);
		assert_int_equal(u.rank, 4);
		assert_memory_equal(u.shape, shape, sizeof shape);
		assert_int_equal(u.nbytes, 48);
		assert_memory_equal(u.data, t.data, 48);
	}
	assert_int_equal(frame_read(r, &f), 0);
	assert_int_equal(frame_read(r, &f), 0);         /* end stays the end */
	frame_reader_close(r);
	frame_writer_abort(w);
	close(fd);
	tensor_free(&t);
}

/* python3 -c 'import msgpack, sys; sys.stdout.buffer.write(msgpack.packb({
 *   "kind": "test", "i": -5, "big": 300000, "u": 2**64 - 1, "neg": -40000000000,
 *   "d": 0.1, "t": True, "f": False, "n": None,
 *   "x": {"dtype": "u8", "shape": [2, 2, 3], "data": bytes(range(12))},
 *   "v": [1.5, -2.0], "iv": [1, -1, 200, 70000], "ss": ["a", "é"],
 *   "m": {"k": "v", "a": [1, {}]}, "put": ["c", None], "empty": [], "long": "l" * 40}))'
 * (python3-msgpack 1.0: smallest integers, float64, str8, bin) */
static const uint8_t py_built[227] = {
	0xde, 0x00, 0x11, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xa4, 0x74, 0x65, 0x73,
	0x74, 0xa1, 0x69, 0xfb, 0xa3, 0x62, 0x69, 0x67, 0xce, 0x00, 0x04, 0x93,
	0xe0, 0xa1, 0x75, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xa3, 0x6e, 0x65, 0x67, 0xd3, 0xff, 0xff, 0xff, 0xf6, 0xaf, 0xd0, 0x70,
	0x00, 0xa1, 0x64, 0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,
	0xa1, 0x74, 0xc3, 0xa1, 0x66, 0xc2, 0xa1, 0x6e, 0xc0, 0xa1, 0x78, 0x83,
	0xa5, 0x64, 0x74, 0x79, 0x70, 0x65, 0xa2, 0x75, 0x38, 0xa5, 0x73, 0x68,
	0x61, 0x70, 0x65, 0x93, 0x02, 0x02, 0x03, 0xa4, 0x64, 0x61, 0x74, 0x61,
	0xc4, 0x0c, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
	0x0a, 0x0b, 0xa1, 0x76, 0x92, 0xcb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xcb, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa2,
	0x69, 0x76, 0x94, 0x01, 0xff, 0xcc, 0xc8, 0xce, 0x00, 0x01, 0x11, 0x70,
	0xa2, 0x73, 0x73, 0x92, 0xa1, 0x61, 0xa2, 0xc3, 0xa9, 0xa1, 0x6d, 0x82,
	0xa1, 0x6b, 0xa1, 0x76, 0xa1, 0x61, 0x92, 0x01, 0x80, 0xa3, 0x70, 0x75,
	0x74, 0x92, 0xa1, 0x63, 0xc0, 0xa5, 0x65, 0x6d, 0x70, 0x74, 0x79, 0x90,
	0xa4, 0x6c, 0x6f, 0x6e, 0x67, 0xd9, 0x28, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c,
	0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c,
	0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c,
	0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c, 0x6c,
};

/* struct fb counts the keys of every map and array it builds (17 at the
 * root: a map16 header) and encodes each value as python3-msgpack does:
 * the bytes are equal, written through a frame_writer or into fbytes;
 * fb_reset forgets what was added, open maps included. */
static void
test_builder_bytes(void **state)
{
	static const uint8_t px[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	struct tensor t = { .dtype = DT_U8, .rank = 3, .shape = { 2, 2, 3 },
	                    .data = (void *)px, .nbytes = 12 };
	char *ss[] = { "a", "é" };
	struct fbytes out = { 0 };
	uint8_t got[512];
	int fd = memfd_create("fb", MFD_CLOEXEC);
	struct frame_writer *w = frame_writer_fd(fd, "mem");

	for (int pass = 0; pass < 2; pass++) {
		struct fb *b = fb_begin(), *child = fb_begin_array();
		fb_str(b, "junk", "dropped by fb_reset");
		fb_map(b, "open");
		fb_int(b, "also", 1);
		fb_reset(b);
		fb_str(b, "kind", "test");
		fb_int(b, "i", -5);
		fb_int(b, "big", 300000);
		fb_uint(b, "u", UINT64_MAX);
		fb_int(b, "neg", -40000000000LL);
		fb_num(b, "d", 0.1);
		fb_bool(b, "t", 1);
		fb_bool(b, "f", 0);
		fb_nil(b, "n");
		fb_tensor(b, "x", &t);
		fb_nums(b, "v", (double[]){ 1.5, -2 }, 2);
		fb_ints(b, "iv", (int64_t[]){ 1, -1, 200, 70000 }, 4);
		fb_strs(b, "ss", ss, 2);
		fb_map(b, "m");
		fb_str(b, "k", "v");
		fb_array(b, "a");
		fb_int(b, NULL, 1);
		fb_map(b, NULL);
		fb_close(b);
		fb_close(b);
		fb_close(b);
		fb_str(child, NULL, "c");
		fb_nil(child, NULL);
		fb_put(b, "put", child);
		fb_free(child);
		fb_array(b, "empty");
		fb_close(b);
		fb_strn(b, "long", "llllllllllllllllllllllllllllllllllllllllXYZ", 40);
		if (pass == 0)
			fb_write(b, w);
		else
			fb_end(b, &out);
	}
	frame_flush(w);
	assert_int_equal(pread(fd, got, sizeof got, 0), (ssize_t)sizeof py_built);
	assert_memory_equal(got, py_built, sizeof py_built);
	assert_int_equal(out.len, sizeof py_built);
	assert_memory_equal(out.data, py_built, sizeof py_built);
	free(out.data);
	frame_writer_abort(w);
	close(fd);
}

/* frame_write_raw writes each frame's original bytes, so passing a stream
 * through unchanged is byte-identical, unknown kinds and keys included. */
static void
test_pass_through_bytes(void **state)
{
	struct buf b;
	size_t ends[3];
	int in, out = memfd_create("out", MFD_CLOEXEC);
	struct frame_reader *r;
	struct frame_writer *w;
	struct frame f;
	uint8_t got[4096];

	small_stream(&b, ends);
	in = fd_of(b.sb.data, b.sb.size);
	r = frame_reader_fd(in, "in");
	w = frame_writer_fd(out, "out");
	for (int k = 0; k < 3; k++) {
		assert_int_equal(frame_read(r, &f), 1);
		assert_int_equal(f.len, ends[k] - (k ? ends[k - 1] : 0));
		frame_write_raw(w, &f);
	}
	assert_int_equal(frame_read(r, &f), 0);
	frame_flush(w);
	assert_int_equal(lseek(out, 0, SEEK_END), (off_t)b.sb.size);
	assert_int_equal(pread(out, got, sizeof got, 0), (ssize_t)b.sb.size);
	assert_memory_equal(got, b.sb.data, b.sb.size);
	frame_reader_close(r);
	frame_writer_abort(w);
	close(in);
	close(out);
	msgpack_sbuffer_destroy(&b.sb);
}

/* python3-msgpack's packb({"kind": "renamed", "zz": 2.5, 7: None}) */
static const uint8_t py_rest[28] = {
	0x83, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xa7, 0x72, 0x65, 0x6e, 0x61, 0x6d,
	0x65, 0x64, 0xa2, 0x7a, 0x7a, 0xcb, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x07, 0xc0,
};

/* packb({"zz": "new", "kind": "whatever", 7: None, "copy": 2.5}) */
static const uint8_t py_copy[38] = {
	0x84, 0xa2, 0x7a, 0x7a, 0xa3, 0x6e, 0x65, 0x77, 0xa4, 0x6b, 0x69, 0x6e,
	0x64, 0xa8, 0x77, 0x68, 0x61, 0x74, 0x65, 0x76, 0x65, 0x72, 0x07, 0xc0,
	0xa4, 0x63, 0x6f, 0x70, 0x79, 0xcb, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00,
};

static void
replace_zz(struct fb *b, const char *k, const struct fval *v, void *ctx)
{
	assert_string_equal(k, "zz");
	assert_true(fv_number(v) == 2.5);
	fb_str(b, k, ctx);
}

/* fb_rest copies the entries it does not handle in their original order,
 * non-string keys included; fb_copy lets a callback replace an entry in
 * its place; fb_value copies a value read from another frame. */
static void
test_fb_copy_order(void **state)
{
	static const char *const skip[] = { "kind", NULL }, *const zz[] = { "zz", NULL };
	struct buf b;
	size_t ends[3];
	struct frame_reader *r;
	struct frame f;
	struct fbytes out = { 0 };
	struct fb *fb;

	small_stream(&b, ends);
	r = reader_of(b.sb.data, b.sb.size);
	for (int k = 0; k < 3; k++)
		assert_int_equal(frame_read(r, &f), 1);
	assert_int_equal(fv_type(fv_key_at(f.root, 2)), FV_INT);
	fb = fb_begin();
	fb_str(fb, "kind", "renamed");
	fb_rest(fb, f.root, skip);
	fb_end(fb, &out);
	assert_int_equal(out.len, sizeof py_rest);
	assert_memory_equal(out.data, py_rest, sizeof py_rest);
	out.len = 0;
	fb = fb_begin();
	fb_copy(fb, f.root, zz, replace_zz, "new");
	fb_value(fb, "copy", frame_get(&f, "zz"));
	fb_end(fb, &out);
	assert_int_equal(out.len, sizeof py_copy);
	assert_memory_equal(out.data, py_copy, sizeof py_copy);
	free(out.data);
	frame_reader_close(r);
	msgpack_sbuffer_destroy(&b.sb);
}

/* Concatenated streams are one stream (no header); an empty input is a
 * clean end with no frame. */
static void
test_concatenation_and_empty(void **state)
{
	struct buf b;
	size_t ends[3];
	char err[512];
	int count;
	uint8_t *two;

	assert_int_equal(read_all("", 0, 0, &count, err, sizeof err), 0);
	assert_int_equal(count, 0);
	small_stream(&b, ends);
	two = malloc(2 * b.sb.size);
	memcpy(two, b.sb.data, b.sb.size);
	memcpy(two + b.sb.size, b.sb.data, b.sb.size);
	assert_int_equal(read_all(two, 2 * b.sb.size, 0, &count, err, sizeof err), 0);
	assert_int_equal(count, 6);
	free(two);
	msgpack_sbuffer_destroy(&b.sb);
}

/* ---------------------------------------------------------- truncation */

/* Every prefix of a 3-frame stream: a cut at a frame boundary is a clean
 * end after the whole frames; any other cut is -1 "truncated", never 0 and
 * never a crash.  frame_scan on a partial frame asks for more bytes. */
static void
test_every_truncation_point(void **state)
{
	struct buf b;
	size_t ends[3];
	char err[512];

	small_stream(&b, ends);
	for (size_t cut = 0; cut <= b.sb.size; cut++) {
		int whole = (cut >= ends[0]) + (cut >= ends[1]) + (cut >= ends[2]);
		int boundary = cut == 0 || cut == ends[0] || cut == ends[1] || cut == ends[2];
		int count;
		int s = read_all(b.sb.data, cut, 0, &count, err, sizeof err);

		if (boundary) {
			if (s != 0 || count != whole)
				fail_msg("cut %zu: status %d, %d frames; want clean end after %d",
				    cut, s, count, whole);
		} else {
			if (s != -1 || count != whole)
				fail_msg("cut %zu: status %d, %d frames; want -1 after %d", cut, s, count, whole);
			if (strstr(err, "truncated") == NULL)
				fail_msg("cut %zu: error '%s'", cut, err);
		}
	}
	/* frame_scan on each strict prefix of the second frame */
	for (size_t n = 0; n < ends[1] - ends[0]; n++) {
		size_t size = 0;
		int s = frame_scan((const uint8_t *)b.sb.data + ends[0], n, 1 << 20, &size,
		    err, sizeof err);
		assert_int_equal(s, 0);
		assert_true(size > n);
	}
	msgpack_sbuffer_destroy(&b.sb);
}

/* A 3 MiB frame written to a pipe one small write at a time (the reader
 * sees partial frames, grows its buffer past its 1 MiB chunk and
 * compacts) is read back whole and exact, then the stream ends cleanly. */
static void
test_pipe_dribble(void **state)
{
	struct buf b;
	size_t n = 3u << 20, start;
	uint8_t *px = malloc(n);
	struct tensor t = { .dtype = DT_U8, .rank = 1, .shape = { (int64_t)n }, .data = px, .nbytes = n };
	int p[2];
	pid_t pid;
	struct frame_reader *r;
	struct frame f;
	struct tensor u;

	for (size_t i = 0; i < n; i++)
		px[i] = (uint8_t)(i * 7 + (i >> 12));
	buf_init(&b);
	for (int k = 0; k < 2; k++) {
		msgpack_pack_map(&b.pk, 2);
		pstr(&b, "kind"); pstr(&b, "big");
		pstr(&b, "x"); tensor_pack(&b.pk, &t);
	}
	start = b.sb.size;
	msgpack_pack_map(&b.pk, 1);
	pstr(&b, "kind"); pstr(&b, "tail");
	(void)start;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t off = 0;
		close(p[0]);
		while (off < b.sb.size) {
			size_t k = off < 4096 ? 1 : 65521;      /* byte by byte at first */
			if (k > b.sb.size - off)
				k = b.sb.size - off;
			if (write(p[1], b.sb.data + off, k) != (ssize_t)k)
				_exit(1);
			off += k;
		}
		_exit(0);
	}
	close(p[1]);
	r = frame_reader_fd(p[0], "pipe");
	for (int k = 0; k < 2; k++) {
		assert_int_equal(frame_read(r, &f), 1);
		assert_true(frame_is(&f, "big"));
		assert_int_equal(frame_tensor(r, &f, "x", &u), 0);
		assert_int_equal(u.nbytes, n);
		assert_memory_equal(u.data, px, n);
	}
	assert_int_equal(frame_read(r, &f), 1);
	assert_true(frame_is(&f, "tail"));
	assert_int_equal(frame_read(r, &f), 0);
	frame_reader_close(r);
	close(p[0]);
	waitpid(pid, NULL, 0);
	free(px);
	msgpack_sbuffer_destroy(&b.sb);
}

/* ------------------------------------------------------------- hostile */

/* Declared lengths far beyond the limit or the bytes present are refused
 * before anything of that size is allocated. */
static void
test_huge_declared_lengths(void **state)
{
	static const uint8_t bin32[] = "\x82\xa4kind\xa1s\xa1x\xc6\xff\xff\xff\xf0";
	static const uint8_t str32[] = "\x81\xa4kind\xdb\xff\xff\xff\xff";
	static const uint8_t arr32[] = "\x82\xa4kind\xa1s\xa1x\xdd\xff\xff\xff\xff\x00";
	static const uint8_t map32[] = "\xdf\xff\xff\xff\xff\xa4kind";
	static const uint8_t ext32[] = "\x82\xa4kind\xa1s\xa1x\xc9\xff\xff\xff\xf0\x01";
	/* within the default 1 GiB limit but far more than the stream holds */
	static const uint8_t bin_mid[] = "\x82\xa4kind\xa1s\xa1x\xc6\x10\x00\x00\x00\x01\x02";
	char err[512];
	size_t size;

	rejected(bin32, sizeof bin32 - 1, 0, "size limit");
	rejected(str32, sizeof str32 - 1, 0, "size limit");
	rejected(arr32, sizeof arr32 - 1, 0, "size limit");
	rejected(map32, sizeof map32 - 1, 0, "size limit");
	rejected(ext32, sizeof ext32 - 1, 0, "size limit");
	rejected(bin_mid, sizeof bin_mid - 1, 0, "truncated");
	/* an array whose count fits the limit but whose elements are not all
	 * there: the scanner needs more bytes, it does not trust the count */
	assert_int_equal(frame_scan(arr32, sizeof arr32 - 1, SIZE_MAX / 4, &size, err, sizeof err), 0);
	/* 2^22 + 1 one-byte objects exceed the object count limit */
	{
		size_t n = ((size_t)1 << 22) + 8;
		uint8_t *p = calloc(1, n + 16);
		memcpy(p, "\x82\xa4kind\xa1s\xa1x\xdd\x00\x40\x00\x01", 15);
		assert_int_equal(frame_scan(p, n + 15, SIZE_MAX / 4, &size, err, sizeof err), -1);
		assert_non_null(strstr(err, "size limit"));
		free(p);
	}
}

/* 32 nested containers are accepted (msgpack-c's own limit); 33 are not. */
static void
test_nesting_depth(void **state)
{
	uint8_t p[128];
	size_t n = 0;
	char err[512];
	int count;

	/* root map (level 1) {kind: "s", d: [[[...0...]]]} with 31 arrays */
	memcpy(p, "\x82\xa4kind\xa1s\xa1" "d", 10);
	n = 10;
	for (int i = 0; i < FRAME_MAX_DEPTH - 1; i++)
		p[n++] = 0x91;
	p[n++] = 0x00;
	assert_int_equal(read_all(p, n, 0, &count, err, sizeof err), 0);
	assert_int_equal(count, 1);
	/* one level more */
	memcpy(p, "\x82\xa4kind\xa1s\xa1" "d", 10);
	n = 10;
	for (int i = 0; i < FRAME_MAX_DEPTH; i++)
		p[n++] = 0x91;
	p[n++] = 0x00;
	rejected(p, n, 0, "deeper than 32");
	/* very deep: a kilobyte of nested arrays */
	memset(p, 0x91, sizeof p);
	p[0] = 0x81;
	rejected(p, sizeof p, 0, "deeper");
}

/* Issue 14.13: the scanner and msgpack-c agree on the depth at the
 * boundary, for every kind of innermost value (an empty array or map counts
 * as a level for msgpack-c too), nesting through arrays and through maps. */
static void
test_nesting_depth_agrees(void **state)
{
	static const uint8_t inner[] = { 0x00, 0x90, 0x80, 0x91, 0x81 };
	char err[512];

	for (int levels = 29; levels <= 35; levels++)
	for (size_t k = 0; k < sizeof inner; k++)
	for (int viamap = 0; viamap <= 1; viamap++) {
		uint8_t p[256];
		size_t n = 0, size = 0, off = 0;
		int want, s, nested = levels - 1;   /* levels: containers, root map included */
		msgpack_zone z;
		msgpack_object o;

		memcpy(p, "\x82\xa4kind\xa1s\xa1" "d", 10);
		n = 10;
		if (inner[k] >= 0x80)
			nested--;           /* the innermost value is itself a level */
		for (int i = 0; i < nested; i++) {
			p[n++] = viamap ? 0x81 : 0x91;
			if (viamap)
				p[n++] = 0x00;      /* key 0 */
		}
		p[n++] = inner[k];
		if (inner[k] == 0x91)
			p[n++] = 0x00;
		else if (inner[k] == 0x81) {
			p[n++] = 0x00; p[n++] = 0x00;
		}
		want = levels <= FRAME_MAX_DEPTH;
		s = frame_scan(p, n, 1 << 20, &size, err, sizeof err);
		assert_int_equal(s, want ? 1 : -1);
		if (want)
			assert_int_equal(size, n);
		else
			assert_non_null(strstr(err, "deeper than 32"));
		msgpack_zone_init(&z, 1024);
		if ((msgpack_unpack((const char *)p, n, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS) != want)
			fail_msg("msgpack-c and frame_scan disagree at %d levels, inner 0x%02x, %s",
			    levels, inner[k], viamap ? "maps" : "arrays");
		msgpack_zone_destroy(&z);
	}
}

/* Malformed msgpack and frames that are not kind-maps. */
static void
test_bad_frames(void **state)
{
	struct buf b;

	rejected("\x81\xa4kind\xc1", 7, 0, "0xc1");
	rejected("\xc1", 1, 0, "not a msgpack map");
	rejected("\x92\xa4kind\xa1s", 8, 0, "not a msgpack map");      /* array root */
	rejected("\xa4kind", 5, 0, "not a msgpack map");              /* string root */
	rejected("\x80", 1, 0, "no string 'kind'");                   /* {} */
	rejected("\x81\xa1x\x01", 4, 0, "no string 'kind'");          /* no kind */
	rejected("\x81\xa4kind\x03", 7, 0, "no string 'kind'");       /* kind = 3 */
	rejected("\x81\xa4kind\xc4\x01s", 9, 0, "no string 'kind'");  /* kind is bin */
	/* a good frame, then garbage: the good frame is read, then -1 */
	buf_init(&b);
	msgpack_pack_map(&b.pk, 1);
	pstr(&b, "kind"); pstr(&b, "ok");
	raw(&b, "\x01\x02", 2);
	{
		char err[512];
		int count;
		assert_int_equal(read_all(b.sb.data, b.sb.size, 0, &count, err, sizeof err), -1);
		assert_int_equal(count, 1);
		assert_non_null(strstr(err, "not a radpipe frame"));
	}
	msgpack_sbuffer_destroy(&b.sb);
}

/* The frame size limit: frame_reader_set_limit and RADPIPE_MAX_FRAME. */
static void
test_frame_limit(void **state)
{
	struct buf b;
	uint8_t data[1000] = { 0 };
	char err[512];
	int count;
	struct frame_reader *r;
	struct frame f;
	int fd;

	buf_init(&b);
	msgpack_pack_map(&b.pk, 2);
	pstr(&b, "kind"); pstr(&b, "s");
	pstr(&b, "x"); msgpack_pack_bin(&b.pk, sizeof data); msgpack_pack_bin_body(&b.pk, data, sizeof data);
	/* exactly at the limit is fine, one byte less is not */
	assert_int_equal(read_all(b.sb.data, b.sb.size, b.sb.size, &count, err, sizeof err), 0);
	assert_int_equal(count, 1);
	rejected(b.sb.data, b.sb.size, b.sb.size - 1, "size limit");
	/* the environment variable */
	setenv("RADPIPE_MAX_FRAME", "512", 1);
	fd = fd_of(b.sb.data, b.sb.size);
	r = frame_reader_fd(fd, "env");
	assert_int_equal(frame_read(r, &f), -1);
	assert_non_null(strstr(frame_reader_error(r), "512"));
	frame_reader_close(r);
	close(fd);
	setenv("RADPIPE_MAX_FRAME", "4096", 1);
	fd = fd_of(b.sb.data, b.sb.size);
	r = frame_reader_fd(fd, "env");
	assert_int_equal(frame_read(r, &f), 1);
	frame_reader_close(r);
	close(fd);
	unsetenv("RADPIPE_MAX_FRAME");
	msgpack_sbuffer_destroy(&b.sb);
}

/* frame_next dies "name: frame N: reason" (exit 1) on a bad frame. */
static void
test_frame_next_dies(void **state)
{
	int p[2];
	pid_t pid;
	int st;
	char msg[512] = "";

	assert_int_equal(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct frame f;
		struct frame_reader *r = reader_of("\x81\xa4kind\xa1s\x81\xa4kind", 13);
		dup2(p[1], 2);
		while (frame_next(r, &f))
			;
		_exit(0);
	}
	close(p[1]);
	assert_true(read(p[0], msg, sizeof msg - 1) > 0);
	close(p[0]);
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	if (strstr(msg, "mem: frame 1: truncated") == NULL)
		fail_msg("message: %s", msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_pass_through_bytes),
		cmocka_unit_test(test_fb_copy_order),
		cmocka_unit_test(test_builder_bytes),
		cmocka_unit_test(test_concatenation_and_empty),
		cmocka_unit_test(test_every_truncation_point),
		cmocka_unit_test(test_pipe_dribble),
		cmocka_unit_test(test_huge_declared_lengths),
		cmocka_unit_test(test_nesting_depth),
		cmocka_unit_test(test_nesting_depth_agrees),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_frame_next_dies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
