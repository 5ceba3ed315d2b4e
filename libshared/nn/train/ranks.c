/* ranks.c — the trainer's side of data parallelism (ranks.h, dist.h). */
#include "nn/train/ranks.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
several(const struct trainer *t)
{
	return t->dist && dist_parallel(t->dist);
}

int
ranks_lead(const struct trainer *t)
{
	return t->dist == NULL || dist_rank(t->dist) == 0;
}

int
ranks_setup(struct trainer *t, char *err, size_t errlen)
{
	size_t bytes = nn_arena_size(t->m) * sizeof(float);
	int64_t step = nn_step_count(t->m);

	if (!several(t))
		return 0;
	if (t->be->allreduce == NULL && strcmp(t->be->name, "cpu") && strcmp(t->be->name, "ref")) {
		snprintf(err, errlen, "--device %s on %d ranks: the %s backend cannot reduce "
		    "gradients across ranks", t->o->device, dist_size(t->dist), t->be->name);
		return -1;
	}
	dist_bcast(t->dist, nn_params_host(t->m), bytes);
	if (t->info.has_optim) {
		dist_bcast(t->dist, nn_moments_host(t->m, 0), bytes);
		dist_bcast(t->dist, nn_moments_host(t->m, 1), bytes);
	}
	dist_bcast(t->dist, &step, sizeof step);
	nn_set_step_count(t->m, step);
	return 0;
}

void
ranks_before_plan(struct trainer *t)
{
	if (several(t) && t->o->sync_bn)
		dist_sync_bn(t->dist, t->m);
}

int
ranks_attach(struct trainer *t, char *err, size_t errlen)
{
	if (!several(t))
		return 0;
	return dist_attach(t->dist, t->m, t->be, (size_t)(t->o->bucket_mb * 1048576.0),
	                   err, errlen);
}

int
ranks_after_step(struct trainer *t)
{
	const char *e = getenv("RADPIPE_DIST_CHECK");

	if (!several(t))
		return 0;
	dist_sync_buffers(t->dist, t->m);
	if (e && !strcmp(e, "1") && dist_check_digest(t->dist, t->m) < 0) {
		snprintf(t->err, sizeof t->err, "%s", nn_error(t->m));
		return -1;
	}
	return 0;
}

int
ranks_join(struct trainer *t)
{
	struct nn_optim opt = t->o->optim;

	if (!several(t) || t->halted || t->stopped)
		return 0;
	opt.lr = t->lr;
	while (dist_step_begin(t->dist, 0) > 0) {
		if (nn_idle_step(t->m, &opt) < 0) {
			snprintf(t->err, sizeof t->err, "training step (no batch left on rank %d): %s",
			    dist_rank(t->dist), nn_error(t->m));
			return -1;
		}
		if (ranks_after_step(t) < 0)
			return -1;
	}
	return 0;
}

int
ranks_any(struct trainer *t, int mine)
{
	double v = mine != 0;

	if (several(t))
		dist_sum(t->dist, &v, 1);
	return v > 0;
}

void
ranks_sum(struct trainer *t, double *v, int n)
{
	if (several(t))
		dist_sum(t->dist, v, n);
}

void
ranks_report(struct trainer *t)
{
	struct dist_stats s;

	if (!several(t) || !ranks_lead(t))
		return;
	dist_get_stats(t->dist, &s);
	if (s.steps > 0)
		info("%d ranks, %lld steps: backward %.3f s/step, waiting for the all-reduce "
		    "%.3f s/step, %.1f MB all-reduced per step (--bucket-mb %g)", dist_size(t->dist),
		    s.steps, s.backward / s.steps, s.wait / s.steps, s.reduce_bytes / s.steps / 1e6,
		    t->o->bucket_mb);
}
