/* fuzz_model.c — libFuzzer target for model files (libshared/nn/modelfile/modelio.c):
 * each input, as the bytes of a model file (a memory file opened by its
 * /proc/self/fd path), goes through nn_model_info_read, nn_model_load_into
 * a small_cnn built once (8x8x1, 2 classes: the seeds' shape), and, when
 * the file describes a small_cnn of at most 16x16x4 with a small head,
 * nn_model_load (which builds the architecture the file names).
 * A failure must say why; a crash, sanitizer report or leak is a bug.
 *
 *   make fuzz-seeds                 regenerates tests/fuzz/corpus/fuzz_model
 *   build/fuzz/fuzz_model CORPUS    by hand
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn/nn.h"
#include "nn/modelfile/modelio.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)

static struct nn_model *fixed;          /* the model load_into fills */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct nn_head h = { .dense_units = 0, .dropout = 0.5f, .classes = 2 };

	fixed = nn_small_cnn(8, 8, 1, &h);
	return fixed == NULL;
}

/* A model small enough to build for every input. */
static int
small_enough(const struct nn_model_info *i)
{
	return strcmp(i->arch, "small_cnn") == 0 && i->input[0] <= 16 && i->input[1] <= 16 &&
	    i->input[2] >= 1 && i->input[2] <= 4 && i->head.dense_units <= 64 &&
	    i->head.classes >= 1 && i->head.classes <= 64;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct nn_model_info info;
	struct nn_model *m;
	char path[64], err[2048];
	int fd = memfd_create("model", MFD_CLOEXEC), small = 0;

	if (fd < 0)
		return 0;
	if (len > 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (nn_model_info_read(path, &info, err, sizeof err) == 0) {
		small = small_enough(&info);
		nn_model_info_free(&info);
	} else
		CHECK(err[0] != '\0');
	err[0] = '\0';
	if (nn_model_load_into(path, fixed, &info, err, sizeof err) == 0)
		nn_model_info_free(&info);
	else
		CHECK(err[0] != '\0');
	if (small) {
		err[0] = '\0';
		if ((m = nn_model_load(path, &info, err, sizeof err)) != NULL) {
			nn_model_free(m);
			nn_model_info_free(&info);
		} else
			CHECK(err[0] != '\0');
	}
	close(fd);
	return 0;
}
