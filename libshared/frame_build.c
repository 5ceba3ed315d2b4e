/* frame_build.c — struct fb: frames built entry by entry, each map and
 * array counting its own entries, packed when it is closed. */
#include "frame_mp.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* One open map or array: its entries, packed, and their count. */
struct fb_level {
	char *data;
	size_t len, cap;
	size_t n;
	int array;
};

struct fb {
	struct fb_level lv[FRAME_MAX_DEPTH];
	int depth;              /* lv[depth] receives what is packed */
	msgpack_packer pk;
};

static void
append(struct fb_level *l, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (n > l->cap - l->len) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap - l->len < n)
			cap = xmul(cap, 2, "frame");
		l->data = xreallocarray(l->data, cap, 1);
		l->cap = cap;
	}
	memcpy(l->data + l->len, p, n);
	l->len += n;
}

static int
level_write(void *data, const char *p, size_t n)
{
	struct fb *b = data;

	append(&b->lv[b->depth], p, n);
	return 0;
}

static struct fb *
fb_new(int array)
{
	struct fb *b = xcalloc(1, sizeof *b);

	b->lv[0].array = array;
	msgpack_packer_init(&b->pk, b, level_write);
	return b;
}

struct fb *fb_begin(void) { return fb_new(0); }
struct fb *fb_begin_array(void) { return fb_new(1); }

/* Starts an entry: packs key k in a map; counts it. */
static void
entry(struct fb *b, const char *k)
{
	struct fb_level *l = &b->lv[b->depth];

	if (!l->array) {
		if (k == NULL)
			die("frame builder: a map entry without a key");
		msgpack_pack_str_with_body(&b->pk, k, strlen(k));
	}
	l->n++;
}

void
fb_strn(struct fb *b, const char *k, const char *v, size_t n)
{
	entry(b, k);
	msgpack_pack_str_with_body(&b->pk, v, n);
}

void fb_str(struct fb *b, const char *k, const char *v) { fb_strn(b, k, v, strlen(v)); }
void fb_int(struct fb *b, const char *k, int64_t v) { entry(b, k); msgpack_pack_int64(&b->pk, v); }
void fb_uint(struct fb *b, const char *k, uint64_t v) { entry(b, k); msgpack_pack_uint64(&b->pk, v); }
void fb_num(struct fb *b, const char *k, double v) { entry(b, k); msgpack_pack_double(&b->pk, v); }
void fb_nil(struct fb *b, const char *k) { entry(b, k); msgpack_pack_nil(&b->pk); }
void fb_tensor(struct fb *b, const char *k, const struct tensor *t) { entry(b, k); tensor_pack(&b->pk, t); }
void fb_value(struct fb *b, const char *k, const struct fval *v) { entry(b, k); msgpack_pack_object(&b->pk, v->o); }

void
fb_bool(struct fb *b, const char *k, int v)
{
	entry(b, k);
	if (v)
		msgpack_pack_true(&b->pk);
	else
		msgpack_pack_false(&b->pk);
}

void
fb_nums(struct fb *b, const char *k, const double *v, size_t n)
{
	entry(b, k);
	msgpack_pack_array(&b->pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_double(&b->pk, v[i]);
}

void
fb_ints(struct fb *b, const char *k, const int64_t *v, size_t n)
{
	entry(b, k);
	msgpack_pack_array(&b->pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_int64(&b->pk, v[i]);
}

void
fb_strs(struct fb *b, const char *k, char *const *v, size_t n)
{
	entry(b, k);
	msgpack_pack_array(&b->pk, n);
	for (size_t i = 0; i < n; i++)
		msgpack_pack_str_with_body(&b->pk, v[i], strlen(v[i]));
}

static void
open_level(struct fb *b, const char *k, int array)
{
	entry(b, k);
	if (b->depth + 1 >= FRAME_MAX_DEPTH)
		die("frame builder: nested deeper than %d levels", FRAME_MAX_DEPTH);
	b->depth++;
	b->lv[b->depth].len = b->lv[b->depth].n = 0;
	b->lv[b->depth].array = array;
}

void fb_map(struct fb *b, const char *k) { open_level(b, k, 0); }
void fb_array(struct fb *b, const char *k) { open_level(b, k, 1); }

/* Packs the header of level l (a map or array of l->n entries) on pk. */
static void
pack_header(msgpack_packer *pk, const struct fb_level *l)
{
	if (l->array)
		msgpack_pack_array(pk, l->n);
	else
		msgpack_pack_map(pk, l->n);
}

void
fb_close(struct fb *b)
{
	struct fb_level *l = &b->lv[b->depth];

	if (b->depth == 0)
		die("frame builder: fb_close without an open map or array");
	b->depth--;
	pack_header(&b->pk, l);
	append(&b->lv[b->depth], l->data, l->len);
	l->len = l->n = 0;
}

void
fb_reset(struct fb *b)
{
	b->depth = 0;
	b->lv[0].len = b->lv[0].n = 0;
}

void
fb_put(struct fb *b, const char *k, struct fb *child)
{
	while (child->depth > 0)
		fb_close(child);
	entry(b, k);
	pack_header(&b->pk, &child->lv[0]);
	append(&b->lv[b->depth], child->lv[0].data, child->lv[0].len);
	fb_reset(child);
}

/* The index of v's key in keys, or -1 (also for a non-string key). */
static int
key_index(const msgpack_object *key, const char *const *keys)
{
	for (int j = 0; keys && keys[j]; j++)
		if (mp_str_eq(key, keys[j]))
			return j;
	return -1;
}

void
fb_copy(struct fb *b, const struct fval *v, const char *const *keys, fb_entry_fn *fn, void *ctx)
{
	const msgpack_object *m = fv_mp(v);

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return;
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];
		int j = key_index(&kv->key, keys);
		if (j >= 0) {
			if (fn)
				fn(b, keys[j], mp_fv(&kv->val), ctx);
			continue;
		}
		b->lv[b->depth].n++;
		msgpack_pack_object(&b->pk, kv->key);
		msgpack_pack_object(&b->pk, kv->val);
	}
}

void
fb_rest(struct fb *b, const struct fval *v, const char *const *skip)
{
	fb_copy(b, v, skip, NULL, NULL);
}

/* A map or array header: at most 5 bytes. */
struct hdr {
	char b[16];
	size_t len;
};

static int
hdr_write(void *data, const char *p, size_t n)
{
	struct hdr *h = data;

	memcpy(h->b + h->len, p, n);
	h->len += n;
	return 0;
}

/* Closes every open level; packs the root's header into h. */
static void
finish(struct fb *b, struct hdr *h)
{
	msgpack_packer pk;

	while (b->depth > 0)
		fb_close(b);
	h->len = 0;
	msgpack_packer_init(&pk, h, hdr_write);
	pack_header(&pk, &b->lv[0]);
}

void
fb_write(struct fb *b, struct frame_writer *w)
{
	struct hdr h;

	finish(b, &h);
	frame_write_bytes(w, h.b, h.len);
	frame_write_bytes(w, b->lv[0].data, b->lv[0].len);
	fb_free(b);
}

void
fb_end(struct fb *b, struct fbytes *out)
{
	struct fb_level l = { .data = (char *)out->data, .len = out->len, .cap = out->cap };
	struct hdr h;

	finish(b, &h);
	append(&l, h.b, h.len);
	append(&l, b->lv[0].data, b->lv[0].len);
	out->data = (uint8_t *)l.data;
	out->len = l.len;
	out->cap = l.cap;
	fb_free(b);
}

void
fb_free(struct fb *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < FRAME_MAX_DEPTH; i++)
		free(b->lv[i].data);
	free(b);
}
