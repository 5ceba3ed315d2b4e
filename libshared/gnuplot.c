/* gnuplot.c — gnuplot as a child process; atomic output files. */
#include "gnuplot.h"
#include "err.h"
#include "fileio.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *const gp_format_names[] = { "png", "svg", "pdf", "dumb", NULL };

int
gp_format_from_path(const char *path)
{
	static const char *const ext[] = { ".png", ".svg", ".pdf", ".txt", NULL };
	size_t n = strlen(path);

	for (int i = 0; ext[i]; i++)
		if (n > 4 && strcasecmp(path + n - 4, ext[i]) == 0)
			return i;
	return -1;
}

/* Writes the printf-style message into p->err; returns -1. */
static int __attribute__((format(printf, 2, 3)))
gp_fail(struct gp_plot *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof p->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int
open_streams(struct gp_plot *p)
{
	p->script = open_memstream(&p->sbuf, &p->slen);
	p->data = open_memstream(&p->dbuf, &p->dlen);
	if (p->script == NULL || p->data == NULL)
		return gp_fail(p, "open_memstream: %s", strerror(errno));
	return 0;
}

int
gp_begin(struct gp_plot *p, const char *path, int format, int w, int h, int keep_script)
{
	memset(p, 0, sizeof *p);
	p->path = path, p->format = format, p->width = w, p->height = h;
	p->keep_script = keep_script;
	return open_streams(p);
}

void
gp_free(struct gp_plot *p)
{
	if (p->script)
		fclose(p->script);
	if (p->data)
		fclose(p->data);
	free(p->sbuf);
	free(p->dbuf);
	p->script = p->data = NULL;
	p->sbuf = p->dbuf = NULL;
}

int
gp_reset(struct gp_plot *p)
{
	gp_free(p);
	return open_streams(p);
}

void
gp_quote(FILE *f, const char *s)
{
	putc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			putc('\'', f);
		putc(*s == '\n' ? ' ' : *s, f);
	}
	putc('\'', f);
}

/* The terminal line, then `set output` to out (NULL: stdout). */
static void
terminal(FILE *f, const struct gp_plot *p, const char *out)
{
	int small = p->width < p->height ? p->width : p->height;
	int fs = small / 40 < 9 ? 9 : small / 40 > 16 ? 16 : small / 40;

	switch (p->format) {
	case GP_PNG:
		fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,%d' linewidth 1.5\n",
		    p->width, p->height, fs);
		break;
	case GP_SVG:
		fprintf(f, "set terminal svg size %d,%d noenhanced font 'DejaVu Sans,%d' background '#ffffff'\n",
		    p->width, p->height, fs);
		break;
	case GP_PDF:
		fprintf(f, "set terminal pdfcairo size %.4fin,%.4fin noenhanced font 'DejaVu Sans,%d'\n",
		    p->width / 72.0, p->height / 72.0, fs);
		break;
	default:
		fprintf(f, "set terminal dumb size %d,%d noenhanced\n", p->width, p->height);
	}
	if (out) {
		fputs("set output ", f);
		gp_quote(f, out);
		fputc('\n', f);
	}
}

/* Writes PATH.gp and PATH.dat, a script a user can restyle and rerun;
 * -1 (p->err set) on failure. */
static int
keep_script(struct gp_plot *p)
{
	size_t n = strlen(p->path) + 8, len = 0;
	char *gp, *dat, *buf = NULL;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	if (f == NULL)
		return gp_fail(p, "open_memstream: %s", strerror(errno));
	gp = xmalloc(n), dat = xmalloc(n);
	snprintf(gp, n, "%s.gp", p->path);
	snprintf(dat, n, "%s.dat", p->path);
	fprintf(f, "# written by plot(1); run: gnuplot %s\n", gp);
	terminal(f, p, strcmp(p->path, "-") ? p->path : NULL);
	fprintf(f, "%s = ", p->raw ? "RAW" : "DATA");
	gp_quote(f, dat);
	fputc('\n', f);
	fwrite(p->sbuf, 1, p->slen, f);
	fclose(f);
	rc = file_write_atomic(gp, buf, len, p->err, sizeof p->err);
	if (rc == 0)
		rc = file_write_atomic(dat, p->raw ? p->raw : p->dbuf,
		                       p->raw ? p->raw_len : p->dlen, p->err, sizeof p->err);
	free(buf), free(gp), free(dat);
	return rc;
}

/* A new empty file named like base; returns its name (caller frees), or
 * NULL (p->err set). */
static char *
temp_beside(struct gp_plot *p, const char *base, const char *suffix)
{
	char *t;
	int fd;

	if ((fd = file_temp_beside(base, suffix, &t)) < 0) {
		gp_fail(p, "%s: cannot create a temporary file: %s", base, strerror(errno));
		return NULL;
	}
	close(fd);
	return t;
}

/* A new empty file in $TMPDIR (or /tmp) for output that has no folder. */
static char *
temp_private(struct gp_plot *p, const char *suffix)
{
	const char *dir = getenv("TMPDIR");
	char base[4096];

	snprintf(base, sizeof base, "%s/plot", dir && *dir ? dir : "/tmp");
	return temp_beside(p, base, suffix);
}

/* Writes the plot to gnuplot's stdin (fd, closed here); -1 (p->err set)
 * when fd cannot be opened as a stream. */
static int
feed(int fd, struct gp_plot *p, const char *out, const char *rawfile)
{
	FILE *f = fdopen(fd, "w");

	if (f == NULL) {
		gp_fail(p, "fdopen: %s", strerror(errno));
		close(fd);
		return -1;
	}
	terminal(f, p, out);
	if (rawfile) {
		fputs("RAW = ", f);
		gp_quote(f, rawfile);
		fputc('\n', f);
	}
	fputs("$RADPIPE_DATA << EOD\n", f);
	fwrite(p->dbuf, 1, p->dlen, f);
	fputs("EOD\nDATA = '$RADPIPE_DATA'\n", f);
	fwrite(p->sbuf, 1, p->slen, f);
	fputs("\nunset output\nexit\n", f);
	if (fclose(f) != 0 && errno != EPIPE)
		warnx("writing to gnuplot: %s", strerror(errno));
	return 0;
}

/* Runs gnuplot with its stdin fed from the plot and its stderr to errfd
 * (-1: ours); returns its exit status, -2 if missing, -1 if it cannot run,
 * -3 on another failure (p->err set). */
static int
run_gnuplot(struct gp_plot *p, const char *out, const char *rawfile, int errfd)
{
	char *argv[] = { "gnuplot", NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], st, e, fed;
	pid_t pid;

	if (pipe(fds) != 0)
		return gp_fail(p, "pipe: %s", strerror(errno)), -3;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addclose(&fa, fds[1]);
	if (errfd >= 0)
		posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	e = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (e != 0) {
		close(fds[1]);
		return e == ENOENT ? -2 : -1;
	}
	fed = feed(fds[1], p, out, rawfile);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return gp_fail(p, "waitpid: %s", strerror(errno)), -3;
	if (fed < 0)
		return -3;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Looks for s (n bytes) in the last `within` bytes of b[0..len). */
static int
ends_with(const uint8_t *b, size_t len, const char *s, size_t n, size_t within)
{
	size_t from = len > within ? len - within : 0;

	for (size_t i = from; i + n <= len; i++)
		if (memcmp(b + i, s, n) == 0)
			return 1;
	return 0;
}

int
gp_output_complete(int format, const uint8_t *b, size_t len)
{
	static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	static const uint8_t png_end[12] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82 };

	if (len == 0)
		return 0;
	switch (format) {
	case GP_PNG:
		return len >= 20 && memcmp(b, png_sig, 8) == 0 &&
		    memcmp(b + len - 12, png_end, 12) == 0;
	case GP_SVG:
		return ends_with(b, len, "</svg>", 6, 64);
	case GP_PDF:
		return len >= 8 && memcmp(b, "%PDF-", 5) == 0 && ends_with(b, len, "%%EOF", 5, 64);
	default:
		return b[len - 1] == '\n';
	}
}

/* Checks what gnuplot wrote to tmp, then renames it to p->path or copies
 * it to stdout (a write error there ends the program: stdout_check);
 * -1 (p->err set, tmp removed) when it is missing or incomplete. */
static int
deliver(struct gp_plot *p, const char *tmp, int to_stdout)
{
	const char *name = to_stdout ? "stdout" : p->path;
	uint8_t *buf;
	size_t len;
	int rc = 0;

	if (file_read_all(tmp, &buf, &len) != 0) {
		int e = errno;
		unlink(tmp);
		return gp_fail(p, "%s: gnuplot wrote nothing: %s", name, strerror(e));
	}
	if (!gp_output_complete(p->format, buf, len)) {
		unlink(tmp);
		rc = gp_fail(p, "%s: gnuplot's %s output is %s (full file system?)", name,
		             gp_format_names[p->format], len ? "incomplete" : "empty");
	} else if (to_stdout) {
		unlink(tmp);
		fwrite(buf, 1, len, stdout);
		stdout_check();
	} else if (rename(tmp, p->path) != 0) {
		int e = errno;
		unlink(tmp);
		rc = gp_fail(p, "%s: cannot rename into place: %s", p->path, strerror(e));
	}
	free(buf);
	return rc;
}

/* With --quiet, gnuplot's messages go to a temporary file shown only when
 * it fails: *fdP is that file's fd (its name in *nameP), or -1 without
 * --quiet.  Returns 0, or -1 (p->err set). */
static int
quiet_stderr(struct gp_plot *p, int *fdP, char **nameP)
{
	*fdP = -1;
	*nameP = NULL;
	if (!err_quiet)
		return 0;
	if ((*nameP = temp_private(p, ".log")) == NULL)
		return -1;
	if ((*fdP = open(*nameP, O_WRONLY | O_TRUNC)) < 0) {
		gp_fail(p, "%s: %s", *nameP, strerror(errno));
		unlink(*nameP);
		return -1;
	}
	return 0;
}

/* Shows the saved messages of a failed gnuplot, and removes their file. */
static void
show_stderr(const char *name, int fd, int failed)
{
	uint8_t *buf;
	size_t len;

	if (name == NULL)
		return;
	close(fd);
	if (failed && file_read_all(name, &buf, &len) == 0) {
		fwrite(buf, 1, len, stderr);
		free(buf);
	}
	unlink(name);
}

/* The temporary output (in *tmpP) and raw data file (in *rawP, or NULL);
 * -1 (p->err set) on failure. */
static int
temp_files(struct gp_plot *p, int to_stdout, char **tmpP, char **rawP)
{
	*rawP = NULL;
	*tmpP = to_stdout ? temp_private(p, ".txt") : temp_beside(p, p->path, "");
	if (*tmpP == NULL)
		return -1;
	if (p->raw == NULL)
		return 0;
	*rawP = to_stdout ? temp_private(p, ".raw") : temp_beside(p, p->path, ".raw");
	if (*rawP == NULL)
		return -1;
	return file_write_atomic(*rawP, p->raw, p->raw_len, p->err, sizeof p->err);
}

/* Why gnuplot's run failed (rc: run_gnuplot's status, not 0); returns -1. */
static int
run_failed(struct gp_plot *p, int rc)
{
	if (rc == -3)
		return -1;
	if (rc == -2)
		return gp_fail(p, "gnuplot not found: install the Debian package gnuplot-nox (or gnuplot)");
	if (rc == -1)
		return gp_fail(p, "cannot run gnuplot: %s", strerror(errno));
	return gp_fail(p, "gnuplot failed (exit status %d); see its messages above", rc);
}

int
gp_render(struct gp_plot *p)
{
	int to_stdout = strcmp(p->path, "-") == 0, rc = -1, errfd = -1;
	char *tmp = NULL, *rawfile = NULL, *errname = NULL;

	fflush(p->script);
	fflush(p->data);
	if (p->keep_script && !to_stdout && keep_script(p) < 0)
		return -1;
	if (temp_files(p, to_stdout, &tmp, &rawfile) < 0)
		goto fail;
	fflush(stdout);
	if (quiet_stderr(p, &errfd, &errname) < 0)
		goto fail;
	rc = run_gnuplot(p, tmp, rawfile, errfd);
	show_stderr(errname, errfd, rc != 0);
	if (rawfile)
		unlink(rawfile);
	if (rc != 0) {
		unlink(tmp);
		rc = run_failed(p, rc);
	} else {
		rc = deliver(p, tmp, to_stdout);
	}
out:
	free(tmp);
	free(rawfile);
	free(errname);
	return rc;
fail:
	if (tmp)
		unlink(tmp);
	if (rawfile)
		unlink(rawfile);
	goto out;
}

/* A round tick step (1, 2 or 5 times a power of ten, at least 1) near raw. */
static double
nice_step(double raw)
{
	double mag;

	if (!(raw > 1))
		return 1;
	mag = pow(10, floor(log10(raw)));
	return raw <= mag ? mag : raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
}

/* The cases per bin as boxes over the edges (at least 1/200 wide, so that
 * an equal-mass bin of one score value shows). */
static void
reliability_counts(struct gp_plot *p, const struct gp_reliability *r)
{
	FILE *s = p->script;
	double most = 0;

	for (size_t i = 0; i < r->n; i++) {
		double mid = (r->lo[i] + r->hi[i]) / 2, w = fmax(r->hi[i] - r->lo[i], 0.005);
		fprintf(p->data, "%.9g %.9g %.9g\n", mid, w, r->count[i]);
		most = fmax(most, r->count[i]);
	}
	fputs("\n\n", p->data);
	fputs("set origin 0,0\nset size 1,0.3\nset tmargin 0.5\nset bmargin 3\nunset title\n"
	    "set xlabel 'mean predicted probability (score)'\nset ylabel 'cases'\n"
	    "set xrange [0:1]\nset xtics 0.1 format '%g'\nunset key\n"
	    "set style fill solid 0.6 border lc rgb '#1f4e79'\n", s);
	fprintf(s, "set yrange [0:%.9g]\nset ytics %.9g format '%%g'\n", most > 0 ? most * 1.1 : 1,
	    nice_step(most / 3));
	fputs("plot DATA index 1 using 1:3:2 with boxes lc rgb '#1f77b4' notitle\n", s);
}

void
gp_reliability(struct gp_plot *p, const struct gp_reliability *r)
{
	FILE *s = p->script;

	for (size_t i = 0; i < r->n; i++)
		if (r->count[i] > 0 && isfinite(r->score[i]))
			fprintf(p->data, "%.9g %.9g %.9g %.9g\n", r->score[i], r->frac[i],
			    r->frac_lo[i], r->frac_hi[i]);
	fputs("NaN NaN NaN NaN\n\n\n", p->data);
	fputs("set datafile missing 'NaN'\nset lmargin 10\nset rmargin 3\n", s);
	if (p->format != GP_DUMB)
		fputs("set grid lc rgb '#dddddd'\n", s);
	fputs("set multiplot", s);
	if (r->title) {
		fputs(" title ", s);
		gp_quote(s, r->title);
	}
	fprintf(s, "\nset origin 0,0.3\nset size 1,%s\nset bmargin 0.5\nset tmargin 1\n",
	    r->title ? "0.64" : "0.7");
	fputs("set xrange [0:1]\nset yrange [0:1]\nset xtics 0.1 format ''\nset ytics 0.2\n"
	    "set ylabel 'fraction positive (95% CI)'\nset key top left Left reverse\n"
	    "plot x with lines dt 2 lw 1 lc rgb '#888888' title 'perfectly calibrated', "
	    "DATA index 0 using 1:2:3:4 with yerrorbars pt 7 ps 1 lw 1.5 lc rgb '#d62728' title ", s);
	gp_quote(s, r->key ? r->key : "bins");
	fputs(", DATA index 0 using 1:2 with lines lw 1.5 lc rgb '#d62728' notitle\n", s);
	reliability_counts(p, r);
	fputs("unset multiplot\n", s);
}

/* ---- captions over a montage (plot --images, --cam) ---- */

/* Caption text: DejaVu Sans averages under 0.64 em a character, and
 * pngcairo draws a point as 4/3 pixels; lines are GP_LINE_H canvas pixels. */

/* Font size for tiles of tile_w canvas pixels drawn at scale (output pixels
 * per canvas pixel): at most 9 pt, small enough for 24 characters a tile
 * and for the line spacing; and how many characters then fit. */
void
gp_caption_font(struct gp_captions *c, int tile_w, double scale)
{
	double tile_px = tile_w * scale, px;

	px = fmin(12, fmin(tile_px / (24 * GP_CHAR_EM), GP_LINE_H * scale / 1.25));
	px = fmax(px, 4);
	c->pt = px * 0.75;
	c->chars = (int)(tile_px / (GP_CHAR_EM * px));
}

/* text shortened to n characters with "..." in the middle (file names keep
 * their start and their extension). */
const char *
gp_fit(const char *text, int n, char *buf, size_t len)
{
	size_t k = strlen(text), head;

	if (n < 4 || (int)k <= n) {
		snprintf(buf, len, "%.*s", n < 1 ? 1 : n, text);
		return buf;
	}
	head = (size_t)(n - 3 + 1) / 2;
	snprintf(buf, len, "%.*s...%s", (int)head, text, text + k - (size_t)(n - 3 - (int)head));
	return buf;
}

/* Label text centred at canvas pixel (x, y), fitted to the tile width. */
void
gp_caption(const struct gp_captions *c, const char *text, int x, int y, const char *colour)
{
	char buf[256];

	fputs("set label ", c->s);
	gp_quote(c->s, gp_fit(text, c->chars, buf, sizeof buf));
	fprintf(c->s, " at %d,%d center front font ',%.1f' tc rgb '%s'\n", x, c->h - 1 - y,
	    c->pt, colour);
}
