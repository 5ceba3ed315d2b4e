/* fuzz_h5keras.c — libFuzzer target for the Keras HDF5 reader
 * (libshared/nn/modelfile/h5keras.c on libhdf5): each input, as the bytes of a
 * weights file (h5k_open takes a path, and libhdf5 wants the real path of
 * a file: /dev/shm/fuzz_h5keras-PID, or in $TMPDIR, rewritten for each
 * input; a run that crashed leaves it, the next run removes it), is
 * opened, its directory checked, and every weight of up to 1 Mi elements
 * read.  FUZZ_VERBOSE=1 prints why each input was refused.  libhdf5 is the system's, not instrumented: what
 * ASan sees is radpipe's side of the calls.
 *
 *   make fuzz-seeds                   regenerates tests/fuzz/corpus/fuzz_h5keras
 *   build/fuzz/fuzz_h5keras CORPUS    by hand
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/modelfile/h5keras.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__); __builtin_trap(); } } while (0)
#define MAX_READ ((size_t)1 << 20)

static void
walk(struct h5k_file *f)
{
	size_t total = 0;
	char err[512], shp[256];

	for (int i = 0; i < f->nlayers; i++) {
		const struct h5k_layer *l = &f->layers[i];

		CHECK(l->name != NULL && l->nweights >= 0);
		CHECK(h5k_layer_find(f, l->name) >= 0);
		for (int k = 0; k < l->nweights; k++) {
			const struct h5k_weight *w = &l->w[k];
			float *v;

			CHECK(w->rank >= 0 && w->rank <= H5K_MAX_RANK);
			CHECK(h5k_weight_find(l, w->name) != NULL);
			h5k_shape_str(w, shp, sizeof shp);
			total += w->count;
			if (w->count == 0 || w->count > MAX_READ)
				continue;
			v = malloc(w->count * sizeof *v);
			err[0] = '\0';
			if (v != NULL && h5k_read(f, l, w, v, err, sizeof err) != 0)
				CHECK(err[0] != '\0');
			free(v);
		}
	}
	CHECK(total == f->nparams);
}

static char path[4096];
static int fd = -1;

static void
cleanup(void)
{
	if (fd >= 0)
		unlink(path);
}

/* Removes the files of earlier runs that died (a crash skips atexit):
 * DIR/fuzz_h5keras-PID where no process PID is left. */
static void
remove_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];
	long pid;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "fuzz_h5keras-%ld", &pid) != 1 || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	h5k_set_isolation(0);	/* libhdf5's own crashes: tests/fuzz/known/ */
	remove_stale(dir);
	snprintf(path, sizeof path, "%s/fuzz_h5keras-%ld", dir, (long)getpid());
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		perror(path);
		return 1;
	}
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct h5k_file *f;
	char err[1024] = "";

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, len, 0) != (ssize_t)len)
		return 0;
	if ((f = h5k_open(path, err, sizeof err)) != NULL) {
		walk(f);
		h5k_close(f);
	} else {
		CHECK(err[0] != '\0');
		if (getenv("FUZZ_VERBOSE"))
			fprintf(stderr, "fuzz_h5keras: %s\n", err);
	}
	return 0;
}
