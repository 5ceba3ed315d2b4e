/* test_multilabel.c — libshared/multilabel: reading multi-label prediction
 * frames (trained flags from the frames or from NaN scores, errors that
 * leave the set unchanged, repeated ids) and the evaluation of a set small
 * enough to check by hand: per-label AUC over the known targets only,
 * macro and micro averages over the labels trained with both classes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"
#include "multilabel.h"

static const char *const names3[] = { "A", "B", "C" };

/* A reader of the bytes of b. */
static struct frame_reader *
reader_of(const struct fbytes *b)
{
	int fd = memfd_create("multilabel", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return frame_reader_fd(fd, "mem");
}

/* Appends a prediction frame of k labels; trained NULL: no trained key. */
static void
pred(struct fbytes *out, const char *id, int k, const double *s, const int *t, const int *trained)
{
	struct fb *b = fb_begin();

	fb_str(b, "kind", "prediction");
	fb_str(b, "id", id);
	fb_nums(b, "scores", s, (size_t)k);
	if (trained) {
		fb_array(b, "trained");
		for (int j = 0; j < k; j++)
			fb_bool(b, NULL, trained[j]);
		fb_close(b);
	}
	fb_strs(b, "target_names", (char *const *)names3, (size_t)k);
	fb_array(b, "targets");
	for (int j = 0; j < k; j++)
		fb_int(b, NULL, t[j]);
	fb_close(b);
	fb_end(b, out);
}

/* Adds every frame of out to s; returns the first failure's index or -1. */
static int
add_all(struct ml_set *s, const struct fbytes *out, char *err, size_t errlen)
{
	struct frame_reader *r = reader_of(out);
	struct frame f;
	char later[256];
	int bad = -1;

	while (frame_read(r, &f) > 0) {
		assert_true(ml_is_multilabel(&f));
		if (ml_add(s, &f, bad < 0 ? err : later, bad < 0 ? errlen : sizeof later) < 0 &&
		    bad < 0)
			bad = (int)f.index;
	}
	frame_reader_close(r);
	return bad;
}

static void
test_read(void **state)
{
	struct fbytes out = { 0 };
	struct ml_set s = { 0 };
	char err[256];

	/* no trained key: label C's NaN scores say it was never trained */
	pred(&out, "a", 3, (double[]){ 0.9, 0.1, NAN }, (int[]){ 1, 0, 1 }, NULL);
	pred(&out, "b", 3, (double[]){ 0.2, 0.7, NAN }, (int[]){ 0, -1, 0 }, NULL);
	pred(&out, "c", 3, (double[]){ 0.2, NAN, NAN }, (int[]){ 0, 1, 0 }, NULL);
	pred(&out, "a", 3, (double[]){ 0.3, 0.3, NAN }, (int[]){ 0, 0, 0 }, NULL);
	pred(&out, "d", 2, (double[]){ 0.3, 0.3 }, (int[]){ 0, 0 }, NULL);
	assert_int_equal(add_all(&s, &out, err, sizeof err), 2);
	assert_string_equal(err, "label 'B' is not trained here, trained in the frames before");
	assert_int_equal(s.k, 3);
	assert_int_equal(s.trained[0], 1);
	assert_int_equal(s.trained[2], 0);
	/* the frame in error, the repeat of "a" and the 2-label frame left s as it was */
	assert_int_equal(s.n, 2);
	assert_true(s.score[0] == 0.9 && s.target[4] == -1);
	ml_free(&s);
	s.allow_dup = 1;
	assert_int_equal(add_all(&s, &out, err, sizeof err), 2);
	assert_int_equal(s.n, 2);
	assert_true(s.score[0] == 0.3);         /* the later "a" replaced the earlier */
	ml_free(&s);
	free(out.data);
}

/* The value of number key k in the first frame of kind (and label) in b. */
static double
value(const struct fbytes *b, const char *kind, const char *label, const char *k)
{
	struct frame_reader *r = reader_of(b);
	struct frame f;
	double v = -42;
	char name[32];

	while (frame_read(r, &f) > 0)
		if (frame_is(&f, kind) && (label == NULL ||
		    (frame_str(&f, "label", name, sizeof name) == 1 && strcmp(name, label) == 0))) {
			frame_num(&f, k, &v);
			break;
		}
	frame_reader_close(r);
	return v;
}

static void
test_evaluate(void **state)
{
	/* A: targets 1 1 0 0, scores .9 .4 .6 .1 -> AUC 3/4; B: 0 1 1 -1, scores
	 * .2 .8 .3 .99 -> AUC 1 (the unknown masked); C: trained false. */
	static const double s[4][3] = { { .9, .2, .5 }, { .4, .8, .5 }, { .6, .3, .5 }, { .1, .99, .5 } };
	static const int t[4][3] = { { 1, 0, 1 }, { 1, 1, 0 }, { 0, 1, 1 }, { 0, -1, 0 } };
	struct fbytes in = { 0 }, out = { 0 };
	struct ml_set set = { 0 }, other = { 0 };
	char err[256], id[8];

	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof id, "h%d", i);
		pred(&in, id, 3, s[i], t[i], (int[]){ 1, 1, 0 });
	}
	assert_int_equal(add_all(&set, &in, err, sizeof err), -1);
	assert_true(isnan(set.score[2]));       /* an untrained output's score is dropped */
	assert_int_equal(ml_evaluate(&set, &(struct ml_eval){ ML_THR_FIXED, 0.5, NULL, NULL, 0 },
	    &out, err, sizeof err), 0);
	assert_true(value(&out, "label_metrics", "A", "auc") == 0.75);
	assert_true(value(&out, "label_metrics", "B", "auc") == 1);
	assert_true(value(&out, "label_metrics", "B", "n_known") == 3);
	assert_true(isnan(value(&out, "label_metrics", "C", "auc")));
	assert_true(value(&out, "multilabel_summary", NULL, "macro_auc") == 0.875);
	assert_true(fabs(value(&out, "multilabel_summary", NULL, "micro_auc") - 10.0 / 12) < 1e-12);
	assert_true(value(&out, "multilabel_summary", NULL, "n_evaluated") == 2);
	/* thresholds from a set of other labels: an error, nothing appended */
	free(in.data);
	in = (struct fbytes){ 0 };
	pred(&in, "x", 2, (double[]){ 0.1, 0.2 }, (int[]){ 0, 1 }, NULL);
	assert_int_equal(add_all(&other, &in, err, sizeof err), -1);
	size_t len = out.len;
	assert_int_equal(ml_evaluate(&set, &(struct ml_eval){ ML_THR_FROM, 0.5, &other, "val", 0 },
	    &out, err, sizeof err), -1);
	assert_string_equal(err, "val: 2 labels, the predictions have 3");
	assert_int_equal(out.len, len);
	ml_free(&set), ml_free(&other);
	free(in.data), free(out.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_evaluate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
