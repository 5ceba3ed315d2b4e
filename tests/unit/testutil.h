/* testutil.h — helpers shared by the unit tests (tests/unit/testutil.c,
 * linked into every tests/unit/test_*.c binary by the Makefile).  Include
 * it after <cmocka.h>; a helper that fails fails the running test. */
#ifndef RADPIPE_TESTUTIL_H
#define RADPIPE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

struct frame;
struct frame_reader;

/* The group's temporary folder, "/tmp/radpipe-unit-XXXXXX" until
 * tu_tmpdir_setup has made it. */
extern char tu_tmpdir[];

/* cmocka group setup: makes tu_tmpdir (mkdtemp); -1 if it cannot. */
int tu_tmpdir_setup(void **state);
/* cmocka group teardown: removes tu_tmpdir and all in it; -1 on failure. */
int tu_tmpdir_teardown(void **state);
/* Writes the n bytes at p to path (created or truncated). */
void tu_write_file(const char *path, const void *p, size_t n);

/* The path of weights file name, in the one place every test looks (issue
 * 15.8, as pipelines/hello-world does): $RADPIPE_WEIGHTS when set, else
 * weights/ of the current folder (the repository, when make runs the
 * tests), else $XDG_DATA_HOME/radpipe/weights; inception_v3_imagenet_notop.h5
 * is also found under the name of Keras' download (make weights).  Written
 * into buf; 0 when that file is readable, -1 when not. */
int tu_weights_file(const char *name, char *buf, size_t len);

/* One reference tensor of a Keras parity fixture (the .mpk files of tests/ref): a
 * "ref" frame's name, its values (u8 for the input images, else f32) and
 * the indices they sample (NULL: the whole tensor). */
struct tu_ref {
	char name[112];
	float *x;               /* count values */
	int32_t *idx;
	size_t count;
	unsigned char *u8;
};

/* Reads "ref" frame f of r into *p (its own copies); dies on a malformed one. */
void tu_ref_read(const struct frame *f, struct frame_reader *r, struct tu_ref *p);
/* The reference called name among refs[0..n); dies when there is none. */
const struct tu_ref *tu_ref_find(const struct tu_ref *refs, int n, const char *name);
/* Frees what refs[0..n) hold (not the array). */
void tu_refs_free(struct tu_ref *refs, int n);

/* How a parity test measures a difference from a reference: max |diff| /
 * max |ref|, max |diff|, or ||diff|| / ||ref|| (2-norms: what a few
 * flipped ReLU or max-pool decisions cannot dominate). */
enum tu_cmp { TU_MAXREL, TU_ABS, TU_L2REL };
/* A parity test's comparisons: how many, how many failed; verbose prints
 * every one (else only failures). */
struct tu_tally {
	int compared, failures;
	int verbose;
};
/* Compares got (n values, the whole tensor) with r at r's indices, by
 * mode; prints a line (and, with $RADPIPE_PARITY_VERBOSE, the worst entry)
 * and counts it in t, a failure above tol.  Returns the measure. */
double tu_compare(struct tu_tally *t, const char *be, const char *what, const float *got, size_t n,
                  const struct tu_ref *r, double tol, enum tu_cmp mode);
/* Compares the change a - base that a training step made to parameter
 * pname (size values from off) with the reference's, from refs[0..nrefs):
 * "train/param/<pname>" holds its values after the step and
 * "<grad_prefix><pname>" the step's gradient, at the same indices.  Adam's
 * first step is about lr * sign(g), so only entries whose gradient is at
 * least min_g of the largest are compared (TU_MAXREL, tol). */
double tu_compare_step(struct tu_tally *t, const char *be, const char *pname, const float *a,
                       const float *base, size_t off, size_t size, const struct tu_ref *refs,
                       int nrefs, const char *grad_prefix, double min_g, double tol);

#endif
