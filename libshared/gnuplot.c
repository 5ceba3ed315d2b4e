/* gnuplot.c — gnuplot as a child process; atomic output files. */
#include "gnuplot.h"
#include "err.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
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

static void
open_streams(struct gp_plot *p)
{
	p->script = open_memstream(&p->sbuf, &p->slen);
	p->data = open_memstream(&p->dbuf, &p->dlen);
	if (p->script == NULL || p->data == NULL)
		die("open_memstream: %s", strerror(errno));
}

void
gp_begin(struct gp_plot *p, const char *path, int format, int w, int h, int keep_script)
{
	memset(p, 0, sizeof *p);
	p->path = path, p->format = format, p->width = w, p->height = h;
	p->keep_script = keep_script;
	open_streams(p);
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

void
gp_reset(struct gp_plot *p)
{
	gp_free(p);
	open_streams(p);
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

/* Writes PATH.gp and PATH.dat, a script a user can restyle and rerun. */
static void
keep_script(const struct gp_plot *p)
{
	size_t n = strlen(p->path) + 8, len = 0;
	char *gp = xmalloc(n), *dat = xmalloc(n), *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		die("open_memstream: %s", strerror(errno));
	snprintf(gp, n, "%s.gp", p->path);
	snprintf(dat, n, "%s.dat", p->path);
	fprintf(f, "# written by plot(1); run: gnuplot %s\n", gp);
	terminal(f, p, strcmp(p->path, "-") ? p->path : NULL);
	fprintf(f, "%s = ", p->raw ? "RAW" : "DATA");
	gp_quote(f, dat);
	fputc('\n', f);
	fwrite(p->sbuf, 1, p->slen, f);
	fclose(f);
	file_write_atomic(gp, buf, len);
	file_write_atomic(dat, p->raw ? p->raw : p->dbuf, p->raw ? p->raw_len : p->dlen);
	free(buf), free(gp), free(dat);
}

/* A new empty file named like base; returns its name (caller frees). */
static char *
temp_beside(const char *base, const char *suffix)
{
	char *t;
	int fd;

	if ((fd = file_temp_beside(base, suffix, &t)) < 0)
		die("%s: cannot create a temporary file: %s", base, strerror(errno));
	close(fd);
	return t;
}

/* A new empty file in $TMPDIR (or /tmp) for output that has no folder. */
static char *
temp_private(const char *suffix)
{
	const char *dir = getenv("TMPDIR");
	char base[4096];

	snprintf(base, sizeof base, "%s/plot", dir && *dir ? dir : "/tmp");
	return temp_beside(base, suffix);
}

static void
feed(int fd, const struct gp_plot *p, const char *out, const char *rawfile)
{
	FILE *f = fdopen(fd, "w");

	if (f == NULL)
		die("fdopen: %s", strerror(errno));
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
}

/* Runs gnuplot with its stdin fed from the plot and its stderr to errfd
 * (-1: ours); returns its exit status, -2 if missing, -1 if it cannot run. */
static int
run_gnuplot(const struct gp_plot *p, const char *out, const char *rawfile, int errfd)
{
	char *argv[] = { "gnuplot", NULL };
	posix_spawn_file_actions_t fa;
	int fds[2], st, e;
	pid_t pid;

	if (pipe(fds) != 0)
		die("pipe: %s", strerror(errno));
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
	feed(fds[1], p, out, rawfile);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
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
 * it to stdout; dies (removing tmp) when it is missing or incomplete. */
static void
deliver(const struct gp_plot *p, const char *tmp, int to_stdout)
{
	const char *name = to_stdout ? "stdout" : p->path;
	uint8_t *buf;
	size_t len;

	if (file_read_all(tmp, &buf, &len) != 0) {
		int e = errno;
		unlink(tmp);
		die("%s: gnuplot wrote nothing: %s", name, strerror(e));
	}
	if (!gp_output_complete(p->format, buf, len)) {
		unlink(tmp);
		die("%s: gnuplot's %s output is %s (full file system?)", name,
		    gp_format_names[p->format], len ? "incomplete" : "empty");
	}
	if (to_stdout) {
		unlink(tmp);
		fwrite(buf, 1, len, stdout);
		stdout_check();
	} else if (rename(tmp, p->path) != 0) {
		int e = errno;
		unlink(tmp);
		die("%s: cannot rename into place: %s", p->path, strerror(e));
	}
	free(buf);
}

/* With --quiet, gnuplot's messages go to a temporary file shown only when
 * it fails; returns that file's fd (its name in *nameP), or -1. */
static int
quiet_stderr(char **nameP)
{
	int fd;

	*nameP = NULL;
	if (!err_quiet)
		return -1;
	*nameP = temp_private(".log");
	if ((fd = open(*nameP, O_WRONLY | O_TRUNC)) < 0)
		die("%s: %s", *nameP, strerror(errno));
	return fd;
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

void
gp_render(struct gp_plot *p)
{
	int to_stdout = strcmp(p->path, "-") == 0, rc, errfd;
	char *tmp, *rawfile = NULL, *errname;

	fflush(p->script);
	fflush(p->data);
	if (p->keep_script && !to_stdout)
		keep_script(p);
	tmp = to_stdout ? temp_private(".txt") : temp_beside(p->path, "");
	if (p->raw) {
		rawfile = to_stdout ? temp_private(".raw") : temp_beside(p->path, ".raw");
		file_write_atomic(rawfile, p->raw, p->raw_len);
	}
	fflush(stdout);
	errfd = quiet_stderr(&errname);
	rc = run_gnuplot(p, tmp, rawfile, errfd);
	show_stderr(errname, errfd, rc != 0);
	if (rawfile)
		unlink(rawfile);
	if (rc != 0)
		unlink(tmp);
	if (rc == -2)
		die("gnuplot not found: install the Debian package gnuplot-nox (or gnuplot)");
	if (rc == -1)
		die("cannot run gnuplot: %s", strerror(errno));
	if (rc != 0)
		die("gnuplot failed (exit status %d); see its messages above", rc);
	deliver(p, tmp, to_stdout);
	free(tmp);
	free(rawfile);
	free(errname);
}
