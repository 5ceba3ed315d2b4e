/* rocplot.h — plot(1)'s ROC figure: the curve of each roc frame
 * (metrics --roc) with its AUC and interval in the legend and its
 * operating point, over the chance diagonal.  The roc frames of a
 * multi-label evaluation (one per label, with an index) share one figure;
 * the labels its multilabel_summary frame names as not evaluated (not
 * trained, one class) are named in a caption under the curves.
 *
 * Errors follow err.h: the plot keeps its last message in gp.err.
 */
#ifndef RADPIPE_ROCPLOT_H
#define RADPIPE_ROCPLOT_H

#include <stddef.h>
#include <stdio.h>
#include "frame.h"
#include "gnuplot.h"

struct rocplot {
	struct gp_plot gp;
	const char *title;      /* figure title, or NULL (not owned) */
	char *legend;           /* plot clauses, one or two per curve */
	size_t legend_len;
	FILE *lf;
	char *caption;          /* "label (why)" entries, "; "-separated */
	size_t caption_len;
	FILE *cf;
	int n;                  /* curves */
	int labels;             /* curves of a multi-label evaluation's labels */
};

/* Starts an empty ROC figure to path (gp_begin's arguments) with title
 * (may be NULL); 0, or -1 with c->gp.err. */
int rocplot_begin(struct rocplot *c, const char *path, int format, int w, int h, int keep,
                  const char *title);
/* Adds the curve of roc frame f, or the caption of multilabel_summary
 * frame f; ignores other kinds.  Returns 1 when f added a curve, 0 when
 * not, -1 with c->gp.err when f is a roc frame without equal-length fpr
 * and tpr arrays of at least 2 points. */
int rocplot_frame(struct rocplot *c, const struct frame *f);
/* Draws the curves so far (again after more frames, for --follow); 0, or
 * -1 with c->gp.err. */
int rocplot_draw(struct rocplot *c);
/* Frees c's buffers. */
void rocplot_free(struct rocplot *c);

#endif
