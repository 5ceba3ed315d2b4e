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
	int64_t *labels;        /* -1: the sample has no label */
	struct fb *metas;       /* the samples' meta maps (nil if none), an array */
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
	p->metas = fb_begin_array();
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
	fb_reset(p->metas);
}

static void
pending_free(struct pending *p)
{
	pending_clear(p);
	free(p->ids);
	free(p->classes);
	free(p->labels);
	fb_free(p->metas);
	tensor_free(&p->x);
}

static void
flush(struct pending *p, struct frame_writer *w)
{
	struct tensor x = p->x;
	struct fb *b;

	if (p->count == 0)
		return;
	x.shape[0] = p->count;
	x.nbytes = p->item_bytes * (size_t)p->count;
	b = fb_begin();
	fb_str(b, "kind", "batch");
	fb_strs(b, "ids", p->ids, (size_t)p->count);
	fb_ints(b, "labels", p->labels, (size_t)p->count);
	fb_strs(b, "classes", p->classes, (size_t)p->count);
	fb_tensor(b, "x", &x);
	fb_put(b, "metas", p->metas);
	fb_write(b, w);
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
	const struct fval *id = frame_get(f, "id"), *cls = frame_get(f, "class");
	const struct fval *meta = frame_get(f, "meta");
	struct tensor t;
	int64_t label = -1;
	int i = p->count;

	p->ids[i] = fv_strdup(id);
	if (frame_tensor(r, f, "x", &t) < 0)
		die("sample %s: no tensor 'x'", p->ids[i]);
	check_shape(p, &t, n, p->ids[i]);
	if (frame_int(f, "label", &label) < 0)
		die("sample %s: label is not an integer", p->ids[i]);
	if (frame_get(f, "label") && (label < 0 || label > INT32_MAX))
		die("sample %s: label %lld is not a class index (0 to %d)", p->ids[i],
		    (long long)label, INT32_MAX);
	p->labels[i] = label;
	p->classes[i] = fv_strdup(cls);
	memcpy((char *)p->x.data + p->item_bytes * (size_t)i, t.data, t.nbytes);
	if (meta)
		fb_value(p->metas, NULL, meta);
	else
		fb_nil(p->metas, NULL);
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
