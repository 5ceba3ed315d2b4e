/* frame_mp.h — the msgpack level under frame.h, for library code and tests
 * only: programs include frame.h and never see msgpack types.
 *
 * struct fval is a msgpack_object; fv_mp and mp_fv convert between the two
 * without copying.  The mp_* lookups, fw_* packers and frame_packer below
 * are the old, raw interface that the engine's model files still use;
 * new code builds frames with struct fb (frame.h).
 */
#ifndef RADPIPE_FRAME_MP_H
#define RADPIPE_FRAME_MP_H

#include <msgpack.h>
#include "frame.h"

struct fval {
	msgpack_object o;
};

_Static_assert(sizeof(struct fval) == sizeof(msgpack_object),
    "struct fval must be layout-compatible with msgpack_object");

/* The msgpack object of v (NULL for NULL). */
static inline const msgpack_object *
fv_mp(const struct fval *v)
{
	return v ? &v->o : NULL;
}

/* The fval of msgpack object o (NULL for NULL). */
static inline const struct fval *
mp_fv(const msgpack_object *o)
{
	return (const struct fval *)o;
}

/* The root map of f as a msgpack object. */
static inline const msgpack_object *
frame_root(const struct frame *f)
{
	return fv_mp(f->root);
}

/* Parses one complete frame of len bytes (as frame_scan found it) into f
 * using zone z (the root object is allocated in z); checks it is a map
 * with a string "kind".  Returns 0 or -1 with a reason in err. */
int frame_parse(const uint8_t *buf, size_t len, msgpack_zone *z, struct frame *f,
                char *err, size_t errlen);

/* The value of key in map (a msgpack map), or NULL. */
const msgpack_object *mp_get(const msgpack_object *map, const char *key);
/* Integer value of key: 1 found, 0 absent, -1 wrong type. */
int mp_int(const msgpack_object *map, const char *key, int64_t *out);
/* Number (int or float) value of key: 1 found, 0 absent, -1 wrong type. */
int mp_num(const msgpack_object *map, const char *key, double *out);
/* String value of key copied into buf (truncated, NUL-terminated): 1, 0, -1. */
int mp_str(const msgpack_object *map, const char *key, char *buf, size_t len);
/* 1 if o is a string equal to s. */
int mp_str_eq(const msgpack_object *o, const char *s);
/* Newly allocated NUL-terminated copy of a string object (caller frees). */
char *mp_strdup(const msgpack_object *o);

/* Decodes the tensor map o into a view.  Checks: a map with the three
 * keys, a known dtype, 0 <= rank <= 8, every dim >= 0, no overflow in the
 * product, and count*dtype_size == data length.  Returns 0, or -1 with a
 * one-line reason in err. */
int tensor_from_object(struct tensor *t, const msgpack_object *o, char *err, size_t errlen);
/* Packs t as a tensor map. */
void tensor_pack(msgpack_packer *pk, const struct tensor *t);

/* The packer that writes into w (for msgpack_pack_* calls). */
msgpack_packer *frame_packer(struct frame_writer *w);
/* Packing helpers: a map header, then keys and values. */
void fw_map(struct frame_writer *w, size_t n);
void fw_str(struct frame_writer *w, const char *s);
void fw_kv_str(struct frame_writer *w, const char *k, const char *v);
void fw_kv_int(struct frame_writer *w, const char *k, int64_t v);
void fw_kv_double(struct frame_writer *w, const char *k, double v);
void fw_kv_bool(struct frame_writer *w, const char *k, int v);
void fw_kv_tensor(struct frame_writer *w, const char *k, const struct tensor *t);
void fw_kv_object(struct frame_writer *w, const char *k, const msgpack_object *v);

#endif
