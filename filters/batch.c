/* batch — group sample frames into batch frames of N.
 *
 * The only stage that changes the frame count.  A partial batch is flushed
 * at each epoch frame and at the end of the stream (unless --drop-last).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "frame.h"

static const char synopsis[] = "usage: batch [options] N\n";

struct options {
	int n;
	int drop_last;
};

struct pending {
	int count;
	struct tensor x;        /* n x H x W x C, allocated at the first sample */
	size_t item_bytes;
	char **ids, **classes;
	int32_t *labels;        /* -1: the sample has no label */
	msgpack_sbuffer metas;  /* packed meta maps, one per sample */
	msgpack_packer mpk;
};

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	const struct cli_opt opts[] = {
		CLI_OPERAND("N", "samples per batch"),
		CLI_FLAG("drop-last", 0, "drop a final partial batch of each epoch", &o->drop_last),
		CLI_END
	};
	int i;

	*o = (struct options){ 0 };
	i = cli_parse(argc, argv, synopsis, opts);
	if (i != argc - 1)
		die_usage("give the batch size N");
	o->n = (int)cli_int(argv[i], "N", 1, 1 << 20);
}

static void
pending_init(struct pending *p, int n)
{
	memset(p, 0, sizeof *p);
	p->ids = xcalloc((size_t)n, sizeof *p->ids);
	p->classes = xcalloc((size_t)n, sizeof *p->classes);
	p->labels = xcalloc((size_t)n, sizeof *p->labels);
	msgpack_sbuffer_init(&p->metas);
	msgpack_packer_init(&p->mpk, &p->metas, msgpack_sbuffer_write);
}

static void
pending_clear(struct pending *p)
{
	for (int i = 0; i < p->count; i++) {
		free(p->ids[i]);
		free(p->classes[i]);
		p->ids[i] = p->classes[i] = NULL;
	}
	p->count = 0;
	msgpack_sbuffer_clear(&p->metas);
}

static void
pending_free(struct pending *p)
{
	pending_clear(p);
	free(p->ids);
	free(p->classes);
	free(p->labels);
	msgpack_sbuffer_destroy(&p->metas);
	tensor_free(&p->x);
}

static void
pack_strings(msgpack_packer *pk, char **v, int n)
{
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		msgpack_pack_str_with_body(pk, v[i], strlen(v[i]));
}

static void
flush(struct pending *p, struct frame_writer *w)
{
	msgpack_packer *pk = frame_packer(w);
	struct tensor x = p->x;

	if (p->count == 0)
		return;
	x.shape[0] = p->count;
	x.nbytes = p->item_bytes * (size_t)p->count;
	fw_map(w, 6);
	fw_kv_str(w, "kind", "batch");
	fw_str(w, "ids");
	pack_strings(pk, p->ids, p->count);
	fw_str(w, "labels");
	msgpack_pack_array(pk, (size_t)p->count);
	for (int i = 0; i < p->count; i++)
		msgpack_pack_int(pk, p->labels[i]);
	fw_str(w, "classes");
	pack_strings(pk, p->classes, p->count);
	fw_kv_tensor(w, "x", &x);
	fw_str(w, "metas");
	msgpack_pack_array(pk, (size_t)p->count);
	frame_write_bytes(w, p->metas.data, p->metas.size);
	pending_clear(p);
}

/* Checks that sample x fits the batch being built (allocating it first). */
static void
check_shape(struct pending *p, const struct tensor *t, int n, const char *id)
{
	char a[96], b[96];

	if (p->x.data == NULL) {
		int64_t shape[TENSOR_MAX_RANK + 1];
		if (t->rank >= TENSOR_MAX_RANK)
			die("sample %s: tensor rank %d is too high to batch", id, t->rank);
		shape[0] = n;
		memcpy(shape + 1, t->shape, sizeof(int64_t) * (size_t)t->rank);
		tensor_alloc(&p->x, t->dtype, t->rank + 1, shape);
		p->item_bytes = t->nbytes;
		return;
	}
	if (t->dtype != p->x.dtype || t->rank != p->x.rank - 1 ||
	    memcmp(t->shape, p->x.shape + 1, sizeof(int64_t) * (size_t)t->rank) != 0) {
		struct tensor want = p->x;
		want.rank--;
		memmove(want.shape, want.shape + 1, sizeof(int64_t) * (size_t)want.rank);
		die("sample %s: x is %s but the batch holds %s (resize the images to one size, "
		    "e.g. imgload --size)", id, tensor_describe(t, a, sizeof a),
		    tensor_describe(&want, b, sizeof b));
	}
}

static void
add_sample(struct pending *p, const struct frame_reader *r, const struct frame *f, int n)
{
	const msgpack_object *id = frame_get(f, "id"), *cls = frame_get(f, "class");
	const msgpack_object *meta = frame_get(f, "meta");
	struct tensor t;
	int64_t label = -1;
	int i = p->count;

	p->ids[i] = id ? mp_strdup(id) : xstrdup("");
	if (frame_tensor(r, f, "x", &t) < 0)
		die("sample %s: no tensor 'x'", p->ids[i]);
	check_shape(p, &t, n, p->ids[i]);
	if (mp_int(&f->root, "label", &label) < 0)
		die("sample %s: label is not an integer", p->ids[i]);
	if (frame_get(f, "label") && (label < 0 || label > INT32_MAX))
		die("sample %s: label %lld is not a class index (0 to %d)", p->ids[i],
		    (long long)label, INT32_MAX);
	p->labels[i] = (int32_t)label;
	p->classes[i] = cls ? mp_strdup(cls) : xstrdup("");
	memcpy((char *)p->x.data + p->item_bytes * (size_t)i, t.data, t.nbytes);
	if (meta)
		msgpack_pack_object(&p->mpk, *meta);
	else
		msgpack_pack_nil(&p->mpk);
	p->count++;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct frame_reader *r;
	struct frame_writer *w;
	struct pending p;
	struct frame f;

	parse_command_line(argc, argv, &o);
	r = frame_reader_fd(0, "stdin");
	w = frame_writer_fd(1, "stdout");
	pending_init(&p, o.n);
	while (frame_next(r, &f)) {
		if (frame_is(&f, "sample")) {
			add_sample(&p, r, &f, o.n);
			if (p.count == o.n)
				flush(&p, w);
			continue;
		}
		if (frame_is(&f, "epoch")) {
			if (o.drop_last)
				pending_clear(&p);
			flush(&p, w);
		}
		frame_write_raw(w, &f);
	}
	if (o.drop_last)
		pending_clear(&p);
	flush(&p, w);
	pending_free(&p);
	frame_writer_close(w);
	frame_reader_close(r);
	stdout_finish();
	return 0;
}
