/* gallery.h — plot(1)'s --images figure: test images in a grid, each
 * with its file name, predicted class and probability (green when right,
 * red when wrong) and true class under it; with --cam, each image's
 * Grad-CAM map over it and a colour scale beside the grid.  The tiles are
 * drawn by montage.h, the captions by gnuplot.h's gp_caption.  Reading
 * the predictions and images stays with the program; the gallery owns
 * what it holds (gallery_free).  Errors follow err.h: -1 with a message in
 * the caller's buffer.
 */
#ifndef RADPIPE_GALLERY_H
#define RADPIPE_GALLERY_H

#include <stddef.h>
#include "idmap.h"
#include "tensor.h"

/* One prediction to show. */
struct gallery_pred {
	char *id;               /* owned */
	double score;           /* probability of class 1, or NaN */
	int label, pred;        /* class indices, -1 when unknown */
	struct tensor tile;     /* owned u8 tile, or empty: no image yet */
	struct tensor cam;      /* --cam: owned f32 h x w map, or empty */
	int cam_class;          /* the class the map explains, or -1 */
};

struct gallery {
	int tile;               /* tile size, pixels */
	int cam;                /* draw the maps over the images */
	int mixed;              /* images come in the same stream as the predictions */
	struct gallery_pred *p;
	int n;
	char *names[2];         /* class names 0 and 1 when seen (owned) */
	struct idmap ids;       /* id -> index in p */
	struct idmap extra;     /* mixed stream: id -> index in tiles */
	struct tensor *tiles;   /* mixed stream: images seen before their prediction */
	size_t ntiles, captiles;
	char *cam_layer;        /* --cam: the first prediction's cam_layer (owned) */
};

/* The figure's output and layout (plot's options). */
struct gallery_figure {
	const char *out;
	int format, width, height;      /* gp_begin's; width, height used when sized */
	int sized, keep, cols;
	const char *title;              /* or NULL */
};

/* Makes the tile of image id (t: HWC u8/u16/f32, 1-4 channels) for the
 * prediction with that id (with its map over it when g->cam), or keeps it
 * for a later prediction in a mixed stream; an image that is not drawable
 * is left out.  ctx is the struct gallery (an each_image callback). */
void gallery_image(void *ctx, const char *id, const struct tensor *t);
/* The name of class c (names[c], or its number) in buf. */
const char *gallery_class(const struct gallery *g, int c, char *buf, size_t len);
/* Draws the shown (tiled) predictions of g as fig says; 0, or -1 with err
 * (gnuplot missing or failing, the output not writable). */
int gallery_draw(const struct gallery *g, const struct gallery_figure *fig, int shown,
                 char *err, size_t errlen);
/* Frees what g owns; a tile shared with g->tiles is freed once. */
void gallery_free(struct gallery *g);

#endif
