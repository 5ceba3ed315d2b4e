/* gallery.c — the --images figure of plot(1); see gallery.h. */
#include "gallery.h"
#include "err.h"
#include "gnuplot.h"
#include "montage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD 6
#define CAPTION_H 54
#define CAM_ALPHA 0.4   /* the heat map's opacity over the image */
#define CAM_BAR_W 64    /* --cam: canvas pixels right of the tiles for the scale */

/* The tile of image t, with heat map cam (h x w f32) over it when cam is
 * not NULL; out zeroed when t is not an image. */
static void
make_tile(int tile, const struct tensor *t, const struct tensor *cam, struct tensor *out)
{
	struct montage m;
	int rc;

	montage_begin(&m, 1, 1, tile, tile, 0, 0);
	rc = cam ? montage_put_heat(&m, 0, t, cam->data, (int)cam->shape[0], (int)cam->shape[1],
	    CAM_ALPHA) : montage_put(&m, 0, t);
	if (rc < 0) {
		montage_free(&m);
		memset(out, 0, sizeof *out);
		return;
	}
	*out = m.canvas;
}

void
gallery_image(void *ctx, const char *id, const struct tensor *t)
{
	struct gallery *g = ctx;
	long i = idmap_get(&g->ids, id);

	if (i >= 0 && g->p[i].tile.data == NULL) {
		make_tile(g->tile, t, g->cam && g->p[i].cam.data ? &g->p[i].cam : NULL, &g->p[i].tile);
	} else if (g->mixed && i < 0 && idmap_get(&g->extra, id) < 0) {
		if (g->ntiles == g->captiles) {
			g->captiles = g->captiles ? 2 * g->captiles : 64;
			g->tiles = xreallocarray(g->tiles, g->captiles, sizeof *g->tiles);
		}
		make_tile(g->tile, t, NULL, &g->tiles[g->ntiles]);
		idmap_put(&g->extra, id, g->ntiles++);
	}
}

const char *
gallery_class(const struct gallery *g, int c, char *buf, size_t len)
{
	if (c >= 0 && c < 2 && g->names[c])
		return g->names[c];
	snprintf(buf, len, "%d", c);
	return buf;
}

/* Three lines under each tile: the file name, the predicted class with its
 * probability (green when right, red when wrong), the true class. */
static void
captions(const struct gallery *g, const struct montage *m, const struct gp_captions *c)
{
	char line[320], name[256], b1[16];
	int k = 0;

	for (int i = 0; i < g->n; i++) {
		const struct gallery_pred *p = &g->p[i];
		const char *base = strrchr(p->id, '/');
		int x, y, ok = p->label >= 0 && p->pred >= 0 && p->label == p->pred;
		if (p->tile.data == NULL)
			continue;
		montage_tile_xy(m, k++, &x, &y);
		x += m->tile_w / 2, y += m->tile_h + 12;
		gp_caption(c, base ? base + 1 : p->id, x, y, "#000000");
		gp_fit(p->pred >= 0 ? gallery_class(g, p->pred, b1, sizeof b1) : "?",
		    c->chars - 8, name, sizeof name);
		if (isfinite(p->score) && p->pred >= 0 && p->pred < 2)
			snprintf(line, sizeof line, "%s (%.3f)", name,
			    p->pred == 1 ? p->score : 1 - p->score);
		else
			snprintf(line, sizeof line, "%s", name);
		gp_caption(c, line, x, y + GP_LINE_H, p->label < 0 ? "#000000" : ok ? "#1a7f1a" : "#c00000");
		if (p->label >= 0) {
			snprintf(line, sizeof line, "true: %s", gallery_class(g, p->label, b1, sizeof b1));
			gp_caption(c, line, x, y + 2 * GP_LINE_H, "#444444");
		}
	}
}

/* --cam: the colour scale right of the first row (canvas x0 on), and its
 * labels 0, 0.5, 1. */
static void
cam_scale(struct montage *m, const struct gp_captions *c, int x0)
{
	int x = x0 + 6, y = m->pad, h = m->tile_h;

	montage_jet_bar(m, x, y, 14, h);
	for (int k = 0; k <= 2; k++)
		fprintf(c->s, "set label '%.1f' at %d,%d left front font ',%.1f'\n", k / 2.0,
		    x + 18, c->h - 1 - (y + (h - 1) * (2 - k) / 2), c->pt);
}

/* The script's frame around the image: no axes, the title in a band above. */
static void
setup(FILE *s, const struct gallery_figure *fig, int W, int H, int top)
{
	fprintf(s, "unset border\nunset tics\nunset key\nset lmargin at screen 0\n"
	    "set rmargin at screen 1\nset bmargin at screen 0\nset tmargin at screen %.6f\n"
	    "set xrange [-0.5:%d.5]\nset yrange [-0.5:%d.5]\nset size ratio -1\n",
	    1.0 - (double)top / (H + top), W - 1, H - 1);
	if (fig->title) {       /* in the band above the images, whatever their aspect */
		fputs("set label ", s);
		gp_quote(s, fig->title);
		fprintf(s, " at screen 0.5, screen %.6f center front\n", 1.0 - 0.5 * top / (H + top));
	}
}

int
gallery_draw(const struct gallery *g, const struct gallery_figure *fig, int shown,
             char *err, size_t errlen)
{
	struct montage m;
	struct gp_plot gp;
	struct gp_captions c;
	int W, H, top = fig->title ? 30 : 0, k = 0, rc;

	montage_begin(&m, shown, fig->cols, g->tile, g->tile, PAD, CAPTION_H);
	for (int i = 0; i < g->n; i++)
		if (g->p[i].tile.data)
			montage_put(&m, k++, &g->p[i].tile);
	if (g->cam)
		montage_widen(&m, CAM_BAR_W);
	W = (int)m.canvas.shape[1], H = (int)m.canvas.shape[0];
	if ((fig->sized ? gp_begin(&gp, fig->out, fig->format, fig->width, fig->height, fig->keep) :
	     gp_begin(&gp, fig->out, fig->format, W, H + top, fig->keep)) < 0) {
		snprintf(err, errlen, "%s", gp.err);
		montage_free(&m);
		return -1;
	}
	gp.raw = m.canvas.data, gp.raw_len = m.canvas.nbytes;
	setup(gp.script, fig, W, H, top);
	c = (struct gp_captions){ .s = gp.script, .h = H };
	gp_caption_font(&c, m.tile_w, fig->sized ? fmin((double)gp.width / W,
	    (double)(gp.height - top) / H) : 1);
	captions(g, &m, &c);
	if (g->cam)
		cam_scale(&m, &c, W - CAM_BAR_W);
	fprintf(gp.script, "plot RAW binary array=(%d,%d) format='%%uchar%%uchar%%uchar' flipy "
	    "with rgbimage notitle\n", W, H);
	if ((rc = gp_render(&gp)) < 0)
		snprintf(err, errlen, "%s", gp.err);
	gp_free(&gp);
	montage_free(&m);
	return rc;
}

void
gallery_free(struct gallery *g)
{
	for (int i = 0; i < g->n; i++) {
		long t = idmap_get(&g->extra, g->p[i].id);
		if (t < 0 || g->tiles[t].data != g->p[i].tile.data)
			tensor_free(&g->p[i].tile);
		tensor_free(&g->p[i].cam);
		free(g->p[i].id);
	}
	for (size_t k = 0; k < g->ntiles; k++)
		tensor_free(&g->tiles[k]);
	free(g->tiles);
	free(g->p);
	free(g->names[0]);
	free(g->names[1]);
	free(g->cam_layer);
	idmap_free(&g->ids);
	idmap_free(&g->extra);
}
