/* progress.c — Keras-style progress bars on stderr. */
#include "progress.h"
#include "err.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void
progress_start(struct progress *p, int total, int quiet)
{
	p->tty = isatty(2);
	p->quiet = quiet;
	p->total = total;
	p->t0 = now_seconds();
}

void
progress_update(struct progress *p, int done, const char *caption)
{
	char bar[31];
	int width = 30, fill;

	if (!p->tty || p->quiet)
		return;
	fill = p->total > 0 ? done * width / p->total : width;
	if (fill > width)
		fill = width;
	for (int i = 0; i < width; i++)
		bar[i] = i < fill - 1 ? '=' : i == fill - 1 ? (done >= p->total ? '=' : '>') : '.';
	bar[width] = '\0';
	if (p->total > 0)
		fprintf(stderr, "\r%d/%d [%s] - %.0fs - %s\033[K", done, p->total, bar,
		    now_seconds() - p->t0, caption);
	else
		fprintf(stderr, "\r%d [%s] - %.0fs - %s\033[K", done, bar, now_seconds() - p->t0, caption);
	fflush(stderr);
}

void
progress_done(struct progress *p, const char *prefix, const char *caption)
{
	if (p->quiet)
		return;
	if (p->tty)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%s: %s - %.1fs - %s\n", progname, prefix, now_seconds() - p->t0, caption);
}
