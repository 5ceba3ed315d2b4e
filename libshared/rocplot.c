/* rocplot.c — the ROC figure of plot(1); see rocplot.h. */
#include "rocplot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tableau's ten colours; past ten curves the dash pattern changes too. */
static const char *const colours[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
	"#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
#define NCOLOURS 10
#define CAPTION_CHARS 90        /* characters of a caption line */

static double
num(const struct frame *f, const char *k)
{
	double v = NAN;

	return frame_num(f, k, &v) == 1 ? v : NAN;
}

int
rocplot_begin(struct rocplot *c, const char *path, int format, int w, int h, int keep,
              const char *title)
{
	memset(c, 0, sizeof *c);
	c->title = title;
	if (gp_begin(&c->gp, path, format, w, h, keep) < 0)
		return -1;
	c->lf = open_memstream(&c->legend, &c->legend_len);
	c->cf = open_memstream(&c->caption, &c->caption_len);
	if (c->lf == NULL || c->cf == NULL) {
		snprintf(c->gp.err, sizeof c->gp.err, "rocplot: out of memory");
		return -1;
	}
	return 0;
}

/* The names in array k of f, each followed by " (why)", into the caption. */
static void
caption_names(struct rocplot *c, const struct frame *f, const char *k, const char *why)
{
	const struct fval *a = frame_get(f, k);
	size_t len;

	for (size_t i = 0; i < fv_len(a); i++) {
		const char *s = fv_strp(fv_at(a, i), &len);
		if (s)
			fprintf(c->cf, "%s%.*s (%s)", ftell(c->cf) ? "; " : "", (int)len, s, why);
	}
}

/* The legend entry of roc frame f. */
static void
curve_title(const struct rocplot *c, const struct frame *f, char *buf, size_t len)
{
	const struct fval *ci = frame_get(f, "auc_ci");
	char name[64] = "", lo[48] = "";

	if (frame_str(f, "label", name, sizeof name) != 1 && c->n > 0)
		snprintf(name, sizeof name, "curve %d", c->n + 1);
	if (fv_type(ci) == FV_ARRAY && fv_len(ci) == 2 && isfinite(fv_number(fv_at(ci, 0))))
		snprintf(lo, sizeof lo, " (95%% CI %.3f-%.3f%s)", fv_number(fv_at(ci, 0)),
		    fv_number(fv_at(ci, 1)), fv_str_eq(frame_get(f, "auc_ci_method"),
		    "exact-pairs") ? ", exact" : "");
	snprintf(buf, len, "%s%sAUC %.3f%s", name, *name ? ": " : "", num(f, "auc"), lo);
}

int
rocplot_frame(struct rocplot *c, const struct frame *f)
{
	const struct fval *fpr = frame_get(f, "fpr"), *tpr = frame_get(f, "tpr");
	const struct fval *op = frame_get(f, "operating_point");
	const char *colour = colours[c->n % NCOLOURS];
	char title[200];
	size_t n;

	if (frame_is(f, "multilabel_summary")) {
		caption_names(c, f, "not_trained", "not trained");
		caption_names(c, f, "one_class", "one class");
		return 0;
	}
	if (!frame_is(f, "roc"))
		return 0;
	if (fv_type(fpr) != FV_ARRAY || fv_type(tpr) != FV_ARRAY ||
	    (n = fv_len(fpr)) != fv_len(tpr) || n < 2) {
		snprintf(c->gp.err, sizeof c->gp.err, "frame %llu: roc frame without equal-length "
		    "fpr and tpr arrays", (unsigned long long)f->index);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(c->gp.data, "%.9g %.9g\n", fv_number(fv_at(fpr, i)), fv_number(fv_at(tpr, i)));
	fputs("\n\n", c->gp.data);
	curve_title(c, f, title, sizeof title);
	fprintf(c->lf, ", DATA index %d using 1:2 with lines lw 2.5 dt %d lc rgb '%s' title ",
	    2 * c->n, 1 + c->n / NCOLOURS % 4, colour);
	gp_quote(c->lf, title);
	if (fv_type(op) == FV_ARRAY && fv_len(op) == 2) {
		fprintf(c->gp.data, "%.9g %.9g\n\n\n", fv_number(fv_at(op, 0)), fv_number(fv_at(op, 1)));
		fprintf(c->lf, ", DATA index %d using 1:2 with points pt 7 ps 1.5 lc rgb '%s' ",
		    2 * c->n + 1, colour);
		if (frame_get(f, "index"))      /* one of many labels: no legend entry each */
			fputs("notitle", c->lf), c->labels++;
		else
			fprintf(c->lf, "title 'threshold %.3g'", num(f, "threshold"));
	} else {
		fputs("NaN NaN\n\n\n", c->gp.data);
	}
	c->n++;
	return 1;
}

/* One line of the caption, as a label under the graph. */
static void
caption_line(FILE *s, const char *line, int i)
{
	fputs("set label ", s);
	gp_quote(s, line);
	fprintf(s, " at screen 0.5, screen %.4f center font ',11'\n", 0.015 + 0.03 * i);
}

/* The caption "not drawn: ..." under the graph, in lines of about
 * CAPTION_CHARS characters split between entries; returns the lines. */
static int
draw_caption(struct rocplot *c, FILE *s)
{
	const char *p = c->caption, *end = p + c->caption_len;
	char line[CAPTION_CHARS + 200];
	size_t used = 0;
	int lines = 0, entries = 0;

	if (c->caption_len == 0)
		return 0;
	used = (size_t)snprintf(line, sizeof line, "not drawn: ");
	while (p < end) {
		const char *q = strstr(p, "; ");
		size_t n = (size_t)((q ? q : end) - p);
		if (n > 150)
			n = 150;
		if (entries && used + 2 + n > CAPTION_CHARS) {
			caption_line(s, line, lines++);
			used = 0, entries = 0;
		}
		used += (size_t)snprintf(line + used, sizeof line - used, "%s%.*s",
		    entries ? "; " : "", (int)n, p);
		entries++;
		p = q ? q + 2 : end;
	}
	caption_line(s, line, lines++);
	return lines;
}

int
rocplot_draw(struct rocplot *c)
{
	FILE *s = c->gp.script;
	int lines;

	fflush(c->lf);
	fflush(c->cf);
	fputs("set size ratio -1\nset xrange [0:1]\nset yrange [0:1]\nset grid lc rgb '#dddddd'\n"
	    "set xtics 0.2\nset ytics 0.2\nset key bottom right box opaque\n"
	    "set xlabel 'false positive rate (1 - specificity)'\n"
	    "set ylabel 'true positive rate (sensitivity)'\n", s);
	if (c->labels || c->n > 2)
		fprintf(s, "set key font ',%d' spacing 0.9\n", c->n > 8 ? 9 : 11);
	if ((lines = draw_caption(c, s)) > 0)
		fprintf(s, "set bmargin %d\n", 4 + 2 * lines);
	if (c->title) {
		fputs("set title ", s);
		gp_quote(s, c->title);
		fputc('\n', s);
	}
	fprintf(s, "plot x with lines dt 2 lw 1 lc rgb '#888888' title 'chance'%.*s\n",
	    (int)c->legend_len, c->legend);
	if (gp_render(&c->gp) < 0)
		return -1;
	/* keep the data; only the script is rebuilt */
	fclose(c->gp.script);
	free(c->gp.sbuf);
	c->gp.sbuf = NULL;
	c->gp.script = open_memstream(&c->gp.sbuf, &c->gp.slen);
	if (c->gp.script == NULL) {
		snprintf(c->gp.err, sizeof c->gp.err, "rocplot: out of memory");
		return -1;
	}
	return 0;
}

void
rocplot_free(struct rocplot *c)
{
	if (c->lf)
		fclose(c->lf);
	if (c->cf)
		fclose(c->cf);
	free(c->legend);
	free(c->caption);
	gp_free(&c->gp);
}
