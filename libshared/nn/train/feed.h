/* feed.h — turning sample and batch frames into network input.
 *
 * Ownership: a feed owns its labels, ids and class names; its pixels are a
 * view into the frame (valid until the next frame_read) until feed_own
 * copies them.  A feed_set owns all of its batches.
 */
#ifndef RADPIPE_NN_FEED_H
#define RADPIPE_NN_FEED_H

#include <stddef.h>
#include "frame.h"
#include "nn/nn.h"

struct feed {
	int n, h, w, c;         /* images and their shape */
	enum nn_dtype_in dt;
	const void *x;          /* n*h*w*c elements of dt */
	void *owned;            /* non-NULL when x is owned */
	float *y;               /* n labels as floats; -1 when unknown */
	char **ids;             /* n ids */
	char **classes;         /* n class names ("" when unknown) */
	float *t;               /* multi-label: n x k targets 1, 0, -1 (unknown); else NULL */
	int k;                  /* targets per image (0: single-label) */
	char **tnames;          /* the k target names */
};

struct feed_set {
	struct feed *b;
	int n;                  /* batches */
	int images;
};

/* Fills fb from a batch or sample frame.  Returns 0, or -1 with a
 * one-line reason in err (wrong kind, no x, dtype not u8/u16/f32, rank,
 * labels that are not integers, label count != image count, a pixel that
 * is not finite, targets that are not 1/0/-1 or do not match the images
 * or the target_names), fb then holding nothing to free. */
int feed_from_frame(const struct frame *f, struct feed *fb, char *err, size_t errlen);
/* Makes fb own a copy of its pixels. */
void feed_own(struct feed *fb);
/* Releases what fb owns and clears it. */
void feed_free(struct feed *fb);
/* Checks fb's images are h x w x c; 0, or -1 with a reason naming the
 * first id. */
int feed_check_shape(const struct feed *fb, int h, int w, int c, char *err, size_t errlen);
/* Reads every sample/batch frame of the stream at path into batches of at
 * most bs images (other frames are ignored).  0, or -1 with err. */
int feed_set_load(const char *path, int bs, struct feed_set *s, char *err, size_t errlen);
/* Releases every batch of s. */
void feed_set_free(struct feed_set *s);

#endif
