/* progress.h — Keras-style progress on stderr.
 *
 * On a terminal a bar is redrawn in place ("13/13 [=====] - 2s - loss: ...");
 * otherwise nothing is drawn until progress_done prints one plain line.
 */
#ifndef RADPIPE_PROGRESS_H
#define RADPIPE_PROGRESS_H

struct progress {
	int tty;                /* stderr is a terminal */
	int quiet;
	int total;              /* steps expected (0: unknown) */
	double t0;              /* start time (seconds) */
};

/* Monotonic time in seconds. */
double now_seconds(void);
/* Starts a progress display for total steps (0 if unknown). */
void progress_start(struct progress *p, int total, int quiet);
/* Redraws the bar at step done with a caption such as "loss: 0.3 - acc: 0.9". */
void progress_update(struct progress *p, int done, const char *caption);
/* Ends the display with one line: prefix, elapsed time and caption. */
void progress_done(struct progress *p, const char *prefix, const char *caption);

#endif
