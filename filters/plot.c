/* plot.c — figures from radpipe streams: training curves (metrics frames),
 * ROC curves (roc frames), reliability diagrams (calibration frames), test
 * images with their predictions (prediction and sample frames) through
 * gnuplot(1), with their Grad-CAM maps over them (--cam); contact sheets of
 * sample/batch frames as PNG.  A sink: nothing is written to stdout except the dumb
 * terminal's text (and --montage with -o -).  See plot(1).
 */
#include "calibration.h"
#include "cli.h"
#include "err.h"
#include "frame.h"
#include "gallery.h"
#include "gnuplot.h"
#include "idmap.h"
#include "montage.h"
#include "png.h"
#include "rocplot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char synopsis[] =
"usage: plot --history | --roc | --reliability | --images SAMPLES | --montage N\n"
"            [options] [FILE...]\n"
"  Draws the frames of FILEs (or stdin).\n";

enum { MODE_NONE, MODE_HISTORY, MODE_ROC, MODE_RELIABILITY, MODE_IMAGES, MODE_MONTAGE };
static const char *const binning_names[] = { "width", "mass", NULL };

struct options {
	int mode, format, width, height, sized, cols, max, tile, keep, follow, binning, cam;
	const char *out, *title, *samples;
	char **files;
	int nfiles;
};

static void
set_mode(struct options *o, int mode)
{
	if (o->mode != MODE_NONE && o->mode != mode)
		die_usage("--history, --roc, --reliability, --images and --montage exclude each other");
	o->mode = mode;
}

static void
set_history(void *p, const char *s)
{
	set_mode(p, MODE_HISTORY);
}

static void
set_roc(void *p, const char *s)
{
	set_mode(p, MODE_ROC);
}

static void
set_reliability(void *p, const char *s)
{
	set_mode(p, MODE_RELIABILITY);
}

static void
set_images(void *p, const char *s)
{
	struct options *o = p;

	set_mode(o, MODE_IMAGES);
	o->samples = s;
}

static void
set_montage(void *p, const char *s)
{
	struct options *o = p;

	set_mode(o, MODE_MONTAGE);
	o->max = (int)cli_int(s, "--montage", 1, 10000);
}

static void
set_size(void *p, const char *s)
{
	struct options *o = p;

	cli_size(s, "--size", 5, 10, 20000, &o->height, &o->width);
	o->sized = 1;
}

/* The options, in a function of their own: main's parse_command_line
 * checks how they combine. */
static int
parse_options(int argc, char **argv, struct options *o)
{
	const struct cli_opt opts[] = {
		CLI_CALL("history", 0, NULL, "metrics frames -> accuracy and loss curves", set_history, o),
		CLI_CALL("roc", 0, NULL, "roc frames -> ROC curves with their AUC", set_roc, o),
		CLI_CALL("reliability", 0, NULL, "calibration frames -> reliability diagram",
		    set_reliability, o),
		CLI_CHOICE("binning", 0, "B", "--reliability: the bins drawn, width or mass (width)",
		    &o->binning, binning_names),
		CLI_CALL("images", 0, "SAMPLES", "predictions + sample frames of SAMPLES (\"-\": the\n"
		    "same stream) -> the images with score and class", set_images, o),
		CLI_CALL("montage", 0, "N", "sample/batch frames -> PNG of the first N images", set_montage, o),
		CLI_FLAG("cam", 0, "--images: each prediction's Grad-CAM map (nninfer\n--cam) over its image, with a colour scale", &o->cam),
		CLI_OPT_OUTPUT("output file (\"-\": stdout, dumb terminal or montage)", &o->out),
		CLI_CHOICE("format", 'f', "FMT", "png, svg, pdf or dumb (default: from FILE's extension)",
		    &o->format, gp_format_names),
		CLI_CALL("size", 's', "HxW", "height x width (as imgload --size): pixels (png,\n"
		    "svg), points (pdf), lines x characters (dumb)", set_size, o),
		CLI_STR("title", 't', "TEXT", "figure title", &o->title),
		CLI_INT("cols", 0, "N", "columns of --images / --montage (about square)", &o->cols, 1, 1000),
		CLI_INT("max", 0, "N", "--images: at most N images (16)", &o->max, 1, 10000),
		CLI_INT("tile", 0, "N", "--images / --montage: tile size in pixels (200)", &o->tile, 16, 4096),
		CLI_FLAG("keep-script", 0, "also write FILE.gp and FILE.dat", &o->keep),
		CLI_FLAG("follow", 0, "--history / --roc: redraw as frames arrive", &o->follow),
		CLI_END
	};

	*o = (struct options){ .format = -1, .max = 16, .tile = 200, .binning = -1 };
	return cli_parse(argc, argv, synopsis, opts);
}

static void
parse_command_line(int argc, char **argv, struct options *o)
{
	int i = parse_options(argc, argv, o);

	if (o->mode == MODE_NONE)
		die_usage("say what to draw: --history, --roc, --reliability, --images SAMPLES or --montage N");
	if (o->format < 0)
		o->format = o->out && strcmp(o->out, "-") ? gp_format_from_path(o->out) : -1;
	if (o->format < 0)
		o->format = o->mode == MODE_MONTAGE || (o->out && strcmp(o->out, "-")) ? GP_PNG : GP_DUMB;
	if (o->out == NULL && o->format != GP_DUMB)
		die_usage("-o FILE is needed (only the dumb terminal writes to stdout)");
	if (o->out == NULL)
		o->out = "-";
	if (strcmp(o->out, "-") == 0 && o->format != GP_DUMB && o->mode != MODE_MONTAGE)
		die_usage("-o -: only the dumb terminal writes to stdout");
	if (o->mode == MODE_MONTAGE && o->format != GP_PNG)
		die_usage("--montage writes PNG only");
	if (o->mode == MODE_IMAGES && o->format == GP_DUMB)
		die_usage("--images needs png, svg or pdf");
	if (o->cam && (o->mode != MODE_IMAGES || strcmp(o->samples, "-") == 0))
		die_usage("--cam needs --images SAMPLES, the images in a file of their own");
	if (o->follow && o->mode != MODE_HISTORY && o->mode != MODE_ROC)
		die_usage("--follow applies to --history and --roc");
	if (o->binning >= 0 && o->mode != MODE_RELIABILITY)
		die_usage("--binning applies to --reliability");
	if (o->binning < 0)
		o->binning = 0;
	if (o->width == 0)
		o->width = o->format == GP_DUMB ? 100 : o->mode == MODE_HISTORY ? 1200 : 700;
	if (o->height == 0)
		o->height = o->format == GP_DUMB ? (o->mode == MODE_RELIABILITY ? 40 : 30) :
		    o->mode == MODE_HISTORY ? 500 : 700;
	o->files = argv + i;
	o->nfiles = argc - i;
}

/* ---- reading ---- */

typedef void frame_fn(void *ctx, const struct frame_reader *r, const struct frame *f);

/* Calls fn on every frame of the FILEs (or stdin); counts frames fn saw. */
static void
each_input(const struct options *o, frame_fn *fn, void *ctx)
{
	for (int i = 0; i < (o->nfiles ? o->nfiles : 1); i++) {
		const char *path = o->nfiles ? o->files[i] : "-";
		struct frame_reader *r = frame_reader_open(path);
		struct frame f;
		if (r == NULL)
			die("%s: %s", path, strerror(errno));
		while (frame_next(r, &f) > 0)
			fn(ctx, r, &f);
		frame_reader_close(r);
	}
}

static double
num(const struct frame *f, const char *k)
{
	double v = NAN;

	return frame_num(f, k, &v) == 1 ? v : NAN;
}

/* ---- --history ---- */

struct history {
	const struct options *o;
	struct gp_plot gp;
	double *row;            /* epoch acc val_acc loss val_loss, per frame */
	size_t n, cap;
	double planned;         /* "epochs" of the last frame */
	int have[5];
	time_t last_draw;
};

static const char *const hist_keys[5] = { "epoch", "acc", "val_acc", "loss", "val_loss" };

/* One panel of the history figure: columns a (training) and b (validation). */
static void
history_panel(struct history *h, FILE *s, const char *ylabel, int a, int b, const char *key)
{
	fprintf(s, "set title '%s'\nset ylabel '%s'\nset key %s\nplot ", ylabel, ylabel, key);
	if (h->have[a])
		fprintf(s, "DATA using 1:%d with linespoints pt 7 ps 0.6 lw 2 lc rgb '#1f77b4' title 'training'%s",
		    a + 1, h->have[b] ? ", " : "\n");
	if (h->have[b])
		fprintf(s, "DATA using 1:%d with linespoints pt 5 ps 0.6 lw 2 lc rgb '#d62728' title 'validation'\n",
		    b + 1);
}

static void
history_draw(struct history *h)
{
	const struct options *o = h->o;
	FILE *s = h->gp.script;
	double last = fmax(h->planned, h->row[(h->n - 1) * 5]);
	int panels = (h->have[1] || h->have[2]) + (h->have[3] || h->have[4]);

	for (size_t i = 0; i < h->n; i++)
		fprintf(h->gp.data, "%.0f %.9g %.9g %.9g %.9g\n", h->row[i * 5], h->row[i * 5 + 1],
		    h->row[i * 5 + 2], h->row[i * 5 + 3], h->row[i * 5 + 4]);
	fputs("set datafile missing 'NaN'\n", s);
	fprintf(s, "set xlabel 'epoch'\nset xrange [%g:%g]\n", last > 1 ? 1.0 : 0.0, last > 1 ? last : 2.0);
	if (o->format != GP_DUMB)
		fprintf(s, "set grid lc rgb '#dddddd'\n%s", last <= 20 ? "set xtics 1\n" : "");
	fprintf(s, "set multiplot layout 1,%d", panels);
	if (o->title) {
		fputs(" title ", s);
		gp_quote(s, o->title);
	}
	fputc('\n', s);
	if (h->have[1] || h->have[2])
		history_panel(h, s, "accuracy", 1, 2, "bottom right");
	if (h->have[3] || h->have[4])
		history_panel(h, s, "loss", 3, 4, "top right");
	fputs("unset multiplot\n", s);
	if (gp_render(&h->gp) < 0 || gp_reset(&h->gp) < 0)
		die("%s", h->gp.err);
	h->last_draw = time(NULL);
}

static void
history_frame(void *ctx, const struct frame_reader *r, const struct frame *f)
{
	struct history *h = ctx;
	double *row;

	if (!frame_is(f, "metrics"))
		return;
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->row = xreallocarray(h->row, h->cap, 5 * sizeof *h->row);
	}
	row = h->row + 5 * h->n++;
	for (int k = 0; k < 5; k++) {
		row[k] = num(f, hist_keys[k]);
		h->have[k] |= !isnan(row[k]);
	}
	if (isnan(row[0]))
		row[0] = (double)h->n;
	if (!isnan(num(f, "epochs")))
		h->planned = num(f, "epochs");
	if (h->o->follow && time(NULL) - h->last_draw >= 1 && (h->have[1] || h->have[3]))
		history_draw(h);
}

static void
plot_history(const struct options *o)
{
	struct history h = { .o = o };

	if (gp_begin(&h.gp, o->out, o->format, o->width, o->height, o->keep) < 0)
		die("%s", h.gp.err);
	each_input(o, history_frame, &h);
	if (h.n == 0)
		die("no metrics frames in the input (plot --history draws nntrain's output)");
	if (!(h.have[1] || h.have[2] || h.have[3] || h.have[4]))
		die("metrics frames have none of acc, val_acc, loss, val_loss");
	history_draw(&h);
	gp_free(&h.gp);
	free(h.row);
}

/* ---- --roc ---- */

struct rocs {
	const struct options *o;
	struct rocplot rp;
	time_t last_draw;
};

static void
roc_frame(void *ctx, const struct frame_reader *r, const struct frame *f)
{
	struct rocs *c = ctx;
	int rc = rocplot_frame(&c->rp, f);

	if (rc < 0)
		die("%s: %s", frame_reader_name(r), c->rp.gp.err);
	if (rc > 0 && c->o->follow && time(NULL) - c->last_draw >= 1) {
		if (rocplot_draw(&c->rp) < 0)
			die("%s", c->rp.gp.err);
		c->last_draw = time(NULL);
	}
}

static void
plot_roc(const struct options *o)
{
	struct rocs c = { .o = o };

	if (rocplot_begin(&c.rp, o->out, o->format, o->width, o->height, o->keep, o->title) < 0)
		die("%s", c.rp.gp.err);
	each_input(o, roc_frame, &c);
	if (c.rp.n == 0)
		die("no roc frames in the input (metrics --roc writes them)");
	if (rocplot_draw(&c.rp) < 0)
		die("%s", c.rp.gp.err);
	rocplot_free(&c.rp);
}

/* ---- --reliability ---- */

/* The first calibration frame of the binning asked for. */
struct reliability {
	const struct options *o;
	struct calibration_bins bins;
	int seen, found;        /* calibration frames seen, of the binning */
};

static void
reliability_frame(void *ctx, const struct frame_reader *r, const struct frame *f)
{
	struct reliability *c = ctx;
	char binning[16] = "", err[256];

	if (!frame_is(f, "calibration"))
		return;
	c->seen++;
	frame_str(f, "binning", binning, sizeof binning);
	if (strcmp(binning, binning_names[c->o->binning]) != 0 || c->found++ > 0)
		return;
	if (calibration_read(f, &c->bins, err, sizeof err) < 0)
		die("%s: frame %llu: %s", frame_reader_name(r), (unsigned long long)f->index, err);
}

static void
plot_reliability(const struct options *o)
{
	struct reliability c = { .o = o };
	const char *b = binning_names[o->binning];
	double *const *col = c.bins.col;
	struct gp_plot gp;
	char key[128];

	if (gp_begin(&gp, o->out, o->format, o->width, o->height, o->keep) < 0)
		die("%s", gp.err);
	each_input(o, reliability_frame, &c);
	if (c.seen == 0)
		die("no calibration frames in the input (metrics --format frames writes them "
		    "for binary predictions)");
	if (c.found == 0)
		die("no calibration frame with --binning %s among the %d in the input", b, c.seen);
	if (c.found > 1)
		warnx("%d calibration frames with --binning %s: drawing the first", c.found, b);
	snprintf(key, sizeof key, "equal %s: ECE %.3f, MCE %.3f", b, c.bins.ece, c.bins.mce);
	gp_reliability(&gp, &(struct gp_reliability){ .n = c.bins.n, .lo = col[CAL_LO],
	    .hi = col[CAL_HI], .count = col[CAL_N], .score = col[CAL_SCORE],
	    .frac = col[CAL_FRAC], .frac_lo = col[CAL_FRAC_LO], .frac_hi = col[CAL_FRAC_HI],
	    .key = key, .title = o->title });
	if (gp_render(&gp) < 0)
		die("%s", gp.err);
	gp_free(&gp);
	calibration_bins_free(&c.bins);
}

/* ---- images: --montage and --images ---- */

#define PAD 6

/* Calls fn(ctx, id, image) for the sample frame f, or for each image of
 * the batch frame f (ids from its ids array). */
static void
each_image(const struct frame_reader *r, const struct frame *f,
           void (*fn)(void *, const char *, const struct tensor *), void *ctx)
{
	struct tensor t, v;
	char id[512] = "";

	if (frame_is(f, "sample") && frame_tensor(r, f, "x", &t) == 0) {
		frame_str(f, "id", id, sizeof id);
		fn(ctx, id, &t);
	} else if (frame_is(f, "batch") && frame_tensor(r, f, "x", &t) == 0 && t.rank == 4) {
		const struct fval *ids = frame_get(f, "ids");
		size_t one = t.nbytes / (size_t)(t.shape[0] ? t.shape[0] : 1);
		v = t;
		v.rank = 3;
		memmove(v.shape, t.shape + 1, 3 * sizeof *v.shape);
		v.nbytes = one;
		for (int64_t i = 0; i < t.shape[0]; i++) {
			const char *s;
			size_t n;
			v.data = (uint8_t *)t.data + (size_t)i * one;
			id[0] = '\0';
			if ((s = fv_strp(fv_at(ids, (size_t)i), &n)) != NULL)
				snprintf(id, sizeof id, "%.*s", (int)n, s);
			fn(ctx, id, &v);
		}
	}
}

struct sheet {
	const struct options *o;
	struct montage m;
	int count, skipped;
};

static void
sheet_image(void *ctx, const char *id, const struct tensor *t)
{
	struct sheet *s = ctx;

	if (s->count >= s->m.n)
		return;
	if (montage_put(&s->m, s->count, t) < 0) {
		s->skipped++;
		return;
	}
	s->count++;
}

static void
sheet_frame(void *ctx, const struct frame_reader *r, const struct frame *f)
{
	each_image(r, f, sheet_image, ctx);
}

static void
plot_montage(const struct options *o)
{
	struct sheet s = { .o = o };
	uint8_t *png;
	size_t len;
	char err[4608];

	montage_begin(&s.m, o->max, o->cols, o->tile, o->tile, PAD / 2, 0);
	each_input(o, sheet_frame, &s);
	if (s.skipped)
		warnx("%d images were not u8/u16/f32 HWC with 1-4 channels and were skipped", s.skipped);
	if (s.count == 0)
		die("no sample or batch frames with images in the input");
	if (s.count < o->max)
		info("%d images, fewer than the %d asked for", s.count, o->max);
	s.m.canvas.shape[0] = (int64_t)((s.count + s.m.cols - 1) / s.m.cols) * (o->tile + PAD);
	s.m.canvas.nbytes = (size_t)(s.m.canvas.shape[0] * s.m.canvas.shape[1] * 3);
	if (strcmp(o->out, "-") != 0) {
		if (png_write_file(o->out, &s.m.canvas, err, sizeof err) < 0)
			die("%s", err);
	} else {
		if (png_encode(&s.m.canvas, &png, &len, err, sizeof err) < 0)
			die("PNG encoding: %s", err);
		fwrite(png, 1, len, stdout);
		stdout_check();
		free(png);
	}
	montage_free(&s.m);
}

/* --images: predictions joined with sample images by id (gallery.h). */
struct images {
	const struct options *o;
	struct gallery g;
};

static void
gallery_name(struct gallery *g, const struct frame *f, const char *ik, const char *nk, int *out)
{
	int64_t v;
	char name[128];

	*out = frame_int(f, ik, &v) == 1 && v >= 0 && v < 1 << 20 ? (int)v : -1;
	if (*out >= 0 && *out < 2 && !g->names[*out] && frame_str(f, nk, name, sizeof name) == 1)
		g->names[*out] = xstrdup(name);
}

/* --cam: a copy of prediction f's map (cam: f32, h x w, finite) in p. */
static void
cam_read(struct gallery *g, const struct frame_reader *r, const struct frame *f,
         struct gallery_pred *p)
{
	struct tensor t;
	char layer[64], d[64];
	int64_t c;

	p->cam_class = frame_int(f, "cam_class", &c) == 1 && c >= 0 && c < 1 << 20 ? (int)c : -1;
	if (frame_tensor(r, f, "cam", &t) < 0)
		return;
	if (t.dtype != DT_F32 || t.rank != 2 || t.shape[0] < 1 || t.shape[1] < 1)
		die("%s: frame %llu: the cam of %s is %s, not an f32 map (h x w)",
		    frame_reader_name(r), (unsigned long long)f->index, p->id,
		    tensor_describe(&t, d, sizeof d));
	tensor_alloc(&p->cam, DT_F32, 2, t.shape);
	memcpy(p->cam.data, t.data, t.nbytes);
	for (size_t j = 0; j < tensor_count(&t); j++)
		if (!isfinite(((const float *)p->cam.data)[j]))
			die("%s: frame %llu: the cam of %s is not finite", frame_reader_name(r),
			    (unsigned long long)f->index, p->id);
	if (g->cam_layer == NULL && frame_str(f, "cam_layer", layer, sizeof layer) == 1)
		g->cam_layer = xstrdup(layer);
}

static void
gallery_frame(void *ctx, const struct frame_reader *r, const struct frame *f)
{
	struct images *im = ctx;
	struct gallery *g = &im->g;
	const struct fval *id = frame_get(f, "id");
	struct gallery_pred *p;

	if (!frame_is(f, "prediction")) {
		if (g->mixed)
			each_image(r, f, gallery_image, g);
		return;
	}
	if (g->n >= im->o->max || fv_type(id) != FV_STR)
		return;
	g->p = xreallocarray(g->p, (size_t)g->n + 1, sizeof *g->p);
	p = &g->p[g->n];
	memset(p, 0, sizeof *p);
	p->id = fv_strdup(id);
	p->score = num(f, "score");
	gallery_name(g, f, "label", "class", &p->label);
	gallery_name(g, f, "pred", "pred_class", &p->pred);
	if (idmap_get(&g->ids, p->id) >= 0) {
		free(p->id);    /* a repeated id: the first is shown */
		return;
	}
	if (g->cam)
		cam_read(g, r, f, p);
	idmap_put(&g->ids, p->id, (size_t)g->n++);
}

/* --cam: says which shown images have no map (dies if none has one);
 * returns the title naming the layer and the class explained. */
static const char *
cam_check(const struct options *o, const struct gallery *g, int shown)
{
	static char title[512];
	char b1[16];
	const char *cls = "the predicted class";
	int none = 0, k = -1;

	for (int i = 0; i < g->n; i++) {
		const struct gallery_pred *p = &g->p[i];
		if (p->tile.data == NULL)
			continue;
		if (p->cam.data == NULL) {
			warnx("%s: no Grad-CAM map in its prediction (nninfer --cam writes them): drawn "
			    "without one", p->id);
			none++;
		} else if (p->cam_class != p->pred) {
			k = k == -1 || k == p->cam_class ? p->cam_class : -2;
		}
	}
	if (none == shown)
		die("no prediction has a Grad-CAM map (cam): run nninfer --cam");
	if (k >= 0)
		cls = gallery_class(g, k, b1, sizeof b1);
	else if (k == -2)
		cls = "the classes in the predictions' cam_class";
	snprintf(title, sizeof title, "%s%sGrad-CAM of layer %s, class: %s", o->title ? o->title : "",
	    o->title ? ": " : "", g->cam_layer ? g->cam_layer : "?", cls);
	return title;
}

static void
plot_images(const struct options *o)
{
	struct images im = { o, { .tile = o->tile, .cam = o->cam, .mixed = strcmp(o->samples, "-") == 0 } };
	struct gallery *g = &im.g;
	struct gallery_figure fig = { o->out, o->format, o->width, o->height, o->sized, o->keep,
		o->cols, o->title };
	int shown = 0;
	char err[4608];

	each_input(o, gallery_frame, &im);
	if (g->n == 0)
		die("no prediction frames in the input");
	if (!g->mixed) {
		struct frame_reader *r = frame_reader_open(o->samples);
		struct frame f;

		if (r == NULL)
			die("%s: %s", o->samples, strerror(errno));
		while (frame_next(r, &f) > 0)
			each_image(r, &f, gallery_image, g);
		frame_reader_close(r);
	}
	for (int i = 0; i < g->n; i++) {
		long t = g->p[i].tile.data ? -1 : idmap_get(&g->extra, g->p[i].id);
		if (t >= 0)
			g->p[i].tile = g->tiles[t];
		shown += g->p[i].tile.data != NULL;
	}
	if (shown == 0)
		die("no sample image has the id of a prediction (join by id)");
	if (shown < g->n)
		warnx("%d of %d predictions have no sample image with their id", g->n - shown, g->n);
	if (o->cam)
		fig.title = cam_check(o, g, shown);
	if (gallery_draw(g, &fig, shown, err, sizeof err) < 0)
		die("%s", err);
	gallery_free(g);
}

int
main(int argc, char **argv)
{
	struct options o;

	parse_command_line(argc, argv, &o);
	switch (o.mode) {
	case MODE_HISTORY: plot_history(&o); break;
	case MODE_ROC: plot_roc(&o); break;
	case MODE_RELIABILITY: plot_reliability(&o); break;
	case MODE_IMAGES: plot_images(&o); break;
	default: plot_montage(&o); break;
	}
	stdout_finish();
	return 0;
}
