/* timing.c — nntrain --timing: wall and CPU time per phase of a run. */
#include "nn/train/timing.h"
#include "err.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds since this process started (field 22 of /proc/self/stat, in
 * clock ticks since boot), or 0 where /proc is not there. */
static double
process_age(void)
{
	FILE *fp = fopen("/proc/self/stat", "r");
	char buf[1024], *p;
	unsigned long long start = 0;
	double up = 0;
	size_t n;

	if (fp == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
	    "%*d %*d %llu", &start) != 1)
		return 0;
	if ((fp = fopen("/proc/uptime", "r")) == NULL)
		return 0;
	if (fscanf(fp, "%lf", &up) != 1)
		up = 0;
	fclose(fp);
	return up > 0 ? up - (double)start / (double)sysconf(_SC_CLK_TCK) : 0;
}

void
tt_start(struct tt_timing *tt, int on)
{
	memset(tt, 0, sizeof *tt);
	if (!(tt->on = on))
		return;
	tt->proc_wall = process_age();
	tt->start_wall = tt->mark_wall = clock_s(CLOCK_MONOTONIC);
	tt->start_cpu = tt->mark_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

void
tt_mark(struct tt_timing *tt)
{
	if (!tt->on)
		return;
	tt->mark_wall = clock_s(CLOCK_MONOTONIC);
	tt->mark_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

void
tt_add(struct tt_timing *tt, enum tt_phase p)
{
	double w, c;

	if (!tt->on)
		return;
	w = clock_s(CLOCK_MONOTONIC);
	c = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	tt->wall[p] += w - tt->mark_wall;
	tt->cpu[p] += c - tt->mark_cpu;
	tt->count[p]++;
	tt->mark_wall = w, tt->mark_cpu = c;
}

void
tt_saved(struct tt_timing *tt, const char *path)
{
	struct stat st;

	if (tt->on && stat(path, &st) == 0) {
		tt->saved_bytes += (long long)st.st_size;
		tt->saved_files++;
	}
}

void
tt_report(const struct tt_timing *tt)
{
	static const char *const name[TT_NPHASE] = {
		"setup: backend", "setup: model, weights", "setup: plan, upload",
		"setup: --val", "input: waiting on stdin", "input: decoding batches",
		"first step", "steps", "first validation", "validations",
		"epoch-end checks", "metrics, progress", "model files", "other",
	};
	double w = 0, c = 0;

	if (!tt->on)
		return;
	w = clock_s(CLOCK_MONOTONIC) - tt->start_wall;
	c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - tt->start_cpu;
	warnx("timing: %-24s %5s %9s %9s", "phase", "count", "wall s", "cpu s");
	warnx("timing: %-24s %5s %9.2f %9s", "process start to main", "", tt->proc_wall, "");
	for (int p = 0; p < TT_NPHASE; p++)
		if (tt->count[p])
			warnx("timing: %-24s %5ld %9.2f %9.2f", name[p], tt->count[p], tt->wall[p],
			    tt->cpu[p]);
	warnx("timing: %-24s %5s %9.2f %9.2f", "total (from main)", "", w, c);
	if (tt->saved_files)
		warnx("timing: model files: %lld bytes in %ld files", tt->saved_bytes,
		    tt->saved_files);
}
