/* prof.c — the per-op-kind profile (RADPIPE_PROFILE, nn_profile_enable):
 * syncs the backend around every op and sums wall time per kind.  Calls
 * no other engine file.
 */
#include <time.h>

#include "nn/engine/nn_impl.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void
nn_prof_mark(struct nn_model *m)
{
	if (!m->prof)
		return;
	m->be->sync(m->be);
	m->prof_t = now();
}

void
nn_prof_add(struct nn_model *m, int kind)
{
	double t;

	if (!m->prof)
		return;
	m->be->sync(m->be);
	t = now();
	m->prof_s[kind] += t - m->prof_t;
	m->prof_t = t;
}

void
nn_profile_enable(struct nn_model *m, int on)
{
	m->prof = on != 0;
	for (int k = 0; k < NN_PROF_NKIND; k++)
		m->prof_s[k] = 0;
}

const double *
nn_profile_times(const struct nn_model *m)
{
	return m->prof_s;
}

const char *
nn_profile_name(int kind)
{
	static const char *const names[NN_PROF_NKIND] = {
		"input", "conv_fwd", "conv_bwd_data", "conv_bwd_weights",
		"bn_fwd", "bn_bwd", "recompute", "relu_fwd", "relu_bwd",
		"pool_fwd", "pool_bwd", "concat", "gap", "dense", "dropout",
		"loss", "optimizer", "dwconv_fwd", "dwconv_bwd", "pad", "add",
	};

	return kind >= 0 && kind < NN_PROF_NKIND ? names[kind] : "?";
}
