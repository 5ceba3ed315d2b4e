/* test_calframe.c — libshared/calibration: the calibration frame written
 * by calibration_frame reads back through calibration_read bit for bit as
 * stats_reliability computed it; bad input appends nothing and says why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "calibration.h"
#include "frame.h"
#include "stats.h"

static const double score[] = { 0.05, 0.1, 0.1, 0.3, 0.35, 0.5, 0.62, 0.7, 0.9, 0.95, 1 };
static const int pos[] = { 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1 };
#define N (sizeof score / sizeof *score)

/* A reader of the bytes of b. */
static struct frame_reader *
reader_of(const struct fbytes *b)
{
	int fd = memfd_create("calframe", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->data, b->len), (ssize_t)b->len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return frame_reader_fd(fd, "mem");
}

/* NaN equals NaN; numbers are compared bit for bit. */
static void
same(double a, double b)
{
	if (isnan(a) || isnan(b))
		assert_true(isnan(a) && isnan(b));
	else
		assert_memory_equal(&a, &b, sizeof a);
}

static void
test_round_trip(void **state)
{
	struct fbytes out = { 0 };
	struct frame_reader *r;
	struct frame f;
	char err[256];

	for (int mass = 0; mass < 2; mass++)
		assert_int_equal(calibration_frame(&out, score, pos, N, 4, mass, 0.05, "abdomen",
		    err, sizeof err), 0);
	r = reader_of(&out);
	for (int mass = 0; mass < 2; mass++) {
		struct stats_reliability want;
		struct calibration_bins got;
		assert_true(frame_next(r, &f) > 0);
		assert_true(frame_is(&f, "calibration"));
		assert_int_equal(calibration_read(&f, &got, err, sizeof err), 0);
		assert_int_equal(stats_reliability(score, pos, N, 4, mass,
		    stats_norm_quantile(0.975), &want), 0);
		assert_string_equal(got.binning, mass ? "mass" : "width");
		assert_int_equal(got.n, (size_t)want.nbins);
		same(got.ece, want.ece), same(got.mce, want.mce);
		for (size_t i = 0; i < got.n; i++) {
			const struct stats_bin *b = &want.bin[i];
			same(got.col[CAL_LO][i], b->lo), same(got.col[CAL_HI][i], b->hi);
			same(got.col[CAL_N][i], (double)b->n), same(got.col[CAL_SCORE][i], b->score);
			same(got.col[CAL_FRAC][i], b->frac);
			same(got.col[CAL_FRAC_LO][i], b->frac_lo), same(got.col[CAL_FRAC_HI][i], b->frac_hi);
		}
		calibration_bins_free(&got);
		stats_reliability_free(&want);
	}
	assert_int_equal(frame_next(r, &f), 0);
	frame_reader_close(r);
	free(out.data);
}

static void
test_errors(void **state)
{
	struct fbytes out = { 0 };
	double bad[N];
	char err[256];

	memcpy(bad, score, sizeof bad);
	bad[3] = 1.5;
	assert_int_equal(calibration_frame(&out, bad, pos, N, 10, 0, 0.05, "1", err, sizeof err), -1);
	assert_non_null(strstr(err, "[0, 1]"));
	assert_int_equal(calibration_frame(&out, score, pos, N, 0, 1, 0.05, "1", err, sizeof err), -1);
	assert_int_equal(calibration_frame(&out, score, pos, N, 10, 0, 1, "1", err, sizeof err), -1);
	assert_int_equal(calibration_frame(&out, score, pos, 0, 10, 0, 0.05, "1", err, sizeof err), -1);
	assert_int_equal(out.len, 0);
	free(out.data);
}

/* A calibration frame whose arrays differ in length is refused. */
static void
test_read_bad(void **state)
{
	struct fbytes out = { 0 };
	struct calibration_bins c;
	struct frame_reader *r;
	struct frame f;
	struct fb *b = fb_begin();
	char err[256];

	fb_str(b, "kind", "calibration");
	fb_nums(b, "bin_lo", (double[]){ 0, 0.5 }, 2);
	fb_nums(b, "bin_hi", (double[]){ 0.5, 1 }, 2);
	fb_nums(b, "bin_n", (double[]){ 3 }, 1);
	fb_end(b, &out);
	r = reader_of(&out);
	assert_true(frame_next(r, &f) > 0);
	assert_int_equal(calibration_read(&f, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "bin_n"));
	frame_reader_close(r);
	free(out.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_read_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
