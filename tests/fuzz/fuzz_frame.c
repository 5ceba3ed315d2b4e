/* fuzz_frame.c — libFuzzer target for the stream reader.
 *
 * Each input is taken as the bytes of a stream and goes through the three
 * layers that meet untrusted bytes:
 *   1. frame_scan + frame_parse + tensor_from_object on the buffer itself,
 *      checking that the scanner and msgpack-c agree on where a frame ends;
 *   2. frame_read on a memory file holding the same bytes, frame after frame,
 *      under a small frame limit, until a clean end or an error.
 * Any crash, sanitizer report or broken invariant (__builtin_trap) is a bug.
 *
 *   make fuzz                      build, then run for FUZZ_SECONDS (60)
 *   build/fuzz/fuzz_frame CORPUS   run by hand
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame_mp.h"

#define LIMIT ((size_t)1 << 20)

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)

/* Decodes every map value of o that looks like a tensor, to depth 4, and
 * touches its data so ASan sees any read past the frame. */
static void
tensors(const msgpack_object *o, int depth)
{
	struct tensor t;
	char err[256];
	volatile uint8_t sink = 0;

	if (depth > 4)
		return;
	if (o->type == MSGPACK_OBJECT_MAP) {
		if (tensor_from_object(&t, o, err, sizeof err) == 0) {
			CHECK(t.rank >= 0 && t.rank <= TENSOR_MAX_RANK);
			CHECK(t.nbytes == tensor_count(&t) * dtype_size(t.dtype));
			if (t.nbytes > 0)
				sink ^= ((const uint8_t *)t.data)[0] ^ ((const uint8_t *)t.data)[t.nbytes - 1];
		} else {
			CHECK(err[0] != '\0');
		}
		for (uint32_t i = 0; i < o->via.map.size; i++)
			tensors(&o->via.map.ptr[i].val, depth + 1);
	} else if (o->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < o->via.array.size && i < 16; i++)
			tensors(&o->via.array.ptr[i], depth + 1);
	}
	(void)sink;
}

static void
in_memory(const uint8_t *data, size_t len)
{
	size_t off = 0;
	msgpack_zone z;

	msgpack_zone_init(&z, 4096);
	while (off < len) {
		size_t size = 0;
		char err[512] = "";
		struct frame f;
		int s = frame_scan(data + off, len - off, LIMIT, &size, err, sizeof err);

		if (s < 0) {
			CHECK(err[0] != '\0');
			break;
		}
		if (s == 0) {
			CHECK(size > len - off);        /* asks for more than it has */
			break;
		}
		CHECK(size >= 1 && size <= len - off && size <= LIMIT);
		/* The scanner said: one complete msgpack value of size bytes.
		 * msgpack-c must agree, or frame_parse could read a different
		 * frame than the one the reader framed. */
		{
			size_t o2 = 0;
			msgpack_object obj;
			msgpack_zone_clear(&z);
			CHECK(msgpack_unpack((const char *)data + off, size, &o2, &z, &obj) ==
			    MSGPACK_UNPACK_SUCCESS && o2 == size);
		}
		msgpack_zone_clear(&z);
		if (frame_parse(data + off, size, &z, &f, err, sizeof err) == 0) {
			CHECK(frame_root(&f)->type == MSGPACK_OBJECT_MAP);
			CHECK(f.len == size && f.kind_len <= size);
			tensors(frame_root(&f), 0);
		} else {
			CHECK(err[0] != '\0');
		}
		off += size;
	}
	msgpack_zone_destroy(&z);
}

static void
through_reader(const uint8_t *data, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	struct frame_reader *r;
	struct frame f;
	size_t total = 0;
	int s;

	if (fd < 0)
		return;
	if (len > 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return;
	}
	lseek(fd, 0, SEEK_SET);
	r = frame_reader_fd(fd, "fuzz");
	frame_reader_set_limit(r, LIMIT);
	while ((s = frame_read(r, &f)) > 0) {
		CHECK(f.len >= 1 && f.len <= LIMIT);
		total += f.len;
		CHECK(total <= len);
		tensors(frame_root(&f), 0);
	}
	if (s == 0)
		CHECK(total == len);            /* clean end only after every byte */
	else
		CHECK(frame_reader_error(r)[0] != '\0');
	frame_reader_close(r);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	in_memory(data, len);
	through_reader(data, len);
	return 0;
}
