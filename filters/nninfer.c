/* nninfer — a saved model + sample or batch frames -> prediction frames.
 *
 * The preprocessing stored in the model is applied, so a user cannot get it
 * wrong.  Images are grouped into batches of --batch for speed; each image
 * gives one prediction frame, in input order.  Frames of other kinds pass
 * through unchanged, in order.
 *
 * A multi-label model (task "multilabel") gives K scores per image, NaN
 * for the outputs it never trained, and no decision: thresholds are
 * chosen per label by metrics (radpipe-stream(5)).
 *
 * --cam adds a Grad-CAM map to each prediction: the layer's activation and
 * the gradient of the explained class's logit (nn_cam_grad), combined by
 * cam_map at the layer's resolution (cam.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cam.h"
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
	int threshold_given;
	int tta;
	int timing;
	const char *device;
	int threads;
	int precision;          /* enum nn_precision */
	int cam;                /* --cam given */
	const char *cam_layer;  /* its LAYER; NULL: the default */
	int cam_class, cam_class_given;
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
	int cam;                /* the Grad-CAM layer, or -1 */
	int ch, cw, cc;         /* its output: h x w x c per image */
	float *act, *grad, *grad2, *raw;
	int *seeded, *camcls;   /* per pending image: the class nn_cam_grad
	                         * explained, the class its map must explain */
};

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	static const char *const tta[] = { "flip", NULL };
	int tta_mode, i;
	char err[200];
	const struct cli_opt opts[] = {
		CLI_STR("model", 0, "FILE", "a radpipe model (saved by nntrain or nnimport)", &o->model),
		CLI_INT("batch", 0, "N", "images per forward pass (default 32)", &o->batch, 1, 65536),
		CLI_DOUBLE("threshold", 0, "T", "class 1 when score >= T (binary; default 0.5)", &o->threshold, 0, 1,
		    .given = &o->threshold_given),
		CLI_CHOICE("tta", 0, "flip", "also predict the horizontally flipped image and\naverage the scores",
		    &tta_mode, tta, .given = &o->tta),
		CLI_FLAG("timing", 0, "add the per-image time (ms) to each prediction", &o->timing),
		CLI_STR("cam", 0, "LAYER", "add a Grad-CAM map of LAYER to each prediction\n"
		    "(default: the input of the global pooling,\nmixed10 in InceptionV3)",
		    &o->cam_layer, .given = &o->cam, .optional = 1),
		CLI_INT("cam-class", 0, "K", "--cam: explain class K (default: the predicted\nclass)",
		    &o->cam_class, 0, 65535, .given = &o->cam_class_given),
		CLI_OPT_DEVICE(&o->device),
		CLI_OPT_THREADS(&o->threads),
		CLI_OPT_PRECISION(&o->precision),
		CLI_END
	};

	*o = (struct options){ .batch = 32, .threshold = 0.5, .device = "cpu" };
	i = cli_parse(argc, argv, synopsis, opts);
	if (nn_precision_check(o->device, o->precision, err, sizeof err) < 0)
		die_usage("%s", err);
	if (o->model == NULL)
		die_usage("--model FILE is required");
	if (o->cam_class_given && !o->cam)
		die_usage("--cam-class needs --cam");
	if (i != argc && o->cam && o->cam_layer == NULL)
		die_usage("unexpected argument '%s' (a layer is named as --cam=LAYER)", argv[i]);
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

/* The predicted class of one image's probabilities p: sigmoid, score >=
 * the threshold; softmax, the most probable (the first of equals). */
static int
predicted(const struct infer *in, const float *p)
{
	int pred = 0;

	if (in->k == 1)
		return p[0] >= in->o->threshold;
	for (int j = 1; j < in->k; j++)
		if (p[j] > p[pred])
			pred = j;
	return pred;
}

/* Adds image i's Grad-CAM keys: cam (f32 h x w, the raw map), cam_layer
 * and cam_class. */
static void
add_cam(struct infer *in, struct fb *b, int i)
{
	size_t hwc = (size_t)in->ch * in->cw * in->cc;
	struct tensor t = { .dtype = DT_F32, .rank = 2, .shape = { in->ch, in->cw },
	                    .data = in->raw, .nbytes = (size_t)in->ch * in->cw * sizeof(float) };

	cam_map(in->act + (size_t)i * hwc, in->grad + (size_t)i * hwc, in->ch, in->cw, in->cc,
	    in->raw);
	fb_tensor(b, "cam", &t);
	fb_str(b, "cam_layer", nn_layer_at(in->m, in->cam)->name);
	fb_int(b, "cam_class", in->camcls[i]);
}

/* A multi-label model's prediction: scores (NaN where never trained),
 * trained, target_names, and the image's targets when it had them (a
 * first entry 2: none). */
static void
write_ml_prediction(struct infer *in, const struct feed *fb, int i, const float *p, double ms)
{
	const struct nn_ml_info *ml = &in->info.ml;
	const float *t = fb->t + (size_t)i * (size_t)ml->k;
	struct fb *b = fb_begin();

	fb_str(b, "kind", "prediction");
	fb_str(b, "id", fb->ids[i]);
	fb_array(b, "scores");
	for (int j = 0; j < ml->k; j++)
		fb_num(b, NULL, ml->pos[j] + ml->neg[j] > 0 ? p[j] : NAN);
	fb_close(b);
	fb_array(b, "trained");
	for (int j = 0; j < ml->k; j++)
		fb_bool(b, NULL, ml->pos[j] + ml->neg[j] > 0);
	fb_close(b);
	fb_strs(b, "target_names", ml->names, (size_t)ml->k);
	if (t[0] != 2) {
		fb_array(b, "targets");
		for (int j = 0; j < ml->k; j++)
			fb_int(b, NULL, (int64_t)t[j]);
		fb_close(b);
	}
	if (ms >= 0)
		fb_num(b, "ms", ms);
	fb_write(b, in->out);
}

static void
write_prediction(struct infer *in, const struct feed *fb, int i, const float *p, double ms)
{
	struct fb *b = fb_begin();
	int k = in->k, labelled = fb->y[i] >= 0, pred = predicted(in, p);
	float score = k == 1 ? p[0] : p[pred];

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
	if (in->cam >= 0)
		add_cam(in, b, i);
	fb_write(b, in->out);
}

/* Grad-CAM's forward and backward for the pending images: act, grad and
 * probs; the class explained is --cam-class, else 1 for a sigmoid output
 * (cam_classes turns it into the predicted class), else each image's most
 * probable class (in->seeded). */
static void
cam_forward(struct infer *in, const struct feed *fb)
{
	int cls = in->o->cam_class_given ? in->o->cam_class : in->k == 1 ? 1 : -1;

	if (nn_cam_grad(in->m, fb->dt, fb->x, fb->n, cls, in->act, in->grad, in->probs) < 0)
		die("%s", nn_error(in->m));
	for (int i = 0; i < fb->n; i++)
		in->seeded[i] = cls >= 0 ? cls : predicted(in, in->probs + (size_t)i * in->k);
}

/* Sets the class each map explains (--cam-class, else the predicted class,
 * which --tta may change) and makes the gradients that are for another
 * class: sigmoid, dS/dA of class 0 is minus class 1's; softmax, one more
 * backward pass per class needed. */
static void
cam_classes(struct infer *in, const struct feed *fb)
{
	size_t hwc = (size_t)in->ch * in->cw * in->cc;

	for (int i = 0; i < fb->n; i++)
		in->camcls[i] = in->o->cam_class_given ? in->o->cam_class :
		    predicted(in, in->probs + (size_t)i * in->k);
	for (int c = 0; c < (in->k == 1 ? 2 : in->k); c++) {
		int redo = 0;
		for (int i = 0; i < fb->n; i++)
			redo |= in->camcls[i] == c && in->seeded[i] != c;
		if (!redo)
			continue;
		if (in->k > 1 && nn_cam_grad(in->m, fb->dt, fb->x, fb->n, c, NULL, in->grad2,
		                             NULL) < 0)
			die("%s", nn_error(in->m));
		for (int i = 0; i < fb->n; i++) {
			float *g = in->grad + (size_t)i * hwc;
			if (in->camcls[i] != c || in->seeded[i] == c)
				continue;
			for (size_t j = 0; j < hwc; j++)
				g[j] = in->k == 1 ? -g[j] : in->grad2[(size_t)i * hwc + j];
			in->seeded[i] = c;
		}
	}
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
	if (in->cam >= 0)
		cam_forward(in, fb);
	else if (nn_infer(in->m, fb->dt, fb->x, fb->n, in->probs) < 0)
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
	if (in->cam >= 0)
		cam_classes(in, fb);
	ms = (now_seconds() - t0) * 1000.0 / fb->n;
	for (int i = 0; i < fb->n; i++)
		(in->info.ml.k ? write_ml_prediction : write_prediction)(in, fb, i,
		    in->probs + (size_t)i * in->k, in->o->timing ? ms : -1);
	for (int i = 0; i < fb->n; i++) {
		free(fb->ids[i]);
		free(fb->classes[i]);
	}
	fb->n = 0;
}

/* Copies image i's targets (multi-label model) into the pending batch:
 * they must be the model's targets; none: 2 (not written). */
static void
add_targets(struct infer *in, const struct feed *fb, int i, unsigned long long index)
{
	const struct nn_ml_info *ml = &in->info.ml;
	float *t = in->pend.t + (size_t)in->pend.n * (size_t)ml->k;
	int same = fb->k == ml->k;

	for (int j = 0; same && j < ml->k; j++)
		same = strcmp(fb->tnames[j], ml->names[j]) == 0;
	if (fb->k && !same)
		die("stdin: frame %llu: %s: its target_names are not those of the model %s (%d targets: "
		    "%s, ...)", index, fb->ids[i], in->o->model, ml->k, ml->names[0]);
	for (int j = 0; j < ml->k; j++)
		t[j] = fb->k ? fb->t[(size_t)i * (size_t)ml->k + (size_t)j] : 2;
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
		if (p->k)
			add_targets(in, &fb, i, (unsigned long long)f->index);
		if (++p->n == in->o->batch)
			run_pending(in);
	}
	feed_free(&fb);
}

/* Finds and checks the --cam layer and class, plans the model for
 * Grad-CAM and allocates the maps' buffers. */
static void
cam_setup(struct infer *in, const struct options *o, int bs)
{
	const struct nn_layer *l;
	int classes = in->k > 1 ? in->k : 2;
	size_t sz;

	if ((in->cam = nn_cam_layer(in->m, o->cam_layer)) < 0)
		die("%s: %s", o->model, nn_error(in->m));
	if (o->cam_class_given && o->cam_class >= classes)
		die_usage("--cam-class %d: the model %s has %d classes (0 to %d)", o->cam_class,
		    o->model, classes, classes - 1);
	if (nn_model_plan_cam(in->m, in->be, bs, in->cam) < 0)
		die("%s", nn_error(in->m));
	l = nn_layer_at(in->m, in->cam);
	in->ch = l->h, in->cw = l->w, in->cc = l->c;
	sz = (size_t)in->ch * (size_t)in->cw * (size_t)in->cc;
	in->act = XNEW(float, sz * (size_t)bs);
	in->grad = XNEW(float, sz * (size_t)bs);
	in->grad2 = in->k > 1 && o->tta && !o->cam_class_given ? XNEW(float, sz * (size_t)bs) : NULL;
	in->raw = XNEW(float, (size_t)in->ch * (size_t)in->cw);
	in->seeded = XNEW(int, (size_t)bs);
	in->camcls = XNEW(int, (size_t)bs);
}

static void
setup(struct infer *in, const struct options *o)
{
	struct nn_backend_opts bo = { .threads = o->threads, .precision = o->precision };
	char err[512];
	int bs = o->batch;

	in->o = o;
	if ((in->m = nn_model_load(o->model, &in->info, err, sizeof err)) == NULL)
		die("%s", err);
	nn_model_note_unverified(o->model, &in->info);
	if ((in->be = nn_backend_open(o->device, &bo, err, sizeof err)) == NULL)
		die("%s", err);
	in->h = in->info.input[0], in->w = in->info.input[1], in->c = in->info.input[2];
	in->k = nn_output_size(in->m);
	if (in->info.ml.k && (o->cam || o->threshold_given))
		die_usage("%s: %s is not for a multi-label model (%d targets: %s)", o->model,
		    o->cam ? "--cam (Grad-CAM explains one class's score)" :
		    "--threshold (metrics chooses a threshold per label)", in->info.ml.k,
		    in->info.ml.names[0]);
	if (in->info.ml.k) {
		in->pend.k = in->info.ml.k;
		in->pend.t = XNEW(float, (size_t)bs * (size_t)in->info.ml.k);
	}
	in->cam = -1;
	if (o->cam)
		cam_setup(in, o, bs);
	else if (nn_model_plan_flags(in->m, in->be, bs, NN_PLAN_INFERENCE) < 0)
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
	free(in->act);
	free(in->grad);
	free(in->grad2);
	free(in->raw);
	free(in->seeded);
	free(in->camcls);
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
