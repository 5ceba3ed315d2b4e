/* gnuplot.h — drawing with gnuplot(1) run as a child process fed by a pipe.
 *
 * A plot is a script (what follows the terminal set-up) and its data,
 * both built in memory.  The script refers to its text data as DATA (a
 * string: `plot DATA index 1 using 1:2`; blocks are separated by two blank
 * lines) and to binary data as RAW.  gp_render writes the image to a
 * temporary name beside the output (for stdout, in $TMPDIR) and renames it
 * over the output (or copies it to stdout) only when gnuplot exits 0 and
 * the file is complete (gnuplot's status does not report write errors), so
 * a reader never sees a partial file.  With --quiet gnuplot's warnings are
 * shown only when it fails.  The plot owns its buffers; gp_free releases
 * them.  Errors are returned: -1 with a one-line message in p->err.
 */
#ifndef RADPIPE_GNUPLOT_H
#define RADPIPE_GNUPLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum gp_format { GP_PNG, GP_SVG, GP_PDF, GP_DUMB };
extern const char *const gp_format_names[];     /* "png", "svg", "pdf", "dumb", NULL */

struct gp_plot {
	const char *path;       /* output file; "-": stdout (dumb only) */
	int format;             /* enum gp_format */
	int width, height;      /* pixels (png, svg), points (pdf), characters (dumb) */
	int keep_script;        /* also write PATH.gp and PATH.dat */
	FILE *script, *data;    /* append commands and text data here */
	const void *raw;        /* binary data for RAW (not owned), or NULL */
	size_t raw_len;
	char *sbuf, *dbuf;
	size_t slen, dlen;
	char err[4608];         /* the last error's message */
};

/* Format implied by the extension of path (.png .svg .pdf .txt), or -1. */
int gp_format_from_path(const char *path);
/* Starts an empty plot to path in format (size w x h); 0, or -1 (p->err). */
int gp_begin(struct gp_plot *p, const char *path, int format, int w, int h, int keep_script);
/* Runs gnuplot on p and puts the result at p->path.  Returns 0, or -1 with
 * a clear message in p->err when gnuplot is missing (naming the Debian
 * package) or fails (p->path is then as it was); a write error on stdout
 * ends the program (stdout_check).
 * p can be rendered again after more script or data was appended only
 * through gp_reset (used by --follow). */
int gp_render(struct gp_plot *p);
/* 1 if b[0..len) looks like a whole file of format (enum gp_format): PNG
 * signature and IEND chunk, SVG closing tag, PDF header and %%EOF, dumb
 * text ending in a newline; 0 if it is empty or cut short. */
int gp_output_complete(int format, const uint8_t *b, size_t len);
/* Empties p's script and data for a fresh drawing to the same output;
 * 0, or -1 (p->err). */
int gp_reset(struct gp_plot *p);
/* Frees p's buffers. */
void gp_free(struct gp_plot *p);
/* Writes s to f as a gnuplot single-quoted string ('' inside). */
void gp_quote(FILE *f, const char *s);

/* Captions under montage tiles, as gnuplot labels: DejaVu Sans averages
 * under GP_CHAR_EM em a character, pngcairo draws a point as 4/3 pixels;
 * lines are GP_LINE_H canvas pixels apart. */
#define GP_CHAR_EM 0.64
#define GP_LINE_H 15
struct gp_captions {
	FILE *s;                /* the script */
	int h;                  /* canvas height */
	double pt;              /* font size, points */
	int chars;              /* characters that fit a tile's width */
};
/* Sets c's font size for tiles tile_w canvas pixels wide drawn at scale
 * (output pixels per canvas pixel), and how many characters then fit. */
void gp_caption_font(struct gp_captions *c, int tile_w, double scale);
/* text shortened to n characters with "..." in the middle, into buf. */
const char *gp_fit(const char *text, int n, char *buf, size_t len);
/* A label of text centred at canvas pixel (x, y), fitted to a tile. */
void gp_caption(const struct gp_captions *c, const char *text, int x, int y, const char *colour);

/* A reliability diagram's bins: arrays of n (not owned), ascending. */
struct gp_reliability {
	size_t n;
	const double *lo, *hi;          /* bin edges */
	const double *count;            /* cases in the bin */
	const double *score, *frac;     /* mean score, fraction positive; NaN: empty */
	const double *frac_lo, *frac_hi;        /* the interval of frac */
	const char *key;                /* legend of the points (e.g. the binning, ECE) */
	const char *title;              /* figure title, or NULL */
};
/* Appends to p (after gp_begin) a reliability diagram: the diagonal, the
 * fraction positive against the mean score of each non-empty bin with its
 * interval as error bars, and under it the cases per bin as boxes over the
 * bins' edges; gp_render draws it. */
void gp_reliability(struct gp_plot *p, const struct gp_reliability *r);

#endif
