/* gradcam_model.c — the Grad-CAM fixture (gradcam_fixture.h, PyTorch's
 * maps) for a test of nninfer --cam as a user runs it (tests/cli/cam.bats):
 *
 *   gradcam_model model CLASSES FILE   small_cnn 24x24x3 with the fixture's
 *                                      head (CLASSES 1: sigmoid, 3: softmax)
 *                                      and weights, saved as a model file
 *   gradcam_model samples              the fixture's images as sample
 *                                      frames (ids gcfx0 gcfx1 gcfx2)
 *   gradcam_model check CASE           prediction frames on stdin: each
 *                                      image's cam against fixture case CASE
 *                                      (raw map within 1e-4 of the map's
 *                                      maximum, its shape, cam_layer and
 *                                      cam_class); exit 1 on a mismatch
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "frame.h"
#include "nn/nn.h"
#include "nn/modelfile/modelio.h"
#include "gradcam_fixture.h"
#include "gradcam_weights.h"

static void
write_model(int classes, const char *path)
{
	static char *const names[] = { "zero", "one", "two" };
	const struct nn_head hd = { .dense_units = GCFX_UNITS, .dropout = 0.5f, .classes = classes };
	struct nn_model_info info = { .arch = "small_cnn", .input = { GCFX_H, GCFX_W, GCFX_C },
	                              .head = hd, .preprocess = "rescale" };
	struct nn_model *m = nn_small_cnn(GCFX_H, GCFX_W, GCFX_C, &hd);
	char err[512];

	if (m == NULL || gcfx_set_weights(m) < 0)
		die("small_cnn is not the fixture's network");
	nn_model_info_set_classes(&info, names, classes == 1 ? 2 : classes);
	if (nn_model_save(path, m, &info, 0, NULL, err, sizeof err) < 0)
		die("%s", err);
	nn_model_info_free(&info);
	nn_model_free(m);
}

static void
write_samples(void)
{
	struct frame_writer *w = frame_writer_fd(1, "stdout");
	size_t one = (size_t)GCFX_H * GCFX_W * GCFX_C;

	for (int i = 0; i < GCFX_N; i++) {
		struct fb *b = fb_begin();
		char id[16];
		struct tensor t = { .dtype = DT_U8, .rank = 3, .shape = { GCFX_H, GCFX_W, GCFX_C },
		                    .data = (void *)(gcfx_x + (size_t)i * one), .nbytes = one };
		snprintf(id, sizeof id, "gcfx%d", i);
		fb_str(b, "kind", "sample");
		fb_str(b, "id", id);
		fb_tensor(b, "x", &t);
		fb_write(b, w);
	}
	frame_writer_close(w);
}

/* The class case cs explains for image i: its class, or the most probable. */
static int
expected_class(const struct gcfx_case *cs, int i)
{
	int c = 0;

	if (cs->cls >= 0)
		return cs->cls;
	for (int k = 1; k < cs->classes; k++)
		if (cs->logit[i * cs->classes + k] > cs->logit[i * cs->classes + c])
			c = k;
	return c;
}

/* Compares one prediction's cam with image i of cs; 0 or -1 (said). */
static int
check_one(const struct frame_reader *r, const struct frame *f, const struct gcfx_case *cs, int i)
{
	const double *want = cs->raw + (size_t)i * cs->h * cs->w;
	struct tensor t;
	char layer[64] = "";
	int64_t cls = -1;
	double mx = 0, e = 0;

	if (frame_tensor(r, f, "cam", &t) < 0 || t.dtype != DT_F32 || t.rank != 2 ||
	    t.shape[0] != cs->h || t.shape[1] != cs->w) {
		fprintf(stderr, "gradcam_model: gcfx%d: no f32 cam of %d x %d\n", i, cs->h, cs->w);
		return -1;
	}
	tensor_ensure_aligned(&t);
	frame_str(f, "cam_layer", layer, sizeof layer);
	frame_int(f, "cam_class", &cls);
	for (int j = 0; j < cs->h * cs->w; j++) {
		mx = fmax(mx, want[j]);
		e = fmax(e, fabs(((const float *)t.data)[j] - want[j]));
	}
	tensor_free(&t);
	fprintf(stderr, "gradcam_model: gcfx%d: %s class %lld: raw error %.3g of max %.3g\n", i,
	    layer, (long long)cls, e, mx);
	if (strcmp(layer, cs->layer) != 0 || cls != expected_class(cs, i) || !(mx > 0) ||
	    !(e <= 1e-4 * mx)) {
		fprintf(stderr, "gradcam_model: gcfx%d: want %s class %d within %.3g\n", i,
		    cs->layer, expected_class(cs, i), 1e-4 * mx);
		return -1;
	}
	return 0;
}

static int
check(int k)
{
	struct frame_reader *r = frame_reader_fd(0, "stdin");
	struct frame f;
	int seen = 0, bad = 0;

	while (frame_next(r, &f) > 0) {
		char id[16] = "";
		if (!frame_is(&f, "prediction"))
			continue;
		frame_str(&f, "id", id, sizeof id);
		if (strncmp(id, "gcfx", 4) != 0 || id[4] < '0' || id[4] >= '0' + GCFX_N || id[5]) {
			fprintf(stderr, "gradcam_model: unexpected id '%s'\n", id);
			bad = 1;
			continue;
		}
		bad |= check_one(r, &f, &gcfx_case[k], id[4] - '0') < 0;
		seen++;
	}
	frame_reader_close(r);
	if (seen != GCFX_N)
		fprintf(stderr, "gradcam_model: %d predictions, want %d\n", seen, GCFX_N);
	return bad || seen != GCFX_N;
}

int
main(int argc, char **argv)
{
	err_init(argv[0]);
	if (argc == 4 && strcmp(argv[1], "model") == 0) {
		write_model((int)cli_int(argv[2], "CLASSES", 1, 3), argv[3]);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "samples") == 0) {
		write_samples();
		stdout_finish();
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return check((int)cli_int(argv[2], "CASE", 0, GCFX_NCASE - 1));
	fprintf(stderr, "usage: gradcam_model model CLASSES FILE | samples | check CASE\n");
	return 2;
}
