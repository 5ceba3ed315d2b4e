/* nninfer — a saved model + sample or batch frames -> prediction frames.
 *
 * The preprocessing stored in the model is applied, so a user cannot get it
 * wrong.  Images are grouped into batches of --batch for speed; each image
 * gives one prediction frame, in input order.  Frames of other kinds pass
 * through unchanged, in order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "frame.h"
#include "nn/train/feed.h"
#include "nn/modelfile/modelio.h"
#include "nn/nn.h"
#include "progress.h"

static const char synopsis[] = "usage: nninfer --model FILE [options] < samples > predictions\n";

struct options {
	const char *model;
	int batch;
	double threshold;
	int tta;
	int timing;
	const char *device;
	int threads;
	int precision;          /* enum nn_precision */
};

struct infer {
	const struct options *o;
	struct nn_model *m;
	struct nn_model_info info;
	int h, w, c, k;
	struct nn_backend *be;
	struct feed pend;       /* images waiting for a forward pass */
	size_t img_bytes;
	float *probs, *probs2;
	void *flipped;
	struct frame_writer *out;
};

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	static const char *const tta[] = { "flip", NULL };
	int tta_mode, i;
	const struct cli_opt opts[] = {
		CLI_STR("model", 0, "FILE", "a radpipe model (saved by nntrain or nnimport)", &o->model),
		CLI_INT("batch", 0, "N", "images per forward pass (default 32)", &o->batch, 1, 65536),
		CLI_DOUBLE("threshold", 0, "T", "class 1 when score >= T (binary; default 0.5)", &o->threshold, 0, 1),
		CLI_CHOICE("tta", 0, "flip", "also predict the horizontally flipped image and\naverage the scores",
		    &tta_mode, tta, .given = &o->tta),
		CLI_FLAG("timing", 0, "add the per-image time (ms) to each prediction", &o->timing),
		CLI_OPT_DEVICE(&o->device),
		CLI_OPT_THREADS(&o->threads),
		CLI_OPT_PRECISION(&o->precision),
		CLI_END
	};

	*o = (struct options){ .batch = 32, .threshold = 0.5, .device = "cpu" };
	i = cli_parse(argc, argv, synopsis, opts);
	if (o->precision != NN_PREC_FP32 && (!strcmp(o->device, "cpu") || !strcmp(o->device, "ref")))
		die_usage("--precision %s: the %s backend computes in fp32 only (use --device cuda)",
		    nn_precision_name(o->precision), o->device);
	if (o->model == NULL)
		die_usage("--model FILE is required");
	if (i != argc)
		die_usage("unexpected argument '%s' (nninfer reads frames on stdin)", argv[i]);
}

static size_t
dt_size(enum nn_dtype_in dt)
{
	return dt == NN_IN_U8 ? 1 : dt == NN_IN_U16 ? 2 : 4;
}

/* Mirrors each image of fb left-right into dst. */
static void
flip_images(const struct feed *fb, void *dst)
{
	size_t px = (size_t)fb->c * dt_size(fb->dt), row = px * (size_t)fb->w;

	for (size_t r = 0; r < (size_t)fb->n * (size_t)fb->h; r++) {
		const char *s = (const char *)fb->x + r * row;
		char *d = (char *)dst + r * row;
		for (int x = 0; x < fb->w; x++)
			memcpy(d + (size_t)x * px, s + (size_t)(fb->w - 1 - x) * px, px);
	}
}

static void
write_prediction(struct infer *in, const struct feed *fb, int i, const float *p, double ms)
{
	struct fb *b = fb_begin();
	int k = in->k, labelled = fb->y[i] >= 0, pred = 0;
	float score = p[0];

	if (k == 1) {
		pred = score >= in->o->threshold;
	} else {
		for (int j = 1; j < k; j++)
			if (p[j] > p[pred])
				pred = j;
		score = p[pred];
	}
	fb_str(b, "kind", "prediction");
	fb_str(b, "id", fb->ids[i]);
	if (labelled) {
		fb_int(b, "label", (int64_t)fb->y[i]);
		fb_str(b, "class", fb->classes[i][0] ? fb->classes[i] :
		    (int)fb->y[i] < in->info.nclasses ? in->info.classes[(int)fb->y[i]] : "");
	}
	fb_num(b, "score", score);
	fb_int(b, "pred", pred);
	fb_str(b, "pred_class", pred < in->info.nclasses ? in->info.classes[pred] : "");
	fb_num(b, "threshold", in->o->threshold);
	if (k > 1) {
		fb_array(b, "scores");
		for (int j = 0; j < k; j++)
			fb_num(b, NULL, p[j]);
		fb_close(b);
	}
	if (ms >= 0)
		fb_num(b, "ms", ms);
	fb_write(b, in->out);
}

/* Runs the pending images through the model and writes their predictions. */
static void
run_pending(struct infer *in)
{
	struct feed *fb = &in->pend;
	double t0 = now_seconds(), ms;
	size_t out = (size_t)fb->n * (size_t)in->k;

	if (fb->n == 0)
		return;
	if (nn_infer(in->m, fb->dt, fb->x, fb->n, in->probs) < 0)
		die("%s", nn_error(in->m));
	if (in->o->tta) {
		flip_images(fb, in->flipped);
		if (nn_infer(in->m, fb->dt, in->flipped, fb->n, in->probs2) < 0)
			die("%s", nn_error(in->m));
		for (size_t j = 0; j < out; j++)
			in->probs[j] = 0.5f * (in->probs[j] + in->probs2[j]);
	}
	for (size_t j = 0; j < out; j++)
		if (!isfinite(in->probs[j]))
			die("%s: the model's output for %s is %g (not finite): no prediction written",
			    in->o->model, fb->ids[j / (size_t)in->k][0] ? fb->ids[j / (size_t)in->k] : "an image",
			    in->probs[j]);
	ms = (now_seconds() - t0) * 1000.0 / fb->n;
	for (int i = 0; i < fb->n; i++)
		write_prediction(in, fb, i, in->probs + (size_t)i * in->k, in->o->timing ? ms : -1);
	for (int i = 0; i < fb->n; i++) {
		free(fb->ids[i]);
		free(fb->classes[i]);
	}
	fb->n = 0;
}

/* Copies the images of a frame into the pending batch, flushing when full. */
static void
add_images(struct infer *in, const struct frame *f)
{
	struct feed fb;
	struct feed *p = &in->pend;
	char err[400];

	if (feed_from_frame(f, &fb, err, sizeof err) < 0 ||
	    feed_check_shape(&fb, in->h, in->w, in->c, err, sizeof err) < 0)
		die("stdin: frame %llu: %s", (unsigned long long)f->index, err);
	if (p->n > 0 && p->dt != fb.dt)
		run_pending(in);
	p->dt = fb.dt;
	for (int i = 0; i < fb.n; i++) {
		size_t ib = in->img_bytes / 4 * dt_size(fb.dt);
		memcpy((char *)p->owned + ib * (size_t)p->n, (const char *)fb.x + ib * (size_t)i, ib);
		p->y[p->n] = fb.y[i];
		p->ids[p->n] = xstrdup(fb.ids[i]);
		p->classes[p->n] = xstrdup(fb.classes[i]);
		if (++p->n == in->o->batch)
			run_pending(in);
	}
	feed_free(&fb);
}

static void
setup(struct infer *in, const struct options *o)
{
	struct nn_backend_opts bo = { .threads = o->threads, .precision = o->precision };
	char err[512];
	float scale, offset;
	int bs = o->batch;

	in->o = o;
	if ((in->m = nn_model_load(o->model, &in->info, err, sizeof err)) == NULL)
		die("%s", err);
	nn_model_note_unverified(o->model, &in->info);
	if ((in->be = nn_backend_open(o->device, &bo, err, sizeof err)) == NULL)
		die("%s", err);
	in->h = in->info.input[0], in->w = in->info.input[1], in->c = in->info.input[2];
	in->k = nn_output_size(in->m);
	if (nn_preprocess_parse(in->info.preprocess, &scale, &offset) < 0)
		die("%s: unknown preprocessing '%s'", o->model, in->info.preprocess);
	nn_set_preprocess(in->m, scale, offset);
	if (nn_model_plan_flags(in->m, in->be, bs, NN_PLAN_INFERENCE) < 0)
		die("%s", nn_error(in->m));
	nn_params_upload(in->m);
	in->img_bytes = (size_t)in->h * (size_t)in->w * (size_t)in->c * 4;
	in->pend.h = in->h, in->pend.w = in->w, in->pend.c = in->c;
	in->pend.owned = xaligned(in->img_bytes * (size_t)bs);
	in->pend.x = in->pend.owned;
	in->pend.y = XNEW(float, (size_t)bs);
	in->pend.ids = xcalloc((size_t)bs, sizeof(char *));
	in->pend.classes = xcalloc((size_t)bs, sizeof(char *));
	in->probs = XNEW(float, (size_t)bs * (size_t)in->k);
	in->probs2 = XNEW(float, (size_t)bs * (size_t)in->k);
	in->flipped = o->tta ? xaligned(in->img_bytes * (size_t)bs) : NULL;
}

/* Releases what setup allocated. */
static void
teardown(struct infer *in)
{
	feed_free(&in->pend);
	free(in->probs);
	free(in->probs2);
	free(in->flipped);
	nn_model_free(in->m);
	nn_model_info_free(&in->info);
	in->be->close(in->be);
}

int
main(int argc, char **argv)
{
	struct options o;
	struct infer in = { 0 };
	struct frame_reader *r;
	struct frame f;

	parse_command_line(argc, argv, &o);
	setup(&in, &o);
	r = frame_reader_fd(0, "stdin");
	in.out = frame_writer_fd(1, "stdout");
	while (frame_next(r, &f)) {
		if (frame_is(&f, "sample") || frame_is(&f, "batch")) {
			add_images(&in, &f);
			continue;
		}
		run_pending(&in);
		frame_write_raw(in.out, &f);
	}
	run_pending(&in);
	frame_writer_close(in.out);
	frame_reader_close(r);
	teardown(&in);
	stdout_finish();
	return 0;
}
