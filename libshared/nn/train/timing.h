/* timing.h — private to train/ and nntrain: where a training run's time
 * goes (nntrain --timing).  Phases are timed back to back: each tt_add
 * charges the wall and CPU time (every thread of the process) since the
 * last mark to one phase, so the phases add up to the run.  Disabled, the
 * calls cost one branch.  Calls only the clock. */
#ifndef RADPIPE_NN_TIMING_H
#define RADPIPE_NN_TIMING_H

enum tt_phase {
	TT_BACKEND,     /* opening the backend (oneDNN, CUDA) */
	TT_MODEL,       /* building the graph, initialising, importing weights */
	TT_PLAN,        /* planning memory, uploading parameters */
	TT_VALSET,      /* reading --val */
	TT_WAIT,        /* blocked on stdin: the upstream pipeline */
	TT_DECODE,      /* batch frame to network input, checks */
	TT_STEP1,       /* the first step (primitive creation, JIT) */
	TT_STEP,        /* the other steps */
	TT_VAL1,        /* the first validation pass */
	TT_VAL,         /* the other validation passes */
	TT_CHECK,       /* end-of-epoch parameter checks */
	TT_METRICS,     /* metrics frames and the progress line */
	TT_SAVE,        /* --checkpoint, --best, --save */
	TT_OTHER,       /* everything else (end of stream, freeing) */
	TT_NPHASE
};

struct tt_timing {
	int on;
	double start_wall, start_cpu;   /* when tt_start ran */
	double mark_wall, mark_cpu;     /* the last mark */
	double wall[TT_NPHASE], cpu[TT_NPHASE];
	long count[TT_NPHASE];
	long long saved_bytes;          /* bytes of the model files written */
	long saved_files;               /* and their number */
	double proc_wall;               /* process start to tt_start, from /proc */
};

/* Starts the clock (on: 0 makes every call a no-op). */
void tt_start(struct tt_timing *tt, int on);
/* Marks now: the next tt_add charges from here. */
void tt_mark(struct tt_timing *tt);
/* Charges the time since the last mark to phase p (one more occurrence)
 * and marks now. */
void tt_add(struct tt_timing *tt, enum tt_phase p);
/* Counts the file at path (just written) and its size. */
void tt_saved(struct tt_timing *tt, const char *path);
/* Prints the per-phase summary on stderr (always, even with --quiet). */
void tt_report(const struct tt_timing *tt);

#endif
