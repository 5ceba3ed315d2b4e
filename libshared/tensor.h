/* tensor.h — typed n-dimensional arrays as they travel in frames.
 *
 * On the wire a tensor is the msgpack map {dtype: str, shape: [int...],
 * data: bin}, row-major, little-endian (see radpipe-stream(5)).  A tensor
 * read from a frame is a view into the frame's bytes (owned == NULL) and
 * lives until the next frame_read on that reader; tensor_alloc'd tensors
 * own their data and are released with tensor_free.
 */
#ifndef RADPIPE_TENSOR_H
#define RADPIPE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAX_RANK 8

enum dtype { DT_U8, DT_U16, DT_I32, DT_F16, DT_BF16, DT_F32, DT_COUNT };

struct tensor {
	enum dtype dtype;
	int rank;
	int64_t shape[TENSOR_MAX_RANK];
	void *data;             /* elements, row-major */
	size_t nbytes;          /* element count * dtype_size */
	void *owned;            /* non-NULL: memory to free */
};

/* Bytes per element of dt. */
size_t dtype_size(enum dtype dt);
/* Wire name of dt ("u8", "u16", "i32", "f16", "bf16", "f32"). */
const char *dtype_name(enum dtype dt);
/* Parses a wire name of len bytes; returns the dtype or -1. */
int dtype_parse(const char *s, size_t len);

/* Element count of t (product of the shape; 1 for rank 0). */
size_t tensor_count(const struct tensor *t);
/* Allocates an owned tensor (64-byte aligned, uninitialised); dies on
 * overflow or out of memory. */
void tensor_alloc(struct tensor *t, enum dtype dt, int rank, const int64_t *shape);
/* Shorthand for an owned rank-3 HWC image tensor. */
void tensor_alloc_hwc(struct tensor *t, enum dtype dt, int64_t h, int64_t w, int64_t c);
/* Like tensor_alloc_hwc, but returns -1 (t cleared) instead of dying when
 * the size overflows or memory runs out; 0 when allocated. */
int tensor_try_alloc_hwc(struct tensor *t, enum dtype dt, int64_t h, int64_t w, int64_t c);
/* Frees an owned tensor's memory and clears it (views: only clears). */
void tensor_free(struct tensor *t);
/* Makes t own an aligned copy of its data if it is a view whose data is
 * not aligned for its dtype (so it can be read as typed elements). */
void tensor_ensure_aligned(struct tensor *t);

/* Decoding a tensor from a frame: frame_tensor and fv_tensor (frame.h),
 * which check a map with the three keys, a known dtype, 0 <= rank <= 8,
 * every dim >= 0, no overflow in the product, and count*dtype_size == data
 * length; encoding: fb_tensor. */

/* "u8[299,299,3]" style description into buf; returns buf. */
char *tensor_describe(const struct tensor *t, char *buf, size_t len);

#endif
