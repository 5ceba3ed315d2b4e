/* report.h — result frames rendered as JSON lines, TSV or CSV for jq and
 * spreadsheets, and as text for people (used by metrics(1)).
 *
 * A report is a sequence of frames (msgpack maps) collected in memory: built
 * with struct fb and appended to a struct fbytes by fb_end (frame.h).
 * Non-finite numbers stay IEEE values in frames and become null in JSON and
 * empty cells in TSV/CSV.
 */
#ifndef RADPIPE_REPORT_H
#define RADPIPE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fb;
struct stats_youden;

/* Writes into buf (len >= 32) the shortest of v's %.15g, %.16g and %.17g
 * that reads back (strtod) as exactly v, and returns buf: 0.827 prints as
 * 0.827, not 0.82699999999999996.  Every number in JSON, TSV and CSV. */
char *report_shortest(char *buf, size_t len, double v);
/* Writes the n bytes of s as one TSV (sep '\t': tabs and line breaks
 * become spaces) or CSV (sep ',': quoted when it holds a comma, a quote or
 * a line break) cell. */
void report_cell(FILE *fp, const char *s, size_t n, char sep);
/* Writes every frame of buf[0..len) to fp as one JSON object per line. */
void report_json(FILE *fp, const char *buf, size_t len);
/* Writes the frames of buf as a long table: kind, key, value, ci_low,
 * ci_high (a key k with a sibling k_ci = [lo, hi] fills the last two).
 * Arrays flatten to k[i], nested maps to k.sub.  A frame that has every
 * key of wide (NULL-terminated names of arrays; may be NULL) is written
 * instead as a wide table with those columns.  Frames are separated by a
 * blank line.  sep is '\t' or ','; CSV fields are quoted when needed. */
void report_table(FILE *fp, const char *buf, size_t len, char sep, const char *const *wide);
/* Writes the frames of buf as tables for people: evaluation, roc,
 * calibration, training_summary and score_summary frames (metrics(1));
 * other kinds as the TSV long table. */
void report_text(FILE *fp, const char *buf, size_t len);

/* Builders of the result frames' estimates, shared by metrics(1)'s kinds. */
/* Adds k: v and k_ci: [lo, hi]. */
void report_fb_est(struct fb *b, const char *k, double v, double lo, double hi);
/* Adds k: succ/n (NaN when n is 0) and k_ci: its 95 % Wilson interval. */
void report_fb_prop(struct fb *b, const char *k, size_t succ, size_t n);
/* Adds k_rule (how Youden's threshold was taken among the tied best ones)
 * and k_interval (those thresholds: (lo, hi]). */
void report_fb_youden(struct fb *b, const char *k, const struct stats_youden *y);

#endif
