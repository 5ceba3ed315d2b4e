/* cuda_loader.c — nn_cuda_open: finds and loads the CUDA backend.
 *
 * The CUDA backend lives in its own shared object, libradpipe_cuda.so
 * (built from libshared/nn/cuda/ when WITH_CUDA=1, see mk/cuda.mk), so that
 * radpipe programs link no CUDA library and run on machines without a GPU,
 * a driver, or the CUDA runtime.  This file is plain C and needs only
 * dlopen.
 *
 * Where the object is looked for, first found wins:
 *   1. $RADPIPE_CUDA_LIB, a path to the .so (when set, nothing else is tried);
 *   2. <dir of the executable>/../lib/radpipe/libradpipe_cuda.so (installed);
 *   3. the build tree's copy, an absolute path compiled in as RADPIPE_CUDA_SO
 *      (mk/cuda.mk defines it; absent in CUDA=0 builds).
 * The object's libraries (cuDNN, cuBLAS; the CUDA runtime is static in it)
 * are resolved by the dynamic loader, with the toolkit's lib64 as RUNPATH.
 * Once loaded, the object stays loaded for the life of the process, even
 * when it finds no device (never dlclose()d: the CUDA runtime inside it
 * registers exit handlers).
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/backend.h"

/* Must match RADPIPE_CUDA_ABI in libshared/nn/cuda/cuda_impl.h. */
#define CUDA_ABI 4
#define CUDA_SO_NAME "libradpipe_cuda.so"

typedef struct nn_backend *(*entry_fn)(int abi, size_t table_size, size_t opts_size,
                                       const struct nn_backend_opts *o, char *err,
                                       size_t errlen);

/* Writes <dir of /proc/self/exe>/../lib/radpipe/CUDA_SO_NAME into buf. */
static int
installed_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return -1;
	*slash = '\0';
	return snprintf(buf, len, "%s/../lib/radpipe/%s", exe, CUDA_SO_NAME) < (int)len ? 0 : -1;
}

/* dlopen()s the first candidate that exists; NULL with err set otherwise. */
static void *
load(char *err, size_t errlen)
{
	const char *env = getenv("RADPIPE_CUDA_LIB");
	char inst[PATH_MAX + 64];
	const char *cand[2];
	int nc = 0;
	void *h;

	if (env && *env) {
		if (!(h = dlopen(env, RTLD_NOW | RTLD_LOCAL)))
			snprintf(err, errlen, "cuda: cannot load RADPIPE_CUDA_LIB=%.256s (%.200s)", env, dlerror());
		return h;
	}
	if (installed_path(inst, sizeof inst) == 0)
		cand[nc++] = inst;
#ifdef RADPIPE_CUDA_SO
	cand[nc++] = RADPIPE_CUDA_SO;
#endif
	for (int i = 0; i < nc; i++) {
		if (access(cand[i], F_OK) != 0)
			continue;
		if (!(h = dlopen(cand[i], RTLD_NOW | RTLD_LOCAL)))
			snprintf(err, errlen, "cuda: cannot load %.256s (%.200s)", cand[i], dlerror());
		return h;
	}
#ifdef RADPIPE_CUDA_SO
	snprintf(err, errlen, "cuda: %s not found (looked in %.200s and %.200s; set RADPIPE_CUDA_LIB)",
	         CUDA_SO_NAME, nc > 1 ? cand[0] : "-", RADPIPE_CUDA_SO);
#else
	snprintf(err, errlen, "cuda: radpipe was built without CUDA (CUDA=0)");
#endif
	return NULL;
}

struct nn_backend *
nn_cuda_open(const struct nn_backend_opts *o, char *err, size_t errlen)
{
	char buf[512];
	void *h = load(buf, sizeof buf);
	entry_fn entry;
	struct nn_backend *be;

	if (!h)
		goto fail;
	*(void **)&entry = dlsym(h, "radpipe_cuda_entry");
	if (!entry) {
		snprintf(buf, sizeof buf, "cuda: %s has no radpipe_cuda_entry (rebuild it)", CUDA_SO_NAME);
		goto fail;
	}
	buf[0] = '\0';
	if ((be = entry(CUDA_ABI, sizeof(struct nn_backend), sizeof(struct nn_backend_opts),
	                o, buf, sizeof buf)) != NULL)
		return be;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s", buf[0] ? buf : "cuda: backend failed to open");
	return NULL;
}
