/* montage.h — contact sheets: images laid out in a grid on one RGB canvas
 * (plot --montage, plot --images).  Images of any size are fitted into
 * equal tiles keeping their aspect ratio (box-filter downscaling, nearest
 * upscaling) and centred.  Display mapping: u8 as is; u16 and f32 linearly
 * from the image's own minimum..maximum to 0..255.  The montage owns its
 * canvas; montage_free releases it.
 *
 * Heat maps (plot --cam): the image in gray (the mean of its colour
 * channels, mapped as above) blended with the jet colour of a value in
 * [0, 1] (MATLAB's jet: dark blue 0, cyan, yellow, dark red 1) at
 * opacity alpha; montage_jet_bar draws the same scale.
 */
#ifndef RADPIPE_MONTAGE_H
#define RADPIPE_MONTAGE_H

#include "tensor.h"

struct montage {
	int n, cols, rows;
	int tile_w, tile_h;     /* image area of one tile */
	int pad;                /* pixels around every tile */
	int caption_h;          /* empty pixels under every tile for text */
	struct tensor canvas;   /* owned u8 [H, W, 3], white */
};

/* Lays out n tiles of tw x th in cols columns (0: about square), with pad
 * pixels around each and caption_h pixels below each; white canvas. */
void montage_begin(struct montage *m, int n, int cols, int tw, int th, int pad, int caption_h);
/* Draws image t (HWC u8, u16 or f32; 1 to 4 channels; gray is replicated,
 * alpha dropped) fitted into tile i.  Returns 0, or -1 if t is not an image. */
int montage_put(struct montage *m, int i, const struct tensor *t);
/* Top-left pixel (x, y) of tile i's image area. */
void montage_tile_xy(const struct montage *m, int i, int *xP, int *yP);
/* The jet colour of v (clamped to [0, 1]) into rgb (0..255). */
void montage_jet(double v, unsigned char rgb[3]);
/* Draws image t (as montage_put) in gray with the heat map of raw (a
 * Grad-CAM map, rh x rw: cam_heatmap to t's height x width) over it in jet
 * at opacity alpha, fitted into tile i.  Returns 0, or -1 if t is not an
 * image. */
int montage_put_heat(struct montage *m, int i, const struct tensor *t, const float *raw,
                     int rh, int rw, double alpha);
/* Widens the canvas by w white pixels on the right. */
void montage_widen(struct montage *m, int w);
/* Draws the jet scale in the canvas rectangle at (x, y), w x h pixels: 1
 * at the top row, 0 at the bottom row, with a black frame. */
void montage_jet_bar(struct montage *m, int x, int y, int w, int h);
/* Frees the canvas. */
void montage_free(struct montage *m);

#endif
