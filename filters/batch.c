/* batch — group sample frames into batch frames of N.
 *
 * The only stage that changes the frame count.  A partial batch is flushed
 * at each epoch frame and at the end of the stream (unless --drop-last).
 * Multi-label samples (targets, target_names) give an (N, K) f32 targets
 * tensor; every sample of the stream must then carry the same target_names.
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
	/* multi-label streams: fixed by the first sample for the whole stream */
	int mode;               /* 0: not known yet, 1: multi-label, 2: single-label */
	int k;                  /* targets per sample */
	char **tnames;          /* their k names */
	float *targets;         /* n x k */
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
	for (int i = 0; i < p->k; i++)
		free(p->tnames[i]);
	free(p->tnames);
	free(p->targets);
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
	if (p->mode == 1) {
		struct tensor t = { 0 };
		t.dtype = DT_F32;
		t.rank = 2;
		t.shape[0] = p->count;
		t.shape[1] = p->k;
		t.data = p->targets;
		t.nbytes = (size_t)p->count * (size_t)p->k * sizeof(float);
		fb_tensor(b, "targets", &t);
		fb_strs(b, "target_names", p->tnames, (size_t)p->k);
	}
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

/* The first multi-label sample fixes the stream's target names. */
static void
first_targets(struct pending *p, const struct fval *names, int n, const char *id)
{
	p->k = (int)fv_len(names);
	if (p->k == 0)
		die("sample %s: targets without target_names (a multi-label sample needs both)", id);
	p->tnames = XNEW(char *, (size_t)p->k);
	for (int j = 0; j < p->k; j++) {
		if (fv_type(fv_at(names, (size_t)j)) != FV_STR)
			die("sample %s: target_names must be strings", id);
		p->tnames[j] = fv_strdup(fv_at(names, (size_t)j));
	}
	p->targets = XNEW(float, (size_t)n * (size_t)p->k);
}

/* Copies sample i's targets (1, 0, -1) into the batch; dies when the
 * stream mixes multi-label and single-label samples or target lists. */
static void
add_targets(struct pending *p, const struct frame *f, int i, int n, const char *id)
{
	const struct fval *tv = frame_get(f, "targets"), *names = frame_get(f, "target_names");
	int mode = tv ? 1 : 2;

	if (p->mode == 0 && mode == 1)
		first_targets(p, names, n, id);
	if (p->mode && mode != p->mode)
		die("sample %s: %s, but the samples before it %s (batch does not mix multi-label "
		    "and single-label streams)", id, mode == 1 ? "has targets" : "has no targets",
		    p->mode == 1 ? "had" : "had none");
	p->mode = mode;
	if (mode == 2)
		return;
	if (fv_len(names) != (size_t)p->k || fv_len(tv) != (size_t)p->k)
		die("sample %s: %zu targets and %zu target_names, but the stream has %d targets", id,
		    fv_len(tv), fv_len(names), p->k);
	for (int j = 0; j < p->k; j++) {
		int64_t v;
		if (!fv_str_eq(fv_at(names, (size_t)j), p->tnames[j]))
			die("sample %s: target %d is '%s', but earlier samples call it '%s' (streams "
			    "with different target_names cannot be batched together: use one --label-map "
			    "or --target-names)", id, j + 1, fv_strdup(fv_at(names, (size_t)j)), p->tnames[j]);
		if (fv_to_int(fv_at(tv, (size_t)j), &v) < 0 || v < -1 || v > 1)
			die("sample %s: target %d (%s) is not 1, 0 or -1", id, j + 1, p->tnames[j]);
		p->targets[(size_t)i * (size_t)p->k + (size_t)j] = (float)v;
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
	add_targets(p, f, i, n, p->ids[i]);
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
